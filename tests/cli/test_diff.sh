#!/bin/bash
# copydesk diff end to end: the moves table and the moved stories with
# their evidence under both desks, --json, a base read from a git revision
# (with the desk's relative paths still resolved from its folder), the
# sharing of tokens and model results between the two desks, and the
# replay of the archive that watch keeps.  Desks use a small model trained
# here and keyword topics whose scores are exact (1 hit of "football" with
# half = 1 is 0.5, 2 hits 0.75).
. "$(dirname "$0")/lib.sh"
W="$T/w"
mkdir -p "$W/desks" && cd "$W" || exit 1

run 0 "diff --help" -- cd_ diff --help
has "help names the usage" "$T/out" "^usage: copydesk diff -c NEW.lua --base OLD.lua"
has "help names the git base" "$T/out" "REV:PATH"
run 2 "diff without a base is a usage error" -- cd_ diff -c x.lua
has "says what is missing" "$T/err" "copydesk: diff: give the changed desk"

run 0 "train a small sections model" -- cd_ train -q -o "$W/sections.cdm" "$FIX/mini/bbc-train.jsonl"

# the base desk; the new one has the sport threshold at 0.5 instead of 0.6
cat >"$W/desks/desk.lua" <<'EOF2'
model("sections", "../sections.cdm")
taxonomy {
  { id = "sport", keywords = { "football" }, half = 1 },
  { id = "trade", keywords = { "tariff" }, half = 1 },
}
destination "sport-desk" { jsonl = "out/sport.jsonl" }
destination "trade-desk" { jsonl = "out/trade.jsonl" }
destination "review"     { jsonl = "out/review.jsonl" }
rule("sport", function(story)
  if story:topic("sport") >= 0.6 then return "sport-desk" end
end)
rule("trade", function(story)
  if story:topic("trade") >= 0.5 then return "trade-desk" end
end)
rule("archived fields are not the story's", function(story)
  if story.meta.archived ~= nil then return "review" end
end)
fallback "review"
EOF2
sed 's/>= 0.6 then return "sport-desk"/>= 0.5 then return "sport-desk"/' "$W/desks/desk.lua" >"$W/desks/new.lua"
cat >"$W/stories.jsonl" <<'EOF2'
{"id":"s1","title":"Cup","body":"football"}
{"id":"s2","title":"League","body":"football football"}
{"id":"s3","title":"Duties","body":"tariff"}
{"id":"s4","title":"Notice","body":"nothing here"}
{"id":"s5","title":"Mixed","body":"tariff tariff football"}
EOF2

run 0 "diff of a threshold change" -- cd_ diff -c desks/new.lua --base desks/desk.lua stories.jsonl
has "counts the stories" "$T/out" "^  stories +5$"
has "counts the moved ones" "$T/out" "^  moved +2$"
has "table: review -> sport-desk" "$T/out" "^  review +-> sport-desk +1$"
has "table: trade-desk -> sport-desk" "$T/out" "^  trade-desk +-> sport-desk +1$"
has "lists s1 as moved" "$T/out" "^s1: review -> sport-desk"
has "lists s5 as moved" "$T/out" "^s5: trade-desk -> sport-desk"
lacks "does not list an unmoved story" "$T/out" "^s[234]:"
has "shows the base's reason" "$T/out" "^  base  trade-desk: rule 'trade' \(desks/desk.lua:"
has "shows the new reason" "$T/out" "^  new   sport-desk: rule 'sport' \(desks/new.lua:"
has "shows the evidence" "$T/out" "evidence \(the same under both\): trade 0.75 \(keywords tariff x2\), sport 0.50 \(keywords football x1\)"
lacks "delivers nothing" <(ls "$W") "^out$"

