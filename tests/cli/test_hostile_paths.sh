#!/bin/bash
# Where writes go: story ids and destination names that try to leave
# their folder ("..", absolute paths, NUL, very long names, names that
# are only dots) never make a file outside it; files and folders are
# created with the modes the umask allows (0644/0755 under 022, nothing
# for others under 077); a url destination refuses every scheme but
# http and https when the configuration is loaded.
. "$(dirname "$0")/lib.sh"

long=$(head -c 5000 /dev/zero | tr '\0' 'a')
{
    printf '{"id":"../../escape-up","title":"t"}\n'
    printf '{"id":"/tmp/escape-absolute","title":"t"}\n'
    printf '{"id":"..","title":"t"}\n'
    printf '{"id":".","title":"t"}\n'
    printf '{"id":"...","title":"t"}\n'
    printf '{"id":"a/../../b","title":"t"}\n'
    printf '{"id":"nul\\u0000/../../x","title":"t"}\n'
    printf '{"id":"%s","title":"t"}\n' "$long"
    printf '{"id":"%s/../x","title":"t"}\n' "$long"
    printf '{"id":".hidden","title":"t"}\n'
    printf '{"id":"back\\\\slash","title":"t"}\n'
    printf '{"id":"new\\nline","title":"t"}\n'
} >"$T/ids.jsonl"
n_ids=$(wc -l <"$T/ids.jsonl")

mkdir -p "$T/work"
cd "$T/work" || exit 1
cat >desk.lua <<'EOF'
destination "../../dest-escape" { folder = "out/desk" }
destination "/abs/name" { jsonl = "out/wire.jsonl" }
destination "broken" { folder = "out/not-a-folder" }
dead_letter "out/dead"
rule("all", function(story) return { "../../dest-escape", "/abs/name", "broken" } end)
fallback "../../dest-escape"
EOF
printf 'a file where a folder should be\n' >"$T/work/out-not-a-folder"
mkdir -p out && mv out-not-a-folder out/not-a-folder

umask 022
run 1 "route: hostile ids, exit 1 (one destination fails)" -- cd_ route -q -c desk.lua "$T/ids.jsonl"
same "every story has its own file in the folder" "$(ls -A out/desk | wc -l)" "$n_ids"
same "every story has a dead-letter file" "$(ls -A out/dead | wc -l)" "$n_ids"
same "every story is a line of the jsonl file" "$(wc -l <out/wire.jsonl)" "$n_ids"
outside=$(find "$T" -newer desk.lua -type f ! -path "$T/work/out/*" ! -path "$T/out" ! -path "$T/err" | wc -l)
same "no file written outside the destination folders" "$outside" "0"
[ ! -e /tmp/escape-absolute ] && [ ! -e "$T/escape-up" ] && [ ! -e "$T/dest-escape" ] \
    && pass "no escape by .. or absolute id" || fail "no escape by .. or absolute id"
bad=$( (ls -A out/desk; ls -A out/dead) | grep -E '^(\.|\.\.|\.\.\.)$|/' | wc -l)
same "no file is named . or .. or holds a slash" "$bad" "0"
hidden=$( (ls -A out/desk; ls -A out/dead) | grep -c '^\.')
same "no file name starts with a dot (no hidden or temporary leftovers)" "$hidden" "0"
maxlen=$( (ls -A out/desk; ls -A out/dead) | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
[ "$maxlen" -le 255 ] && pass "file names fit NAME_MAX ($maxlen bytes)" || fail "file names fit NAME_MAX" "$maxlen bytes"
bad=0
for f in out/desk/*; do jq -e '.id | type == "string"' "$f" >/dev/null 2>&1 || bad=$((bad + 1)); done
same "each file holds its story" "$bad" "0"
jq -r .destination out/dead/* | sort -u >"$T/dl-dests"
same "dead letter names the destination as declared" "$(cat "$T/dl-dests")" "broken"

# modes under umask 022 and 077
same "folder destination: folder 0755" "$(stat -c %a out/desk)" "755"
same "folder destination: files 0644" "$(stat -c %a out/desk/* | sort -u)" "644"
same "jsonl destination: file 0644" "$(stat -c %a out/wire.jsonl)" "644"
same "dead letter: folder 0755, files 0644" "$(stat -c %a out/dead) $(stat -c %a out/dead/* | sort -u)" "755 644"
rm -rf out/desk out/dead out/wire.jsonl
(umask 077; cd_ route -q -c desk.lua "$T/ids.jsonl" >/dev/null 2>&1)
same "umask 077: folder 0700" "$(stat -c %a out/desk)" "700"
same "umask 077: files 0600" "$(stat -c %a out/desk/* | sort -u)" "600"
same "umask 077: jsonl 0600" "$(stat -c %a out/wire.jsonl)" "600"
same "umask 077: dead letter 0700, files 0600" "$(stat -c %a out/dead) $(stat -c %a out/dead/* | sort -u)" "700 600"

# url destinations: http and https only, refused at load
for url in file:///etc/passwd ftp://example.com/x gopher://example.com/ dict://127.0.0.1:11211/ \
           ldap://example.com/ scp://host/x smb://host/share telnet://host "HTTP://EXAMPLE.COM/x" \
           "javascript:alert(1)" "/just/a/path" "http:/missing-slash"; do
    printf 'destination "d" { url = "%s" }\nfallback "d"\n' "$url" >"$T/url.lua"
    run 2 "url '$url' refused at load" -- cd_ check -c "$T/url.lua"
    has "url '$url': the message says why" "$T/err" "only http:// and https:// URLs"
done
printf 'destination "d" { url = "https://example.com/in" }\ndestination "e" { url = "http://127.0.0.1:9/x" }\nfallback "d"\n' >"$T/url-ok.lua"
run 0 "http and https urls are accepted" -- cd_ check -c "$T/url-ok.lua"
