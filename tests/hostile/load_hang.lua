-- a pattern that backtracks for minutes, run while the desk loads
local s = string.rep("a", 300)
local found = string.find(s, "a*a*a*a*b")
destination "out" { jsonl = "out.jsonl" }
destination "review" { jsonl = "review.jsonl" }
fallback "review"
rule("never", function(story) return "out" end)
