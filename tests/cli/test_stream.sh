#!/usr/bin/env bash
# test_stream.sh - Redis streams in and out (core/live/watch_stream.c,
# core/deliver/deliver_stream.c) against a real redis-server on loopback:
# the desk keywords checked at load, entries routed and acknowledged once
# delivered, entries that are not stories and poison entries to dead
# letter, a story delivered twice appended once, Redis unreachable at
# start and in the middle, a destination's server down (spooled, then
# appended), copydesk status, serve's /readyz and /metrics.
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/watch_lib.sh"
source "$HERE/redis_lib.sh"
redis_need

RPORT=$(free_port)
RURL="redis://127.0.0.1:$RPORT/0"
desk() {  # DEST_URL [stream options]
    cat <<LUA
stream "wire" { redis = "$RURL", key = "stories", group = "desks", claim_idle = 1, max_deliveries = 3 ${2:-} }
destination "trade" { redis = "$1", stream = "desk:trade", maxlen = 100000 }
destination "world" { redis = "$1", stream = "desk:world" }
destination "review" { folder = "out/review" }
rule("by desk", function(story)
  if story.meta.desk == "trade" then return "trade" end
  if story.meta.desk == "world" then return "world" end
end)
fallback "review"
dead_letter "dead"
LUA
}
desk "$RURL" >"$W/desk.lua"

# ---- checked at load, with file:line --------------------------------------------------
bad() {  # NAME LUA PATTERN
    printf '%s\n' "$2" >"$W/bad.lua"
    run 2 "check refuses: $1" -- "$COPYDESK" check -c "$W/bad.lua"
    has "check says where and why: $1" "$T/err" "bad.lua:1: .*$3"
}
bad "a stream without key" 'stream "w" { redis = "redis://127.0.0.1:1/0" }' "needs key"
bad "a stream with a field it does not know" 'stream "w" { redis = "redis://h/0", key = "k", grup = "g" }' "unknown field 'grup'"
bad "a stream whose URL is not redis://" 'stream "w" { redis = "http://h/", key = "k" }' "redis://HOST"
bad "a bad port" 'stream "w" { redis = "redis://h:99999/0", key = "k" }' "port must be"
bad "max_deliveries 0" 'stream "w" { redis = "redis://h/0", key = "k", max_deliveries = 0 }' "max_deliveries"
bad "a redis destination without stream" 'destination "d" { redis = "redis://h/0" }' "needs stream"
bad "stream on a folder destination" 'destination "d" { folder = "x", stream = "s" }' "go with redis"

# ---- Redis unreachable at start ----------------------------------------------------------
watch_start "$W/watch.log" -c "$W/desk.lua" -s "$W/state" --consumer w1 --no-archive
check "unreachable at start: said in the log, the worker keeps trying" 10 has_line "$W/watch.log" "redis-down stream=wire .*127.0.0.1:$RPORT"
if kill -0 "$WATCH_PID" 2>/dev/null; then pass "and does not exit"; else fail "and does not exit"; fi
redis_start
check "the server back: said in the log" 15 has_line "$W/watch.log" "redis-up stream=wire"

# ---- stories in, stories out --------------------------------------------------------------
rcli XADD stories '*' story '{"id":"t1","title":"Tariffs","body":"Trade."}' desk trade >/dev/null
rcli XADD stories '*' story '{"id":"w1","title":"Summit","body":"World."}' desk world >/dev/null
rcli XADD stories '*' story '{"id":"r1","title":"Other","body":"?"}' >/dev/null
rcli XADD stories '*' note 'no story here' >/dev/null
rcli XADD stories '*' story '{"id": broken' >/dev/null
check "the entries are routed" 15 matching 3 "$W/watch.log" " story id="
check "the trade story is in its stream" 10 sh -c "redis-cli -p $RPORT XLEN desk:trade | grep -qx 1"
rcli --raw XRANGE desk:trade - + >"$T/trade"
has "with the field id" "$T/trade" '^t1$'
has "and the delivered JSON in the field story, the entry's other fields as metadata" "$T/trade" '"id":"t1".*"meta":\{"desk":"trade"\}.*"route":\["trade"\]'
check "the world story in its own" 5 sh -c "redis-cli -p $RPORT XLEN desk:world | grep -qx 1"
check "the fallback story in its folder" 5 sh -c "ls '$W/out/review' | grep -q ."
check "an entry that is not a story goes to dead letter" 10 sh -c "ls '$W/dead' | grep -c '^stream-wire-' | grep -qx 2"
cat "$W"/dead/stream-wire-* >"$T/dead" 2>/dev/null
has "saying why: no field story" "$T/dead" '"error":"not a story: the entry has no field story'
has "saying why: not JSON" "$T/dead" '"error":"not a story: field story, byte'
has "with the entry's fields" "$T/dead" '"fields":\{"note":"no story here"\}'
check "every entry acknowledged: nothing pending" 10 sh -c "redis-cli -p $RPORT XPENDING stories desks | head -1 | grep -qx 0"

