#!/usr/bin/env bash
# test_stream_faults.sh - workers sharing a Redis stream lose nothing and
# duplicate nothing when one dies and when Redis itself restarts.
#
# A real redis-server (append-only file, fsync at every write) holds
# 10,000 stories.  Three workers (copydesk watch, consumers of one group)
# route them to two destination streams.  Mid-run one worker is killed
# with SIGKILL and not restarted, holding pending entries; then Redis is
# killed and restarted on its append-only file.  At the end every story is
# in its destination stream exactly once, nothing is pending (the dead
# worker's entries were claimed by the others), nothing went to dead
# letter.  Prints the counts as "# counts: ...".
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/watch_lib.sh"
source "$HERE/redis_lib.sh"
redis_need

# under valgrind (COPYDESK_SLOW) fewer stories: the same faults, in minutes
if [ -n "${COPYDESK_SLOW:-}" ]; then N=${COPYDESK_STREAM_STORIES:-1500}; else N=${COPYDESK_STREAM_STORIES:-10000}; fi
redis_start

cat >"$W/desk.lua" <<LUA
stream "wire" { redis = "$RURL", key = "stories", group = "desks", claim_idle = 3,
                max_deliveries = 10, batch = 50 }
destination "trade" { redis = "$RURL", stream = "desk:trade" }
destination "world" { redis = "$RURL", stream = "desk:world" }
rule("by desk", function(story)
  if story.meta.desk == "trade" then return "trade" end
  return "world"
end)
fallback "world"
dead_letter "dead"
LUA

declare -A WPID
for i in 1 2 3; do
    watch_start "$W/w$i.log" -c "$W/desk.lua" -s "$W/state$i" --consumer "w$i" --no-archive
    WPID[$i]=$WATCH_PID
done
# the stories come once all three read the group: a worker slow to start
# (under valgrind) would otherwise find them all taken, and could not be
# killed holding any
consumers() { [ "$(rcli XINFO CONSUMERS stories desks 2>/dev/null | grep -cx 'w[123]')" -eq 3 ]; }
check "the three workers read the group" 120 consumers
stories_resp "$N" stories | rcli --pipe >"$T/pipe" 2>&1
same "the $N stories are in the input stream" "$(rcli XLEN stories)" "$N"
routed() { cat "$W"/w*.log | grep -c ' story id=' ; }
above() { [ "$(routed)" -ge "$1" ]; }

# ---- one worker dies with entries in hand -------------------------------------------
check "the workers share the stream" 120 above $((N / 5))
# stopped first, so that it is killed holding entries (read, not acknowledged)
dead_pending=0
for _ in $(seq 300); do
    kill -STOP "${WPID[2]}"
    dead_pending=$(( $(rcli XPENDING stories desks - + 10000 w2 | grep -c .) / 4 ))
    [ "$dead_pending" -gt 0 ] && break
    kill -CONT "${WPID[2]}"
    sleep 0.02
done
kill -9 "${WPID[2]}"
wait "${WPID[2]}" 2>/dev/null
if [ "$dead_pending" -gt 0 ]; then pass "the killed worker left $dead_pending entries pending"; else fail "the killed worker left entries pending" "none"; fi
w2_routed=$(grep -c ' story id=' "$W/w2.log")

# ---- Redis dies and comes back on its append-only file ---------------------------------
check "routing goes on" 120 above $((N / 2))
redis_kill
check "the workers see Redis go" 10 sh -c "cat '$W/w1.log' '$W/w3.log' | grep -c 'redis-down' | grep -qx 2"
sleep 1
redis_start
check "and come back" 30 sh -c "cat '$W/w1.log' '$W/w3.log' | grep -c 'redis-up' | grep -qx 2"

# ---- the end ---------------------------------------------------------------------------------
done_all() {
    local t w
    t=$(rcli XLEN desk:trade) w=$(rcli XLEN desk:world)
    [ $((t + w)) -ge "$N" ] && [ "$(rcli XPENDING stories desks | head -1)" = 0 ] &&
        [ "$(rcli XINFO GROUPS stories | awk 'prev == "lag" { print } { prev = $0 }')" = 0 ]
}
check "every story delivered, nothing pending, nothing left to read" 180 done_all
for i in 1 3; do WATCH_PID=${WPID[$i]}; watch_stop; done
stream_ids desk:trade >"$T/trade.ids"
stream_ids desk:world >"$T/world.ids"
same "the trade stream has each even story once" "$(sort -u "$T/trade.ids" | wc -l) $(wc -l <"$T/trade.ids")" "$((N / 2)) $((N / 2))"
same "the world stream has each odd story once" "$(sort -u "$T/world.ids" | wc -l) $(wc -l <"$T/world.ids")" "$((N - N / 2)) $((N - N / 2))"
same "each in the right one" "$(grep -c '^n[0-9]*[02468]$' "$T/trade.ids") $(grep -c '^n[0-9]*[13579]$' "$T/world.ids")" "$((N / 2)) $((N - N / 2))"
same "the group has nothing pending" "$(rcli XPENDING stories desks | head -1)" 0
left=$(rcli XPENDING stories desks - + 10000 w2 | grep -c .)
same "the dead worker's entries were claimed" "$left" 0
claimed=$(cat "$W/w1.log" "$W/w3.log" | sed -n 's/.* claimed stream=wire entries=\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
if [ "$claimed" -ge "$dead_pending" ]; then pass "by the living workers ($claimed claimed)"; else fail "claimed by the living workers" "$claimed claimed, $dead_pending were pending"; fi
same "nothing went to dead letter" "$(ls "$W/dead" 2>/dev/null | wc -l)" 0
r1=$(grep -c ' story id=' "$W/w1.log"); r3=$(grep -c ' story id=' "$W/w3.log")
echo "# counts: stories $N; routed by w1 $r1, w2 (killed) $w2_routed, w3 $r3 (total $((r1 + w2_routed + r3)), the surplus routed twice and appended once); pending at the kill $dead_pending; claimed $claimed; in desk:trade $(wc -l <"$T/trade.ids"), desk:world $(wc -l <"$T/world.ids"); pending at the end 0"
cat "$W"/*.log >"$T/all.log" 2>/dev/null
lacks "no sanitizer report in the workers' logs" "$T/all.log" "AddressSanitizer|LeakSanitizer|runtime error"