run 0 "diff --json" -- cd_ diff --json -c desks/new.lua --base desks/desk.lua stories.jsonl
jqtrue "json: counts" "$T/out" '.stories == 5 and .moved == 2 and .unreadable == 0'
jqtrue "json: moves" "$T/out" '.moves == [{"from":["review"],"to":["sport-desk"],"count":1},{"from":["trade-desk"],"to":["sport-desk"],"count":1}]'
jqtrue "json: changes with both decisions" "$T/out" '[.changes[] | .id] == ["s1","s5"] and .changes[1].base.rule == "trade" and .changes[1].new.rule == "sport"'
jqtrue "json: evidence on both sides" "$T/out" '.changes[0].new.evidence[0].keywords[0].hits == 1 and (.changes[0].base.evidence | length) > 0'
jqtrue "json: the model and the tokens are shared" "$T/out" '.shared == {"models":1,"tokens":true}'

run 0 "diff --limit 1 lists one story, counts all" -- cd_ diff --limit 1 -c desks/new.lua --base desks/desk.lua stories.jsonl
has "says it lists the first" "$T/out" "^moved stories \(the first 1 of 2\)"
lacks "s5 not listed" "$T/out" "^s5:"

# sharing changes nothing: each side decides as route would alone
run 0 "diff on several threads" -- cd_ diff --json --threads 3 -c desks/new.lua --base desks/desk.lua stories.jsonl
jqtrue "threads: the same moves" "$T/out" '.moved == 2'
cd_ route -n -q --threads 1 -c desks/new.lua stories.jsonl | jq -r '.route[0]' >"$T/route-new"
same "route agrees with diff's new side" "$(tr '\n' ' ' <"$T/route-new")" "sport-desk sport-desk trade-desk review sport-desk "

run 0 "identical desks move nothing" -- cd_ diff -c desks/desk.lua --base desks/desk.lua stories.jsonl
has "says no story moves" "$T/out" "^no story moves"

# a model of the same content under another name is still shared; another
# model is not
cp sections.cdm copy.cdm
sed 's#"../sections.cdm"#"../copy.cdm"#' desks/new.lua >desks/copy.lua
run 0 "same model file content under another path" -- cd_ diff --json -c desks/copy.lua --base desks/desk.lua stories.jsonl
jqtrue "json: a copy of the model is shared" "$T/out" '.shared.models == 1'
cd_ train -q --min-df 2 -o other.cdm "$FIX/mini/bbc-train.jsonl" 2>/dev/null
sed 's#"../sections.cdm"#"../other.cdm"#' desks/new.lua >desks/other.lua
run 0 "another model" -- cd_ diff --json -c desks/other.lua --base desks/desk.lua stories.jsonl
jqtrue "json: another model is not shared" "$T/out" '.shared.models == 0 and .moved == 2'

# the base from git: the committed desk against the edited one
if command -v git >/dev/null; then
  G="$T/repo"
  mkdir -p "$G/desks" && cp sections.cdm "$G/" && cp desks/desk.lua "$G/desks/desk.lua" && cp stories.jsonl "$G/"
  (cd "$G" && git init -q . && git add -A && git -c user.name=t -c user.email=t@t commit -qm desk) >/dev/null 2>&1
  cp desks/new.lua "$G/desks/desk.lua"
  cd "$G"
  run 0 "diff against HEAD:desks/desk.lua" -- cd_ diff -c desks/desk.lua --base HEAD:desks/desk.lua stories.jsonl
  has "git base: the moves" "$T/out" "^  moved +2$"
  has "git base: named by its revision" "$T/out" "^  base  trade-desk: rule 'trade' \(HEAD:desks/desk.lua:"
  cd "$G/desks"
  run 0 "from a subfolder, HEAD:./desk.lua" -- cd_ diff -c desk.lua --base HEAD:./desk.lua ../stories.jsonl
  has "relative revision path: the moves" "$T/out" "^  moved +2$"
  run 2 "a path git does not have" -- cd_ diff -c desk.lua --base HEAD:./nope.lua ../stories.jsonl
  has "says so" "$T/err" "copydesk: diff: --base HEAD:./nope.lua: 'git show HEAD:./nope.lua' failed"
  cd "$W"
else
  echo "ok - git base # SKIP no git"
fi

