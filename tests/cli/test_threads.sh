#!/bin/bash
# --threads: classify and route on several threads give, byte for byte,
# what one thread gives: the same lines in the same (input) order on stdout,
# the same messages in the same order on stderr, the same deliveries (a
# jsonl destination gets its lines in input order), the same summary.
# On the mini fixtures and on 2,000 generated stories with bad lines among
# them (their errors keep their place too).
. "$(dirname "$0")/lib.sh"
W="$T/w"
mkdir -p "$W" && cd "$W" || exit 1   # not $T: lib.sh writes $T/out

run 0 "train a small sections model" -- cd_ train -q -o "$W/sections.cdm" "$FIX/mini/bbc-train.jsonl"

# 2,000 stories: the mini stories again and again, each with its own id,
# and now and then a line that is not JSON, a blank line, a story that is
# not an object.
awk '{ for (k = 1; k <= 25; k++) lines[++n] = $0 }
     END {
       for (i = 1; i <= n; i++) {
         line = lines[i]
         sub(/"id": "/, "\"id\": \"r" i "-", line)
         print line
         if (i % 97 == 0) print "{\"id\": \"broken-" i "\", \"title\": "
         if (i % 211 == 0) print ""
         if (i % 389 == 0) print "[1, 2]"
       }
     }' "$FIX/mini/bbc-train.jsonl" "$FIX/mini/bbc-test.jsonl" >"$W/many.jsonl"
same "2,000 generated stories" "$(grep -c '"id": "r' "$W/many.jsonl")" "2000"

# same_run NAME -- ARGS...: ARGS with --threads 1, 2 and 3 (standard
# input from the file $IN, when set); stdout, stderr and the exit status of
# 2 and 3 threads equal those of one.
same_run() {
    local name=$1
    shift 2
    local t rc1 rc
    cd_ "$@" --threads 1 <"${IN:-/dev/null}" >"$T/out.1" 2>"$T/err.1"
    rc1=$?
    for t in 2 3; do
        cd_ "$@" --threads "$t" <"${IN:-/dev/null}" >"$T/out.$t" 2>"$T/err.$t"
        rc=$?
        if cmp -s "$T/out.1" "$T/out.$t" && cmp -s "$T/err.1" "$T/err.$t" && [ "$rc" = "$rc1" ]; then
            pass "$name: --threads $t gives what --threads 1 gives"
        else
            fail "$name: --threads $t differs from --threads 1" \
                "exit $rc vs $rc1" "$(diff "$T/out.1" "$T/out.$t" | head -5)" \
                "$(diff "$T/err.1" "$T/err.$t" | head -5)"
        fi
    done
}

# ---- classify ------------------------------------------------------------

same_run "classify, mini" -- classify -m "$W/sections.cdm" "$FIX/mini/bbc-test.jsonl" "$FIX/mini/bbc-train.jsonl"
same_run "classify --top 3 --explain, mini" -- classify -m "$W/sections.cdm" --top 3 --explain "$FIX/mini/bbc-test.jsonl"
same_run "classify, 2,000 stories and bad lines" -- classify -m "$W/sections.cdm" "$W/many.jsonl"
same "classify: a line per story" "$(wc -l <"$T/out.1")" "2000"
has "classify: the bad lines are reported" "$T/err.1" "many.jsonl:98: "
same "classify: every bad line reported" "$(grep -c '^copydesk: classify: ' "$T/err.1")" "$(( 2000 / 97 + 2000 / 389 ))"
IN="$W/many.jsonl" same_run "classify from standard input" -- classify -m "$W/sections.cdm" -

