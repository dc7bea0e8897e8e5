#!/bin/bash
# copydesk route end to end: a small model trained here, desks written
# here, stories routed to folder, jsonl, stdout and url destinations (the
# url ones against the test HTTP server on 127.0.0.1, tests/http/, built
# by tools/build --tests), dry runs, the summary, the accounting of every story
# read, and an editor's change to a rule file between two runs.
. "$(dirname "$0")/lib.sh"

pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
W="$T/w"
mkdir -p "$W" && cd "$W" || exit 1   # not $T: lib.sh writes $T/out

run 0 "route --help" -- cd_ route --help
has "help names the usage" "$T/out" "^usage: copydesk route -c DESK.lua"
has "help names --dry-run" "$T/out" "--dry-run"
run 2 "route without a desk is a usage error" -- cd_ route "$FIX/mini/bbc-test.jsonl"
has "says the desk is missing" "$T/err" "copydesk: route: no desk configuration"
run 2 "route with a missing desk file" -- cd_ route -c "$W/nowhere.lua"
has "names the missing file" "$T/err" "nowhere.lua"

run 0 "train a small sections model" -- cd_ train -q -o "$W/sections.cdm" "$FIX/mini/bbc-train.jsonl"

# ---- folder, jsonl and stdout destinations -------------------------------

cat >"$W/desk.lua" <<'EOF'
model("sections", "sections.cdm")
taxonomy {
  { id = "sport", name = "Sport", labels = { "sections:sport" } },
  { id = "business", name = "Business", labels = { "sections:business" },
    { id = "trade", name = "Trade", keywords = { "tariff*", "trade war" } } },
}
destination "sport-desk" { folder = "out/sport" }
destination "wire"       { jsonl = "out/wire.jsonl" }
destination "screen"     { stdout = true }
destination "review"     { folder = "out/review" }
rule("trade goes out on the wire", function(story)
  if story:topic("trade") >= 0.5 then return { "wire", "screen" } end
end)
rule("sport", function(story)
  if story:topic("sport") >= 0.6 then return "sport-desk" end
end)
fallback "review"
EOF

cat >"$T/stories.jsonl" <<'EOF'
{"id":"t1","title":"Tariffs start a trade war","body":"New tariffs on steel and more tariffs on cars start a trade war.","region":"asia","byline":"A. Writer"}
{"id":"s1","title":"Chelsea win","body":"The striker scored twice as Chelsea won the league match against Arsenal in the cup.","region":"europe"}
{"id":"n1","title":"Zzyzx","body":"Qwfp zxcv."}
EOF

run 0 "route to folder, jsonl and stdout" -- cd_ route -c desk.lua "$T/stories.jsonl"
[ -f out/sport/s1.json ] && pass "folder: one file per story, named after the id" \
    || fail "folder: one file per story, named after the id" "$(find out -type f)"
[ -f out/review/n1.json ] && pass "fallback folder holds the undecided story" \
    || fail "fallback folder holds the undecided story" "$(find out -type f)"
same "nothing else in the folders" "$(find out -name '*.json' | sort | tr '\n' ' ')" "out/review/n1.json out/sport/s1.json "
jqtrue "folder file is the story JSON" out/sport/s1.json \
    '.id == "s1" and .title == "Chelsea win" and (.body | startswith("The striker scored twice")) and .meta == {"region":"europe"}'
jqtrue "folder file has topics, labels, route and rule" out/sport/s1.json \
    '(.topics[0] | .id == "sport" and .score >= 0.6) and (.labels.sections[0].label == "sport") and .route == ["sport-desk"] and .rule == "sport"'
jqtrue "fallback file: rule null, route review" out/review/n1.json \
    '.id == "n1" and .route == ["review"] and .rule == null and (.reason | startswith("fallback"))'
same "jsonl: one line per story" "$(wc -l <out/wire.jsonl)" "1"
jqtrue "jsonl line is the story JSON with its meta" out/wire.jsonl \
    '.id == "t1" and .meta.region == "asia" and .meta.byline == "A. Writer" and .route == ["wire", "screen"] and .rule == "trade goes out on the wire"'
jqtrue "jsonl line has topic scores" out/wire.jsonl \
    '([.topics[] | select(.id == "trade")][0].score >= 0.5) and (.labels.sections | length >= 1)'