# the archive that watch keeps, replayed without stories
mkdir -p inbox
cp stories.jsonl inbox/batch.jsonl
run 0 "watch --once routes and archives" -- cd_ watch --once -c desks/desk.lua --inbox inbox
ls inbox/.copydesk/archive/ >"$T/segs"
has "a segment named by its time" "$T/segs" "^[0-9]{8}T[0-9]{6}Z-[0-9]{6}\.jsonl$"
seg=$(ls inbox/.copydesk/archive/*.jsonl | head -1)
jqtrue "archive: story and decision" "$seg" '.id and .title and .archived.route and .archived.outcome and .archived.at'
run 0 "diff replays the archive" -- cd_ diff --json -c desks/new.lua --base desks/desk.lua --inbox inbox
jqtrue "replay: every story, the same moves" "$T/out" '.stories == 5 and .moved == 2 and .unreadable == 0'
jqtrue "replay: the archived record is not story metadata" "$T/out" '[.changes[].new.rule] == ["sport","sport"]'
# a second run appends; SIGKILL loses no line written (one write per line)
cp stories.jsonl inbox/again.jsonl
run 0 "watch --once again" -- cd_ watch --once -c desks/desk.lua --inbox inbox
same "archive: ten complete lines" "$(cat inbox/.copydesk/archive/*.jsonl | jq -c .id | wc -l)" "10"
run 0 "diff replays both runs" -- cd_ diff --json -c desks/new.lua --base desks/desk.lua --state inbox/.copydesk
jqtrue "replay: ten stories, four moved" "$T/out" '.stories == 10 and .moved == 4'
mkdir -p inbox2
cp stories.jsonl inbox2/a.jsonl
run 0 "watch --no-archive" -- cd_ watch --once --no-archive -c desks/desk.lua --inbox inbox2
lacks "no archive kept" <(ls inbox2/.copydesk) "^archive$"
run 2 "--archive-max below 1M is refused" -- cd_ watch --once --archive-max 10K -c desks/desk.lua --inbox inbox2
has "says what it expects" "$T/err" "--archive-max: expected a size of 1M or more"
run 2 "--archive-days must be a number" -- cd_ watch --once --archive-days x -c desks/desk.lua --inbox inbox2
run 0 "watch with bounds given" -- cd_ watch --once --archive-days 1.5 --archive-max 2M -c desks/desk.lua --inbox inbox2
has "help names the archive options" <(cd_ watch --help) "--archive-days N"

# SIGKILL right after routing: every line written is whole and replays
mkdir -p inbox3
"$COPYDESK" watch -c desks/desk.lua --inbox inbox3 2>"$T/watch3.log" &
wpid=$!
trap 'kill -9 $wpid 2>/dev/null; rm -rf "$T"' EXIT
cp stories.jsonl inbox3/a.jsonl
for _ in $(seq 100); do grep -q "story id=s5" "$T/watch3.log" && break; sleep 0.1; done
kill -9 $wpid; wait $wpid 2>/dev/null
same "after kill -9: five whole lines" "$(cat inbox3/.copydesk/archive/*.jsonl | jq -c .archived.route | wc -l)" "5"
run 0 "diff replays what the killed watch archived" -- cd_ diff --json -c desks/new.lua --base desks/desk.lua --inbox inbox3
jqtrue "replay after kill: five stories" "$T/out" '.stories == 5 and .moved == 2'

run 2 "diff without stories or archive" -- cd_ diff -c desks/new.lua --base desks/desk.lua --state nowhere
has "says where it looked" "$T/err" "no archive to replay at nowhere/archive"

# Ids and reasons are a story's own text: escaped in the report, so that an
# id with a line break cannot write a line of its own (as route escapes).
printf '%s\n' '{"id":"real\nzzz: x -> y  (forged)","title":"Cup","body":"football"}' >"$W/forge.jsonl"
run 0 "diff of a story whose id holds a line break" -- cd_ diff -c desks/new.lua --base desks/desk.lua "$W/forge.jsonl"
lacks "no line starts with the forged text" "$T/out" "^zzz: x -> y"
has "the id is shown escaped, on one line" "$T/out" '^real\\x0azzz: x -> y  \(forged\): review -> sport-desk'
