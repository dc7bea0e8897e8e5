#!/bin/bash
# IPTC ninjs in and out: ninjs 2.x stories read (main headline, main body
# without markup, the rest as metadata), subjects as gold labels with
# --labels-from subjects, the iptc field of topics checked at load, and
# ninjs 2.2 written by classify --format ninjs, route --dry-run --format
# ninjs and a destination with format = "ninjs" -- every document written
# validated against the IPTC schema (tests/ninjs-validate).
. "$(dirname "$0")/lib.sh"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
W="$T/w"
mkdir -p "$W" && cd "$W" || exit 1

# validate NAME FILE: every document in FILE is valid ninjs 2.2
validate() {
    "$ROOT/tests/ninjs-validate" "$2" >"$T/val" 2>&1
    case $? in
        0) pass "$1" ;;
        77) pass "$1 # skip $(cat "$T/val")" ;;
        *) fail "$1" "$(head -c 800 "$T/val")" ;;
    esac
}

# line N FILE / match PATTERN FILE...: that line, or the matching lines, in
# a file (jqtrue reads its file twice)
line() { sed -n "$1p" "$2" >"$T/one.json"; echo "$T/one.json"; }
match() { grep -h -- "$@" >"$T/one.json"; echo "$T/one.json"; }

# ---- ninjs in -------------------------------------------------------------

cat >"$W/read.lua" <<'EOF2'
taxonomy { { id = "trade", keywords = { "tariff*" } } }
destination "all" { jsonl = "out/all.jsonl" }
fallback "all"
EOF2
run 1 "route reads ninjs 2.x (two bad stories reported)" -- cd_ route -q -c read.lua "$FIX/reader/ninjs2.jsonl"
has "a headline that is not an array is reported with its line" "$T/err" "ninjs2.jsonl:4: headlines is a string, not an array of objects"
has "a headline without a value is reported" "$T/err" "ninjs2.jsonl:5: headlines\[0\] is not an object with a string value"
jqtrue "uri is the id, the main headline the title" "$(line 1 out/all.jsonl)" \
    '.id == "http://example.com/news/2024/tariffs-1" and .title == "Steel tariffs rise again"'
jqtrue "the HTML body loses its markup, script and entities" "$(line 1 out/all.jsonl)" \
    '.body == "Steel tariffs rose again on Monday & imports fell.\nMinisters met today."'
jqtrue "the rest is metadata (urgency, pubstatus, language, embargoed, descriptions, subjects)" "$(line 1 out/all.jsonl)" \
    '.meta.urgency == 3 and .meta.pubstatus == "usable" and .meta.language == "en" and .meta.embargoed == "2024-01-02T10:00:00Z" and (.meta.descriptions | length) == 1 and (.meta.subjects | length) == 3 and .meta.title == "slug-tariffs"'
jqtrue "no body: the description stands for it, markup stripped" "$(line 2 out/all.jsonl)" \
    '.title == "Only a headline" and .body == "A summary stands for the body."'
jqtrue "a plain-text body is kept as it is; a 1.x headline fills in" "$(line 3 out/all.jsonl)" \
    '.title == "A 1.x headline in a 2.x story" and .body == "Plain text body, a<b and b>c."'
run 0 "ninjs 1.x is read as before" -- cd_ route -q -c read.lua "$FIX/reader/ninjs.jsonl"
jqtrue "1.x headline and body_text" "$(match '"urn:newsml' out/all.jsonl)" '.title == "Troops move" and .body == "Troops moved north."'

# ---- subjects as gold labels ----------------------------------------------

