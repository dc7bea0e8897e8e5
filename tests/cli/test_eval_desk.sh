#!/bin/bash
# copydesk eval -c DESK.lua: figures checked against a case computed by
# hand.  Keyword topics with half = 1 score exactly: one hit 0.5, two 0.75.
#
#   story  body                    sport  trade  route       gold_route  gold labels
#   s1     football                0.50   0      sport-desk  sport-desk  sport
#   s2     football football       0.75   0      sport-desk  sport-desk  sport
#   s3     tariff                  0      0.50   trade-desk  sport-desk  sport
#   s4     nothing here            0      0      review      trade-desk  trade
#   s5     tariff tariff football  0.50   0.75   sport-desk  trade-desk  trade
#
# Destinations: sport-desk tp 2 (s1 s2) fp 1 (s5) fn 1 (s3): P = R = F1 = 2/3;
# trade-desk tp 0 fp 1 fn 2; review fp 1; 2 of 5 routes right (0.4).
# Topics at 0.5: sport tp 2 fp 1 (s5) fn 1 (s3): P = R = 2/3; trade tp 1
# (s5) fp 1 (s3) fn 1 (s4): P = R = 1/2.  Sweep of sport: 0.1 to 0.5 as
# above; 0.6 and 0.7 only s2 (P 1, R 1/3); 0.8 and 0.9 none.
. "$(dirname "$0")/lib.sh"
W="$T/w"
mkdir -p "$W" && cd "$W" || exit 1

cat >desk.lua <<'EOF2'
taxonomy {
  { id = "sport", keywords = { "football" }, half = 1 },
  { id = "business", { id = "trade", keywords = { "tariff" }, half = 1 } },
}
destination "sport-desk" { jsonl = "out/sport.jsonl" }
destination "trade-desk" { jsonl = "out/trade.jsonl" }
destination "review"     { jsonl = "out/review.jsonl" }
rule("sport", function(story)
  if story:topic("sport") >= 0.5 then return "sport-desk" end
end)
rule("trade", function(story)
  if story:topic("trade") >= 0.5 then return "trade-desk" end
end)
fallback "review"
EOF2
cat >gold.jsonl <<'EOF2'
{"id":"s1","title":"Cup","body":"football","labels":["sport"],"gold_route":"sport-desk"}
{"id":"s2","title":"League","body":"football football","labels":["sport"],"gold_route":["sport-desk"]}
{"id":"s3","title":"Duties","body":"tariff","labels":["sport"],"gold_route":"sport-desk"}
{"id":"s4","title":"Notice","body":"nothing here","labels":["trade"],"gold_route":"trade-desk"}
{"id":"s5","title":"Mixed","body":"tariff tariff football","labels":["trade"],"gold_route":"trade-desk"}
EOF2

run 0 "eval --help names the desk mode" -- cd_ eval --help
has "help: -c DESK" "$T/out" "copydesk eval -c DESK.lua"
has "help: --sweep" "$T/out" "--sweep TOPIC"
run 2 "--errors needs a desk" -- cd_ eval -m x.cdm --errors gold.jsonl
run 2 "a desk and a model at once" -- cd_ eval -m x.cdm -c desk.lua gold.jsonl

run 0 "eval -c --json" -- cd_ eval -c desk.lua --json gold.jsonl
jqtrue "stories and wrong" "$T/out" '.stories == 5 and .wrong == 3'
jqtrue "route accuracy 2/5" "$T/out" '.destinations.accuracy == 0.4'
jqtrue "sport-desk P R F1 2/3" "$T/out" '.destinations.labels["sport-desk"] | (.precision - 2/3 | fabs) < 1e-6 and (.recall - 2/3 | fabs) < 1e-6 and (.f1 - 2/3 | fabs) < 1e-6 and .support == 3'
jqtrue "trade-desk 0, support 2" "$T/out" '.destinations.labels["trade-desk"] | .precision == 0 and .recall == 0 and .support == 2'
jqtrue "review never gold" "$T/out" '.destinations.labels.review | .precision == 0 and .support == 0'
jqtrue "route confusion" "$T/out" '.route_confusion == [{"gold":"sport-desk","route":"sport-desk","count":2},{"gold":"sport-desk","route":"trade-desk","count":1},{"gold":"trade-desk","route":"review","count":1},{"gold":"trade-desk","route":"sport-desk","count":1}]'
jqtrue "topic sport P R 2/3" "$T/out" '.topics.labels.sport | (.precision - 2/3 | fabs) < 1e-6 and (.recall - 2/3 | fabs) < 1e-6 and .support == 3'
jqtrue "topic trade P R 1/2" "$T/out" '.topics.labels.trade | .precision == 0.5 and .recall == 0.5 and .support == 2'
jqtrue "a child's gold makes its parent gold" "$T/out" '.topics.labels.business | .support == 2 and .precision == 0.5'

