#!/bin/bash
# copydesk train --seeds: a desk that defines its taxonomy in Lua learns it
# from unlabelled stories and the topics' keywords, then uses the model it
# made like any other (model("seeded", ...), labels = { "seeded:sport" }).
. "$(dirname "$0")/lib.sh"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
W="$T/w"
mkdir -p "$W" && cd "$W" || exit 1

run 0 "train --seeds --help" -- cd_ train --seeds x --help
has "help names the usage" "$T/out" "^usage: copydesk train --seeds DESK.lua -o MODEL"
run 0 "train --help mentions --seeds" -- cd_ train --help
has "train's help" "$T/out" "--seeds DESK.lua"

# the desk: its own taxonomy, learned into the model it names (which does
# not exist yet), its topics drawing on that model's labels
cat >"$W/desk.lua" <<'EOF2'
model("seeded", "topics.cdm")
taxonomy {
  { id = "business", labels = { "seeded:business" },
    keywords = { "shares", "profit*", "economy", "market*", "bank*", "company" } },
  { id = "sport", labels = { "seeded:sport" },
    keywords = { "match", "cup", "coach", "player*", "champion*", "league" } },
  { id = "tech", labels = { "seeded:tech" },
    keywords = { "technology", "software", "computer*", "internet", "mobile phone*" } },
  { id = "culture",
    { id = "entertainment", labels = { "seeded:entertainment" },
      keywords = { "film*", "music", "album*", "singer", "actor*" } } },
  { id = "politics", labels = { "seeded:politics" },
    keywords = { "labour", "tory", "election", "minister*", "parliament" } },
  { id = "weather" },
}
destination "desks" { jsonl = "out/routed.jsonl" }
fallback "desks"
EOF2
# the archive, its labels removed
jq -c 'del(.labels)' "$FIX/mini/bbc-train.jsonl" >"$T/archive.jsonl"

run 2 "route cannot run before the model exists" -- cd_ route -q -c desk.lua "$T/archive.jsonl"
run 0 "train --seeds learns the taxonomy" -- cd_ train --seeds desk.lua -o topics.cdm "$T/archive.jsonl"
[ -f topics.cdm ] && pass "the model file is written" || fail "the model file is written"
has "summary: stories and keyword reach" "$T/err" "train --seeds desk.lua: 60 stories, [0-9]+ reached by keywords"
has "summary: one line per topic learned" "$T/err" "^  sport +6 +[0-9]+ +[0-9]+ +[0-9]+  [0-9.]+ [0-9.]+ [0-9.]+$"
has "summary: a nested topic shrinks towards its parent too" "$T/err" "^  entertainment +5 +[0-9]+ +[0-9]+ +[0-9]+  [0-9.]+ [0-9.]+ [0-9.]+ [0-9.]+$"
has "summary: topics without keywords are named" "$T/err" "not learned \(no keywords\): weather"
has "summary: how EM converged" "$T/err" "EM: [0-9]+ iterations?, (converged|stopped)"
has "summary: each iteration" "$T/err" "iteration +1: log-likelihood -[0-9.]+, [0-9]+ stories changed topic"
run 0 "model info" -- cd_ model info --json topics.cdm
jqtrue "its labels are the topics that have keywords" "$T/out" \
    '[.labels[].label] | sort == ["business","entertainment","politics","sport","tech"]'
run 0 "eval on the labelled test stories" -- cd_ eval --json -m topics.cdm "$FIX/mini/bbc-test.jsonl"
jqtrue "learned without a label, it labels most test stories right" "$T/out" '.accuracy >= 0.7'
run 0 "the desk now routes with the model it learned" -- cd_ route -q -c desk.lua "$FIX/mini/bbc-test.jsonl"
run 0 "check finds every topic label in the model" -- cd_ check -c desk.lua
lacks "no label is unknown" "$T/out" "no model has"
jqtrue "stories get their topic from the seeded model" out/routed.jsonl '.labels.seeded | length == 1'

# mistakes
printf 'taxonomy { { id = "a" } }\ndestination "r" { stdout = true }\nfallback "r"\n' >none.lua
run 2 "a taxonomy without keywords cannot be learned" -- cd_ train --seeds none.lua -o x.cdm "$T/archive.jsonl"
has "says why" "$T/err" "none.lua: no topic of the taxonomy has keywords"
printf 'taxonomy { { id = "a", keywords = { "zzyzx" } } }\ndestination "r" { stdout = true }\nfallback "r"\n' >miss.lua
run 2 "keywords that reach no story leave nothing to start from" -- cd_ train --seeds miss.lua -o x.cdm "$T/archive.jsonl"
has "says so" "$T/err" "no story has any keyword of the taxonomy"
run 2 "--seeds without -o" -- cd_ train --seeds desk.lua "$T/archive.jsonl"
run 2 "--seeds with an unknown option" -- cd_ train --seeds desk.lua -o x.cdm --stem "$T/archive.jsonl"
run 2 "--seeds with a missing desk" -- cd_ train --seeds nowhere.lua -o x.cdm "$T/archive.jsonl"
has "names the file" "$T/err" "nowhere.lua"
