#!/bin/sh
# thaw fine-tune and thaw lr-find end to end on synthetic data: the
# phases and the rates in the log, the saved model, the finder's PNG and
# its suggestion, the errors. Last line: `N passed, N failed`.
set -u
cd "$(dirname "$0")/../.."
if ! make -s thaw >/dev/null; then
	[ -x ./thaw ] || { echo "FAIL build: make thaw"; echo "0 passed, 1 failed"; exit 1; }
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }
# expect NAME EXIT_CODE PATTERN -- command...: exit code and a pattern in stdout+stderr
expect() {
	name=$1 code=$2 pat=$3
	shift 4
	"$@" >"$T/out" 2>&1
	rc=$?
	if [ "$rc" -ne "$code" ]; then
		bad "$name" "exit $rc, wanted $code: $(tail -n 3 "$T/out")"
	elif ! grep -q -- "$pat" "$T/out"; then
		bad "$name" "no '$pat' in: $(tail -n 3 "$T/out")"
	else
		ok "$name"
	fi
}
# has NAME PATTERN: the last command's output holds PATTERN (fixed text)
has() { grep -qF -- "$2" "$T/out" && ok "$1" || bad "$1" "no '$2' in the output"; }
# png NAME FILE: signature, IHDR first with a sane size, IEND last
png() {
	[ -s "$2" ] || { bad "$1" "$2 missing"; return; }
	head=$(od -An -tx1 -N24 "$2" | tr -d ' \n')
	case $head in
	89504e470d0a1a0a0000000d49484452*) ;;
	*) bad "$1" "not a PNG (starts $head)"; return ;;
	esac
	w=$((0x$(printf %s "$head" | cut -c33-40)))
	h=$((0x$(printf %s "$head" | cut -c41-48)))
	tail=$(tail -c 12 "$2" | od -An -tx1 | tr -d ' \n')
	if [ "$w" -lt 100 ] || [ "$h" -lt 100 ] || [ "$tail" != 0000000049454e44ae426082 ]; then
		bad "$1" "size ${w}x$h, tail $tail"
	else
		ok "$1"
	fi
}

# a 4-class base on synthetic 28x28 shapes, then a 3-class task for it
expect "a base to start from" 0 "saved $T/base.thaw" -- \
	./thaw train --data synth:400 --epochs 1 --batch 32 -o "$T/base.thaw"

expect "lr-find: suggests a rate" 0 "suggested_lr: " -- \
	./thaw lr-find "$T/base.thaw" --data synth:300 --classes 0,1,2 --cut pool2 --steps 60 -o "$T/lr.png"
png "lr-find: the curve is a PNG" "$T/lr.png"
has "lr-find: the new head on a frozen base" "froze the 9 layers before the head"
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
has "fine-tune: phase 1 trains the head on a frozen base" "head: base frozen (nodes before 'head')"
has "fine-tune: phase 2 names its groups' rates" "fine-tune: 3 layer groups, peak learning rates 1.5e-05 (conv1..pool1), 0.00015 (conv2..head_dropout), 0.0015 (head)"
has "fine-tune: batch norms stay frozen on batches of 16" "batch norms stay frozen"
has "fine-tune: validation after the run" "val_accuracy: "
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

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
