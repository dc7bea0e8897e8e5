# tests/cli/watch_lib.sh - what the copydesk watch tests share (sourced
# after lib.sh): background processes that are always cleaned up, the
# loopback HTTP server (tests/http/, built by tools/build --tests), waiting for a
# condition with a deadline instead of sleeping, and a small model.

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "${KEEP:-}" ] && rm -rf "$KEEP" && cp -r "$W" "$KEEP"
    rm -rf "$T"
}
trap cleanup EXIT

W="$T/w"
mkdir -p "$W" && cd "$W" || exit 1

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds; 1 on timeout.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.1
    done
}

# check NAME SECONDS CMD...: a check that passes once CMD succeeds in time.
check() {
    local name=$1 secs=$2
    shift 2
    if wait_for "$secs" "$@"; then pass "$name"; else fail "$name" "not true after ${secs}s: $*"; fi
}

# matching N FILE PATTERN: FILE has N or more lines matching PATTERN (a
# command for check: it counts afresh on every poll).
matching() {
    [ "$(grep -c -- "$3" "$2" 2>/dev/null)" -ge "$1" ]
}

# no_files DIR: DIR holds no plain file (again: counted on every poll).
no_files() {
    [ -z "$(find "$1" -maxdepth 1 -type f)" ]
}

# lines FILE: number of lines (0 when missing).
lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }
at_least() { [ "$(lines "$1")" -ge "$2" ]; }
has_line() { grep -Eq -- "$2" "$1"; }

# The loopback server: http_start NAME [PORT] sets PORT_<NAME>; it serves
# $W/www/NAME and logs POST bodies to $W/NAME.posts.
build_http() {
    [ -x "$TEST_HTTP" ] || { echo "not ok - no $TEST_HTTP (tools/build --tests)"; exit 1; }
}
http_start() {
    local name=$1 port=${2:-0}
    mkdir -p "$W/www/$name"
    rm -f "$W/$name.port"
    "$TEST_HTTP" --root "$W/www/$name" --port "$port" "$W/$name.port" "$W/$name.posts" &
    pids+=($!)
    eval "HTTP_PID_$name=$!"
    wait_for 10 test -s "$W/$name.port" || { echo "not ok - http server $name did not start"; exit 1; }
    eval "PORT_$name=$(cat "$W/$name.port")"
}
http_stop() {
    local v="HTTP_PID_$1"
    kill -9 "${!v}" 2>/dev/null
    wait "${!v}" 2>/dev/null
}

# watch_start LOG ARGS...: copydesk watch in the background; WATCH_PID.
watch_start() {
    local log=$1
    shift
    "$COPYDESK" watch "$@" 2>>"$log" &
    WATCH_PID=$!
    pids+=("$WATCH_PID")
}

# watch_stop: SIGTERM and wait (at most 20 s); WATCH_RC is its exit status.
watch_stop() {
    kill -TERM "$WATCH_PID" 2>/dev/null
    local deadline=$((SECONDS + 20))
    while kill -0 "$WATCH_PID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    kill -9 "$WATCH_PID" 2>/dev/null
    wait "$WATCH_PID"
    WATCH_RC=$?
}

# drop DIR NAME JSON: a story arrives as writers should deliver it: written
# under a hidden name, then renamed in.
drop() {
    printf '%s\n' "$3" >"$1/.$2.tmp" && mv "$1/.$2.tmp" "$1/$2"
}

sport_story() {  # ID
    printf '{"id":"%s","title":"Striker scores twice as United win the cup final","body":"The striker scored twice in the second half and the manager praised the team after the league match. The coach said the players and the fans deserved the win in the championship."}' "$1"
}
business_story() {  # ID
    printf '{"id":"%s","title":"Shares rise as company profits beat forecasts","body":"The firm reported higher profits and sales for the quarter, and its shares rose on the stock market as investors welcomed the results and the bank raised its forecast for growth."}' "$1"
}

train_model() {
    [ -f "$W/sections.cdm" ] || "$COPYDESK" train -q -o "$W/sections.cdm" "$FIX/mini/bbc-train.jsonl"
}
