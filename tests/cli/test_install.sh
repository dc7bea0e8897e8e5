#!/bin/bash
# tools/install: the program, the shipped desk and models, the man page and
# the systemd unit land under PREFIX; systemd-analyze verify accepts the
# unit; the unit's own set-up of its state folder, run by hand, gives a
# serve that starts and answers (as the service would, minus systemd).
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
P="$T/prefix"

run 0 "tools/install PREFIX" -- "$ROOT/tools/install" "$P"
for f in bin/copydesk share/copydesk/scripts/newsroom.lua share/copydesk/models/bbc.cdm \
         share/copydesk/models/reuters.cdm share/copydesk/tests/samples/reuters-14826.json \
         share/man/man1/copydesk.1 lib/systemd/system/copydesk.service \
         share/copydesk/web/index.html share/copydesk/web/app.js share/copydesk/web/app.css; do
    if [ -f "$P/$f" ]; then pass "installs $f"; else fail "installs $f" "missing"; fi
done
run 2 "a relative PREFIX is refused" -- "$ROOT/tools/install" relative/prefix
run 0 "DESTDIR puts the files under it" -- env DESTDIR="$T/dest" "$ROOT/tools/install" /opt/cd
has "while the unit names the final paths" "$T/dest/opt/cd/lib/systemd/system/copydesk.service" '^ExecStart=/opt/cd/bin/copydesk serve '

U="$P/lib/systemd/system/copydesk.service"
lacks "the unit has no placeholder left" "$U" '@[A-Z]+@'
for k in 'DynamicUser=yes' 'StateDirectory=copydesk' 'ProtectSystem=strict' 'NoNewPrivileges=yes' \
         'ProtectHome=yes' 'PrivateTmp=yes' 'CapabilityBoundingSet=$' 'SystemCallFilter=@system-service'; do
    has "the unit sets $k" "$U" "^$k"
done
# its Documentation= names the man page: found where it was installed
run 0 "systemd-analyze verify accepts the unit" -- env MANPATH="$P/share/man:" systemd-analyze verify "$U"
lacks "and says nothing against it" "$T/err" 'copydesk.service'

run 0 "the installed man page renders" -- man --warnings -l "$P/share/man/man1/copydesk.1"
lacks "without warnings" "$T/err" '.'
has "it has the serve command" "$T/out" 'serve -c DESK.lua'
run 0 "the installed program runs" -- "$P/bin/copydesk" serve --help
run 0 "the installed desk passes its expect cases" -- "$P/bin/copydesk" check -q -c "$P/share/copydesk/scripts/newsroom.lua"

# the unit's ExecStartPre, then its ExecStart (on a free port), by hand
STATE_DIRECTORY="$T/var" && mkdir -p "$STATE_DIRECTORY"
pre=$(sed -n "s/^ExecStartPre=\/bin\/sh -ec '\(.*\)'$/\1/p" "$U")
run 0 "the unit's set-up of its state folder" -- env STATE_DIRECTORY="$STATE_DIRECTORY" /bin/sh -ec "$pre"
run 0 "run again, it keeps what is there" -- env STATE_DIRECTORY="$STATE_DIRECTORY" /bin/sh -ec "$pre"
start=$(sed -n 's/^ExecStart=//p' "$U" | sed 's/--listen 127.0.0.1:8080/--listen 127.0.0.1:0/')
( cd "$STATE_DIRECTORY" && exec $start 2>"$T/serve.log" ) &
spid=$!
for _ in $(seq 1 300); do grep -q ' listen address=' "$T/serve.log" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.* listen address=127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$T/serve.log")
code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 -H 'Content-Type: application/json' \
    --data-binary @"$ROOT/tests/samples/reuters-14826.json" "http://127.0.0.1:${port:-1}/v1/route?dry_run=1")
same "the service as the unit runs it answers" "$code" 200
jqtrue "with the shipped desk" "$T/body" '.route == ["trade-desk"]'
code=$(curl -s -o "$T/page" -w '%{http_code} %{content_type}' --max-time 20 "http://127.0.0.1:${port:-1}/")
same "and serves the editor's web page at /" "$code" "200 text/html; charset=utf-8"
has "the installed page" "$T/page" '<title>copydesk</title>'
kill -TERM "$spid"
wait "$spid"
same "and stops on SIGTERM" "$?" 0

# without --web, the installed program finds the page beside itself
"$P/bin/copydesk" serve -c "$P/share/copydesk/scripts/newsroom.lua" --listen 127.0.0.1:0 \
    -s "$T/s2" 2>"$T/serve2.log" &
spid=$!
for _ in $(seq 1 300); do grep -q ' web' "$T/serve2.log" 2>/dev/null && break; sleep 0.1; done
kill -TERM "$spid"
wait "$spid"
has "the installed program serves PREFIX/share/copydesk/web without --web" "$T/serve2.log" \
    " web page=http://127.0.0.1:[0-9]+/ files=$P/share/copydesk/web\$"