# ---- a story delivered twice is appended once ------------------------------------------------
rcli XADD stories '*' story '{"id":"t1","title":"Tariffs again","body":"Trade."}' desk trade >/dev/null
check "the second delivery of t1 is routed" 10 matching 2 "$W/watch.log" " story id=t1 "
sleep 0.5
same "and appended once (the id is remembered on the server)" "$(rcli XLEN desk:trade)" 1
ttl=$(rcli TTL 'desk:trade:copydesk:id:{desk:trade}:t1')
if [ "$ttl" -gt 86000 ] && [ "$ttl" -le 86400 ]; then pass "for the dedupe window (a day by default)"; else fail "for the dedupe window" "TTL $ttl"; fi

# ---- the server forgot the scripts (SCRIPT FLUSH, a restart without them) ---------------------
rcli SCRIPT FLUSH >/dev/null
rcli XADD stories '*' story '{"id":"w4","title":"Flushed","body":"World."}' desk world >/dev/null
check "a batch after SCRIPT FLUSH is appended (NOSCRIPT: the script loaded again)" 15 sh -c "redis-cli -p $RPORT --raw XRANGE desk:world - + | grep -qx w4"

# ---- a poison entry: delivered more than max_deliveries times --------------------------------
id=$(rcli XADD stories '*' story '{"id":"p1","title":"Poison","body":"x"}' desk trade)
check "the poison entry was routed once" 10 matching 1 "$W/watch.log" " story id=p1 "
# as if workers had died on it: pending again, delivered 5 times
rcli XCLAIM stories desks ghost 0 "$id" FORCE RETRYCOUNT 5 >/dev/null
check "claimed from the dead consumer after claim_idle, it goes to dead letter" 15 sh -c "ls '$W/dead' | grep -q '$id'"
has "saying how often it was delivered" "$W/dead/stream-wire-$id.json" '"error":"delivered [0-9]+ times, more than max_deliveries \(3\)'
check "and is acknowledged: no poison loop" 10 sh -c "redis-cli -p $RPORT XPENDING stories desks | head -1 | grep -qx 0"
has "the claim is logged" "$W/watch.log" "claimed stream=wire entries=1"

# ---- copydesk status ---------------------------------------------------------------------------
run 0 "status --redis" -- "$COPYDESK" status --redis "$RURL"
has "lists the worker, its heartbeat and counters" "$T/out" '^w1 +stories +desks +running +[0-9.]+s ago +[0-9]+'
has "and the group's pending entries and lag" "$T/out" '^stream stories, group desks: 0 pending, lag 0'
has "and the dead consumer that left no heartbeat" "$T/out" '^  ghost +0 '
run 0 "status --json" -- "$COPYDESK" status --redis "$RURL" --json
jqtrue "the same as JSON" "$T/out" '.workers[0].consumer == "w1" and .workers[0].acked >= 6 and .groups[0].pending == 0 and .groups[0].lag == 0'
run 2 "status without a server that answers" -- "$COPYDESK" status --redis "redis://127.0.0.1:$(free_port)/0"
run 2 "status --redis with a wrong URL" -- "$COPYDESK" status --redis "http://x"

# ---- Redis unreachable in the middle --------------------------------------------------------------
redis_kill
check "the server gone in the middle: said in the log" 10 matching 2 "$W/watch.log" "redis-down stream=wire"
redis_start
check "back" 20 matching 2 "$W/watch.log" "redis-up stream=wire"
rcli XADD stories '*' story '{"id":"t2","title":"After","body":"Trade."}' desk trade >/dev/null
check "what arrives after is routed" 15 sh -c "redis-cli -p $RPORT XLEN desk:trade | grep -qx 3"
check "nothing pending" 10 sh -c "redis-cli -p $RPORT XPENDING stories desks | head -1 | grep -qx 0"
run 0 "watch --status" -- "$COPYDESK" watch --status --state "$W/state"
# the status file is rewritten a moment after the acknowledgements: waited for
check "status.json has the stream: connected, entries read and acknowledged" 15 sh -c '"$0" watch --status --state "$1" | jq -e "$2" >/dev/null' "$COPYDESK" "$W/state" '.streams[0].name == "wire" and .streams[0].consumer == "w1" and .streams[0].connected and .streams[0].acked >= 8 and .streams[0].unacknowledged == 0'
watch_stop
same "watch stops cleanly" "$WATCH_RC" 0

