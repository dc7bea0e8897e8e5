#!/bin/bash
# The editor's loop (docs/desk-api.md): check cannot be fooled (a rule that
# fails fails its case whatever the route; literal topic ids, models,
# labels, phrases and to = ... are verified; destinations are tried), a
# failing rule keeps the copies earlier continue rules decided, every JSON
# copydesk writes reads back as the same story, time in the desk (now(),
# iso8601, expect { now = }, hold), --explain's given factor and rules,
# and keyword evidence with proximity, scope and counts.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W="$T/w"
mkdir -p "$W" && cd "$W" || exit 1

run 0 "train a small sections model" -- cd_ train -q -o "$W/sections.cdm" "$FIX/mini/bbc-train.jsonl"

# ---- check: a rule that fails fails its case, whatever the route ----------

cat >"$W/crash.lua" <<'LUA'
model("sections", "sections.cdm")
taxonomy { { id = "sport", labels = { "sections:sport" } } }
destination "review" { folder = "out/review" }
destination "sport-desk" { folder = "out/sport" }
rule("x", function(story)
  if story.title:contains("x") then return "sport-desk" end
end)
fallback "review"
expect { name = "a note goes to review", title = "Notice", body = "Lorem ipsum.", route = "review" }
LUA
run 1 "check: a case expecting the fallback fails when a rule crashed" -- cd_ check -c crash.lua
has "the failure says a rule failed" "$T/out" "^FAIL  a note goes to review crash.lua:9: a rule failed .*attempt to call a nil value \(method 'contains'\)"

cat >"$W/memory.lua" <<'LUA'
model("sections", "sections.cdm")
taxonomy { { id = "sport", labels = { "sections:sport" } } }
limits { memory = "2M" }
destination "review" { folder = "out/review" }
rule("hog", function(story)
  local t = {}
  for i = 1, 1e7 do t[i] = string.rep("x", 64) .. i end
end)
fallback "review"
expect { name = "memory", title = "Notice", body = "Lorem ipsum.", route = "review" }
LUA
run 1 "check: a case fails when a rule hit the memory limit" -- cd_ check -c memory.lua
has "the memory limit is named" "$T/out" "^FAIL  memory .*memory limit"

cat >"$W/nofallback.lua" <<'LUA'
model("sections", "sections.cdm")
taxonomy { { id = "sport", labels = { "sections:sport" } } }
destination "review" { folder = "out/review" }
destination "sport-desk" { folder = "out/sport" }
rule("sport", function(story) return "sport-desk" end)
fallback "review"
expect { name = "nothing decides", title = "Notice", body = "Lorem ipsum.", route = "sport-desk", rule = false }
LUA
run 1 "check: rule = false fails when a rule decided" -- cd_ check -c nofallback.lua
has "rule = false is described" "$T/out" "^FAIL  nothing decides .*by no rule"

# ---- check: literal names in rules ----------------------------------------

cat >"$W/typos.lua" <<'LUA'
model("sections", "sections.cdm")
taxonomy {
  { id = "sport", labels = { "sections:sport" } },
  { id = "world", { id = "defense", keywords = { "military", "missile*" } } },
}
destination "review" { folder = "out/review" }
destination "sport-desk" { folder = "out/sport" }
rule("typos", function(story)
  if story:topic("defence") > 0.5 then return "review" end
  if story:prob("sections:sprot") > 0.5 then return "review" end
  if story:label("section") == "x" then return "review" end
  if story:has("the") then return "review" end
  for _, t in ipairs(story:topics()) do if t.id == "wrld" then return "review" end end
  if story.id == "not-a-topic" then return "review" end
end)
rule("to", function(story)
  if story:topic("sport") > 0.5 then return "sport-desk" end
end, { to = "review" })
fallback "review"
LUA
run 2 "check: typos in a rule are problems" -- cd_ check -c typos.lua
has "topic typo, with the nearest id" "$T/err" "^copydesk: check: typos.lua:9: rule 'typos': unknown topic 'defence' \(did you mean 'defense'\?\)"
has "label typo, with the model's labels" "$T/err" "^copydesk: check: typos.lua:10: rule 'typos': model 'sections' has no label 'sprot' \(did you mean 'sport'\?\); its labels: business, entertainment, politics, sport, tech"
has "model typo" "$T/err" "^copydesk: check: typos.lua:11: rule 'typos': unknown model 'section' \(did you mean 'sections'\?\)"
has "a phrase of stop words" "$T/err" "^copydesk: check: typos.lua:12: rule 'typos': 'the' leaves no word"
has "t.id == literal after story:topics" "$T/err" "^copydesk: check: typos.lua:13: rule 'typos': unknown topic 'wrld' \(did you mean 'world'\?\)"
lacks "story.id is the story's id, not a topic" "$T/err" "not-a-topic"
has "a return outside to = ..." "$T/err" "^copydesk: check: typos.lua:17: rule 'to' returns 'sport-desk', which its to = ... does not list"
has "the total counts them" "$T/out" "; 6 problems$"

