#!/bin/bash
# A model overwritten in place (cp over it, the same inode truncated and
# rewritten) while watch runs: watch never reads it as it changes (it
# keeps a copy of what it loaded, taken only when the file did not change
# during the read), notices the change, reloads once the new file is
# whole, and keeps routing; no SIGSEGV or SIGBUS.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"

train_model
"$COPYDESK" train -q --min-len 3 -o "$W/other.cdm" "$FIX/mini/bbc-train.jsonl"
cp "$W/sections.cdm" "$W/model.cdm"
cat >"$W/desk.lua" <<'EOF2'
model("sections", "model.cdm")
destination "wire" { jsonl = "out/wire.jsonl" }
rule("labelled", function(story)
  local label = story:label("sections")
  story:tag(label or "none")
  return "wire"
end)
fallback "wire"
EOF2
mkdir -p "$W/in"
watch_start "$W/log" -c "$W/desk.lua" --inbox "$W/in"
drop "$W/in" first.json "$(sport_story first)"
check "routes with the model" 20 has_line "$W/out/wire.jsonl" '"id":"first"'

# the model is overwritten in place three times, as cp does: cut short
# (a reload then fails: the running desk must go on), then written whole;
# stories keep arriving in between
n=0
for round in 1 2 3; do
    truncate -s 64 "$W/model.cdm"
    sleep 0.5
    for k in 1 2 3 4 5; do n=$((n + 1)); drop "$W/in" "s-$n.json" "$(business_story "s-$n")"; done
    sleep 0.5
    if [ $((round % 2)) = 1 ]; then cp "$W/other.cdm" "$W/model.cdm"; else cp "$W/sections.cdm" "$W/model.cdm"; fi
    for k in 1 2 3 4 5; do n=$((n + 1)); drop "$W/in" "s-$n.json" "$(business_story "s-$n")"; done
    sleep 0.5
done
drop "$W/in" last.json "$(sport_story last)"
check "every story is routed" 60 has_line "$W/out/wire.jsonl" '"id":"last"'
kill -0 "$WATCH_PID" 2>/dev/null && pass "watch is alive (no SIGSEGV, no SIGBUS)" || fail "watch is alive (no SIGSEGV, no SIGBUS)"
same "all 32 stories delivered once" "$(jq -r .id "$W/out/wire.jsonl" | sort -u | wc -l) $(wc -l <"$W/out/wire.jsonl")" "32 32"
check "the overwritten model is reloaded" 20 has_line "$W/log" " reload "
lacks "no crash reported" "$W/log" "AddressSanitizer|SEGV|BUS"
kill -TERM "$WATCH_PID"
wait "$WATCH_PID"
same "clean stop" "$?" "0"
