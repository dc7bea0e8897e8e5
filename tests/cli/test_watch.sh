#!/bin/bash
# copydesk watch end to end, with real processes: files already in the
# inbox and files dropped in are routed and moved to done/ (or failed/ with
# a .error); the log says where each story went; an edit to a rule (or to a
# module the desk requires, or a replaced model) is picked up with no
# restart; a broken edit, or one whose expect cases fail, keeps the old
# rules; SIGHUP reloads; SIGTERM stops cleanly; the status file and
# --status tell what happened.  Every wait polls with a deadline.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"

run 0 "watch --help" -- cd_ watch --help
has "help names the usage" "$T/out" "^usage: copydesk watch -c DESK.lua"
has "help names --inbox" "$T/out" "--inbox DIR"
run 2 "watch without a desk is a usage error" -- cd_ watch --inbox "$W/in0"
has "says the desk is missing" "$T/err" "copydesk: watch: no desk configuration"
run 2 "watch --status without a state folder" -- cd_ watch --status --state "$W/nowhere"
has "says there is no status" "$T/err" "status.json"

train_model
cat >"$W/rules.lua" <<'EOF2'
-- the module the desk requires: which desk sport goes to
return { sport = "sport-desk" }
EOF2
write_desk() {  # the sport rule's destination expression
    cat >"$W/desk.new" <<EOF2
local rules = require "rules"
model("sections", "sections.cdm")
taxonomy {
  { id = "sport", name = "Sport", labels = { "sections:sport" } },
  { id = "business", name = "Business", labels = { "sections:business" } },
}
destination "sport-desk" { folder = "out/sport" }
destination "wire"       { jsonl = "out/wire.jsonl" }
destination "review"     { folder = "out/review" }
rule("sport", function(story)
  if story:topic("sport") >= 0.5 then return $1 end
end)
fallback "review"
EOF2
    mv "$W/desk.new" "$W/desk.lua"   # as editors save: a new file renamed over the old
}
write_desk 'rules.sport'
run 0 "the desk checks" -- cd_ check -c "$W/desk.lua"

# ---- files already in the inbox are routed first, in name order ----------------
mkdir -p "$W/in"
drop "$W/in" 01-sport.json "$(sport_story early-sport)"
drop "$W/in" 02-biz.json "$(business_story early-biz)"
printf '{"id":"bad-1","title":"ok"}\n{"id": broken\n' >"$W/in/03-bad.jsonl"
watch_start "$W/log" -c "$W/desk.lua" --inbox "$W/in"
check "a story already in the inbox is routed" 20 test -f "$W/out/sport/early-sport.json"
check "its file moves to done/" 20 test -f "$W/in/done/01-sport.json"
check "the fallback gets the other story" 20 test -f "$W/out/review/early-biz.json"
check "a file with a malformed line goes to failed/" 20 test -f "$W/in/failed/03-bad.jsonl"
has "its .error says which line and why" "$W/in/failed/03-bad.jsonl.error" "03-bad.jsonl:2"
check "the good story of that file is routed anyway" 5 test -f "$W/out/review/bad-1.json"
has "one log line per story: id, route, rule" "$W/log" \
    "story id=early-sport route=sport-desk rule=sport outcome=routed"
has "the fallback logs no rule" "$W/log" "story id=early-biz route=review rule=- outcome=fallback"
lacks "pre-existing files come in name order" <(grep -o 'story id=early-[a-z]*' "$W/log" | head -1) "early-biz"

# ---- files dropped in while it runs ----------------------------------------------
drop "$W/in" renamed.json "$(sport_story dropped-renamed)"
check "a file renamed into the inbox is routed" 20 test -f "$W/out/sport/dropped-renamed.json"
sport_story written-in-place >"$W/in/in-place.json"
check "a file written in place is routed once closed" 20 test -f "$W/out/sport/written-in-place.json"
check "and moved to done/" 20 test -f "$W/in/done/in-place.json"
mkdir -p "$W/in/sub"
drop "$W/in" dup.json "$(sport_story dup-1)"
check "first dup.json done" 20 test -f "$W/in/done/dup.json"
drop "$W/in" dup.json "$(sport_story dup-2)"
check "a second file of the same name keeps the first in done/" 20 test -f "$W/in/done/dup.json.1"

# ---- hot reload: a rule edit changes the routing of the next story ------------------
nreload() { grep -c " reload " "$W/log"; }
reloaded_since() { [ "$(nreload)" -gt "$1" ]; }
write_desk '"wire"'
check "the edit is reloaded" 20 has_line "$W/log" " reload config="
drop "$W/in" after-edit.json "$(sport_story after-edit)"
check "the next story follows the new rule" 20 has_line "$W/out/wire.jsonl" '"id":"after-edit"'
same "and not the old one" "$(ls "$W/out/sport" | grep -c after-edit)" 0