# the runtime message names the nearest topic too
cat >"$W/story.jsonl" <<'J'
{"id":"s1","title":"Chelsea win the cup","body":"The striker scored twice as Chelsea won the cup final against Arsenal."}
J
cat >"$W/rt.lua" <<'LUA'
model("sections", "sections.cdm")
taxonomy { { id = "world", { id = "defense", keywords = { "military" } } } }
destination "review" { folder = "out/review" }
destination "sport-desk" { folder = "out/sport" }
rule("typo", function(story) if story:topic("defence") > 0.5 then return "review" end end)
rule("to", function(story) return "sport-desk" end, { to = "review" })
fallback "review"
LUA
run 1 "route: a topic typo fails the rule" -- cd_ route -n -q -c rt.lua story.jsonl
jqtrue "route: the error suggests the topic" "$T/out" '.error | contains("did you mean '"'"'defense'"'"'?")'
sed -i '/rule("typo"/d' rt.lua
run 1 "route: to = ... is enforced at run time" -- cd_ route -n -q -c rt.lua story.jsonl
jqtrue "route: a return outside to = ... fails the rule" "$T/out" '(.error | contains("which its to = ... does not list")) and .route == ["review"]'

# ---- check: destinations that cannot be written ---------------------------

cat >"$W/paths.lua" <<'LUA'
model("sections", "sections.cdm")
taxonomy { { id = "sport", labels = { "sections:sport" } } }
destination "review" { folder = "out/review" }
destination "sport-desk" { folder = "/proc/sport" }
destination "wire" { jsonl = "/proc/wire/all.jsonl" }
destination "file" { jsonl = "blocker/all.jsonl" }
destination "ok" { jsonl = "out/deep/all.jsonl" }
fallback "review"
LUA
: >"$W/blocker"
run 2 "check: unwritable destinations are problems" -- cd_ check -c paths.lua
has "a folder under /proc" "$T/err" "^copydesk: check: paths.lua:4: destination 'sport-desk' cannot be written: cannot create the folder /proc/sport"
has "a jsonl under /proc" "$T/err" "^copydesk: check: paths.lua:5: destination 'wire' cannot be written: cannot create the folder /proc/wire"
has "a jsonl whose folder is a file" "$T/err" "^copydesk: check: paths.lua:6: destination 'file' cannot be written: blocker is not a folder"
lacks "a writable jsonl is fine" "$T/err" "'ok'"
[ ! -e out ] && pass "check leaves no folder behind" || fail "check leaves no folder behind" "$(find out)"

# ---- a failing rule keeps the copies earlier continue rules decided -------

cat >"$W/keep.lua" <<'LUA'
model("sections", "sections.cdm")
taxonomy { { id = "sport", labels = { "sections:sport" } } }
destination "review" { folder = "out/review" }
destination "archive" { jsonl = "out/archive.jsonl" }
destination "sport-desk" { folder = "out/sport" }
rule("archive everything", { to = "archive", continue = true })
rule("broken", function(story) error("boom") end)
fallback "review"
LUA
run 1 "route: a failing rule after an archive rule" -- cd_ route -q -c keep.lua story.jsonl
same "the archive copy is kept" "$(jq -r .id out/archive.jsonl 2>/dev/null)" "s1"
[ -e out/review/s1.json ] && pass "and the fallback gets it too" || fail "and the fallback gets it too" "$(find out)"
jqtrue "the delivered reason says so" out/review/s1.json '.route == ["archive","review"] and (.reason | contains("kept the copies earlier rules decided: archive"))'