same "stdout destination: one line" "$(wc -l <"$T/out")" "1"
jqtrue "stdout line is the story JSON" "$T/out" '.id == "t1" and .title == "Tariffs start a trade war" and .route == ["wire", "screen"]'
has "stderr: where each story went" "$T/err" "^s1 -> sport-desk  \(rule 'sport' \(desk.lua:14\)"
has "stderr: the fallback and why" "$T/err" "^n1 -> review  \(fallback: no rule decided"
has "stderr: several destinations" "$T/err" "^t1 -> wire, screen "
has "summary: stories in" "$T/err" "^  stories in +3$"
has "summary: routed by a rule" "$T/err" "^  routed by a rule +2$"
has "summary: fallback" "$T/err" "^  fallback \(review\) +1$"
has "summary: dead letter" "$T/err" "^  dead letter +0$"
has "summary: delivered per destination" "$T/err" "^    sport-desk +1$"
has "summary: the stdout destination counted" "$T/err" "^    screen +1$"
has "summary: rule errors" "$T/err" "^  rule errors +0$"

run 0 "route again appends to the jsonl, replaces the file" -- cd_ route -q -c desk.lua "$T/stories.jsonl"
same "jsonl: appended" "$(wc -l <out/wire.jsonl)" "2"
same "folder: same id, same file" "$(ls out/sport | tr '\n' ' ')" "s1.json "
same "no temporary files left" "$(find out -name '.*' -o -name '*.tmp*' | wc -l)" "0"
[ -s "$T/err" ] && fail "--quiet: nothing on stderr" "$(head -c 300 "$T/err")" || pass "--quiet: nothing on stderr"

printf '%s\n' '{"id":"../../escape","title":"Zzyzx","body":"Qwfp."}' >"$T/evil.jsonl"
run 0 "an id with ../ is routed" -- cd_ route -q -c desk.lua "$T/evil.jsonl"
[ ! -e "$W/escape.json" ] && [ ! -e "$T/escape.json" ] && [ ! -e "$W/out/escape.json" ] && [ "$(ls out/review | wc -l)" -eq 2 ] \
    && pass "an id with ../ stays inside the folder" || fail "an id with ../ stays inside the folder" "$(ls -a out/review)"

run 0 "standard input" -- sh -c "'$COPYDESK' route -q -c desk.lua <'$T/stories.jsonl'"
jqtrue "standard input routed" "$T/out" '.id == "t1"'

# ---- dry run ---------------------------------------------------------------

rm -rf out
run 0 "route --dry-run" -- cd_ route --dry-run -c desk.lua "$T/stories.jsonl"
[ ! -e out ] && pass "dry run writes nothing" || fail "dry run writes nothing" "$(find out)"
same "dry run: one JSON line per story" "$(wc -l <"$T/out")" "3"
jqtrue "dry run lines have route and reason" "$T/out" '(.route | length == 1 or length == 2) and (.reason | type == "string" and length > 0) and has("rule") and has("outcome")'
same "dry run: routes" "$(jq -r '.id + "=" + (.route | join("+"))' "$T/out" | tr '\n' ' ')" "t1=wire+screen s1=sport-desk n1=review "
jqtrue "dry run: reasons name the rule" "$T/out" 'if .rule then (.reason | contains("rule")) else (.reason | startswith("fallback")) end'
# a delivered story has no outcome: every line is a decision, none the
# stdout destination's delivery (a decision carries the story too, so that
# it reads back as input)
jqtrue "dry run: the stdout destination prints nothing" "$T/out" 'has("outcome")'
has "dry run: summary says so" "$T/err" "dry run: nothing delivered"
has "dry run: would deliver" "$T/err" "^  would deliver to:"
has "dry run: summary counts" "$T/err" "^  stories in +3$"

run 0 "route -n --explain" -- cd_ route -n --explain -c desk.lua "$T/stories.jsonl"
jqtrue "explain: evidence per topic" "$T/out" '.evidence | type == "array"'
grep '^{"id":"t1"' "$T/out" >"$T/t1.json"; grep '^{"id":"s1"' "$T/out" >"$T/s1.json"
jqtrue "explain: keywords that contributed" "$T/t1.json" '[.evidence[] | select(.topic == "trade") | .keywords[] | .keyword] | index("tariff*") != null'
jqtrue "explain: labels that contributed" "$T/s1.json" '[.evidence[] | select(.topic == "sport") | .labels[] | .label] == ["sections:sport"]'

# ---- classify with a desk: topics and their evidence -----------------------

