#!/bin/bash
# Rule budgets that hold whatever a rule calls: each hostile desk in
# tests/hostile/ attacks one limit through a C library function (string
# repetition, pattern matching, sorting, table moves), coroutines, or the
# story API (tags kept outside the Lua state).  Each rule call stops
# within its wall clock plus a small margin, or at its instruction budget;
# the error names the rule, the line and the story; the story goes to the
# fallback without the failed rule's tags.  The same at load (check) and
# at a reload in watch, where the old desk keeps routing.
. "$(dirname "$0")/lib.sh"
CLI="$(cd "$(dirname "$0")" && pwd)"
H="$(cd "$CLI/../hostile" && pwd)"
cd "$T" || exit 1

# a story whose body is 300 a's (the patterns backtrack on it)
printf '{"id":"s1","title":"t","body":"%s"}\n' "$(head -c 300 /dev/zero | tr '\0' a)" >"$T/a.jsonl"

now() { date +%s.%N; }
# elapsed START: seconds since START, as a decimal
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.3f", a - b }'; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
# under LIMIT SECONDS NAME: the last command took less than LIMIT s (not
# checked under COPYDESK_SLOW, as tests/valgrind sets)
under() {
    if [ -n "${COPYDESK_SLOW:-}" ]; then pass "$3 (time not checked: COPYDESK_SLOW)"
    elif awk -v t="$2" -v l="$1" 'BEGIN { exit !(t < l) }'; then pass "$3 (${2}s)"; else fail "$3" "took ${2}s, limit ${1}s"; fi
}

# route_desk DESK: route a.jsonl through tests/hostile/DESK.lua, at most
# 60 s; stderr in $T/err, the time in $took
route_desk() {
    rm -f out.jsonl review.jsonl
    local t0; t0=$(now)
    timeout -s KILL 120 "$COPYDESK" route -c "$H/$1.lua" "$T/a.jsonl" >"$T/out" 2>"$T/err"
    rc=$?
    took=$(elapsed "$t0")
}

# refused_to_fallback DESK RULE WHY: the rule failed for WHY, reported with
# its name, line and the story; the story is in review.jsonl, not out.jsonl
refused_to_fallback() {
    same "$1: exit 1 (a rule failed)" "$rc" "1"
    has "$1: the error names the rule, the story and why" "$T/err" \
        "rule '$2' \(.*$1\.lua:[0-9]+\) failed on story s1: .*$3"
    same "$1: the story went to the fallback" "$(jq -r .id review.jsonl 2>/dev/null)" "s1"
    [ ! -s out.jsonl ] && pass "$1: nothing delivered by the failed rule" \
        || fail "$1: nothing delivered by the failed rule"
    has "$1: counted as a rule error" "$T/err" "rule errors +1$"
}

# ---- C loops that make nothing ----------------------------------------------------
route_desk rep_empty
same "rep_empty: string.rep('', 2^53) returns, the story is routed" "$rc" "0"
under 10 "$took" "rep_empty: no hang"
same "rep_empty: delivered by the rule" "$(jq -r .rule out.jsonl 2>/dev/null)" "pad"

route_desk move_huge
under 10 "$took" "move_huge: table.move over 2^53 slots stops"
refused_to_fallback move_huge move "instruction budget of 1000000 exceeded"

# ---- the wall clock inside one C call ---------------------------------------------
# limits { seconds = 0.5 } and a budget too large to matter.  The time of
# the whole process less that of the same run without the attack (start-up
# under ASan): below 0.5 s + 0.1 s margin + 0.9 s for a busy machine (the
# wall clock is wall time: a loaded machine stretches every step)
route_desk rep_empty
base=$took
route_desk pattern_clock
refused_to_fallback pattern_clock bomb "time limit of 0.5 s exceeded"
under 1.5 "$(minus "$took" "$base")" "pattern_clock: a backtracking match stops at its wall clock"
route_desk sort_virtual
refused_to_fallback sort_virtual sort "time limit of 0.5 s exceeded"
under 1.5 "$(minus "$took" "$base")" "sort_virtual: sorting 2^31 made-up elements stops at its wall clock"
route_desk tag_timeout
refused_to_fallback tag_timeout tag_then_hang "time limit of 0.5 s exceeded"
lacks "tag_timeout: the failed rule's tag is not delivered" review.jsonl "from-the-failed-rule"