# ---- round trip: every JSON copydesk writes reads back as the same story --

cat >"$W/rt.lua" <<'LUA'
model("sections", "sections.cdm")
taxonomy { { id = "sport", labels = { "sections:sport" } } }
destination "review" { folder = "out/review" }
destination "priority" { folder = "out/priority" }
destination "all" { jsonl = "out/all.jsonl" }
destination "down" { url = "http://127.0.0.1:9/refused", retries = 0, timeout = 2,
                     connect_timeout = 1, dead_letter = "out/dead" }
rule("archive", { to = "all", continue = true })
rule("post", { to = "down", continue = true })
-- metadata a CMS sends in a nested meta object
rule("priority", function(story)
  if story.meta.priority == "high" then return "priority" end
end)
fallback "review"
LUA
cat >"$W/rt.jsonl" <<'J'
{"id":"p1","title":"Chelsea win the cup","body":"The striker scored twice.\nA second line, \u00e9.","meta":{"priority":"high","desk":"meta wins"},"desk":"top level","labels":["sport"]}
{"id":"p2","headline":"Markets calm","body_text":"Shares rose.","region":"asia","tags":["cms tag"],"labels":"business"}
J
rm -rf out
run 1 "route to a folder, a jsonl file and a refused url" -- cd_ route -q -c rt.lua rt.jsonl
[ -e out/priority/p1.json ] && pass "a nested meta object is the story's metadata (the rule fired)" \
    || fail "a nested meta object is the story's metadata (the rule fired)" "$(find out)"
run 0 "the dry run" -- cd_ route -n -q -c rt.lua rt.jsonl
cp "$T/out" dry.jsonl
# the story as copydesk read it the first time, from the dry run of the input
jq -c '{id, title, body, meta, gold_labels}' dry.jsonl >want.jsonl
same "nested meta: meta's value wins, the other fields join it" \
    "$(jq -c .meta want.jsonl | head -1)" '{"priority":"high","desk":"meta wins"}'
for f in out/all.jsonl "out/priority out/review" out/dead dry.jsonl; do
    # shellcheck disable=SC2086
    "$COPYDESK" route -n -q -c rt.lua $f >"$T/again" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 0 ] && pass "round trip of $f: read back with no error" \
        || fail "round trip of $f: read back with no error" "exit $rc" "$(head -c 300 "$T/err")"
    same "round trip of $f: the same stories" \
        "$(jq -c '{id, title, body, meta, gold_labels}' "$T/again" | sort)" "$(sort want.jsonl)"
done
jqtrue "delivered: the model's labels and the gold labels apart" out/priority/p1.json \
    '(.labels | type == "object") and .gold_labels == ["sport"]'
run 0 "train on delivered stories (gold_labels)" -- cd_ train -q -o again.cdm out/all.jsonl
run 0 "model info of a model trained on delivered stories" -- cd_ model info again.cdm
same "its labels are the gold ones" "$(awk '/^label /{on=1; next} on && NF {print $1}' "$T/out" | sort | tr '\n' ' ')" "business sport "

# ---- time: now(), iso8601, story.received, expect { now = }, hold ----------

cat >"$W/time.lua" <<'LUA'
model("sections", "sections.cdm")
taxonomy { { id = "sport", labels = { "sections:sport" } } }
destination "review" { folder = "out/review" }
destination "wire" { jsonl = "out/wire.jsonl" }
destination "late" { folder = "out/late" }
rule("clock", function(story)
  assert(iso8601("2026-06-01T11:00:00+02:00") == iso8601("2026-06-01T09:00:00Z"))
  assert(iso8601("2026-06-01") == 1780272000)
  assert(iso8601(1780272000) == "2026-06-01T00:00:00Z")
  assert(iso8601("2026-02-30") == nil)
  assert(math.abs(story.received - now()) < 5)
  story:log("now %s", iso8601(now()))
end)
rule("embargo", function(story)
  if story.meta.embargo then return hold(story.meta.embargo, "wire") end
end)
rule("stale", function(story)
  if now() - story.received > 3600 then return "late" end
end)
fallback "review"
expect { name = "an embargo ahead holds", now = "2026-06-01T09:00:00Z",
         meta = { embargo = "2026-06-01T10:00:00Z" }, title = "t", body = "b",
         route = "wire", held_until = "2026-06-01T10:00:00Z" }