run 0 "classify -m -c" -- cd_ classify -m "$W/sections.cdm" -c desk.lua "$T/stories.jsonl"
same "classify -c: one line per story" "$(wc -l <"$T/out")" "3"
jqtrue "classify -c: labels as without a desk" "$T/out" '(.labels | length == 1) and (.labels[0] | has("label") and has("p"))'
jqtrue "classify -c: topics, best first" "$T/out" '(.topics | length >= 1) and (.topics[0] | has("id") and has("score")) and ([.topics[].score] == ([.topics[].score] | sort | reverse))'
grep '^{"id":"t1"' "$T/out" >"$T/t1.json"
jqtrue "classify -c: the trade story's topics" "$T/t1.json" '[.topics[] | select(.id == "trade")][0].score >= 0.5'
lacks "classify -c: no evidence without --explain" "$T/out" '"evidence"'
[ ! -e out ] && pass "classify -c delivers nothing" || fail "classify -c delivers nothing" "$(find out)"
run 0 "classify -c --explain" -- cd_ classify -m "$W/sections.cdm" -c desk.lua --explain "$T/stories.jsonl"
grep '^{"id":"t1"' "$T/out" >"$T/t1.json"; grep '^{"id":"s1"' "$T/out" >"$T/s1.json"
jqtrue "classify --explain: label tokens still there" "$T/t1.json" '.labels[0].tokens | length > 0'
jqtrue "classify --explain: keywords per topic" "$T/t1.json" '[.evidence[] | select(.topic == "trade") | .keywords[] | .keyword + "=" + (.hits | tostring)] == ["tariff*=3", "trade war=2"]'
jqtrue "classify --explain: labels per topic" "$T/s1.json" '[.evidence[] | select(.topic == "sport") | .labels[].label] == ["sections:sport"]'
run 0 "route -n --explain, for comparison" -- cd_ route -n --explain -c desk.lua "$T/stories.jsonl"
grep '^{"id":"t1"' "$T/out" | jq -c .evidence >"$T/route-evidence"
jq -c .evidence "$T/t1.json" >"$T/classify-evidence"
same "classify --explain shows the evidence route --explain shows" "$(cat "$T/classify-evidence")" "$(cat "$T/route-evidence")"
run 0 "classify -c without -m: the desk's models" -- cd_ classify -c desk.lua "$T/stories.jsonl"
jqtrue "classify -c alone: labels per desk model" "$T/out" '(has("labels") | not) and (.models.sections | length >= 1) and (.topics | type == "array")'
run 2 "classify -c with a broken desk" -- cd_ classify -c "$W/nowhere.lua" "$T/stories.jsonl"
has "classify -c: the desk error" "$T/err" "copydesk: classify: .*nowhere.lua"
run 2 "classify --top without a model" -- cd_ classify -c desk.lua --top 2 "$T/stories.jsonl"
run 0 "classify --help names -c" -- cd_ classify --help
has "classify --help: -c" "$T/out" "-c, --config DESK.lua"

# ---- url destination against a real server ----------------------------

# start_sink NAME STATUS|hang: starts the test HTTP server, sets $port;
# it logs the bodies it accepts to $T/NAME.log, every request to $T/NAME.log.req.
start_sink() {
    "$TEST_HTTP" --status "$2" "$T/$1.port" "$T/$1.log" &
    pids+=($!)
    for _ in $(seq 100); do [ -s "$T/$1.port" ] && break; sleep 0.05; done
    port=$(cat "$T/$1.port" 2>/dev/null)
}

if [ -x "$TEST_HTTP" ]; then
    pass "the test HTTP server is built"
    start_sink ok 200; port_ok=$port
    start_sink fail 500; port_fail=$port
    start_sink hang hang; port_hang=$port
    [ -n "$port_ok" ] && [ -n "$port_fail" ] && [ -n "$port_hang" ] \
        && pass "test HTTP servers listen" || fail "test HTTP servers listen"

    cat >"$W/url.lua" <<EOF
model("sections", "sections.cdm")
taxonomy { { id = "sport", labels = { "sections:sport" } } }
dead_letter "out/dead"
destination "hub"    { url = "http://127.0.0.1:$port_ok/stories", timeout = 5 }
destination "broken" { url = "http://127.0.0.1:$port_fail/stories", retries = 2, backoff = 0.05,
                       dead_letter = "out/dead-broken" }
destination "silent" { url = "http://127.0.0.1:$port_hang/stories", timeout = 1,
                       connect_timeout = 1, retries = 1, backoff = 0.05 }
