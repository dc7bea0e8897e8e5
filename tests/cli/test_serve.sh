#!/bin/bash
# copydesk serve over real HTTP (curl, and python3 for raw sockets) on
# 127.0.0.1: every endpoint, the token, the limits, malformed requests
# (each a 4xx or a closed connection, never a crash), concurrent clients
# (bounded), desk versions and rollback, hot reload gated by expect, and a
# kill -9 after a 202 followed by a restart: every accepted story arrives.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"
. "$FIX/../cli/serve_lib.sh"

build_http
train_model
http_start wire
WIRE=$PORT_wire

desk_text sport >"$W/desk.lua"


# ---- the command line -------------------------------------------------------
run 0 "serve --help" -- "$COPYDESK" serve --help
has "the help names the endpoints" "$T/out" "POST /v1/route"
run 2 "a non-loopback address without --token-file is refused" -- "$COPYDESK" serve -c "$W/desk.lua" --listen 0.0.0.0:0
has "saying why" "$T/err" "not a loopback address: give --token-file"
printf 'abcdefghijklmnopqrstuvwxyz\n' >"$W/open-token"
chmod 644 "$W/open-token"
run 2 "a token file others may read is refused" -- "$COPYDESK" serve -c "$W/desk.lua" --listen 0.0.0.0:0 --token-file "$W/open-token"
has "saying how to fix it" "$T/err" "chmod 600"
run 2 "--listen that is not HOST:PORT is refused" -- "$COPYDESK" serve -c "$W/desk.lua" --listen nowhere
run 2 "a desk whose expect cases fail does not start" -- "$COPYDESK" serve -c /nonexistent.lua --listen 127.0.0.1:0 -s "$W/s0"

serve_start -c "$W/desk.lua" --listen 127.0.0.1:0 -s "$S" --threads 2 \
    --max-story-bytes 65536 --max-connections 16 --timeout 2
TOKEN=$(cat "$S/token")
AUTH=(-H "Authorization: Bearer $TOKEN")
same "serve made a token, readable by its owner only" "$(stat -c %a "$S/token")" 600

# ---- health, readiness --------------------------------------------------------
req "GET /healthz" 200 "$URL/healthz"
jqtrue "healthz says ok" "$T/body" '.status == "ok"'
req "GET /readyz" 200 "$URL/readyz"
jqtrue "readyz gives the desk version" "$T/body" '.status == "ready" and .version == 1'

# ---- classify -------------------------------------------------------------------
req "POST /v1/classify, one JSON story" 200 "${J[@]}" --data-binary "$(sport_story s1)" "$URL/v1/classify"
jqtrue "labels and topics" "$T/body" '.id == "s1" and .labels.sections[0].label == "sport" and .topics[0].id == "sport"'
lacks "no evidence unless asked" "$T/body" '"evidence"'
req "?explain=1" 200 "${J[@]}" --data-binary "$(sport_story s1)" "$URL/v1/classify?explain=1"
jqtrue "adds the evidence" "$T/body" '.evidence[0].topic == "sport" and (.evidence[0].labels | length) > 0'
req "text/plain" 200 -H 'Content-Type: text/plain' --data-binary $'Shares rise as profits beat forecasts\nThe firm reported higher profits and its shares rose on the stock market.' "$URL/v1/classify?id=t1"
jqtrue "a text story, id from ?id=" "$T/body" '.id == "t1" and .labels.sections[0].label == "business"'
req "ninjs fields" 200 "${J[@]}" --data-binary '{"uri":"urn:x:1","headline":"Striker scores twice in the cup final","body_text":"The striker scored and the team won the league match."}' "$URL/v1/classify"
jqtrue "ninjs uri is the id" "$T/body" '.id == "urn:x:1" and .labels.sections[0].label == "sport"'
{ sport_story b1; echo; echo '{"id": broken'; echo; business_story b3; echo; } >"$W/batch.jsonl"
req "a batch of JSON lines" 200 "${L[@]}" --data-binary @"$W/batch.jsonl" "$URL/v1/classify"
same "one answer line per story line, bad ones included" "$(grep -c . "$T/body")" 3
same "in order" "$(jq -r '.id // "line \(.line)"' "$T/body" | tr '\n' ' ')" "b1 line 2 b3 "
jqtrue "the bad line says where and why" "$T/body" 'if .line then .error.code == "bad_story" and (.error.message | test("line 2")) else true end'
has "the batch answer is JSON lines" "$T/head" 'Content-Type: application/x-ndjson'

