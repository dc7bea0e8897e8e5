# tests/cli/redis_lib.sh - a real redis-server for the stream tests
# (sourced after lib.sh and watch_lib.sh): started on a free loopback
# port with its own folder under $T, append-only file on and fsynced at
# every write, stopped by the cleanup of watch_lib.sh whatever happens.
#
# redis_need: exit 77 (skipped, saying why) when redis-server is absent.
# redis_start: start it (again, on the same port and folder: a restart
#   reads its append-only file back); sets RPORT, RURL, REDIS_PID.
# redis_kill: SIGKILL it (a crash: what was acknowledged is on disk).
# rcli ARGS...: redis-cli on it.

redis_need() {
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        echo "ok - # SKIP redis-server or redis-cli is not installed (tools/install-deps --test)"
        exit 77
    fi
}

# A loopback port nothing listens on.
free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
    done
    return 1
}

RPORT=""
RDIR="$T/redis"
redis_start() {
    mkdir -p "$RDIR"
    [ -n "$RPORT" ] || RPORT=$(free_port) || { echo "not ok - no free port"; exit 1; }
    RURL="redis://127.0.0.1:$RPORT/0"
    redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$RDIR" --appendonly yes \
        --appendfsync always --save '' --logfile "$RDIR/redis.log" >/dev/null 2>&1 &
    REDIS_PID=$!
    pids+=("$REDIS_PID")
    wait_for 20 rcli PING || { echo "not ok - redis-server did not start"; tail -5 "$RDIR/redis.log"; exit 1; }
    # the append-only file is read back before it answers other than LOADING
    wait_for 30 sh -c "redis-cli -p $RPORT XLEN x 2>&1 | grep -vq LOADING"
}
redis_kill() {
    kill -9 "$REDIS_PID" 2>/dev/null
    wait "$REDIS_PID" 2>/dev/null
}
rcli() { redis-cli -p "$RPORT" "$@"; }

# stories_resp N KEY: N XADD commands in the Redis protocol, for
# redis-cli --pipe: story i is {"id":"n<i>",...} with the field desk
# "trade" for even i, "world" for odd ones.
stories_resp() {
    awk -v n="$1" -v key="$2" 'BEGIN {
        for (i = 1; i <= n; i++) {
            story = sprintf("{\"id\":\"n%d\",\"title\":\"Story %d\",\"body\":\"Markets and ministers, item %d.\"}", i, i, i)
            desk = (i % 2 == 0) ? "trade" : "world"
            printf "*7\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$1\r\n*\r\n$5\r\nstory\r\n$%d\r\n%s\r\n$4\r\ndesk\r\n$%d\r\n%s\r\n", length(key), key, length(story), story, length(desk), desk
        }
    }'
}

# The ids in a destination stream, one per line (field id of each entry).
stream_ids() {
    rcli --raw XRANGE "$1" - + | awk 'prev == "id" { print } { prev = $0 }'
}
