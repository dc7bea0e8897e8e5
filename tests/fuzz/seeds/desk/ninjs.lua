model("m", "m.cdm")
taxonomy {
  { id = "business", name = "Business", iptc = "medtop:04000000", threshold = 0.2,
    { id = "trade", name = "Trade", labels = { "trade" }, keywords = { "tariff*", "trade war" },
      iptc = "medtop:20000344" } },
  { id = "sport", labels = { "m:sport" }, iptc = "medtop:15000000", threshold = 0 },
}
destination "wire" { jsonl = "out/wire.jsonl", format = "ninjs" }
destination "review" { stdout = true, format = "copydesk" }
rule("trade", { when = function(s) return s:topic("trade") >= 0.5 end, to = "wire" })
fallback "review"
