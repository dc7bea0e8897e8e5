#!/bin/bash
# No silent loss at the destinations: distinct ids never share a file in a
# folder destination; a JSON-lines destination that runs out of room (the
# file size limit, ulimit -f; a full tmpfs where one can be mounted) never
# keeps half a line, the stories that did not fit are in the dead letter,
# and the run ends with its summary and exit 1, not killed by SIGXFSZ; a
# story id holding a newline cannot forge a line of route's report.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1

# ---- two ids, one file name ------------------------------------------------------
cat >"$T/folder.lua" <<'EOF2'
destination "desk" { folder = "desk-out" }
rule("all", function(story) return "desk" end)
fallback "desk"
EOF2
printf '%s\n' '{"id":"../../etc/x","title":"first"}' '{"id":"_._.._etc_x-0a68bef55899a85a","title":"second"}' \
    '{"id":"plain","title":"third"}' >"$T/clash.jsonl"
run 0 "folder: stories whose ids looked alike are routed" -- cd_ route -c "$T/folder.lua" "$T/clash.jsonl"
same "folder: three stories, three files" "$(ls desk-out | wc -l)" "3"
same "folder: every story is in its own file" "$(cat desk-out/* | jq -r .title | sort | tr '\n' ' ')" "first second third "
same "folder: an id already safe keeps its name" "$(ls desk-out | grep -c '^plain\.json$')" "1"

# ---- a JSON-lines destination out of room ----------------------------------------------
cat >"$T/wire.lua" <<'EOF2'
destination "wire" { jsonl = "wire/wire.jsonl" }
dead_letter "dead"
rule("all", function(story) return "wire" end)
fallback "wire"
EOF2
body=$(head -c 700 /dev/zero | tr '\0' b)
for i in $(seq 100); do printf '{"id":"s%03d","title":"story %d","body":"%s"}\n' "$i" "$i" "$body"; done >"$T/many.jsonl"

# whole lines only, each a story; with the dead letter: all 100
all_accounted() {  # NAME
    local bad=0 n
    while IFS= read -r line; do jq -e .id <<<"$line" >/dev/null 2>&1 || bad=$((bad + 1)); done <wire/wire.jsonl
    same "$1: no torn line in the jsonl file" "$bad" "0"
    [ -z "$(tail -c 1 wire/wire.jsonl)" ] && pass "$1: the file ends with a whole line" \
        || fail "$1: the file ends with a whole line"
    n=$(wc -l <wire/wire.jsonl)
    [ "$n" -gt 0 ] && [ "$n" -lt 100 ] && pass "$1: some stories fit ($n)" || fail "$1: some stories fit" "$n lines"
    same "$1: the others are in the dead letter" "$(ls dead 2>/dev/null | wc -l)" "$((100 - n))"
    same "$1: every story once, in one or the other" \
        "$( { jq -r .id wire/wire.jsonl; cat dead/* | jq -r .story.id; } | sort -u | wc -l)" "100"
}

rm -rf wire dead
mkdir -p wire
( ulimit -f 24; exec "$COPYDESK" route -c "$T/wire.lua" "$T/many.jsonl" ) >"$T/out" 2>"$T/err"
rc=$?
same "ulimit -f: exit 1 (deliveries failed), not killed by SIGXFSZ" "$rc" "1"
has "ulimit -f: the summary is printed" "$T/err" "^  stories in +100$"
has "ulimit -f: the error says the file is too large" "$T/err" "wire\.jsonl: File too large"
all_accounted "ulimit -f"

if [ "$(id -u)" = 0 ] && mkdir -p "$T/small" && mount -t tmpfs -o size=24k tmpfs "$T/small" 2>/dev/null; then
    rm -rf wire dead
    ln -s "$T/small" wire
    "$COPYDESK" route -c "$T/wire.lua" "$T/many.jsonl" >"$T/out" 2>"$T/err"
    rc=$?
    same "full tmpfs: exit 1" "$rc" "1"
    has "full tmpfs: the error says the disk is full" "$T/err" "wire\.jsonl: No space left on device"
    all_accounted "full tmpfs"
    umount "$T/small"
else
    pass "full tmpfs # SKIP cannot mount a tmpfs here (ulimit -f covers the same path)"
fi

# ---- log forging -------------------------------------------------------------------------
printf '%s\n' '{"id":"real\nFAKE -> defense-desk  (rule forged)","title":"t\rx"}' >"$T/forge.jsonl"
cat >"$T/fail.lua" <<'EOF2'
destination "desk" { folder = "out2" }
rule("boom", function(story) print("looking at", story.id); error("bad story " .. story.id) end)
fallback "desk"
EOF2
run 1 "forged id: routed (the rule fails on it)" -- cd_ route -c "$T/fail.lua" "$T/forge.jsonl"
lacks "forged id: no forged line in route's report" "$T/err" "^FAKE"
has "forged id: the newline is shown escaped" "$T/err" '^real\\x0aFAKE -> defense-desk  \(rule forged\) -> desk  \(fallback' 
has "forged id: print escapes it too" "$T/err" '^copydesk: lua: looking at.real\\x0aFAKE'
same "forged id: every line of the report is one the program wrote" \
    "$(grep -cvE '^(copydesk|real|$|  )' "$T/err")" "0"
