-- tags, then out of time: the failed rule's tags are not delivered
destination "out" { jsonl = "out.jsonl" }
destination "review" { jsonl = "review.jsonl" }
fallback "review"
limits { seconds = 0.5, instructions = 1e15 }
rule("tag_then_hang", function(story)
  story:tag("from-the-failed-rule")
  while true do end
end)