# ---- route ------------------------------------------------------------------------
req "route ?dry_run=1 needs no token" 200 "${J[@]}" --data-binary "$(sport_story d1)" "$URL/v1/route?dry_run=1"
jqtrue "and says where the story would go" "$T/body" '.route == ["sport"] and .rule == "sport to sport" and .outcome == "routed"'
same "a dry run delivers nothing" "$(ls "$W/out/sport" 2>/dev/null | wc -l)" 0
req "route without a token: 401" 401 "${J[@]}" --data-binary "$(sport_story r1)" "$URL/v1/route"
has "with WWW-Authenticate" "$T/head" 'WWW-Authenticate: Bearer'
jqtrue "and an error object" "$T/body" '.error.code == "unauthorized" and (.error.message | length) > 0'
req "route with a wrong token: 401" 401 "${J[@]}" -H "Authorization: Bearer ${TOKEN%?}x" --data-binary "$(sport_story r1)" "$URL/v1/route"
req "route with a token of another length: 401" 401 "${J[@]}" -H "Authorization: Bearer x" --data-binary "$(sport_story r1)" "$URL/v1/route"
same "refused requests deliver nothing" "$(ls "$W/out/sport" 2>/dev/null | wc -l)" 0
req "route with the token: 202" 202 "${J[@]}" "${AUTH[@]}" --data-binary "$(sport_story r1)" "$URL/v1/route"
jqtrue "the decision" "$T/body" '.id == "r1" and .route == ["sport"] and .outcome == "routed"'
check "the story is in its folder when 202 comes" 1 test -f "$W/out/sport/r1.json"
{ sport_story rb1; echo; business_story rb2; echo; } >"$W/rbatch.jsonl"
req "route a batch: 202" 202 "${L[@]}" "${AUTH[@]}" --data-binary @"$W/rbatch.jsonl" "$URL/v1/route"
same "two decisions" "$(jq -r '.route[0]' "$T/body" | tr '\n' ' ')" "sport biz "
check "both delivered" 1 test -f "$W/out/biz/rb2.json"

# ---- the desk -----------------------------------------------------------------------
req "GET /v1/desk" 200 "$URL/v1/desk"
jqtrue "topics, destinations, rules with file:line, models" "$T/body" \
    '.version == 1 and (.desk.topics | map(.id)) == ["sport","business"] and (.desk.destinations | length) == 4 and
     (.desk.rules[1].where | test("desk.lua:[0-9]+$")) and .desk.models[0].name == "sections" and .desk.fallback == "review" and .reload.count == 0'
