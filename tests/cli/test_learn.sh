#!/bin/bash
# copydesk learn (and train --from): corrections keyed by story id,
# replaced when sent again, unknown labels refused, the model file replaced
# atomically; multi-label models give labels only when likely.
. "$(dirname "$0")/lib.sh"

run 0 "train the model to correct" -- cd_ train -o "$T/m.cdm" "$FIX/mini/bbc-train.jsonl"
run 0 "a trained model holds no corrections" -- cd_ model info --json "$T/m.cdm"
jqtrue "no corrections, every story kept" "$T/out" '.corrections == 0 and .stories_kept == 60 and .docs == 60'
run 0 "model info tells the corrections" -- cd_ model info "$T/m.cdm"
has "corrections line" "$T/out" "^corrections +0 \(of 60 training stories kept"
sport0=$(cd_ model info --json "$T/m.cdm" | jq '.labels[] | select(.label == "sport") | .docs')
business0=$(cd_ model info --json "$T/m.cdm" | jq '.labels[] | select(.label == "business") | .docs')

# the first test story (business) corrected to sport
head -n 1 "$FIX/mini/bbc-test.jsonl" | jq -c '.labels = ["sport"]' >"$T/c1.jsonl"
id=$(jq -r .id "$T/c1.jsonl")
ino0=$(stat -c %i "$T/m.cdm")
run 0 "learn one correction" -- cd_ learn -m "$T/m.cdm" "$T/c1.jsonl"
has "learn says what it did" "$T/err" "1 stories added \(0 replacing .*61 in all, 1 of them corrections\)"
run 0 "model info after a correction" -- cd_ model info --json "$T/m.cdm"
jqtrue "one correction held" "$T/out" '.corrections == 1 and .docs == 61 and .stories_kept == 61'
jqtrue "the correction counts for its label" "$T/out" "[.labels[] | select(.label == \"sport\")][0].docs == $((sport0 + 1))"
ino1=$(stat -c %i "$T/m.cdm")
[ "$ino0" != "$ino1" ] && pass "the model file is replaced (a new file renamed into place)" ||
    fail "the model file is replaced" "same inode $ino0"
ls "$T" | grep -q 'm.cdm.tmp' && fail "no temporary file left" "$(ls "$T")" || pass "no temporary file left"

jq -c '.labels = ["business"]' "$T/c1.jsonl" >"$T/c2.jsonl"

# --fast keeps the calibration (one correction in 240 stories is under
# 1%), then a settling learn fits it again
for k in 1 2 3 4; do jq -c ".id += \"~$k\"" "$FIX/mini/bbc-train.jsonl"; done >"$T/big.jsonl"
cd_ train -q -o "$T/big.cdm" "$T/big.jsonl"
run 0 "learn --fast" -- cd_ learn --fast -m "$T/big.cdm" "$T/c1.jsonl"
run 0 "model info after learn --fast" -- cd_ model info --json "$T/big.cdm"
jqtrue "the calibration waits" "$T/out" '.uncalibrated == 1 and .corrections == 1 and .docs == 241'
run 0 "learn settles the calibration" -- cd_ learn -m "$T/big.cdm" "$T/c2.jsonl"
run 0 "model info after a settling learn" -- cd_ model info --json "$T/big.cdm"
jqtrue "the calibration is fitted again" "$T/out" '.uncalibrated == 0 and .corrections == 1 and .docs == 241'

# the same story corrected again: the earlier answer is replaced, not added to
jq -c '.labels = ["business"]' "$T/c1.jsonl" >"$T/c2.jsonl"
run 0 "correct the same story again" -- cd_ learn -m "$T/m.cdm" "$T/c2.jsonl"
has "learn says it replaced the story" "$T/err" "1 stories added \(1 replacing a story of the same id; 61 in all"
run 0 "model info after the second correction" -- cd_ model info --json "$T/m.cdm"
jqtrue "still one correction, 61 stories" "$T/out" '.corrections == 1 and .docs == 61'
jqtrue "the earlier answer is gone" "$T/out" \
    "([.labels[] | select(.label == \"sport\")][0].docs == $sport0) and ([.labels[] | select(.label == \"business\")][0].docs == $((business0 + 1)))"

# train --from behaves the same
run 0 "train --from with the same story" -- cd_ train --from "$T/m.cdm" -o "$T/m.cdm" "$T/c1.jsonl"
has "train --from replaces by id" "$T/err" "1 replacing a story of the same id; 61 in all"

# a label the model does not have is refused, the model left as it was
jq -c '.labels = ["weather"]' "$T/c1.jsonl" >"$T/bad.jsonl"
cp "$T/m.cdm" "$T/before.cdm"
run 1 "an unknown label is refused" -- cd_ learn -m "$T/m.cdm" "$T/bad.jsonl"
has "the refusal names the label" "$T/err" "label 'weather' is not one of the model's 5 labels"
has "the refusal lists the model's labels" "$T/err" "\(.*business.*sport.*\)|\(.*sport.*business.*\)"
has "the refusal tells how to add it" "$T/err" "--new-label"
cmp -s "$T/m.cdm" "$T/before.cdm" && pass "the model is unchanged" || fail "the model is unchanged"
run 0 "--new-label adds it" -- cd_ learn --new-label -m "$T/m.cdm" "$T/bad.jsonl"
run 0 "model info with the new label" -- cd_ model info --json "$T/m.cdm"
jqtrue "six labels now" "$T/out" '(.labels | length) == 6 and ([.labels[].label] | index("weather")) != null'

