#!/bin/bash
# copydesk watch loses nothing: stories for a url destination whose server
# is down wait in the spool and all arrive, in order, once it is back (also
# across a restart of watch); an answer a retry cannot fix sends the story
# to dead letter and the queue goes on; a watch killed with SIGKILL in the
# middle of a batch of 200 stories, and restarted, delivers all 200 (the
# loopback server counts distinct story ids; duplicates are allowed).  A
# format = "ninjs" url destination is logged under the story id.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"

build_http
train_model
http_start desk
PORT=$PORT_desk
http_stop desk      # the desk's endpoint is down to begin with

cat >"$W/desk.lua" <<EOF2
model("sections", "sections.cdm")
taxonomy { { id = "sport", name = "Sport", labels = { "sections:sport" } } }
destination "desk"   { url = "http://127.0.0.1:$PORT/stories", timeout = 5,
                       connect_timeout = 2, backoff = 0.1, dead_letter = "out/dead" }
destination "copy"   { jsonl = "out/copy.jsonl" }
rule("everything to the desk", function(story) return { "desk", "copy" } end)
fallback "copy"
EOF2

posted_ids() { jq -r .id "$W/desk.posts" 2>/dev/null | sort -u | wc -l; }
has_posted() { [ "$(posted_ids)" -ge "$1" ]; }
done_files() { find "$1/done" -maxdepth 1 -type f 2>/dev/null | wc -l; }
has_done() { [ "$(done_files "$1")" -ge "$2" ]; }
spool_depth() { jq -e ".spool.depth == $2" "$1/.copydesk/status.json"; }

# ---- an outage: the stories wait in the spool, and all arrive once it is back ----
mkdir -p "$W/in"
watch_start "$W/log" -c "$W/desk.lua" --inbox "$W/in"
for i in $(seq -w 1 20); do drop "$W/in" "o$i.json" "$(sport_story "outage-$i")"; done
check "with the endpoint down, inbox files still move out (spooled)" 30 has_done "$W/in" 20
check "the other destination has them at once" 10 at_least "$W/out/copy.jsonl" 20
check "the status shows them in the spool" 10 spool_depth "$W/in" 20
check "and the failing attempts" 10 jq -e '.spool.queues[0].failures > 0 and (.spool.queues[0].last_error | length) > 0' "$W/in/.copydesk/status.json"
has "the log says a retry is planned" "$W/log" " retry id=outage-01 destination=desk "
http_start desk "$PORT"
check "once the endpoint is back, every story arrives" 40 has_posted 20
same "each exactly once" "$(lines "$W/desk.posts")" 20
same "in the order they were routed" "$(jq -r .id "$W/desk.posts" | tr '\n' ' ')" \
     "$(for i in $(seq -w 1 20); do printf 'outage-%s ' "$i"; done)"
check "the spool is empty again" 10 spool_depth "$W/in" 0

# ---- an answer that a retry cannot fix: dead letter, and the queue goes on ----
echo 400 >"$W/www/desk/.status"
drop "$W/in" refused.json "$(sport_story refused-1)"
check "a story refused with 400 goes to dead letter" 20 test -f "$W/out/dead/refused-1.desk.json"
has "the log says so" "$W/log" " refused id=refused-1 destination=desk "
rm -f "$W/www/desk/.status"
drop "$W/in" after-refused.json "$(sport_story after-refused)"
check "the next story is delivered" 20 has_line "$W/desk.posts" '"id":"after-refused"'

# ---- the spool survives a restart -----------------------------------------------------
http_stop desk
for i in 1 2 3 4 5; do drop "$W/in" "r$i.json" "$(sport_story "restart-$i")"; done
check "spooled while down" 30 spool_depth "$W/in" 5
watch_stop
same "stopped cleanly with stories in the spool" "$WATCH_RC" 0
http_start desk "$PORT"
watch_start "$W/log" -c "$W/desk.lua" --inbox "$W/in"
check "a restarted watch delivers what was spooled" 30 has_line "$W/desk.posts" '"id":"restart-5"'
same "every spooled story arrived" "$(grep -c '"id":"restart-' "$W/desk.posts")" 5
watch_stop

# ---- killed with SIGKILL in the middle of a batch of 200 ------------------------------
rm -f "$W/desk.posts"
mkdir -p "$W/batch" "$W/in3"
for i in $(seq -w 1 200); do sport_story "batch-$i" >"$W/batch/b$i.json"; done
echo 15 >"$W/www/desk/.delay"   # 15 ms per story: the batch takes seconds
watch_start "$W/log3" -c "$W/desk.lua" --inbox "$W/in3"
mv "$W"/batch/*.json "$W/in3/"
check "the batch is under way" 60 has_posted 30
kill -9 "$WATCH_PID"
wait "$WATCH_PID" 2>/dev/null
n_killed=$(posted_ids)
if [ "$n_killed" -lt 200 ]; then pass "killed in the middle ($n_killed of 200 delivered)"
else fail "killed in the middle" "all 200 were delivered before the kill"; fi
watch_start "$W/log3" -c "$W/desk.lua" --inbox "$W/in3"
check "killed again soon after the restart" 30 has_posted $((n_killed + 10))
kill -9 "$WATCH_PID"
wait "$WATCH_PID" 2>/dev/null
rm -f "$W/www/desk/.delay"
watch_start "$W/log3" -c "$W/desk.lua" --inbox "$W/in3"
check "restarted, watch delivers all 200 stories" 90 has_posted 200
same "no other ids arrived" "$(jq -r .id "$W/desk.posts" | sort -u | grep -vc '^batch-')" 0
check "the inbox is empty" 30 no_files "$W/in3"
check "the spool drains" 30 spool_depth "$W/in3" 0
dups=$(( $(lines "$W/desk.posts") - 200 ))
pass "duplicates after two kills: $dups (allowed, same id)"
watch_stop
same "and it stops cleanly" "$WATCH_RC" 0

# ---- a format = "ninjs" url destination: the log names the story, not "?" ------------
rm -f "$W/desk.posts"
sed 's|dead_letter = "out/dead" }|dead_letter = "out/dead", format = "ninjs" }|' "$W/desk.lua" >"$W/ninjs.lua"
mkdir -p "$W/in4"
watch_start "$W/log4" -c "$W/ninjs.lua" --inbox "$W/in4"
drop "$W/in4" n1.json "$(sport_story ninjs-1)"
check "the ninjs document is posted" 30 has_line "$W/desk.posts" '"uri":"urn:copydesk:ninjs-1"'
check "the log says it was sent, by its id" 10 has_line "$W/log4" " sent id=ninjs-1 destination=desk"
watch_stop
