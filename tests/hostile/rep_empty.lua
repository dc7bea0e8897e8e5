-- string.rep of the empty string 2^53 times: Lua's loop runs 2^53 times in C
destination "out" { jsonl = "out.jsonl" }
destination "review" { jsonl = "review.jsonl" }
fallback "review"
rule("pad", function(story)
  local pad = string.rep("", 2^53)
  local more = string.rep("", 1e10)
  return "out"
end)
