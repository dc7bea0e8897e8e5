-- the same under an instruction budget too large to matter: the wall clock
destination "out" { jsonl = "out.jsonl" }
destination "review" { jsonl = "review.jsonl" }
fallback "review"
limits { seconds = 0.5, instructions = 1e15 }
rule("bomb", function(story)
  if story.body:match("a*a*a*a*a*b") then return "out" end
end)
