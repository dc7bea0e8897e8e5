# tests/cli/serve_lib.sh - what the copydesk serve tests share (sourced
# after lib.sh and watch_lib.sh): serve started in the background on a
# free loopback port and stopped, and one request with its status checked.

desk_text() {  # SPORT_DESTINATION [RULES]: the desk of the serve tests; RULES go first
    cat <<EOF2
model("sections", "sections.cdm")
taxonomy {
  { id = "sport", name = "Sport", labels = { "sections:sport" } },
  { id = "business", name = "Business", labels = { "sections:business" } },
}
destination "sport" { folder = "out/sport" }
destination "biz"   { folder = "out/biz" }
destination "wire"  { url = "http://127.0.0.1:$WIRE/stories", timeout = 3,
                      connect_timeout = 1, backoff = 0.1, dead_letter = "out/dead" }
destination "review" { folder = "out/review" }
${2:-}
rule("wire stories go out", function(story)
  if story.meta.wire then return "wire" end
end)
rule("sport to $1", function(story)
  if story:topic("sport") > 0.5 then return "$1" end
end)
rule("business to biz", function(story)
  if story:topic("business") > 0.5 then return "biz" end
end)
fallback "review"
expect { name = "sport goes to $1", title = "Striker scores twice as United win the cup final",
         body = "The striker scored twice in the second half and the manager praised the team.",
         route = "$1" }
EOF2
}

S="$W/state"
LOG="$W/serve.log"
serve_start() {  # ARGS...: copydesk serve in the background; SERVE_PID, PORT, URL
    : >"$LOG.now"
    "$COPYDESK" serve "$@" 2>"$LOG.now" &
    SERVE_PID=$!
    pids+=("$SERVE_PID")
    if wait_for 60 grep -q ' listen address=' "$LOG.now"; then
        PORT=$(sed -n 's/.* listen address=127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$LOG.now" | tail -1)
        URL="http://127.0.0.1:$PORT"
    else
        echo "not ok - serve did not start"
        cat "$LOG.now"
        exit 1
    fi
}
serve_stop() {
    kill -TERM "$SERVE_PID" 2>/dev/null
    local deadline=$((SECONDS + 30))
    while kill -0 "$SERVE_PID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    kill -9 "$SERVE_PID" 2>/dev/null
    wait "$SERVE_PID"
    SERVE_RC=$?
    cat "$LOG.now" >>"$LOG"
}
alive() { kill -0 "$SERVE_PID" 2>/dev/null; }

# req NAME STATUS CURL-ARGS...: one request; the body in $T/body, headers in $T/head.
req() {
    local name=$1 want=$2
    shift 2
    local got
    got=$(curl -s -o "$T/body" -D "$T/head" -w '%{http_code}' --max-time 30 "$@")
    if [ "$got" = "$want" ]; then pass "$name"; else fail "$name" "status $got, expected $want" "$(head -c 400 "$T/body")"; fi
}
J=(-H 'Content-Type: application/json')
L=(-H 'Content-Type: application/x-ndjson')
