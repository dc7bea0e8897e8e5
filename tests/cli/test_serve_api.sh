#!/bin/bash
# copydesk serve's editing endpoints over real HTTP on 127.0.0.1: the
# archive of routed stories (GET /v1/stories, /v1/stories/{id}), the
# preview of a desk text on it (POST /v1/desk/diff), an editor's
# correction (POST /v1/learn) that the running desk picks up, and held
# stories in /metrics.  Each: success, the token, malformed input, every
# 4xx as {"error":{"code","message"}}.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"
. "$FIX/../cli/serve_lib.sh"

build_http
train_model
http_start wire
WIRE=$PORT_wire
HOLD='rule("embargoed stories wait", function(story)
  if story.meta.embargo then return hold(story.meta.embargo, "review") end
end)'
desk_text sport "$HOLD" >"$W/desk.lua"
mkdir -p "$W/in"
serve_start -c "$W/desk.lua" --listen 127.0.0.1:0 -s "$S" --threads 2 --inbox "$W/in"
AUTH=(-H "Authorization: Bearer $(cat "$S/token")")

# an error answer: the status, and the {"error":{"code","message"}} shape
err() {  # NAME STATUS CODE CURL-ARGS...
    local name=$1 want=$2 code=$3
    shift 3
    req "$name" "$want" "$@"
    jqtrue "$name: error $code with a message" "$T/body" \
        ".error.code == \"$code\" and (.error.message | type == \"string\" and length > 10)"
}

# ---- stories routed: over HTTP, and from the inbox ------------------------------
for id in s1 s2; do
    req "route $id" 202 "${J[@]}" "${AUTH[@]}" --data-binary "$(sport_story $id)" "$URL/v1/route"
done
req "route b1" 202 "${J[@]}" "${AUTH[@]}" --data-binary "$(business_story b1)" "$URL/v1/route"
req "a dry run is not archived" 200 "${J[@]}" --data-binary "$(sport_story dry1)" "$URL/v1/route?dry_run=1"
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
drop "$W/in" emb.json '{"id":"emb-1","title":"Results embargoed","body":"The figures are under embargo.","embargo":"'"$(iso $(( $(date +%s) + 3600 )))"'"}'
check "an embargoed story from the inbox is held" 30 test -e "$W/in/done/emb.json"

# ---- /metrics: held stories -----------------------------------------------------
req "GET /metrics" 200 "$URL/metrics"
has "held stories, a gauge" "$T/body" '^# TYPE copydesk_held_stories gauge$'
has "one story held" "$T/body" '^copydesk_held_stories 1$'
has "beside the spool depth" "$T/body" '^copydesk_spool_depth 0$'

