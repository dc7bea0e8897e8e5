#!/bin/bash
# The core commands end to end: train on a small corpus, classify, eval,
# tokens, model info, incremental training.
. "$(dirname "$0")/lib.sh"

run 0 "train on JSON lines" -- cd_ train -o "$T/m.cdm" "$FIX/mini/bbc-train.jsonl"
has "train reports what it did" "$T/err" "60 stories added .* 5 labels"
[ -s "$T/m.cdm" ] && pass "model file written" || fail "model file written"

run 0 "model info" -- cd_ model info "$T/m.cdm"
has "model info names labels" "$T/out" "^sport +12"
has "model info tells the tokenizer" "$T/out" "^tokenizer +length 2-40"
run 0 "model info --json" -- cd_ model info --json "$T/m.cdm"
jqtrue "model info JSON" "$T/out" '.labels | length == 5'
jqtrue "model info JSON settings" "$T/out" '.docs == 60 and .kind == "multinomial" and .multilabel == false and .refined == false'
jqtrue "kind auto: settings chosen by cross-validation, fold scores kept" "$T/out" '.cv_picked == true and (.cv_scores | length) == 5 and ([.cv_scores[] | . > 0.5 and . <= 1] | all)'
run 0 "model info tells the choice" -- cd_ model info "$T/m.cdm"
has "model info: chosen by cross-validation" "$T/out" "^folds +variant and smoothing chosen by cross-validation .* mean 0\.[0-9]+"

run 0 "classify JSON lines" -- cd_ classify -m "$T/m.cdm" "$FIX/mini/bbc-test.jsonl"
same "one line per story" "$(wc -l <"$T/out")" "20"
jqtrue "each line has id and one label" "$T/out" '(.id | type == "string") and (.labels | length == 1) and (.labels[0].p > 0 and .labels[0].p <= 1)'
right=$(jq -r '.id + " " + .labels[0].label' "$T/out" | awk '{ split($1, a, "-"); if (a[2] == $2) n++ } END { print n + 0 }')
[ "$right" -ge 17 ] && pass "classify is mostly right ($right/20)" || fail "classify is mostly right" "$right/20 right"

run 0 "classify --top 3" -- cd_ classify -m "$T/m.cdm" --top 3 "$FIX/mini/bbc-test.jsonl"
jqtrue "three labels, by probability" "$T/out" '(.labels | length == 3) and .labels[0].p >= .labels[1].p and .labels[1].p >= .labels[2].p'

run 0 "classify --explain" -- cd_ classify -m "$T/m.cdm" --explain "$FIX/mini/bbc-test.jsonl"
jqtrue "explain lists weighing tokens" "$T/out" '.labels[0].tokens | length > 0 and (.[0].weight > 0)'
jqtrue "explain tokens are folded words of the vocabulary" "$T/out" '[.labels[0].tokens[].token | test("^[^ A-Z]+$")] | all'

printf 'Chelsea striker scores twice\nThe striker scored twice as Chelsea won the league match against Arsenal.\n' >"$T/story.txt"
run 0 "classify plain text" -- cd_ classify -m "$T/m.cdm" "$T/story.txt"
jqtrue "plain text: path is the id, sport" "$T/out" '.id == "'"$T/story.txt"'" and .labels[0].label == "sport"'

run 0 "classify standard input by default" -- sh -c "'$COPYDESK' classify -m '$T/m.cdm' <'$FIX/mini/bbc-test.jsonl'"
same "stdin: one line per story" "$(wc -l <"$T/out")" "20"
run 0 "classify - as input" -- sh -c "head -3 '$FIX/mini/bbc-test.jsonl' | '$COPYDESK' classify -m '$T/m.cdm' -"
same "dash: three lines" "$(wc -l <"$T/out")" "3"

