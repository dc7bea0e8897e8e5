#!/bin/bash
# The inbox claims a file before routing it: a file still being written
# (held open, or written through two opens) is left until it is complete,
# when watch starts as while it runs; a complete file is moved into
# processing/ before it is read, so that two watches on one inbox (with
# their own state folders) never both route it; the files a killed watch
# held are routed again by the next one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"

cat >"$W/desk.lua" <<'EOF2'
destination "wire" { jsonl = "out/wire.jsonl" }
fallback "wire"
EOF2
mkdir -p "$W/in" "$W/out"
ids() { jq -r .id "$W/out/wire.jsonl" 2>/dev/null | sort | tr '\n' ' '; }
has_ids() { [ "$(jq -r .id "$W/out/wire.jsonl" 2>/dev/null | grep -c "^$1-")" -ge "$2" ]; }

# writer NAME N DELAY: append N stories to inbox/NAME through one descriptor
# held open, DELAY seconds apart
writer() {
    (
        exec 3>"$W/in/$1"
        for i in $(seq "$2"); do
            printf '{"id":"%s-%02d","title":"line %d"}\n' "${1%%.*}" "$i" "$i" >&3
            sleep "$3"
        done
        exec 3>&-
    ) &
    WRITER=$!
}

# ---- at start-up: a file being written is waited for ---------------------------------
writer early.jsonl 10 0.3
sleep 0.5
watch_start "$W/log" -c "$W/desk.lua" --inbox "$W/in" --state "$W/state1"
WATCH1=$WATCH_PID
wait "$WRITER"
check "start-up: the file being written is routed once complete" 20 has_ids early 10
check "start-up: then moved to done/" 20 test -f "$W/in/done/early.jsonl"
same "start-up: all 10 stories, each once" "$(jq -r .id "$W/out/wire.jsonl" | grep -c '^early-')" "10"

# ---- while running: the same ----------------------------------------------------------
writer late.jsonl 10 0.3
wait "$WRITER"
check "running: the file being written is routed once complete" 20 has_ids late 10
same "running: all 10 stories, each once" "$(jq -r .id "$W/out/wire.jsonl" | grep -c '^late-')" "10"

# ---- an id that would forge a log line -------------------------------------------------
drop "$W/in" forge.json '{"id":"real\nstory id=FAKE route=defense-desk rule=forged outcome=routed","title":"x"}'
check "log: the story with a newline in its id is logged" 20 has_line "$W/log" 'story id=.*real'
lacks "log: no forged line" "$W/log" '^story id=FAKE'

# ---- a JSON file written through two opens --------------------------------------------
printf '{"id":"two-opens",' >"$W/in/two.json"
sleep 0.4
printf '"title":"whole"}\n' >>"$W/in/two.json"
check "two opens: routed as one story" 20 has_line "$W/out/wire.jsonl" '"id":"two-opens","title":"whole"'
check "two opens: the file is done, not failed" 20 test -f "$W/in/done/two.json"
[ ! -e "$W/in/failed/two.json" ] && pass "two opens: nothing in failed/" || fail "two opens: nothing in failed/"

# ---- two watches on one inbox ------------------------------------------------------------
watch_start "$W/log2" -c "$W/desk.lua" --inbox "$W/in" --state "$W/state2"
WATCH2=$WATCH_PID
sleep 1
for i in $(seq 200); do
    drop "$W/in" "$(printf 'pair-%03d.json' "$i")" "$(printf '{"id":"pair-%03d","title":"x"}' "$i")"
done
# and 100 written in place (closed after writing, not renamed in)
for i in $(seq 100); do
    printf '{"id":"inplace-%03d","title":"x"}\n' "$i" >"$W/in/$(printf 'inplace-%03d.json' "$i")"
done
done_pairs() { [ "$(ls "$W/in/done" | grep -c -E '^(pair|inplace)-')" -ge 300 ]; }
check "two watches: all 300 files are done" 60 done_pairs
sleep 1
same "two watches: 300 stories delivered, none twice" \
    "$(jq -r .id "$W/out/wire.jsonl" | grep -E '^(pair|inplace)-' | sort | uniq -c | awk '$1 != 1' | wc -l) $(jq -r .id "$W/out/wire.jsonl" | grep -cE '^(pair|inplace)-')" "0 300"
n1=$(grep -c 'story id=\(pair\|inplace\)-' "$W/log")
n2=$(grep -c 'story id=\(pair\|inplace\)-' "$W/log2")
same "two watches: the logs add up to 300" "$((n1 + n2))" "300"

# ---- files a killed watch held are routed again -------------------------------------------
kill -TERM "$WATCH1" "$WATCH2"
wait "$WATCH1" "$WATCH2" 2>/dev/null
mkdir -p "$W/in/processing/999999"
printf '{"id":"orphan","title":"x"}\n' >"$W/in/processing/999999/orphan.json"
watch_start "$W/log3" -c "$W/desk.lua" --inbox "$W/in" --state "$W/state1"
check "a dead watch's claimed file is routed again" 20 has_line "$W/out/wire.jsonl" '"id":"orphan"'
check "and moved to done/" 20 test -f "$W/in/done/orphan.json"
[ ! -e "$W/in/processing/999999" ] && pass "the dead watch's folder is removed" || fail "the dead watch's folder is removed"
kill -TERM "$WATCH_PID"
wait "$WATCH_PID" 2>/dev/null
[ -z "$(ls -A "$W/in/processing" 2>/dev/null)" ] && pass "a clean stop leaves processing/ empty" \
    || fail "a clean stop leaves processing/ empty" "$(ls -R "$W/in/processing")"
