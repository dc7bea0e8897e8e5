model "m.cdm"
taxonomy {
  { id = "business", name = "Business",
    { id = "trade", name = "Trade", labels = { "trade" }, keywords = { "tariff*", "tra?de war" } } },
  { id = "s—port", labels = { "m:sport" }, half = 3 },
}
destination "trade-desk" { folder = "out/trade" }
destination "wire" { jsonl = "out/wire.jsonl" }
destination "web" { url = "http://127.0.0.1:9/x", timeout = 1, retries = 0 }
destination "review" { stdout = true }
limits { instructions = 100000, memory = "16M", seconds = 1 }
rule("trade", function(story)
  story:tag("t")
  story:log("%s %d", story.id, #story.body)
  if story:topic("trade") >= 0.5 and story:has("tariff") then return { "trade-desk", "wire" } end
end)
rule("sport", { when = function(s) local l, p = s:label() return l == "sport" and p > 0.2 end, to = labels})
rule("meta", function(s) if s.meta.desk == "business" then return "wire" end end, { continue = true })
fallback "review"
expect { title = "Tariffs rise", body = "tar™ff trade war", route = { "trade-desk", "wire" } }
expect { name = "sport", title = "Cup", body = "striker", meta = { desk = "x" }, route = "web" }
