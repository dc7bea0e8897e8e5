-- table.sort over 2^31 elements that only exist through __index
destination "out" { jsonl = "out.jsonl" }
destination "review" { jsonl = "review.jsonl" }
fallback "review"
limits { seconds = 0.5, instructions = 1e15 }
rule("sort", function(story)
  local t = setmetatable({}, {
    __len = function() return 2^31 - 2 end, __index = type, __newindex = type })
  table.sort(t)
  return "out"
end)
