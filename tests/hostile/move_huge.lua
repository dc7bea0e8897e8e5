-- table.move over 2^53 empty slots: nothing is made, the loop never ends
destination "out" { jsonl = "out.jsonl" }
destination "review" { jsonl = "review.jsonl" }
fallback "review"
limits { seconds = 60 }  -- the instruction budget, not the clock, must stop it
rule("move", function(story)
  table.move({}, 1, 2^53, 2)
  return "out"
end)