cat >"$W/desk.lua" <<'EOF'
model("sections", "sections.cdm")
taxonomy {
  { id = "sport", name = "Sport", labels = { "sections:sport" } },
  { id = "business", name = "Business", labels = { "sections:business" },
    { id = "markets", name = "Markets", keywords = { "shares", "market*" } } },
}
destination "sport-desk" { folder = "out/sport" }
destination "wire"       { jsonl = "out/wire.jsonl" }
destination "review"     { folder = "out/review" }
rule("tag markets", function(story)
  if story:topic("markets") >= 0.3 then story:tag("markets") end
end)
rule("a rule that fails now and then", function(story)
  if story.id:match("^r%d*7%-") then error("seven") end
end)
rule("business goes out on the wire", function(story)
  if story:topic("business") >= 0.5 then return "wire" end
end)
rule("sport", function(story)
  if story:topic("sport") >= 0.5 then return "sport-desk" end
end)
fallback "review"
EOF
same_run "classify -c desk, 2,000 stories" -- classify -c "$W/desk.lua" --explain "$W/many.jsonl"

# ---- route ----------------------------------------------------------------

same_run "route --dry-run, mini" -- route -c "$W/desk.lua" --dry-run "$FIX/mini/bbc-test.jsonl"
same_run "route --dry-run --explain, 2,000 stories" -- route -c "$W/desk.lua" -n --explain "$W/many.jsonl"
same "route --dry-run: a line per story" "$(wc -l <"$T/out.1")" "2000"
has "route: the summary counts every story" "$T/err.1" "stories in +2000$"
has "route: and every bad line" "$T/err.1" "unreadable inputs +$(( 2000 / 97 + 2000 / 389 ))$"
has "route: rule errors are counted" "$T/err.1" "a rule that fails now and then +[1-9]"

# Deliveries: each story exactly once, the jsonl lines in input order.
for t in 1 2 3; do
    rm -rf out
    cd_ route -c "$W/desk.lua" --threads "$t" "$W/many.jsonl" >"$T/out.$t" 2>"$T/err.$t"
    echo $? >"$T/rc.$t"
    cp out/wire.jsonl "$T/wire.$t"
    (cd out && find . -type f | sort) >"$T/files.$t"
    (cd out && find . -type f -name '*.json' -exec cat {} + | sort) >"$T/folders.$t"
done
for t in 2 3; do
    if cmp -s "$T/wire.1" "$T/wire.$t"; then pass "route --threads $t: the jsonl destination in input order"
    else fail "route --threads $t: the jsonl destination differs" "$(diff "$T/wire.1" "$T/wire.$t" | head -4)"; fi
    if cmp -s "$T/files.1" "$T/files.$t" && cmp -s "$T/folders.1" "$T/folders.$t"; then
        pass "route --threads $t: the same files in the folders"
    else
        fail "route --threads $t: the folders differ" "$(diff "$T/files.1" "$T/files.$t" | head -4)"
    fi
    if cmp -s "$T/err.1" "$T/err.$t" && cmp -s "$T/rc.1" "$T/rc.$t"; then
        pass "route --threads $t: the same story lines and summary"
    else
        fail "route --threads $t: stderr differs" "$(diff "$T/err.1" "$T/err.$t" | head -6)"
    fi
done
delivered=$(( $(wc -l <"$T/wire.1") + $(grep -c . "$T/files.1") - 1 ))
same "route: every story delivered exactly once" "$delivered" "2000"
same "route: the jsonl lines follow the input" \
    "$(jq -r .id "$T/wire.1" | sed 's/^r\([0-9]*\)-.*/\1/' | sort -n -c && echo sorted)" "sorted"

# ---- the option -----------------------------------------------------------

run 2 "classify --threads 0 is a usage error" -- cd_ classify -m "$W/sections.cdm" --threads 0 "$FIX/mini/bbc-test.jsonl"
has "says what --threads takes" "$T/err" "--threads: expected a number from 1 to 256"
run 2 "route --threads x is a usage error" -- cd_ route -c "$W/desk.lua" --threads x "$FIX/mini/bbc-test.jsonl"
run 0 "classify --help names --threads" -- cd_ classify --help
has "classify --help: --threads" "$T/out" "--threads N"
run 0 "route --help names --threads" -- cd_ route --help
has "route --help: --threads" "$T/out" "--threads N"
