# tests/cli/lib.sh - a few assertions for the command-line tests.
#
# Each test script sources this file and prints one "ok - NAME" or
# "not ok - NAME" line per check (tests/run counts them).  $COPYDESK is the
# binary under test (tests/run sets it to the sanitizer build); every
# script works in its own scratch folder $T, removed at exit.

set -u
COPYDESK="${COPYDESK:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/debug/copydesk}"
FIX="$(cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures" && pwd)"
# The test HTTP server (tests/http/), built beside the binary by
# tools/build --tests.
TEST_HTTP="$(dirname "$COPYDESK")/http_server"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

cd_() { "$COPYDESK" "$@"; }

pass() { echo "ok - $1"; }
fail() { echo "not ok - $1"; shift; for line in "$@"; do echo "#   $line"; done; }

# run STATUS NAME -- CMD...: run CMD, stdout to $T/out, stderr to $T/err,
# and check its exit status.
run() {
    local want=$1 name=$2
    shift 3
    "$@" >"$T/out" 2>"$T/err"
    local got=$?
    if [ "$got" -eq "$want" ]; then
        pass "$name"
    else
        fail "$name" "exit status $got, expected $want" "stderr: $(head -c 600 "$T/err")"
    fi
}

# has NAME FILE PATTERN: FILE contains a line matching the extended regex.
has() {
    if grep -Eq -- "$3" "$2"; then pass "$1"; else fail "$1" "no line matches /$3/ in $(basename "$2"):" "$(head -c 600 "$2")"; fi
}

# lacks NAME FILE PATTERN
lacks() {
    if grep -Eq -- "$3" "$2"; then fail "$1" "unexpected /$3/ in $(basename "$2")"; else pass "$1"; fi
}

# same NAME GOT WANT
same() {
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', expected '$3'"; fi
}

# jqtrue NAME FILE FILTER: the jq filter is true for every JSON value in FILE.
jqtrue() {
    if [ -s "$2" ] && jq -e "$3" "$2" >/dev/null 2>&1 && ! jq -e "($3) | not" "$2" 2>/dev/null | grep -q true; then
        pass "$1"
    else
        fail "$1" "jq '$3' is not true for $(basename "$2"):" "$(head -c 600 "$2")"
    fi
}
