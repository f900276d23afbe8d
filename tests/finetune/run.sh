#!/bin/sh
# thaw fine-tune and thaw lr-find end to end on synthetic data: the
# phases and the rates in the log, the saved model, the finder's PNG and
# its suggestion, the errors. Last line: `N passed, N failed`.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
build_thaw
suite_init finetune
T=$SUITE_TMP
# png NAME FILE: a whole PNG, both sides at least 100 pixels (a chart)
png() { png_ok "$2" 100 && ok "$1" || bad "$1" "$png_why"; }

# a 4-class base on synthetic 28x28 shapes, then a 3-class task for it
expect "a base to start from" 0 "saved $T/base.thaw" -- \
	./thaw train --data synth:400 --epochs 1 --batch 32 -o "$T/base.thaw"

expect "lr-find: suggests a rate" 0 "suggested_lr: " -- \
	./thaw lr-find "$T/base.thaw" --data synth:300 --classes 0,1,2 --cut pool2 --steps 60 -o "$T/lr.png"
png "lr-find: the curve is a PNG" "$T/lr.png"
said "lr-find: the new head on a frozen base" "froze the 9 layers before the head"
s=$(sed -n 's/^suggested_lr: //p' "$T/out")
awk -v s="$s" 'BEGIN { exit !(s >= 1e-7 && s <= 10) }' && ok "lr-find: the suggestion lies in the sweep ($s)" ||
	bad "lr-find: the suggestion lies in the sweep" "'$s'"
expect "lr-find: --unfreeze sweeps everything" 0 "suggested_lr: " -- \
	./thaw lr-find "$T/base.thaw" --data synth:300 --classes 0,1,2 --unfreeze --steps 30 --lr-max 1
expect "lr-find: a bad sweep" 1 "lr-min" -- \
	./thaw lr-find "$T/base.thaw" --data synth:300 --lr-min 1 --lr-max 0.5
expect "lr-find: needs data" 1 "needs --data" -- ./thaw lr-find "$T/base.thaw"

expect "fine-tune: two phases, saved" 0 "saved $T/ft.thaw" -- \
	./thaw fine-tune "$T/base.thaw" --data synth:240 --classes 0,1,2 --cut pool2 --head-epochs 2 \
	--epochs 2 --batch 16 --val 0.25 -o "$T/ft.thaw"
said "fine-tune: phase 1 trains the head on a frozen base" "head: base frozen (nodes before 'head')"
said "fine-tune: phase 2 names its groups' rates" "fine-tune: 3 layer groups, peak learning rates 1.5e-05 (conv1..pool1), 0.00015 (conv2..head_dropout), 0.0015 (head)"
said "fine-tune: batch norms stay frozen on batches of 16" "batch norms stay frozen"
said "fine-tune: validation after the run" "val_accuracy: "
expect "fine-tune: the saved model has the new head, thawed" 0 "head .*dense" -- ./thaw summary "$T/ft.thaw"
grep -q "frozen: 192" "$T/out" && ok "fine-tune: only the batch norms stay frozen" ||
	bad "fine-tune: only the batch norms stay frozen" "$(grep frozen "$T/out")"
expect "fine-tune: gradual unfreezing" 0 "group 1 (conv1..pool1) thaws" -- \
	./thaw fine-tune "$T/base.thaw" --data synth:240 --classes 0,1,2 --cut pool2 --head-epochs 1 \
	--epochs 3 --gradual --val none
expect "fine-tune: unknown cut" 1 "no node named 'nope'" -- \
	./thaw fine-tune "$T/base.thaw" --data synth:240 --classes 0,1,2 --cut nope
expect "fine-tune: bad option value" 1 "spread" -- \
	./thaw fine-tune "$T/base.thaw" --data synth:240 --spread abc
expect "fine-tune --help" 0 "discriminative" -- ./thaw fine-tune --help
expect "lr-find --help" 0 "valley" -- ./thaw help lr-find

report