cat >"$T/subj.jsonl" <<'EOF2'
{"uri":"urn:s:1","headlines":[{"value":"Tariffs on steel"}],"bodies":[{"value":"Tariffs on steel and cars rise as the trade war grows."}],"subjects":[{"uri":"http://cv.iptc.org/newscodes/mediatopic/20000344","name":"economy"},{"literal":"trade"}]}
{"uri":"urn:s:2","headlines":[{"value":"Cup final"}],"bodies":[{"value":"The striker scored twice in the cup final and the team won the league."}],"subjects":[{"uri":"http://cv.iptc.org/newscodes/mediatopic/15000000","name":"sport"}]}
{"uri":"urn:s:3","headlines":[{"value":"Tariff talks"}],"bodies":[{"value":"Trade talks on tariffs and the trade deficit resume."}],"subjects":[{"uri":"http://cv.iptc.org/newscodes/mediatopic/20000344"},{"name":"trade"}]}
{"uri":"urn:s:4","headlines":[{"value":"Match report"}],"bodies":[{"value":"The match ended with a late goal by the striker."}],"subjects":[{"uri":"http://cv.iptc.org/newscodes/mediatopic/15000000"}]}
EOF2
run 2 "train without --labels-from finds no labels" -- cd_ train -q -o "$W/nolabels.cdm" "$T/subj.jsonl"
run 0 "train --labels-from subjects" -- cd_ train --labels-from subjects -o "$W/subj.cdm" "$T/subj.jsonl"
run 0 "model info lists the subjects' labels" -- cd_ model info --json "$W/subj.cdm"
jqtrue "labels are medtop:CODE, the literal, the name" "$T/out" \
    '[.labels[].label] | sort == ["medtop:15000000","medtop:20000344","trade"]'
run 0 "eval --labels-from subjects" -- cd_ eval --labels-from subjects --json -m "$W/subj.cdm" "$T/subj.jsonl"
jqtrue "eval read four labelled stories" "$T/out" '.docs == 4'
run 2 "--labels-from with another value is a usage error" -- cd_ train --labels-from tags -o "$W/x.cdm" "$T/subj.jsonl"

# ---- iptc on topics ----------------------------------------------------------

for bad in "medtop:2000" "mediatopic:20000344" "medtop:2000034x" "20000344"; do
    printf 'taxonomy { { id = "t", iptc = "%s" } }\ndestination "r" { stdout = true }\nfallback "r"\n' "$bad" >"$W/bad.lua"
    run 2 "iptc '$bad' is refused at load" -- cd_ check -c bad.lua
    has "the error names the file, line and the form" "$T/err" "bad.lua:1: taxonomy: topic 't': iptc '$bad' is not a Media Topic code"
done
run 0 "the shipped desk's iptc codes load" -- cd_ check -c "$ROOT/scripts/newsroom.lua"

# ---- ninjs out ---------------------------------------------------------------

