#!/bin/bash
# copydesk route to folders on several threads: the same files, byte for
# byte, and the same report as on one thread; nothing left in the folders
# but the stories; each story file created unnamed and linked in place
# (counted with strace: one link per story, no temporary name removed or
# renamed, no fchmod), so that workers staging files in one folder do not
# wait on its lock; a desk's print() at load, from every worker's desk
# loading at once, comes out in whole lines.
. "$(dirname "$0")/lib.sh"

W="$T/w"
mkdir -p "$W" && cd "$W" || exit 1

run 0 "train a small sections model" -- cd_ train -q -o "$W/sections.cdm" "$FIX/mini/bbc-train.jsonl"

cat >"$W/desk.lua" <<'EOF'
print("desk loaded: sections and four folders")
model("sections", "sections.cdm")
taxonomy {
  { id = "sport", name = "Sport", labels = { "sections:sport" } },
  { id = "business", name = "Business", labels = { "sections:business" } },
  { id = "tech", name = "Technology", labels = { "sections:tech" } },
}
destination "sport-desk"    { folder = "out/sport" }
destination "business-desk" { folder = "out/business" }
destination "tech-desk"     { folder = "out/tech" }
destination "review"        { folder = "out/review" }
rule("sport", function(story)
  if story:topic("sport") >= 0.5 then return "sport-desk" end
end)
rule("business", function(story)
  if story:topic("business") >= 0.5 then return "business-desk" end
end)
rule("tech", function(story)
  if story:topic("tech") >= 0.5 then return "tech-desk" end
end)
fallback "review"
EOF

# 20 stories x 10 copies, each copy with its own ids, then the first story
# again (the same id and bytes: its file is replaced, not an error)
for k in $(seq 1 10); do
    sed "s/^{\"id\": *\"\\([^\"]*\\)\"/{\"id\": \"\\1~$k\"/" "$FIX/mini/bbc-test.jsonl"
done >"$T/stories.jsonl"
head -n 1 "$T/stories.jsonl" >>"$T/stories.jsonl"
stories=$(grep -c . "$T/stories.jsonl")
files=$((stories - 1))

route_to() {  # NAME THREADS: route into $W/NAME/out, report in $T/NAME.err
    mkdir -p "$W/$1" && cp "$W/desk.lua" "$W/sections.cdm" "$W/$1/" || return 1
    (cd "$W/$1" && cd_ route --threads "$2" -c desk.lua "$T/stories.jsonl" >"$T/$1.out" 2>"$T/$1.err")
}

umask 022
for t in 1 2 4; do
    route_to "t$t" "$t"
    same "route --threads $t: exit status 0" "$?" "0"
done
same "one file per story id" "$(find t1/out -type f | wc -l)" "$files"
if diff -r t1/out t2/out >/dev/null && diff -r t1/out t4/out >/dev/null; then
    pass "2 and 4 threads write the files 1 thread writes, byte for byte"
else
    fail "2 and 4 threads write the files 1 thread writes, byte for byte" "$(diff -r t1/out t2/out | head -5)"
fi
# (the desk's print at load comes once per worker's desk)
for t in 1 2 4; do grep -v '^copydesk: lua: ' "$T/t$t.err" >"$T/t$t.report"; done
if cmp -s "$T/t1.report" "$T/t2.report" && cmp -s "$T/t1.report" "$T/t4.report" &&
   cmp -s "$T/t1.out" "$T/t2.out" && cmp -s "$T/t1.out" "$T/t4.out"; then
    pass "the same report and output on 1, 2 and 4 threads"
else
    fail "the same report and output on 1, 2 and 4 threads" "$(diff "$T/t1.report" "$T/t4.report" | head -5)"
fi
same "nothing but story files in the folders (no temporary file left)" \
    "$(find t1/out t2/out t4/out -type f ! -name '*.json' -o -name '.*' -type f | wc -l)" "0"
same "story files are 0644 less the umask" \
    "$(find t2/out -type f -name '*.json' ! -perm 0644 | wc -l)" "0"
same "the desk's print at load: one whole line per worker's desk" \
    "$(grep -c '^copydesk: lua: desk loaded: sections and four folders$' "$T/t4.err")" "4"
lacks "no print line cut or merged with another" "$T/t4.err" 'copydesk: lua: .*copydesk: lua:'

# ---- the system calls of a story file -------------------------------------
if command -v strace >/dev/null 2>&1 && strace -f -o /dev/null true 2>/dev/null; then
    mkdir -p "$W/st" && cp "$W/desk.lua" "$W/sections.cdm" "$W/st/"
    # one file per thread (-ff): no call split by another thread's
    (cd "$W/st" && strace -ff -o "$T/strace" \
        -e trace=link,linkat,unlink,unlinkat,rename,renameat,renameat2,fchmod,open,openat \
        "$COPYDESK" route -q --threads 2 -c desk.lua "$T/stories.jsonl" >/dev/null 2>&1)
    count() { cat "$T"/strace.* | grep -cE "$1"; }
    # the story delivered again replaces its file: that one is renamed
    same "one link per story file" "$(count '^(link|linkat)\(.*\) = 0$')" "$files"
    same "no temporary name removed (unlink)" "$(count '^(unlink|unlinkat)\(.*out/')" "0"
    # the story delivered again is written under a temporary name (mode
    # set with fchmod) and renamed over its file
    same "renamed: only the story delivered again" "$(count '^(rename|renameat|renameat2)\(.* = 0$')" "1"
    same "fchmod: only the story delivered again" "$(count '^fchmod\(')" "1"
    same "story files created unnamed (O_TMPFILE)" "$(count 'O_TMPFILE.* = [0-9]+$')" "$stories"
else
    pass "the system calls of a story file # SKIP strace is not installed or cannot trace here"
fi
