-- story:has with a 2,000-word phrase that almost matches everywhere in a
-- long story: millions of word comparisons inside one C call
destination "out" { jsonl = "out.jsonl" }
destination "review" { jsonl = "review.jsonl" }
fallback "review"
limits { seconds = 60 }  -- the instruction budget, not the clock, must stop it
rule("phrase", function(story)
  if story:has(string.rep("ab ", 1999) .. "zz") then return "out" end
end)