run 0 "eval -c --threshold 0.7" -- cd_ eval -c desk.lua --json --threshold 0.7 gold.jsonl
jqtrue "threshold 0.7: sport only s2" "$T/out" '.threshold == 0.7 and .topics.labels.sport.precision == 1 and (.topics.labels.sport.recall - 1/3 | fabs) < 1e-6'

run 0 "eval -c --sweep sport --json" -- cd_ eval -c desk.lua --json --sweep sport gold.jsonl
jqtrue "sweep: nine thresholds" "$T/out" '[.sweep.rows[].threshold] == [0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9] and .sweep.topic == "sport"'
jqtrue "sweep: 0.1 to 0.5" "$T/out" '[.sweep.rows[0:5][] | [.tp,.fp,.fn]] | unique == [[2,1,1]]'
jqtrue "sweep: 0.6 and 0.7" "$T/out" '[.sweep.rows[5:7][] | [.precision,.tp,.fp,.fn]] | unique == [[1,1,0,2]]'
jqtrue "sweep: 0.8 and 0.9" "$T/out" '[.sweep.rows[7:9][] | [.precision,.recall,.tp,.fn]] | unique == [[0,0,0,3]]'
run 0 "eval -c --sweep as a table" -- cd_ eval -c desk.lua --sweep sport gold.jsonl
has "table header" "$T/out" "threshold +precision +recall +f1"
has "row 0.6" "$T/out" "^ +0\.6 +1\.0000 +0\.3333 +0\.5000 +1 +0 +2$"
run 2 "sweep of an unknown topic" -- cd_ eval -c desk.lua --sweep sprot gold.jsonl
has "lists the topics" "$T/err" "--sweep: 'sprot' is not a topic of desk.lua \(topics: sport, business, trade\)"

run 0 "eval -c --errors" -- cd_ eval -c desk.lua --errors gold.jsonl
has "header counts the wrong ones" "$T/out" "^stories wrong \(3\)"
has "s3 routed wrong, topics" "$T/out" "^s3 \(gold.jsonl:3\): routed trade-desk, gold sport-desk; missed topics: sport 0.00; extra topics: business 0.50, trade 0.50"
has "s4" "$T/out" "^s4 .*routed review, gold trade-desk"
has "s5" "$T/out" "^s5 .*routed sport-desk, gold trade-desk"
lacks "s1 is right" "$T/out" "^s1 "
has "the per-destination table" "$T/out" "^sport-desk +0\.6667 +0\.6667 +0\.6667 +3$"
has "the confusion matrix" "$T/out" "^confusion matrix"
run 0 "eval -c --errors --json" -- cd_ eval -c desk.lua --errors --json gold.jsonl
jqtrue "json errors" "$T/out" '[.errors[].id] == ["s3","s4","s5"] and .errors[0].missed_topics[0].topic == "sport"'

# labels only: topics are measured, destinations are not
jq -c 'del(.gold_route)' gold.jsonl >labels.jsonl
run 0 "eval -c on labels alone" -- cd_ eval -c desk.lua --json labels.jsonl
jqtrue "no destination figures without gold_route" "$T/out" '.destinations == null and .topics.labels.sport.support == 3'
jq -c 'del(.labels)' gold.jsonl >routes.jsonl
run 0 "eval -c on gold_route alone" -- cd_ eval -c desk.lua --json routes.jsonl
jqtrue "no topic figures without labels" "$T/out" '.topics == null and .destinations.accuracy == 0.4'
echo '{"id":"s6","title":"x","body":"y"}' >>routes.jsonl
run 1 "a story without any gold is skipped, said" -- cd_ eval -c desk.lua --json routes.jsonl
has "says it skipped" "$T/err" "1 stories have neither gold_route nor labels"