req "GET /v1/desk/source" 200 "$URL/v1/desk/source"
same "is the desk file" "$(cmp -s "$T/body" "$W/desk.lua" && echo same)" same
desk_text review >"$W/desk2.lua"
req "PUT /v1/desk needs the token" 401 --data-binary @"$W/desk2.lua" -X PUT "$URL/v1/desk"
printf 'rule("broken", function(story)\n  return "sport"\n' >"$W/broken.lua"
req "PUT a desk that does not load: 422" 422 "${AUTH[@]}" --data-binary @"$W/broken.lua" -X PUT "$URL/v1/desk?apply=1"
jqtrue "says file:line of the desk file, not of a temporary file" "$T/body" '.passed == false and .applied == false and (.problems[0] | test("desk.lua:[0-9]+:")) and (.problems[0] | test("candidate") | not)'
sed 's/then return "review" end/then return "biz" end/' "$W/desk2.lua" | sed '/^rule("sport to review"/,/^end)/s/return "review"/return "biz"/' >"$W/desk3.lua"
req "PUT a desk whose expect case fails: 422" 422 "${AUTH[@]}" --data-binary @"$W/desk3.lua" -X PUT "$URL/v1/desk?apply=1"
jqtrue "the case that failed" "$T/body" '.passed == false and .applied == false and .expects[0].passed == false'
req "PUT a good desk without apply checks only" 200 "${AUTH[@]}" --data-binary @"$W/desk2.lua" -X PUT "$URL/v1/desk"
jqtrue "passed, not applied" "$T/body" '.passed == true and .applied == false and .expects[0].passed == true'
same "the desk file is unchanged" "$(cmp -s "$W/desk.lua" "$W/desk2.lua" && echo changed || echo unchanged)" unchanged
req "PUT ?apply=1 installs it" 200 "${AUTH[@]}" --data-binary @"$W/desk2.lua" -X PUT "$URL/v1/desk?apply=1"
jqtrue "as version 2" "$T/body" '.applied == true and .version == 2'
same "the desk file is the new text" "$(cmp -s "$W/desk.lua" "$W/desk2.lua" && echo same)" same
req "the next story follows the new desk" 200 "${J[@]}" --data-binary "$(sport_story v2)" "$URL/v1/route?dry_run=1"
jqtrue "to review" "$T/body" '.route == ["review"]'
same "every applied version is kept" "$(ls "$S/desks" | grep -c '\.lua$')" 2
req "POST /v1/desk/rollback" 200 -X POST "${AUTH[@]}" "$URL/v1/desk/rollback"
jqtrue "back to version 1" "$T/body" '.version == 1 and .rolled_back_from == 2'
req "routing is as before" 200 "${J[@]}" --data-binary "$(sport_story v1)" "$URL/v1/route?dry_run=1"
jqtrue "to sport" "$T/body" '.route == ["sport"]'
same "the desk file is version 1 again" "$(cmp -s "$W/desk.lua" "$S/desks/000001.lua" && echo same)" same
req "no version before the first: 409" 409 -X POST "${AUTH[@]}" "$URL/v1/desk/rollback"
req "rollback needs the token" 401 -X POST "$URL/v1/desk/rollback"

# hot reload: the file edited in place, gated by its expect cases
# (counted from the reloads so far: applying and rolling back rewrote the
# file, and watch may have reloaded it too by now)
reloads() { curl -s "$URL/v1/desk" | jq -r '.reload.count'; }
sleep 1.5; n0=$(reloads)
desk_text review >"$W/desk.lua.new" && mv "$W/desk.lua.new" "$W/desk.lua"
reloaded() { curl -s "$URL/v1/desk" | jq -e --argjson n0 "$n0" ".reload.count >= \$n0 + $1 and .reload.ok == $2" >/dev/null; }
check "an edited desk file is reloaded" 15 reloaded 1 true
req "and routes the next story" 200 "${J[@]}" --data-binary "$(sport_story h1)" "$URL/v1/route?dry_run=1"
jqtrue "by the new rules" "$T/body" '.route == ["review"]'
cp "$W/desk3.lua" "$W/desk.lua.new" && mv "$W/desk.lua.new" "$W/desk.lua"
check "an edit that fails its expect case is refused" 15 reloaded 2 false
req "and the previous desk keeps routing" 200 "${J[@]}" --data-binary "$(sport_story h2)" "$URL/v1/route?dry_run=1"
jqtrue "to review" "$T/body" '.route == ["review"]'
has "the log says so" "$LOG.now" 'reload-failed .*keeping="the previous desk"'
desk_text sport >"$W/desk.lua.new" && mv "$W/desk.lua.new" "$W/desk.lua"
check "fixed, it is reloaded" 15 reloaded 3 true

