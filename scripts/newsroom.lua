-- newsroom.lua: the desk configuration shipped with copydesk.
--
-- Two models: "sections" (the five BBC sections) and "topics" (the 90
-- Reuters-21578 topics).  A taxonomy of newsroom topics draws on both and
-- on keywords, rules send each story to one desk, and whatever no rule is
-- sure about goes to review.  Run it from the repository's root:
--
--     copydesk route -c scripts/newsroom.lua tests/samples
--     copydesk check -c scripts/newsroom.lua
--
-- Paths this file reads (models, expect files) are relative to its own
-- folder, scripts/; the folders it writes are relative to the current
-- directory: everything lands under out/ (out/defense, out/trade, ...,
-- out/review, and out/dead-letter for deliveries that failed).
-- The whole Lua API is described in docs/desk-api.md.

model("sections", "../models/bbc.cdm")
model("topics", "../models/reuters.cdm")

-- Scores: a topic's labels (model probabilities) and keywords (hits in the
-- story, saturating: 2 hits give 0.5, 4 give 0.75) combine with a noisy-OR;
-- a parent scores at least its best child (docs/desk-api.md, "Topic scores").
--
-- iptc: each topic's IPTC Media Topic, written into the subjects of ninjs
-- output as http://cv.iptc.org/newscodes/mediatopic/ followed by the code.
-- Every code below was checked against the Media Topics vocabulary the IPTC
-- publishes at http://cv.iptc.org/newscodes/mediatopic/ (tree view:
-- https://www.iptc.org/std/NewsCodes/treeview/mediatopic/mediatopic-en-GB.html),
-- in a published copy of the whole tree; the names are the vocabulary's,
-- in en-GB, with the path from the top concept:
--   medtop:20000638  international relations  politics > international relations
--   medtop:20000598  defence                  politics > government > defence
--   medtop:20000639  diplomacy                politics > international relations > diplomacy
--   medtop:04000000  economy, business and finance
--   medtop:20000373  international trade      economy, business and finance > economy >
--                                             macro economics > international trade
--   medtop:20000385  market and exchange      economy, business and finance > market and exchange
--   medtop:20000256  energy and resource      economy, business and finance > economic sector >
--                                             energy and resource
--   medtop:11000000  politics
--   medtop:15000000  sport
--   medtop:20000756  technology and engineering  science and technology > technology and engineering
--   medtop:20000002  arts and entertainment   arts, culture, entertainment and media > arts and entertainment
-- "world" is the paper's section for foreign news; Media Topics has no
-- region concepts, so it takes the subject that section covers,
-- international relations.
taxonomy {
  { id = "world", name = "World", iptc = "medtop:20000638",
    { id = "defense", name = "Defense and security", iptc = "medtop:20000598",
      -- no corpus has a defense label: keywords carry this topic
      keywords = { "military", "troops", "soldier*", "army", "armed forces",
                   "mutual defense", "mutual defence", "defense minister",
                   "defence minister", "defense treaty", "defence spending",
                   "missile*", "nuclear weapon*", "warship*", "navy", "air force",
                   "regiment*", "invasion" } },
    { id = "diplomacy", name = "Diplomacy", iptc = "medtop:20000639",
      keywords = { "diplomat*", "ambassador*", "embass*", "treaty", "summit",
                   "foreign minister", "foreign ministry", "strategic partnership",
                   "bilateral" } },
  },
  -- The Reuters model knows business news only: its labels count in
  -- proportion to how much the story reads like business (given = ...).
  { id = "business", name = "Business", labels = { "sections:business" },
    iptc = "medtop:04000000",
    given = "sections:business",
    { id = "trade", name = "Trade", labels = { "topics:trade" }, iptc = "medtop:20000373",
      keywords = { "tariff*", "trade deficit", "trade surplus", "trade war",
                   "trade dispute", "trade sanctions", "protectionis*", "embargo",
                   "world trade organization", "gatt" } },
    { id = "markets", name = "Markets", iptc = "medtop:20000385",
      labels = { "topics:money-fx", "topics:interest", "topics:money-supply" },
      keywords = { "exchange rate*", "interest rate*", "central bank*" } },
    { id = "energy", name = "Energy", labels = { "topics:crude", "topics:nat-gas" },
      iptc = "medtop:20000256",
      keywords = { "opec", "crude oil", "oil price*", "barrels" } },
  },
  { id = "politics", name = "Politics", labels = { "sections:politics" },
    iptc = "medtop:11000000" },
  { id = "sport", name = "Sport", labels = { "sections:sport" }, iptc = "medtop:15000000" },
  { id = "technology", name = "Technology", labels = { "sections:tech" },
    iptc = "medtop:20000756" },
  { id = "entertainment", name = "Entertainment", labels = { "sections:entertainment" },
    iptc = "medtop:20000002" },
}

