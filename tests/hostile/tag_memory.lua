-- 100 tags of 10 MB each: the tags live outside the Lua state
destination "out" { jsonl = "out.jsonl" }
destination "review" { jsonl = "review.jsonl" }
fallback "review"
limits { memory = "64M", seconds = 60 }  -- the memory limit, not the clock, must stop it
rule("hoard", function(story)
  for i = 1, 100 do
    story:tag(string.rep("x", 10000000 - 3) .. string.format("%03d", i))
  end
  return "out"
end)