expect { name = "an embargo past delivers", now = "2026-06-01T11:00:00Z",
         meta = { embargo = "2026-06-01T10:00:00+00:00" }, title = "t", body = "b",
         route = "wire", held_until = false }
expect { name = "no embargo", now = "2026-06-01T11:00:00Z", title = "t", body = "b",
         route = "review", rule = false }
LUA
run 0 "check: expect cases with a fixed clock" -- cd_ check -c time.lua
has "a hold is compared" "$T/out" "^pass  an embargo ahead holds .*held until 2026-06-01T10:00:00Z"
sed 's/held_until = false/held_until = "2026-06-01T10:00:00Z"/' time.lua >time2.lua
run 1 "check: a case expecting a hold that does not happen fails" -- cd_ check -c time2.lua
has "the failed hold case" "$T/out" "^FAIL  an embargo past delivers"
sed 's/now = "2026-06-01T09:00:00Z"/now = "June 1st"/' time.lua >time3.lua
run 2 "check: a now that is not ISO 8601" -- cd_ check -c time3.lua
has "the bad time is named" "$T/err" "now 'June 1st' is not an ISO 8601 date-time"

cat >"$W/emb.jsonl" <<'J'
{"id":"e1","title":"t","body":"b","meta":{"embargo":"2099-01-01T00:00:00+01:00"}}
{"id":"e2","title":"t","body":"b","embargo":"2000-01-01T00:00:00Z"}
{"id":"e3","title":"t","body":"b","embargo":"soon"}
J
rm -rf out
run 1 "route: held, delivered and failed embargoes" -- cd_ route -c time.lua emb.jsonl
has "route: the held story's line" "$T/err" "^e1 -> wire \[held until 2098-12-31T23:00:00Z, not delivered\]"
has "route: the summary counts it" "$T/err" "^  held \(hold until a time\) +1 "
has "route: a past embargo is delivered" "$T/err" "^e2 -> wire  "
has "route: a time that is not ISO 8601 fails its rule" "$T/err" "'soon' is not an ISO 8601 date-time"
same "route: only the past embargo reached the wire" "$(jq -r .id out/wire.jsonl | tr '\n' ' ')" "e2 "
run 1 "dry run: held" -- cd_ route -n -q -c time.lua emb.jsonl
jqtrue "dry run: outcome held and held_until" "$T/out" 'if .id == "e1" then .outcome == "held" and .held_until == "2098-12-31T23:00:00Z" else .held_until == null end'

# ---- --explain: the given factor and what each rule did -------------------

cat >"$W/explain.lua" <<'LUA'
model("sections", "sections.cdm")
taxonomy {
  { id = "business", labels = { "sections:business" }, given = "sections:business",
    { id = "money", labels = { "sections:sport" } } },
}
destination "review" { folder = "out/review" }
destination "archive" { jsonl = "out/archive.jsonl" }
rule("quiet", function(story) end)
rule("archive", { to = "archive", continue = true })
rule("review", { to = "review" })
rule("never", { to = "review" })
fallback "review"
LUA
printf '%s\n' '{"id":"x1","title":"shares team","body":""}' >ambiguous.jsonl
run 0 "route --explain" -- cd_ route -n -e -q -c explain.lua ambiguous.jsonl
jqtrue "the given factor is in the evidence" "$T/out" \
    '[.evidence[] | select(.topic == "money")][0] | .given.label == "sections:business" and (.given.p | type == "number") and ((.m - (.labels[0].p * .given.p)) | fabs < 0.001)'
jqtrue "each rule's result" "$T/out" \
    '[.rules[].result] == ["nothing", "added", "decided", "not run"]'