run 0 "eval" -- cd_ eval -m "$T/m.cdm" "$FIX/mini/bbc-test.jsonl"
has "eval prints accuracy" "$T/out" "^accuracy +0\.[0-9]+"
has "eval prints a confusion matrix" "$T/out" "^confusion matrix"
run 0 "eval --json" -- cd_ eval --json -m "$T/m.cdm" "$FIX/mini/bbc-test.jsonl"
jqtrue "eval JSON keys" "$T/out" 'has("accuracy") and has("micro_f1") and has("macro_f1") and has("micro_precision") and has("micro_recall") and .docs == 20'
jqtrue "eval JSON per label" "$T/out" '.labels.sport | has("precision") and has("recall") and has("f1") and .support == 4'
jqtrue "eval accuracy is consistent" "$T/out" '.accuracy >= 0.85 and .accuracy <= 1'

run 0 "eval --cv 3" -- cd_ eval --cv 3 --json -q "$FIX/mini/bbc-train.jsonl"
jqtrue "cross-validation covers every story" "$T/out" '.docs == 60 and .accuracy > 0.7'

run 0 "train --from adds to a model" -- cd_ train --from "$T/m.cdm" -o "$T/m2.cdm" "$FIX/mini/bbc-test.jsonl"
has "incremental totals" "$T/err" "20 stories added \(0 replacing a story of the same id; 80 in all, 20 of them corrections\)"
run 0 "incremental model info" -- cd_ model info --json "$T/m2.cdm"
jqtrue "incremental model has all documents" "$T/out" '.docs == 80'

mkdir -p "$T/corpus/trade" "$T/corpus/sport/more"
printf 'Tariffs rise\nTariffs on steel imports rise as exporters fear a trade war.\n' >"$T/corpus/trade/a.txt"
printf 'Embargo\nAn embargo on grain exports and new tariffs hurt trade.\n' >"$T/corpus/trade/b.txt"
printf 'Cup final\nThe striker scored and the team won the cup final.\n' >"$T/corpus/sport/c.txt"
printf 'Derby\nThe goalkeeper saved a penalty as the team won the derby.\n' >"$T/corpus/sport/more/d.txt"
run 0 "train from label folders" -- cd_ train -o "$T/f.cdm" "$T/corpus"
run 0 "folder model info" -- cd_ model info --json "$T/f.cdm"
jqtrue "labels from folder names" "$T/out" '([.labels[].label] | sort) == ["sport", "trade"] and .docs == 4'

run 0 "tokens of a text" -- cd_ tokens "Kim Jong-un's U.S. visit: \$10.5bn deal"
same "tokens one per line" "$(tr '\n' ' ' <"$T/out")" "kim jong-un u.s visit 10.5bn deal "
run 0 "tokens --json" -- cd_ tokens --json --stem "running trains"
jqtrue "tokens JSON array, stemmed" "$T/out" '. == ["run", "train"]'
run 0 "tokens of a story file" -- cd_ tokens --model "$T/m.cdm" "$T/story.txt"
jqtrue "tokens per story" "$T/out" '.tokens[0] == "chelsea"'

# Stories at the edges are classified, never a crash: an empty body, a
# title only, and a 50 MB body (under the 64 MiB story limit).
{
    printf '{"id":"empty","title":"","body":""}\n'
    printf '{"id":"title-only","title":"Chelsea striker scores twice"}\n'
    printf '{"id":"fifty","title":"Long read","body":"'
    yes 'The striker scored twice as the team won the cup final. ' | tr -d '\n' | head -c 52428800
    printf '"}\n'
} >"$T/edges.jsonl"
run 0 "edge stories are classified" -- cd_ classify -m "$T/m.cdm" "$T/edges.jsonl"
same "edge stories: one line each" "$(jq -r .id "$T/out" | tr '\n' ' ')" "empty title-only fifty "
jqtrue "edge stories: every one gets a label" "$T/out" '.labels | length == 1'
same "a 50 MB sport story is sport" "$(jq -r 'select(.id == "fifty") | .labels[0].label' "$T/out")" "sport"