# ---- what a batch costs in commands and round trips --------------------------------------------------
# 100 stories in batches of 5, half to each stream destination: per batch
# one EVALSHA per destination (the batch's appends in one call of the
# script, loaded once per connection, not sent with each call) and one
# XACK, written in the same round trip as the next XREADGROUP: Redis reads
# that XACK with the read, so it processes more commands than it reads
# requests, by one for each batch.
cat >"$W/desk-rt.lua" <<LUA
stream "rt" { redis = "$RURL", key = "rt:in", group = "rt", batch = 5 }
destination "trade" { redis = "$RURL", stream = "rt:trade" }
destination "world" { redis = "$RURL", stream = "rt:world" }
rule("by desk", function(story) return story.meta.desk end)
fallback "world"
LUA
stories_resp 100 rt:in | rcli --pipe >/dev/null
rcli CONFIG RESETSTAT >/dev/null
run 0 "watch --once routes 100 stories in batches of 5" -- "$COPYDESK" watch --once -c "$W/desk-rt.lua" -s "$W/state-rt" --consumer rt --no-archive
rcli INFO stats | tr -d '\r' >"$T/stats"
rcli INFO commandstats | tr -d '\r' >"$T/cmdstats"
same "all appended" "$(rcli XLEN rt:trade) $(rcli XLEN rt:world)" "50 50"
same "all acknowledged" "$(rcli XPENDING rt:in rt | head -1)" 0
calls() { awk -F'[=,:]' -v c="cmdstat_$1" '$1 == c { print $3 }' "$T/cmdstats"; }
same "one EVALSHA per batch and destination" "$(calls evalsha)" 40
same "the script is not sent with each call (no EVAL)" "$(calls eval)" ""
same "one XACK per batch" "$(calls xack)" 20
# the commands the clients sent: those the scripts ran (SET, XADD) are
# counted too; a read is also counted when a client closes (the worker's
# connections, redis-cli's): without the XACKs going with reads, there
# would be a few more reads than commands, not 20 fewer
cmds=$(awk -F: '$1 == "total_commands_processed" { print $2 }' "$T/stats")
reads=$(awk -F: '$1 == "total_reads_processed" { print $2 }' "$T/stats")
sent=$((cmds - $(calls set) - $(calls xadd)))
if [ $((sent - reads)) -ge 12 ]; then pass "each batch's XACK went with the next read: $sent commands in $reads reads"
else fail "each batch's XACK went with the next read" "$sent commands in $reads reads"; fi

# ---- the destination's server down: spooled, acknowledged, appended later ----------------------------
DPORT=$(free_port)
desk "redis://127.0.0.1:$DPORT/0" >"$W/desk2.lua"
watch_start "$W/watch2.log" -c "$W/desk2.lua" -s "$W/state2" --consumer w2 --no-archive
rcli XADD stories '*' story '{"id":"t3","title":"Spooled","body":"Trade."}' desk trade >/dev/null
check "the story for a server that is down is spooled" 15 sh -c "ls '$W/state2/spool/trade' | grep -q json"
check "its entry is acknowledged (the spool is durable)" 10 sh -c "redis-cli -p $RPORT XPENDING stories desks | head -1 | grep -qx 0"
redis-server --port "$DPORT" --bind 127.0.0.1 --dir "$RDIR" --dbfilename d.rdb --save '' --logfile "$RDIR/d.log" >/dev/null 2>&1 &
pids+=($!)
check "once the server is up the spool appends it" 30 sh -c "redis-cli -p $DPORT --raw XRANGE desk:trade - + | grep -qx t3"
watch_stop

# ---- serve: /readyz and /metrics --------------------------------------------------------------------
redis_kill
"$COPYDESK" serve -c "$W/desk.lua" --listen 127.0.0.1:0 -s "$W/state3" --consumer s1 2>"$W/serve.log" &
pids+=($!)
SERVE=$!
if wait_for 30 grep -q ' listen address=' "$W/serve.log"; then
    PORT=$(sed -n 's/.* listen address=127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$W/serve.log" | tail -1)
    check "serve: /readyz is 503 while Redis is unreachable" 15 sh -c "curl -s -o '$T/ready' -w '%{http_code}' http://127.0.0.1:$PORT/readyz | grep -qx 503"
    has "saying why" "$T/ready" "stream 'wire': Redis unreachable"
    redis_start
    check "and 200 once it answers" 20 sh -c "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$PORT/readyz | grep -qx 200"
    check "/metrics has the group's workers" 10 sh -c "curl -s http://127.0.0.1:$PORT/metrics | grep -q 'copydesk_stream_consumer_pending{stream=\"wire\",consumer=\"s1\"} 0'"
    curl -s "http://127.0.0.1:$PORT/metrics" >"$T/metrics"
    has "and the stream's state and counters" "$T/metrics" '^copydesk_stream_up\{stream="wire"\} 1$'
    has "pending and lag" "$T/metrics" '^copydesk_stream_group_lag\{stream="wire"\} 0$'
    has "entries acknowledged" "$T/metrics" '^copydesk_stream_entries_total\{stream="wire",event="acked"\} [0-9]+$'
else
    fail "serve starts" "$(tail -5 "$W/serve.log")"
fi
kill -TERM "$SERVE" 2>/dev/null
wait_for 20 sh -c "! kill -0 $SERVE"
cat "$W"/*.log >"$T/all.log" 2>/dev/null
lacks "no sanitizer report in the workers' logs" "$T/all.log" "AddressSanitizer|LeakSanitizer|runtime error"
