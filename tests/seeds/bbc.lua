-- Keyword seeds for the five sections of the BBC News corpus (business,
-- entertainment, politics, sport, tech), for seeded training measured in
-- tests/accuracy: copydesk train --seeds tests/seeds/bbc.lua learns the
-- sections from bbc-train.jsonl with its labels removed.
--
-- Written once, from what each section of a British news site is about,
-- before any run and without reading the test split; at most 10 words or
-- phrases a topic.  Not to be tuned: the figure they give is the point.
taxonomy {
  { id = "business", name = "Business",
    keywords = { "shares", "profit*", "economy", "market*", "bank*", "company",
                 "firm*", "investors", "sales", "oil" } },
  { id = "entertainment", name = "Entertainment",
    keywords = { "film*", "music", "album*", "singer", "actor*", "actress", "oscar*",
                 "band", "box office", "festival" } },
  { id = "politics", name = "Politics",
    keywords = { "labour", "tory", "tories", "conservative*", "election", "minister*",
                 "parliament", "mps", "government", "prime minister" } },
  { id = "sport", name = "Sport",
    keywords = { "match", "cup", "coach", "player*", "champion*", "league", "injury",
                 "olympic*", "team", "season" } },
  { id = "tech", name = "Technology",
    keywords = { "technology", "software", "computer*", "internet", "broadband",
                 "mobile phone*", "digital", "online", "video game*", "users" } },
}

-- A desk around the taxonomy, so that `copydesk classify -c` can measure
-- the keyword rule alone (a story goes to the topic with most hits).
destination "all" { stdout = true }
fallback "all"