# ---- metrics ---------------------------------------------------------------------------
req "GET /metrics" 200 "$URL/metrics"
has "Prometheus text" "$T/head" 'Content-Type: text/plain; version=0.0.4'
has "stories by destination, rule and outcome" "$T/body" '^copydesk_stories_total\{destination="sport",rule="sport to sport",outcome="routed"\} 2$'
has "a decision latency histogram" "$T/body" '^copydesk_decision_seconds_bucket\{le="\+Inf"\} [1-9]'
has "reloads" "$T/body" '^copydesk_reloads_total\{result="failed"\} 1$'
has "spool depth" "$T/body" '^copydesk_spool_depth 0$'
has "deliveries failed" "$T/body" '^copydesk_deliveries_failed_total 0$'
has "HTTP requests by status" "$T/body" '^copydesk_http_requests_total\{code="401"\} [1-9]'

# ---- malformed requests -------------------------------------------------------------------
req "an unknown path: 404" 404 "$URL/v2/classify"
jqtrue "as an error object" "$T/body" '.error.code == "not_found"'
req "learn needs the token" 401 -X POST "${J[@]}" --data-binary "$(sport_story l0)" "$URL/v1/learn"
req "the wrong method: 405" 405 "$URL/v1/classify"
has "with Allow" "$T/head" '^Allow: POST'
req "DELETE /v1/desk: 405" 405 -X DELETE "$URL/v1/desk"
req "bad JSON: 400" 400 "${J[@]}" --data-binary '{"id": "x", "title": ' "$URL/v1/classify"
jqtrue "says where" "$T/body" '.error.code == "bad_story" and (.error.message | test("byte"))'
req "JSON that is not an object: 400" 400 "${J[@]}" --data-binary '[1,2]' "$URL/v1/classify"
req "an empty body: 400" 400 "${J[@]}" --data-binary '' "$URL/v1/classify"
req "an unknown media type: 415" 415 -H 'Content-Type: image/png' --data-binary 'x' "$URL/v1/classify"
req "a bad flag value: 400" 400 "${J[@]}" --data-binary "$(sport_story f)" "$URL/v1/classify?explain=maybe"
head -c 70000 /dev/zero | tr '\0' 'a' >"$W/big.txt"
req "a body over the story limit: 413" 413 -H 'Content-Type: text/plain' --data-binary @"$W/big.txt" "$URL/v1/classify"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 -H 'Transfer-Encoding: chunked' -H 'Content-Type: text/plain' --data-binary @"$W/big.txt" "$URL/v1/classify")
case "$code" in 000|4*) pass "a chunked body over the limit: the connection is closed or 4xx ($code)" ;;
    *) fail "a chunked body over the limit" "status $code" ;; esac
hdrs=()
for i in $(seq 1 200); do hdrs+=(-H "X-Flood-$i: $(head -c 400 /dev/zero | tr '\0' 'b')"); done
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "${hdrs[@]}" "$URL/healthz")
case "$code" in 000|4*) pass "a header flood: closed or 4xx ($code)" ;; *) fail "a header flood" "status $code" ;; esac
# a slow client: half a request, then silence; the server must hang up
python3 - "$PORT" >"$T/slow" 2>&1 <<'EOF2'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
s.settimeout(15)
t0 = time.time()
try:
    data = s.recv(4096)
    while data:
        data = s.recv(4096)
    print("closed after %.1f s" % (time.time() - t0))
except socket.timeout:
    print("still open after 15 s")
except ConnectionResetError:
    print("closed after %.1f s" % (time.time() - t0))
EOF2
has "a slow client is cut off after the timeout" "$T/slow" '^closed after [0-9]'
# a request line that is not HTTP
python3 - "$PORT" >"$T/junk" 2>&1 <<'EOF2'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"\x00\xff GARBAGE \r\n\r\n")
s.settimeout(10)
got = s.recv(100)
print("closed" if not got else got[:12].decode("latin-1"))
EOF2
has "garbage gets a 4xx or a closed connection" "$T/junk" "^(HTTP/1.1 4|closed)"
if alive; then pass "serve is still running after all of that"; else fail "serve is still running"; fi