dead_letter "out/dead-letter"

destination "defense-desk"       { folder = "out/defense" }
destination "trade-desk"         { folder = "out/trade" }
destination "world-desk"         { folder = "out/world" }
destination "business-desk"      { folder = "out/business" }
destination "politics-desk"      { folder = "out/politics" }
destination "sport-desk"         { folder = "out/sport" }
destination "technology-desk"    { folder = "out/technology" }
destination "entertainment-desk" { folder = "out/entertainment" }
destination "review"             { folder = "out/review" }

-- Rules run in order; the first that returns a destination decides.

-- Automated tagging: every topic the story is likely about becomes a tag
-- of the delivered JSON.  Returns nothing, so the next rules still run.
rule("tag likely topics", function(story)
  for _, t in ipairs(story:topics(0.5)) do
    story:tag(t.id)
  end
end)

rule("defense stories go to the defense desk", function(story)
  if story:topic("defense") >= 0.6 then
    story:log("defense %.2f", story:topic("defense"))
    return "defense-desk"
  end
end)

rule("trade stories go to the trade desk", function(story)
  if story:topic("trade") >= 0.5 then
    return "trade-desk"
  end
end)

-- The other sections: the best-scoring one, when the desk is sure enough.
local section_desks = {
  world = "world-desk", business = "business-desk", politics = "politics-desk",
  sport = "sport-desk", technology = "technology-desk",
  entertainment = "entertainment-desk",
}

rule("sections go to their desks", function(story)
  for _, t in ipairs(story:topics(0.6)) do
    local desk = section_desks[t.id]
    if desk then return desk end
  end
end)

-- Nothing sure enough: an editor looks at it.
fallback "review"

-- Rule tests: `copydesk check -c scripts/newsroom.lua` runs them.
expect { name = "the North Korea-Russia treaty is defense news",
         file = "../tests/samples/nk-russia-defense-treaty.json",
         route = "defense-desk", rule = "defense stories go to the defense desk" }

expect { name = "a Reuters trade story goes to the trade desk",
         file = "../tests/samples/reuters-14826.json", route = "trade-desk" }

expect { name = "tariffs are trade",
         title = "U.S. raises tariffs on Japanese semiconductors",
         body = "Washington said it would impose tariffs of 100 pct on Japanese "
             .. "electronics exports in retaliation for Japan's failure to honour "
             .. "the semiconductor trade pact, widening the trade dispute between "
             .. "the two countries. Japanese officials said the trade sanctions "
             .. "were unjustified and warned of a trade war.",
         route = "trade-desk" }

expect { name = "a football match is sport",
         title = "Chelsea beat Arsenal to reach the cup final",
         body = "Chelsea scored twice in the second half to beat Arsenal 2-1 at "
             .. "Stamford Bridge. The manager praised his players and the striker "
             .. "who scored the winning goal said the team now wanted the title. "
             .. "The league leaders face Liverpool in the final next month.",
         route = "sport-desk" }

expect { name = "a phone launch is technology",
         file = "../tests/samples/bbc-tech-010.json", route = "technology-desk" }

-- rule = false: no rule decides, the fallback does.  A case fails when a
-- rule raises or hits a limit on its story, so a crash cannot pass here.
expect { name = "a note with no news goes to review",
         title = "Notice", body = "Lorem ipsum dolor sit amet.", route = "review",
         rule = false }