# ---- GET /v1/stories ---------------------------------------------------------------
req "GET /v1/stories" 200 "$URL/v1/stories"
jqtrue "newest first, the dry run left out" "$T/body" '[.stories[].id] == ["emb-1","b1","s2","s1"] and .count == 4'
jqtrue "each with title, received time, route, rule with file:line, outcome" "$T/body" \
    '.stories[2] | .title == "Striker scores twice as United win the cup final" and
     (.received | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")) and .route == ["sport"] and
     .rule == "sport to sport" and (.rule_at | test("desk.lua:[0-9]+$")) and .outcome == "routed"'
jqtrue "topics and model labels" "$T/body" \
    '.stories[2].topics[0].id == "sport" and .stories[2].labels.sections[0].label == "sport" and
     .stories[1].topics[0].id == "business"'
jqtrue "the held one says so" "$T/body" '.stories[0].outcome == "held" and .stories[0].route == ["review"]'
req "?destination=biz" 200 "$URL/v1/stories?destination=biz"
jqtrue "only what went there" "$T/body" '[.stories[].id] == ["b1"]'
req "?limit=2" 200 "$URL/v1/stories?limit=2"
jqtrue "the two newest" "$T/body" '[.stories[].id] == ["emb-1","b1"]'
req "?since= a minute ago" 200 "$URL/v1/stories?since=$(iso $(( $(date +%s) - 60 )))"
jqtrue "all four" "$T/body" '.count == 4'
req "?since= in an hour" 200 "$URL/v1/stories?since=$(iso $(( $(date +%s) + 3600 )))"
jqtrue "none" "$T/body" '.stories == [] and .count == 0'
err "?since= not a time: 400" 400 bad_argument "$URL/v1/stories?since=yesterday"
has "saying what a time looks like" "$T/body" 'ISO 8601'
err "?limit=0: 400" 400 bad_argument "$URL/v1/stories?limit=0"
err "?limit= too large: 400" 400 bad_argument "$URL/v1/stories?limit=100000"
err "POST /v1/stories: 405" 405 method_not_allowed -X POST "$URL/v1/stories"

req "GET /v1/stories/s1" 200 "$URL/v1/stories/s1"
jqtrue "the whole story: title, body, fields, decision" "$T/body" \
    '.id == "s1" and (.title | test("Striker")) and (.body | test("manager praised")) and
     .fields == {} and .decision.route == ["sport"]'
req "GET /v1/stories/emb-1" 200 "$URL/v1/stories/emb-1"
jqtrue "its own fields kept" "$T/body" '.fields.embargo | test("Z$")'
err "an unknown story id: 404" 404 unknown_story "$URL/v1/stories/nope"

# ---- POST /v1/desk/diff ------------------------------------------------------------
desk_text review "$HOLD" >"$W/desk-review.lua"
err "diff without the token: 401" 401 unauthorized --data-binary @"$W/desk-review.lua" "$URL/v1/desk/diff"
req "diff a desk text against the running desk" 200 "${AUTH[@]}" --data-binary @"$W/desk-review.lua" "$URL/v1/desk/diff"
jqtrue "on the archive's stories: the moves table" "$T/body" \
    '.base.version == 1 and .stories == 4 and .moved == 2 and
     .moves == [.moves[0]] and .moves[0].from == ["sport"] and .moves[0].to == ["review"] and .moves[0].count == 2'
jqtrue "and per cell the stories moved, with the evidence on both sides" "$T/body" \
    '[.moves[0].stories[].id] == ["s1","s2"] and .moves[0].stories[0].base.rule == "sport to sport" and
     .moves[0].stories[0].new.rule == "sport to review" and (.moves[0].stories[0].base.evidence | length) > 0 and
     (.moves[0].stories[0].new.evidence | length) > 0'
same "nothing changed: the desk file is the same" "$(cmp -s "$W/desk.lua" "$W/desk-review.lua" && echo changed || echo unchanged)" unchanged
req "?limit=1 lists one story per cell" 200 "${AUTH[@]}" --data-binary @"$W/desk-review.lua" "$URL/v1/desk/diff?limit=1"
jqtrue "and counts them all" "$T/body" '.moves[0].count == 2 and .moves[0].listed == 1 and (.moves[0].stories | length) == 1'
req "the same desk: no move" 200 "${AUTH[@]}" --data-binary @"$W/desk.lua" "$URL/v1/desk/diff"
jqtrue "moved 0" "$T/body" '.moved == 0 and .moves == [] and .stories == 4'
printf 'rule("broken", function(story)\n  return "sport"\n' >"$W/broken.lua"
err "a desk that does not load: 422" 422 bad_desk "${AUTH[@]}" --data-binary @"$W/broken.lua" "$URL/v1/desk/diff"
has "says file:line" "$T/body" 'desk.lua:[0-9]+'
err "an empty body: 400" 400 empty_body "${AUTH[@]}" -X POST "$URL/v1/desk/diff"
err "a bad limit: 400" 400 bad_argument "${AUTH[@]}" --data-binary @"$W/desk.lua" "$URL/v1/desk/diff?limit=x"
err "GET /v1/desk/diff: 405" 405 method_not_allowed "$URL/v1/desk/diff"

# ---- a story a rule holds, routed over HTTP: kept before the 202 -----------------
soon=$(( $(date +%s) + 4 ))
req "route a story a rule holds" 202 "${J[@]}" "${AUTH[@]}" \
    --data-binary '{"id":"emb-http","title":"Results embargoed","body":"Under embargo.","embargo":"'"$(iso $soon)"'"}' "$URL/v1/route"
jqtrue "the answer says held, until when" "$T/body" '.outcome == "held" and .held_until == "'"$(iso $soon)"'"'
held_http() { grep -l '"id":"emb-http"' "$S"/held/*.json >/dev/null 2>&1; }
check "it is on disk in the held folder when the 202 comes" 1 held_http
req "GET /metrics" 200 "$URL/metrics"
has "two stories held now" "$T/body" '^copydesk_held_stories 2$'

# ---- POST /v1/learn ---------------------------------------------------------------
odd='{"id":"odd-1","title":"Zorblax gizmo quarterly","body":"Zorblax gizmo frobnicator zorblax gizmo quux frobnicator.","labels":["weather"]}'
md5() { md5sum "$W/sections.cdm" | cut -d' ' -f1; }
before=$(md5)
err "learn without the token: 401" 401 unauthorized "${J[@]}" --data-binary "$odd" "$URL/v1/learn"
err "a label the model does not have: 422" 422 unknown_label "${J[@]}" "${AUTH[@]}" --data-binary "$odd" "$URL/v1/learn"
jqtrue "the model's labels listed, and how to add it" "$T/body" \
    '(.error.message | test("sport")) and (.error.message | test("business")) and (.error.message | test("new_label=1"))'
same "a refused correction leaves the model as it was" "$(md5)" "$before"
err "bad JSON: 400" 400 bad_story "${J[@]}" "${AUTH[@]}" --data-binary '{"id": "x", "labels": [' "$URL/v1/learn"
err "a story without labels: 400" 400 no_labels "${J[@]}" "${AUTH[@]}" --data-binary "$(sport_story n1)" "$URL/v1/learn"
err "a model the desk does not have: 404" 404 unknown_model "${J[@]}" "${AUTH[@]}" --data-binary "$odd" "$URL/v1/learn?model=nope"
has "naming the desk's models" "$T/body" 'sections'
err "text/plain: 415" 415 unsupported_media_type -H 'Content-Type: text/plain' "${AUTH[@]}" --data-binary 'x' "$URL/v1/learn"
err "GET /v1/learn: 405" 405 method_not_allowed "$URL/v1/learn"
req "classify before: not weather" 200 "${J[@]}" --data-binary "$odd" "$URL/v1/classify"
jqtrue "(the model has no such label)" "$T/body" '.labels.sections[0].label != "weather"'
req "?new_label=1 learns it" 200 "${J[@]}" "${AUTH[@]}" --data-binary "$odd" "$URL/v1/learn?new_label=1&fast=1"
jqtrue "what was learned, into which model" "$T/body" \
    '.learned == {"id":"odd-1","labels":["weather"],"replaced":false} and .model.name == "sections" and
     (.model.file | test("sections.cdm$")) and .model.corrections == 1 and .model.labels == 6'
jqtrue "the desk reloaded, and the story's new decision" "$T/body" \
    '.reloaded == true and .decision.id == "odd-1" and .decision.labels.sections[0].label == "weather"'
same "the model file was replaced" "$([ "$(md5)" != "$before" ] && echo replaced)" replaced
req "the running desk has the new model" 200 "${J[@]}" --data-binary "$odd" "$URL/v1/classify"
jqtrue "classify says weather" "$T/body" '.labels.sections[0].label == "weather"'
run 0 "model info" -- cd_ model info "$W/sections.cdm"
has "the model holds the correction" "$T/out" 'correction'
fixed='{"id":"odd-1","title":"Zorblax gizmo quarterly","body":"Zorblax gizmo frobnicator zorblax gizmo quux frobnicator.","labels":["sections:tech"]}'
req "the same id again replaces the correction (the model:label form too)" 200 "${J[@]}" "${AUTH[@]}" --data-binary "$fixed" "$URL/v1/learn"
jqtrue "replaced, still one correction" "$T/body" \
    '.learned.replaced == true and .learned.labels == ["tech"] and .model.corrections == 1 and .model.calibrated == true'
jqtrue "and decided as tech now" "$T/body" '.decision.labels.sections[0].label == "tech"'
check "watch's desk has reloaded the model too" 20 grep -q 'reload .*result=' "$LOG.now"

# the held story's time has come: the live desk of the same process releases it
check "the story held over HTTP is delivered once its time has come" 70 test -f "$W/out/review/emb-http.json"
check "and leaves the held folder" 10 bash -c "! grep -l '\"id\":\"emb-http\"' '$S'/held/*.json"
check "watch's log says released" 10 grep -q 'released id=emb-http route=review' "$LOG.now"
req "GET /metrics" 200 "$URL/metrics"
has "one story held again" "$T/body" '^copydesk_held_stories 1$'

if alive; then pass "serve is still running"; else fail "serve is still running"; fi
serve_stop
same "stops cleanly" "$SERVE_RC" 0
lacks "no sanitizer report" "$LOG" 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error'