# ---- concurrent clients ------------------------------------------------------------------
for i in $(seq 1 40); do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 "${J[@]}" --data-binary "$(sport_story c$i)" "$URL/v1/classify" &
done >"$T/conc"
wait_for 60 test "$(wc -l <"$T/conc")" -ge 40
same "40 clients at once are all answered" "$(grep -c '^200$' "$T/conc")" 40
# --max-connections 16: while 16 idle connections are held, a 17th is not
# served (refused, or left waiting in the listen queue)
python3 - "$PORT" >"$T/limit" 2>&1 <<'EOF2'
import socket, sys
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(1.0)
try:
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    got = s.recv(100)
    print("answered" if got else "refused")
except (ConnectionResetError, BrokenPipeError):
    print("refused")
except socket.timeout:
    print("not served")
for h in held:
    h.close()
EOF2
has "a connection beyond --max-connections is not served" "$T/limit" '^(refused|not served)$'
check "and served again once the others are gone" 10 curl -sf "$URL/healthz"

# ---- CORS: none unless configured --------------------------------------------------------
req "no CORS headers by default" 200 -H 'Origin: https://cms.example' "$URL/healthz"
lacks "no Access-Control-Allow-Origin" "$T/head" 'Access-Control'
req "OPTIONS is not allowed without CORS" 405 -X OPTIONS -H 'Origin: https://cms.example' "$URL/v1/classify"

serve_stop
same "SIGTERM stops it cleanly" "$SERVE_RC" 0

# ---- kill -9 after a 202, then a restart: every accepted story arrives ----------------------
http_stop wire     # the endpoint is down: stories wait in the spool
serve_start -c "$W/desk.lua" --listen 127.0.0.1:0 -s "$S" --threads 2 --cors-origin https://cms.example
accepted=0
for i in $(seq 1 20); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "${J[@]}" "${AUTH[@]}" \
        --data-binary "{\"id\":\"k$i\",\"title\":\"wire copy $i\",\"body\":\"text\",\"wire\":true}" "$URL/v1/route")
    [ "$code" = 202 ] && accepted=$((accepted + 1))
done
same "20 stories for a url destination that is down: all 202" "$accepted" 20
req "the spool holds them" 200 "$URL/metrics"
has "spool depth 20" "$T/body" '^copydesk_spool_depth 20$'
req "CORS when configured: the origin is allowed" 200 -H 'Origin: https://cms.example' "$URL/healthz"
has "Access-Control-Allow-Origin" "$T/head" '^Access-Control-Allow-Origin: https://cms.example'
req "and no other origin" 200 -H 'Origin: https://evil.example' "$URL/healthz"
lacks "no header for it" "$T/head" 'Access-Control'
req "a preflight: 204" 204 -X OPTIONS -H 'Origin: https://cms.example' "$URL/v1/route"
kill -9 "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null
http_start wire "$WIRE"
mkdir -p "$W/in"
serve_start -c "$W/desk.lua" --listen 127.0.0.1:0 -s "$S" --threads 2 --inbox "$W/in"
drop "$W/in" inbox-1.json "$(sport_story inbox-1)"
check "with --inbox, a file dropped in is routed by the same process (watch's live desk)" 30 test -f "$W/out/sport/inbox-1.json"
check "and moves to done/" 10 test -f "$W/in/done/inbox-1.json"
req "GET /metrics" 200 "$URL/metrics"
has "counts the inbox's story with those from HTTP" "$T/body" '^copydesk_stories_total\{destination="sport",rule="sport to sport",outcome="routed"\} 1$'
req "watch's status is in the same state folder" 200 "$URL/healthz"
jqtrue "status.json says it runs" "$S/status.json" '.running == true'
posted() { [ "$(jq -r .id "$W/wire.posts" 2>/dev/null | grep -c '^k')" -ge "$1" ]; }
check "restarted after kill -9, serve delivers every accepted story" 60 posted 20
same "each of the 20 ids" "$(jq -r .id "$W/wire.posts" | grep '^k' | sort -u | wc -l)" 20
serve_stop
same "stops cleanly" "$SERVE_RC" 0
lacks "no sanitizer report" "$LOG" 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error'
