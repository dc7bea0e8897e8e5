-- a pattern that backtracks exponentially, inside one string.find
destination "out" { jsonl = "out.jsonl" }
destination "review" { jsonl = "review.jsonl" }
fallback "review"
limits { seconds = 60 }  -- the instruction budget, not the clock, must stop it
rule("bomb", function(story)
  if string.find(story.body, "a*a*a*a*b") then return "out" end
end)