destination "review" { folder = "out/review" }
rule("by desk field", function(story) return story.meta.desk end)
fallback "review"
EOF
    printf '%s\n' '{"id":"u1","title":"To the hub","body":"Qwfp.","desk":"hub"}' >"$T/u1.jsonl"
    printf '%s\n' '{"id":"u2","title":"To a broken server","body":"Qwfp.","desk":"broken"}' >"$T/u2.jsonl"
    printf '%s\n' '{"id":"u3","title":"To a silent server","body":"Qwfp.","desk":"silent"}' >"$T/u3.jsonl"

    run 0 "url: delivered to a server that answers 200" -- cd_ route -c url.lua "$T/u1.jsonl"
    same "url: one POST" "$(wc -l <"$T/ok.log")" "1"
    jqtrue "url: the POST body is the story JSON" "$T/ok.log" \
        '.id == "u1" and .title == "To the hub" and .meta.desk == "hub" and .route == ["hub"] and .rule == "by desk field"'
    has "url: summary counts it" "$T/err" "^    hub +1$"
    [ ! -e out/dead ] && pass "url: nothing in dead letter" || fail "url: nothing in dead letter" "$(find out/dead)"

    run 1 "url: a server answering 500 ends in dead letter (exit 1)" -- cd_ route -c url.lua "$T/u2.jsonl"
    same "url: retried (1 + 2 retries)" "$(wc -l <"$T/fail.log.req")" "3"
    same "url: the destination's dead-letter folder" "$(ls out/dead-broken 2>/dev/null | wc -l)" "1"
    jqtrue "dead letter: destination, error and story" "$(ls out/dead-broken/* 2>/dev/null | head -1)" \
        '.destination == "broken" and (.error | test("500")) and .story.id == "u2" and .story.title == "To a broken server" and (.failed_at | type == "number" or type == "string")'
    has "url: stderr says dead letter" "$T/err" "^u2 -> broken \[dead letter\]"
    has "url: the error on stderr" "$T/err" "copydesk: route: destination 'broken': .*500"
    has "url: summary dead letter" "$T/err" "^  dead letter +1$"
    has "url: summary failed delivery" "$T/err" "^    broken +0  \(1 failed\)$"

    start=$(date +%s)
    run 1 "url: a server that never answers ends in dead letter" -- cd_ route -c url.lua "$T/u3.jsonl"
    took=$(( $(date +%s) - start ))
    [ "$took" -lt 30 ] && pass "url: the timeout bounds the wait (${took}s)" || fail "url: the timeout bounds the wait" "${took}s"
    same "url: the silent server got 2 attempts" "$(wc -l <"$T/hang.log.req")" "2"
    same "url: the desk's dead-letter folder" "$(ls out/dead 2>/dev/null | wc -l)" "1"
    jqtrue "dead letter: the timeout error" "$(ls out/dead/* 2>/dev/null | head -1)" \
        '.destination == "silent" and (.error | test("[Tt]imeout|timed out")) and .story.id == "u3"'

    before=$(wc -l <"$T/fail.log.req")
    run 0 "url: a dry run contacts no server" -- cd_ route -n -c url.lua "$T/u2.jsonl"
    same "url: no POST in a dry run" "$(wc -l <"$T/fail.log.req")" "$before"
    jqtrue "url: the dry run says where it would go" "$T/out" '.route == ["broken"] and .outcome == "routed"'

    # ---- accounting: every story read is accounted for ----------------
    rm -rf out
    cat >"$W/mix.lua" <<EOF