run 0 "route --dry-run without --explain" -- cd_ route -n -q -c explain.lua story.jsonl
jqtrue "no evidence and no rules without --explain" "$T/out" 'has("evidence") or has("rules") | not'

# ---- keyword evidence: proximity, scope, counts ---------------------------

cat >"$W/kw.lua" <<'LUA'
model("sections", "sections.cdm")
taxonomy {
  { id = "nk", keywords = { { "north korea", near = "missile*", within = 3 } } },
  { id = "nk-sentence", keywords = { { "north korea", near = "missile*", within = "sentence" } } },
  { id = "embargo-title", keywords = { { "embargo", scope = "title" } } },
  { id = "lede-tariffs", keywords = { { "tariff*", scope = "lede" } } },
  { id = "many-tariffs", keywords = { { "tariff*", min = 3 } } },
}
destination "review" { folder = "out/review" }
destination "asia" { folder = "out/asia" }
rule("log", function(story)
  local found, n = story:near("north korea", "missile*", 3)
  story:log("near=%s,%d sentence=%s title=%s lede=%d body=%s",
    tostring(found), n, tostring(story:near("north korea", "missile*", "sentence")),
    tostring(story:has("embargo", "title")), story:count("tariff*", "lede"),
    tostring(story:has("embargo", "body")))
end)
rule("asia", function(story)
  if story:near("north korea", "missile*", "sentence") and story:count("tariff*") >= 2 then
    return "asia"
  end
end)
fallback "review"
expect { name = "near in one sentence and a count", title = "Embargo on North Korea",
         body = "North Korea fired a missile on Monday. Tariffs rose.\n\nLater, tariffs on steel.",
         route = "asia" }
expect { name = "apart and once", title = "Markets",
         body = "North Korea talks. A missile test followed. Tariffs rose.", route = "review" }
LUA
cat >"$W/kw.jsonl" <<'J'
{"id":"k1","title":"Embargo on North Korea","body":"North Korea fired a missile on Monday. Tariffs rose.\n\nLater, tariffs on steel.\nNorth Korea talks. A missile test followed days later in the sea."}
{"id":"k2","title":"Trade news","body":"Tariffs and tariffs and tariffs. The embargo holds. North Korea said nothing; one day a missile"}
J
run 0 "check: keyword tables and the rule methods" -- cd_ check -c kw.lua
run 0 "route --explain with keyword conditions" -- cd_ route -n -e -q -c kw.lua kw.jsonl
jqtrue "rules: near, sentence, scoped has and count" "$T/out" \
    'if .id == "k1" then .log[0] | endswith("near=true,3 sentence=true title=true lede=1 body=false") else .log[0] | endswith("near=false,0 sentence=true title=false lede=3 body=true") end'
hits() { jq -r --arg id "$1" --arg t "$2" 'select(.id == $id) | [.evidence[] | select(.topic == $t) | .keywords[].hits] | add // 0' "$T/out"; }
same "keywords: near within 3 words" "$(hits k1 nk)" "3"
same "keywords: near in one sentence" "$(hits k1 nk-sentence)" "1"
same "keywords: scope title" "$(hits k1 embargo-title) $(hits k2 embargo-title)" "1 0"
same "keywords: scope lede (first paragraph)" "$(hits k1 lede-tariffs)" "1"
same "keywords: a minimum count" "$(hits k1 many-tariffs) $(hits k2 many-tariffs)" "0 3"
jqtrue "explain names the conditions" "$T/out" \
    'if .id == "k2" then ([.evidence[].keywords[].keyword] | index("'"'"'tariff*'"'"', at least 3") != null) else true end'
sed -i 's/within = 3 }/within = "paragraph" }/' kw.lua
run 2 "a keyword table with a bad within" -- cd_ check -c kw.lua
has "the mistake is named with file:line" "$T/err" "kw.lua:[0-9]+: .*within must be a number of words"
sed -i 's/within = "paragraph" }/within = 3 }/; s/story:has("embargo", "title")/story:has("embargo", "titel")/' kw.lua
run 2 "check: an unknown scope in a rule" -- cd_ check -c kw.lua
has "the scope is reported" "$T/err" "rule 'log': unknown scope 'titel'"
