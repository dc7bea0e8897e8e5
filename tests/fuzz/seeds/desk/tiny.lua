destination "a" { stdout = true }
rule("r", function(s) return "a" end)
fallback "a"