# ---- the instruction budget inside one C call, and in coroutines --------------------
route_desk pattern_bomb
refused_to_fallback pattern_bomb bomb "instruction budget of 1000000 exceeded"
under 10 "$took" "pattern_bomb: reported quickly"
route_desk coroutines
refused_to_fallback coroutines threads "instruction budget of 1000000 exceeded"

# story:has: a 2,000-word phrase against a story of a million words (a
# tenth of it under COPYDESK_SLOW)
words=1000000
[ -n "${COPYDESK_SLOW:-}" ] && words=100000
{ printf '{"id":"s1","title":"t","body":"'; yes ab | head -n "$words" | tr '\n' ' '; printf '"}\n'; } >"$T/ab.jsonl"
rm -f out.jsonl review.jsonl
t0=$(now)
timeout -s KILL 300 "$COPYDESK" route -c "$H/phrase_bomb.lua" "$T/ab.jsonl" >"$T/out" 2>"$T/err"
rc=$?
took=$(elapsed "$t0")
refused_to_fallback phrase_bomb phrase "instruction budget of 1000000 exceeded"
under 30 "$took" "phrase_bomb: story:has stops at the budget"

# ---- memory: what a rule hands to the engine -----------------------------------------
if [ -x /usr/bin/time ]; then
    rm -f out.jsonl review.jsonl
    /usr/bin/time -v "$COPYDESK" route -c "$H/tag_memory.lua" "$T/a.jsonl" >"$T/out" 2>"$T/err"
    rc=$?
    refused_to_fallback tag_memory hoard "memory limit of 67108864 bytes exceeded"
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/err")
    # the limit (64 MiB) and ASan's shadow; 100 tags of 10 MB would be 1 GB
    if [ -n "$rss" ] && [ "$rss" -lt 409600 ]; then pass "tag_memory: peak memory $((rss / 1024)) MB < 400 MB"
    else fail "tag_memory: peak memory < 400 MB" "peak RSS ${rss:-?} kB"; fi
    size=$(wc -c <review.jsonl 2>/dev/null || echo 0)
    [ "$size" -lt 100000 ] && pass "tag_memory: no tag delivered ($size bytes)" \
        || fail "tag_memory: no tag delivered" "review.jsonl is $size bytes"
else
    fail "tag_memory: /usr/bin/time is missing (apt-get install time)"
fi

# ---- at load ---------------------------------------------------------------------------
t0=$(now)
timeout -s KILL 60 "$COPYDESK" check -c "$H/rep_load.lua" >"$T/out" 2>"$T/err"
rc=$?
same "rep_load: check passes" "$rc" "0"
under 10 "$(elapsed "$t0")" "rep_load: check does not hang"
t0=$(now)
timeout -s KILL 300 "$COPYDESK" check -c "$H/load_hang.lua" >"$T/out" 2>"$T/err"
rc=$?
took=$(elapsed "$t0")
same "load_hang: a desk that hangs at load is refused, exit 2" "$rc" "2"
has "load_hang: with the line and the limit" "$T/err" "load_hang\.lua:3: (instruction budget|time limit) .* exceeded"
# the load's limits: 100 M instructions, 20 s
under 25 "$took" "load_hang: refused within the load's wall clock"

# ---- at a reload in watch: the old desk keeps routing ------------------------------------
. "$CLI/watch_lib.sh"
cat >"$W/desk.lua" <<'EOF2'
destination "out" { jsonl = "out.jsonl" }
fallback "out"
EOF2
mkdir -p "$W/in"
watch_start "$W/log" -c "$W/desk.lua" --inbox "$W/in"
drop "$W/in" 1.json '{"id":"before","title":"x"}'
check "watch: routes before the edit" 20 has_line "$W/out.jsonl" '"id":"before"'
cat "$H/load_hang.lua" >>"$W/desk.lua"
check "watch: the hanging edit is refused (reload-failed)" 40 has_line "$W/log" "reload-failed .*desk\.lua:[0-9]+: (instruction budget|time limit)"
drop "$W/in" 2.json '{"id":"after","title":"x"}'
check "watch: the old desk keeps routing" 20 has_line "$W/out.jsonl" '"id":"after"'
kill -TERM "$WATCH_PID"
wait_for 10 bash -c "! kill -0 $WATCH_PID" && pass "watch: stops on SIGTERM" || fail "watch: stops on SIGTERM"