model("sections", "sections.cdm")
taxonomy { { id = "sport", labels = { "sections:sport" } } }
dead_letter "out/dead"
destination "sport-desk" { folder = "out/sport" }
destination "broken" { url = "http://127.0.0.1:$port_fail/stories", retries = 0 }
destination "review" { folder = "out/review" }
rule("explodes on Boom", function(story)
  if story.title:find("Boom") then error("kaboom") end
end)
rule("broken desk", function(story)
  if story.meta.desk == "broken" then return "broken" end
end)
rule("sport", function(story)
  if story:topic("sport") >= 0.6 then return "sport-desk" end
end)
fallback "review"
EOF
    cat >"$T/mix.jsonl" <<'EOF'
{"id":"m1","title":"Chelsea win","body":"The striker scored twice as Chelsea won the league match against Arsenal in the cup."}
{"id":"m2","title":"Zzyzx","body":"Qwfp."}
{"id":"m3", "title": "broken line
{"id":"m4","title":"Boom","body":"Qwfp."}
{"id":"m5","title":"For the broken desk","body":"Qwfp.","desk":"broken"}
{"id":"m6","title":"Boom again","body":"The striker scored twice."}
EOF
    mkdir -p "$T/more"
    printf 'Goalkeeper saves penalty\nThe goalkeeper saved a penalty as the team won the derby match.\n' >"$T/more/m7.txt"
    run 1 "route a mix: good, malformed, a failing rule, a failing destination" -- \
        cd_ route -c mix.lua "$T/mix.jsonl" "$T/more" "$FIX/mini/bbc-test.jsonl"
    num() { sed -n "s/^  $1 *\([0-9]*\)$/\1/p" "$T/err"; }
    read_in=$(num "stories in"); routed=$(num "routed by a rule"); fb=$(num "fallback (review)")
    dead=$(num "dead letter"); failed=$(num "failed"); bad=$(num "unreadable inputs")
    same "mix: stories in" "$read_in" "26"
    same "mix: the malformed line is reported" "$bad" "1"
    has "mix: the malformed line named" "$T/err" "mix.jsonl:3"
    same "mix: stories in = routed + fallback + dead letter + failed" \
        "$((routed + fb + dead + failed))" "$read_in"
    same "mix: dead letter" "$dead" "1"
    has "mix: the failing rule named with story and line" "$T/err" \
        "rule 'explodes on Boom' \(mix.lua:7\) failed on story m4: mix.lua:8: kaboom"
    has "mix: summary rule errors" "$T/err" "^  rule errors +2$"
    has "mix: errors per rule" "$T/err" "^    explodes on Boom +2$"
    # every readable story is somewhere: a folder file or the dead letter
    files=$(find out/sport out/review out/dead -name '*.json' | wc -l)
    same "mix: one file per story in the folders and dead letter" "$files" "$read_in"
    ids=$( (cat out/sport/*.json out/review/*.json; jq -c .story out/dead/*.json) | jq -r .id | sort | tr '\n' ' ')
    want=$( (printf 'm1\nm2\nm4\nm5\nm6\n%s\n' "$T/more/m7.txt"; jq -r .id "$FIX/mini/bbc-test.jsonl") | sort | tr '\n' ' ')
    same "mix: exactly the stories read, once each" "$ids" "$want"
    jqtrue "mix: the failing rule's stories are in the fallback" out/review/m4.json '.route == ["review"] and .rule == null and (.reason | contains("kaboom"))'
else
    fail "the test HTTP server is built" "no $TEST_HTTP (tools/build --tests)"
fi

# ---- failed: the destination and the dead letter both fail -----------------

cat >"$W/failed.lua" <<'EOF'
model("sections", "sections.cdm")
taxonomy { { id = "sport", labels = { "sections:sport" } } }
dead_letter "/dev/null/dead"
destination "bad"    { folder = "/dev/null/out" }
destination "review" { folder = "out/failed-review" }
rule("bad title", function(story) if story.title == "bad" then return "bad" end end)
fallback "review"
EOF
printf '%s\n' '{"id":"f1","title":"bad","body":"x"}' '{"id":"f2","title":"good","body":"x"}' >"$T/failed.jsonl"
run 1 "route: a story neither delivered nor dead-lettered fails (exit 1)" -- cd_ route -c failed.lua "$T/failed.jsonl"
has "failed: said on the story's line" "$T/err" "^f1 -> bad \[FAILED\]"
has "failed: both errors named" "$T/err" "destination 'bad' and dead letter: /dev/null/dead"
has "failed: counted" "$T/err" "^  failed +1$"
has "failed: stories in = 2" "$T/err" "^  stories in +2$"
has "failed: the other story delivered" "$T/err" "^  fallback \(review\) +1$"

# ---- an editor's change to a rule file, no recompiling ---------------------

cat >"$W/editor.lua" <<'EOF'
model("sections", "sections.cdm")
taxonomy { { id = "sport", labels = { "sections:sport" } } }
destination "sport-desk" { folder = "out/sport" }
destination "archive"    { folder = "out/archive" }
destination "review"     { folder = "out/review" }
require "editor_rules"
fallback "review"
EOF
cat >"$W/editor_rules.lua" <<'EOF'
rule("sport", function(story)
  if story:topic("sport") >= 0.6 then return "sport-desk" end
end)
EOF
head -2 "$T/stories.jsonl" | tail -1 >"$T/s1.jsonl"
run 0 "editor: first run" -- cd_ route -n -c editor.lua "$T/s1.jsonl"
jqtrue "editor: sport story goes to the sport desk" "$T/out" '.route == ["sport-desk"]'
sed -i 's/return "sport-desk"/return "archive"/' "$W/editor_rules.lua"
run 0 "editor: second run after editing the rule file" -- cd_ route -n -c editor.lua "$T/s1.jsonl"
jqtrue "editor: the same story now goes to the archive" "$T/out" '.route == ["archive"] and .rule == "sport"'
sed -i 's/>= 0.6/>= 2/' "$W/editor_rules.lua"
run 0 "editor: third run, threshold raised" -- cd_ route -n -c editor.lua "$T/s1.jsonl"
jqtrue "editor: now nothing decides: review" "$T/out" '.route == ["review"] and .rule == null'