run 0 "train a small sections model" -- cd_ train -q -o "$W/sections.cdm" "$FIX/mini/bbc-train.jsonl"
cat >"$W/desk.lua" <<'EOF2'
model("sections", "sections.cdm")
taxonomy {
  { id = "business", name = "Business", labels = { "sections:business" }, iptc = "medtop:04000000",
    { id = "trade", name = "Trade", keywords = { "tariff*" }, iptc = "medtop:20000344" } },
  { id = "sport", name = "Sport", labels = { "sections:sport" }, iptc = "medtop:15000000" },
  { id = "steel", name = "Steel", keywords = { "steel" }, threshold = 0.9 },
}
destination "wire"  { jsonl = "out/wire.jsonl", format = "ninjs" }
destination "desk"  { folder = "out/desk", format = "ninjs" }
destination "plain" { jsonl = "out/plain.jsonl" }
rule("trade", function(story) if story:topic("trade") >= 0.5 then return { "wire", "plain" } end end)
fallback "desk"
EOF2
sed 's/format = "ninjs" }/format = "nitf" }/' desk.lua >nitf.lua
run 2 "format must be copydesk or ninjs" -- cd_ check -c nitf.lua
has "the error says which formats there are" "$T/err" "nitf.lua:[0-9]+: destination 'wire': format must be \"copydesk\" \(the default\) or \"ninjs\""
cat "$FIX/reader/ninjs.jsonl" "$FIX/reader/ninjs2.jsonl" "$FIX/mini/bbc-test.jsonl" | grep -v '"urn:x:[45]"' >"$T/mixed.jsonl"
rm -rf out
run 0 "route delivers ninjs to format = ninjs destinations" -- cd_ route -q -c desk.lua "$T/mixed.jsonl"
validate "the jsonl ninjs destination's documents are valid ninjs 2.2" out/wire.jsonl
cat out/desk/*.json >"$T/folder.jsonl"
validate "the folder ninjs destination's documents are valid ninjs 2.2" "$T/folder.jsonl"
jqtrue "the plain destination still gets copydesk's JSON" "$(line 1 out/plain.jsonl)" 'has("topics") and has("route")'
jqtrue "a trade story: the Media Topic uri, name, creator, relevance and confidence" "$(match '"urn:copydesk:a1"' out/wire.jsonl)" \
    '[.subjects[] | select(.literal == "trade")][0] | .uri == "http://cv.iptc.org/newscodes/mediatopic/20000344" and .name == "Trade" and .creator == "copydesk" and .relevance == .confidence and .relevance >= 50'
jqtrue "a label's subject names its model as creator" "$(match '"urn:copydesk:a1"' out/wire.jsonl)" \
    '[.subjects[] | select(.literal == "business")][0].creator == "copydesk:sections"'
jqtrue "a topic under its threshold is no subject" "$(match '"urn:copydesk:a1"' out/wire.jsonl)" \
    '[.subjects[] | select(.literal == "steel")] == []'
jqtrue "the route is in descriptions, role copydesk:route" "$(match '"urn:copydesk:a1"' out/wire.jsonl)" \
    '[.descriptions[] | select(.role == "copydesk:route") | .value] == ["wire","plain"] and ([.descriptions[] | select(.role == "copydesk:rule") | .value] == ["trade"])'
jqtrue "an id that is no URI becomes urn:copydesk:, kept in altids" "$(match '"urn:copydesk:a1"' out/wire.jsonl)" \
    '.altids == [{"role":"copydesk:id","value":"a1"}]'
jqtrue "a ninjs 2 story keeps its headlines, bodies, subjects and metadata" "$(match '"http://example.com/news/2024/tariffs-1"' out/wire.jsonl)" \
    '(.headlines | length) == 2 and .bodies[0].contenttype == "text/html" and .urgency == 3 and .pubstatus == "usable" and .embargoed == "2024-01-02T10:00:00Z" and (.subjects[0].name == "economy")'
jqtrue "metadata that is not ninjs is left out" "$(match '"urn:copydesk:a1"' out/wire.jsonl)" \
    'has("desk") | not'

run 0 "route --dry-run --format ninjs" -- cd_ route -q -n --format ninjs -c desk.lua "$T/mixed.jsonl"
cp "$T/out" "$T/dry.jsonl"
validate "route --dry-run --format ninjs writes valid ninjs 2.2" "$T/dry.jsonl"
same "one document per story" "$(wc -l <"$T/dry.jsonl")" "$(grep -c . "$T/mixed.jsonl")"
run 0 "the ninjs written reads back" -- cd_ route -q -n -c desk.lua "$T/dry.jsonl"
same "each story with the id it had, not its urn:copydesk: uri" \
    "$(jq -r .id "$T/out" | sort | tr '\n' ' ')" "$(cd_ route -q -n -c desk.lua "$T/mixed.jsonl" | jq -r .id | sort | tr '\n' ' ')"
jqtrue "the uri and altid copydesk made are not metadata" "$(match '"id":"a1"' "$T/out")" \
    '(.meta.descriptions | length) > 0 and (.meta | has("uri") or has("altids") | not)'
run 2 "--format ninjs without --dry-run is a usage error" -- cd_ route --format ninjs -c desk.lua "$T/mixed.jsonl"

run 0 "classify --format ninjs with a desk" -- cd_ classify --format ninjs -c desk.lua "$T/mixed.jsonl"
cp "$T/out" "$T/cls-desk.jsonl"
validate "classify -c --format ninjs writes valid ninjs 2.2" "$T/cls-desk.jsonl"
run 0 "classify --format ninjs with a model" -- cd_ classify --format ninjs -m "$W/subj.cdm" "$T/mixed.jsonl"
cp "$T/out" "$T/cls-model.jsonl"
validate "classify -m --format ninjs writes valid ninjs 2.2" "$T/cls-model.jsonl"
jqtrue "a medtop label gets its Media Topic uri" "$(line 1 "$T/cls-model.jsonl")" \
    '[.subjects[] | select(.literal | startswith("medtop:")) | .uri | startswith("http://cv.iptc.org/newscodes/mediatopic/")] | all'