# a broken edit: the old rules keep routing; the log names file and line
r0=$(nreload)
printf 'rule("oops", function(story)\n  return = 1\nend)\n' >>"$W/desk.lua"
check "a broken edit is refused" 20 has_line "$W/log" "reload-failed .*desk.lua:[0-9]+:"
has "the log says the old rules are kept" "$W/log" "keeping=\"the previous rules\""
drop "$W/in" after-broken.json "$(sport_story after-broken)"
check "stories still follow the last good rules" 20 has_line "$W/out/wire.jsonl" '"id":"after-broken"'
same "no reload happened" "$(nreload)" "$r0"

# an edit whose expect cases fail is refused too
write_desk '"wire"'
cat >>"$W/desk.lua" <<'EOF2'
rule("everything to review", { to = "review" })
expect { name = "sport goes to the sport desk", title = "Cup final", route = "sport-desk",
         body = "The striker scored twice and the manager praised the team after the league match." }
EOF2
check "an edit failing its expect cases is refused" 20 \
    has_line "$W/log" "reload-failed .*expect case 'sport goes to the sport desk.*' failed: expected sport-desk, got wire"
drop "$W/in" after-expect.json "$(sport_story after-expect)"
check "and routing goes on with the rules before it" 20 has_line "$W/out/wire.jsonl" '"id":"after-expect"'

# a module the desk requires changes: reloaded
write_desk 'rules.sport'
check "fixing the desk reloads it" 20 reloaded_since "$r0"
r1=$(nreload)
printf 'return { sport = "wire" }\n' >"$W/rules.new" && mv "$W/rules.new" "$W/rules.lua"
check "an edit to a required module reloads the desk" 20 reloaded_since "$r1"
drop "$W/in" after-module.json "$(sport_story after-module)"
check "and the module's new value routes the next story" 20 \
    has_line "$W/out/wire.jsonl" '"id":"after-module"'

# a model replaced atomically is reloaded; SIGHUP forces a reload
r2=$(nreload)
cp "$W/sections.cdm" "$W/.sections.tmp" && mv "$W/.sections.tmp" "$W/sections.cdm"
check "a replaced model reloads the desk" 20 reloaded_since "$r2"
r3=$(nreload)
kill -HUP "$WATCH_PID"
check "SIGHUP reloads" 20 reloaded_since "$r3"

# ---- status --------------------------------------------------------------------
# 11 stories so far: 5 to sport-desk (early-sport, dropped-renamed,
# written-in-place, dup-1, dup-2), 4 to wire (after-edit, after-broken,
# after-expect, after-module), 2 to review (early-biz, bad-1).  The file is
# rewritten at most every half second, so wait until it has them all.
check "status.json is kept up to date" 10 jq -e '.stories == 11' "$W/in/.copydesk/status.json"
run 0 "watch --status" -- cd_ watch --status --inbox "$W/in"
jqtrue "--status says it runs" "$T/out" '.running == true'
jqtrue "stories per destination" "$T/out" \
    '.destinations["sport-desk"] == 5 and .destinations.wire == 4 and .destinations.review == 2'
jqtrue "the last reload and its result" "$T/out" '.reload.ok == true and (.reload.at | length) > 0'
jqtrue "errors are counted" "$T/out" '.errors >= 1 and .files_failed == 1'
jqtrue "the spool depth" "$T/out" '.spool.depth == 0'

# ---- SIGTERM: a clean stop --------------------------------------------------------
watch_stop
same "SIGTERM: exit status 0" "$WATCH_RC" 0
has "the log says it stopped" "$W/log" " stop stories="
run 0 "--status after the stop" -- cd_ watch --status --inbox "$W/in"
jqtrue "says it no longer runs" "$T/out" '.running == false'

# ---- JSON log, and a desk that does not load does not start ---------------------------
mkdir -p "$W/in2"
drop "$W/in2" a.json "$(business_story json-log-1)"
run 0 "watch --once --json-log" -- cd_ watch -c "$W/desk.lua" --inbox "$W/in2" --once --json-log
jqtrue "every log line is JSON" "$T/err" '.time and .event'
jqtrue "story lines carry id, route, rule" "$T/err" \
    'if .event == "story" then .id == "json-log-1" and .route == ["review"] and .rule == null else true end'
printf 'model("sections", "sections.cdm")\nfallback "nowhere"\n' >"$W/bad.lua"
run 2 "a desk that does not load does not start" -- cd_ watch -c "$W/bad.lua" --inbox "$W/in2" --once
has "and says why" "$T/err" "fallback 'nowhere' is not a destination"
