-- many short coroutines, each ending before the count hook fires
destination "out" { jsonl = "out.jsonl" }
destination "review" { jsonl = "review.jsonl" }
fallback "review"
limits { instructions = 1000000, seconds = 60 }  -- the budget, not the clock, must stop it
rule("threads", function(story)
  local n = 0
  for i = 1, 100000 do
    coroutine.wrap(function() for j = 1, 250 do n = n + 1 end end)()
  end
  return "out"
end)
