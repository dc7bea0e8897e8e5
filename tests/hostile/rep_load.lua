-- the same at the top of the desk: check and reload must not hang
local pad = string.rep("", 2^53)
destination "out" { jsonl = "out.jsonl" }
destination "review" { jsonl = "review.jsonl" }
fallback "review"
rule("pad", function(story) return "out" end)