# a corrected model decides as a model retrained on the same stories
cd_ train -q -o "$T/base.cdm" <(head -n 50 "$FIX/mini/bbc-train.jsonl")
cd_ learn -q -m "$T/base.cdm" <(tail -n 10 "$FIX/mini/bbc-train.jsonl")
cd_ train -q -o "$T/all.cdm" "$FIX/mini/bbc-train.jsonl"
a=$(cd_ classify -m "$T/base.cdm" "$FIX/mini/bbc-test.jsonl" | jq -r '.labels[0].label' | tr '\n' ' ')
b=$(cd_ classify -m "$T/all.cdm" "$FIX/mini/bbc-test.jsonl" | jq -r '.labels[0].label' | tr '\n' ' ')
same "corrected and retrained models label the test stories alike" "$a" "$b"

run 0 "learn --help" -- cd_ learn --help
has "help: corrections by id" "$T/out" "keyed by its id"
has "help: replacing" "$T/out" "replaces the earlier correction"
has "help: --new-label" "$T/out" "--new-label"
has "help: atomic" "$T/out" "atomically"
has "help: --fast" "$T/out" "--fast"
has "help: labels only when likely" "$T/out" "at-least-one"
has "help: cross-validation" "$T/out" "cross-validation"
has "help: cores" "$T/out" "every core"
run 2 "learn without a model" -- cd_ learn "$T/c1.jsonl"

# a multi-label model gives no label when none is likely, unless told to
for i in 1 2 3 4 5 6 7 8; do
    echo "{\"id\":\"o$i\",\"title\":\"Crude oil $i\",\"body\":\"crude oil prices barrels opec output refinery $i\",\"labels\":[\"oil\"]}"
    echo "{\"id\":\"s$i\",\"title\":\"Tanker $i\",\"body\":\"tanker vessels port freight cargo shipping $i\",\"labels\":[\"shipping\"]}"
    echo "{\"id\":\"b$i\",\"title\":\"Oil tanker $i\",\"body\":\"crude oil tanker vessels barrels port $i\",\"labels\":[\"oil\",\"shipping\"]}"
done >"$T/multi.jsonl"
echo '{"id":"x","title":"Cup final","body":"The striker scored twice and the team won the cup final at the stadium."}' >"$T/other.json"
run 0 "train a multi-label model" -- cd_ train -o "$T/ml.cdm" "$T/multi.jsonl"
run 0 "classify a story of another kind" -- cd_ classify -m "$T/ml.cdm" "$T/other.json"
jqtrue "no label when none is likely" "$T/out" '.labels | length == 0'
run 0 "train with --at-least-one" -- cd_ train --at-least-one -o "$T/ml1.cdm" "$T/multi.jsonl"
run 0 "classify with --at-least-one" -- cd_ classify -m "$T/ml1.cdm" "$T/other.json"
jqtrue "the nearest label all the same" "$T/out" '.labels | length == 1'
run 0 "model info tells the decision" -- cd_ model info "$T/ml1.cdm"
has "at least one" "$T/out" "^decision +at least one label"

# a refined multi-label model given corrections (its refinement restarted
# from the point it had reached, a new label's from scratch) scores as the
# model retrained on the same stories
head -n 18 "$T/multi.jsonl" >"$T/mbase.jsonl"
{ tail -n 6 "$T/multi.jsonl"; echo '{"id":"p1","title":"Port strike","body":"dock workers strike at the port cargo vessels wait","labels":["shipping","strike"]}'; } >"$T/mcorr.jsonl"
cat "$T/mbase.jsonl" "$T/mcorr.jsonl" >"$T/mall.jsonl"
cd_ train -q -o "$T/mb.cdm" "$T/mbase.jsonl"
run 0 "learn corrections into a refined model, one of them a new label" -- cd_ learn -q --new-label -m "$T/mb.cdm" "$T/mcorr.jsonl"
cd_ train -q -o "$T/mall.cdm" "$T/mall.jsonl"
pa=$(cd_ classify --top 3 -m "$T/mb.cdm" "$T/multi.jsonl" | jq -c '[.labels[] | .p]')
pb=$(cd_ classify --top 3 -m "$T/mall.cdm" "$T/multi.jsonl" | jq -c '[.labels[] | .p]')
d=$(jq -n --argjson a "$(echo "$pa" | jq -s 'flatten')" --argjson b "$(echo "$pb" | jq -s 'flatten')" \
    '[range(0; [$a, $b] | map(length) | min) | ($a[.] - $b[.]) | fabs] | max // 1')
jq -n --argjson d "$d" '$d < 0.02' | grep -q true && pass "corrected and retrained refined models give the same probabilities (max difference $d)" ||
    fail "corrected and retrained refined models give the same probabilities" "max difference $d"

# kind auto chooses a multi-label model's settings by cross-validation too,
# and model info says so with the fold scores
run 0 "model info of a multi-label kind auto model" -- cd_ model info "$T/ml.cdm"
has "multi-label settings chosen by cross-validation" "$T/out" "^folds +variant and smoothing chosen by cross-validation \(kind auto\); held-out \(micro\+macro F1\)/2 per fold( [0-9.]+)+, mean"
run 0 "model info --json of a multi-label kind auto model" -- cd_ model info --json "$T/ml.cdm"
jqtrue "cv_picked with fold scores" "$T/out" '.cv_picked == true and (.cv_scores | length) >= 2'
cd_ train -q --kind complement -o "$T/mlc.cdm" "$T/multi.jsonl"
run 0 "model info of a model of given settings" -- cd_ model info "$T/mlc.cdm"
has "settings as given" "$T/out" "^folds +the settings as given or preset"
