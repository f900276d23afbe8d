#!/bin/sh
# Headless mode tests: `thaw run` on the small scripts beside this file
# (synthetic 12x12 data, the reference CNN, a few epochs), checking exit
# codes, stderr and the run folder. Each case prints `ok NAME` or
# `FAIL NAME: reason`; the last line is `N passed, N failed`.
# Usage: tests/script/run.sh [-v] [CASE...]   (-v: show stderr of failures)
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
# (make check builds thaw first; run alone in a tree others are editing, a
# failing build falls back to the ./thaw that is there)
build_thaw

S=tests/script
VERBOSE=0
[ "${1:-}" = -v ] && { VERBOSE=1; shift; }
suite_init script
TMP=$SUITE_TMP
# a private copy: a rebuild of ./thaw during the run cannot disturb it
private_thaw
# stderr is a file here, so progress comes as one line per epoch
export NO_COLOR=1

# run NAME SCRIPT [thaw run options...]: runs into $TMP/NAME, sets $rc,
# $out (the run folder), $err (its stderr file) and $log (its stdout file).
run() {
	name=$1 script=$2
	shift 2
	out=$TMP/$name err=$TMP/$name.err log=$TMP/$name.out
	"$THAW" run "$S/$script" --out "$out" "$@" >"$log" 2>"$err"
	rc=$?
}

# the failed thaw.check lines of the last run, for reasons
failed_checks() { grep '^check FAILED' "$err" | head -3 | tr '\n' ';'; }

# the last lines of the run's stderr that are not passing checks
last_words() { grep -v '^check passed' "$err" | tail -n "${1:-1}" | tr '\n' ' '; }

want_exit() {
	[ "$rc" = "$1" ] && return 0
	if [ "$rc" -ge 128 ] && [ "$rc" != 130 ]; then
		no "crashed (exit $rc, signal $((rc - 128))): $(last_words 2)"
	elif [ -n "$(failed_checks)" ]; then
		no "exit $rc, want $1: $(failed_checks)"
	else
		no "exit $rc, want $1: $(grep -v '^thaw run: ok' "$err" | grep -v '^check passed' | tail -n 2 | tr '\n' ' ')"
	fi
	return 1
}

count() { grep -c -- "$2" "$1" 2>/dev/null; } # count FILE REGEX

# png FILE: a whole PNG of a sane size (16 to 8192 pixels a side), or the case fails
png() { png_ok "$1" 16 8192 || { no "$png_why"; return 1; }; }

# reap PID: waits for the run, killing it if it outlasts ~30 s; sets $rc
reap() {
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 600 ]; do
		i=$((i + 1))
		sleep 0.05
	done
	kill -KILL "$1" 2>/dev/null && no "still running 30 s after SIGINT"
	wait "$1"
	rc=$?
}

# interrupt NAME SCRIPT REGEX [args]: starts a run, sends SIGINT once its
# stderr matches REGEX, waits; sets $rc, $out, $err, $log
interrupt() {
	name=$1 script=$2 pattern=$3
	shift 3
	out=$TMP/$name err=$TMP/$name.err log=$TMP/$name.out
	"$THAW" run "$S/$script" --out "$out" "$@" >"$log" 2>"$err" &
	pid=$!
	if ! wait_file "$err" "$pattern" "$pid"; then
		no "'$pattern' never showed on stderr: $(tail -n 2 "$err" | tr '\n' ' ')"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		rc=-1
		return 1
	fi
	kill -INT "$pid"
	reap "$pid"
}

# ---- the cases

case_success() {
	run success success.lua
	want_exit 0 || return
	for f in metrics.jsonl metrics.csv model.thaw summary.json success.lua; do
		[ -s "$out/$f" ] || no "$f missing from the run folder"
	done
	# 2 epochs of "head" + 3 of "tune"
	[ "$(wc -l <"$out/metrics.jsonl")" -eq 5 ] || no "metrics.jsonl has $(wc -l <"$out/metrics.jsonl") rows, want 5"
	[ "$(wc -l <"$out/metrics.csv")" -eq 6 ] || no "metrics.csv has $(wc -l <"$out/metrics.csv") lines, want header + 5"
	has "$out/metrics.csv" '^phase,phase_index,epoch,.*loss,accuracy,val_loss,val_accuracy,lr,img_s' ||
		no "metrics.csv header: $(head -n 1 "$out/metrics.csv")"
	got=$(sed 1d "$out/metrics.csv" | cut -d, -f1-3 | tr '\n' ' ')
	[ "$got" = '"head",1,1 "head",1,2 "tune",2,1 "tune",2,2 "tune",2,3 ' ] || no "metrics.csv phases/epochs: $got"
	# validation columns: empty for "head", numbers for "tune"
	sed 1d "$out/metrics.csv" | head -n 2 | grep -qv '^[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,,,' &&
		no "head rows of metrics.csv have validation figures"
	sed 1d "$out/metrics.csv" | tail -n 3 | grep -q '^[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,,' &&
		no "tune rows of metrics.csv lack validation figures"
	[ "$(count "$out/metrics.jsonl" '"val_loss":null')" -eq 2 ] || no "metrics.jsonl: want val_loss null in the 2 head rows"
	[ "$(count "$out/metrics.jsonl" '"phase":"tune".*"val_accuracy":[0-9]')" -eq 3 ] ||
		no "metrics.jsonl: want val_accuracy in the 3 tune rows"
	[ "$(count "$out/metrics.jsonl" '"lr":[0-9].*"img_s":[0-9]')" -eq 5 ] || no "metrics.jsonl rows lack lr or img_s"
	png "$out/loss.png"
	png "$out/accuracy.png"
	png "$out/confusion-val.png"
	png "$out/confusion-eval2.png"
	cmp -s "$S/success.lua" "$out/success.lua" || no "the script's copy differs from the script"
	"$THAW" summary "$out/model.thaw" >"$TMP/success.summary" 2>&1 || no "thaw summary cannot load model.thaw"
	has "$TMP/success.summary" 'fc2 .*dense .*128->4' || no "model.thaw does not hold the trained 4-class model"
	has "$TMP/success.summary" 'conv1 .*frozen' || no "model.thaw lost the frozen flags"
	[ "$(json_field "$out/summary.json" status)" = '"ok"' ] || no "summary.json status $(json_field "$out/summary.json" status)"
	[ "$(json_field "$out/summary.json" exit_code)" = 0 ] || no "summary.json exit_code"
	[ "$(json_field "$out/summary.json" epochs)" = 5 ] || no "summary.json epochs $(json_field "$out/summary.json" epochs)"
	[ "$(json_field "$out/summary.json" checks_passed)" = 1 ] || no "summary.json checks_passed"
	has_fixed "$out/summary.json" '{"name": "val", "n": 80' || no "summary.json lacks the 'val' evaluation"
	has_fixed "$out/summary.json" '"error": null' || no "summary.json error is not null"
	has "$err" '^final accuracy 0\.[5-9]\|^final accuracy 1' || no "print() output missing from stderr"
}

case_progress() { # uses the success run's stderr
	[ -s "$TMP/success.err" ] || run success success.lua
	err=$TMP/success.err
	n=$(count "$err" ' epoch [0-9]*/[0-9]')
	[ "$n" -eq 5 ] || no "$n progress lines, want one per epoch (5)"
	for p in 'head epoch 1/2 ' 'head epoch 2/2 ' 'tune epoch 1/3 ' 'tune epoch 3/3 '; do
		has_fixed "$err" "$p" || no "no progress line '$p'"
	done
	bad=$(grep ' epoch [0-9]*/[0-9]' "$err" | grep -v 'loss [0-9][0-9.]* .*acc [0-9][0-9.]*% .*[0-9] img/s' | head -n 1)
	[ -z "$bad" ] || no "progress line without loss, acc and img/s: $bad"
	grep 'tune epoch 1/3' "$err" | grep -q 'val loss [0-9.]* *val acc [0-9.]*%' || no "tune lines lack validation figures"
	grep -q "$(printf '\r')" "$err" && no "carriage returns in stderr although it is not a terminal"
}

# On a terminal (script(1) provides one): one updating line per epoch with
# phase, epoch, batch, loss, accuracy, img/s and ETA.
case_progress_tty() {
	command -v script >/dev/null 2>&1 || { skipped="no script(1)"; return; }
	script -qec "'$THAW' run '$S/success.lua' --out '$TMP/tty' 2>&1 >/dev/null" /dev/null >"$TMP/tty.log" 2>&1
	err=$TMP/tty.log
	cr=$(printf '\r') esc=$(printf '\033')
	grep -q "${cr}\(${esc}\[K\)\{0,1\}head epoch 1/2 .*batch [0-9]*/[0-9]* .*loss [0-9.]* .*acc [0-9.]*% .*img/s" "$err" ||
		{ no "no updating line with phase, epoch, batch, loss, acc, img/s"; return; }
	tr '\r' '\n' <"$err" | grep 'batch [0-9]*/[0-9]* ' | grep -q 'ETA' || no "the updating line has no ETA"
	[ "$(count "$err" ' epoch [0-9]*/[0-9]* .*ETA')" -ge 5 ] || no "the finished epochs do not stay on screen"
}

case_check_fails() {
	run check_fail check_fail.lua
	want_exit 2 || return
	[ "$(json_field "$out/summary.json" status)" = '"check failed"' ] ||
		no "summary.json status $(json_field "$out/summary.json" status)"
	[ "$(json_field "$out/summary.json" checks_passed)" = 2 ] || no "summary.json checks_passed, want 2"
	[ "$(json_field "$out/summary.json" checks_failed)" = 1 ] || no "summary.json checks_failed, want 1"
	has_fixed "$err" 'a deliberately false claim' || no "the failed check's message is not on stderr"
	has_fixed "$err" 'check_fail.lua:4' || no "the failed check's file:line (check_fail.lua:4) is not on stderr"
	has_fixed "$err" 'still running after the failed check' || no "the script stopped at the failed check"
	has_fixed "$err" 'a later check' || no "the check after the failed one did not run"
	grep -q 'check_fail.lua:4' "$out/summary.json" || no "summary.json error lacks file:line"
}

case_script_error() {
	run script_error script_error.lua
	want_exit 1 || return
	has_fixed "$err" 'script_error.lua:5:' || no "stderr lacks script_error.lua:5:"
	has_fixed "$err" 'attempt to call a nil value' || no "stderr lacks the Lua message"
	has_fixed "$err" 'stack traceback' || no "stderr lacks a traceback"
	has_fixed "$err" 'before the error' || no "the lines before the error did not run"
	has_fixed "$err" 'never printed' && no "the script went on after the error"
	[ "$(json_field "$out/summary.json" status)" = '"error"' ] || no "summary.json status $(json_field "$out/summary.json" status)"
	has_fixed "$out/summary.json" 'script_error.lua:5:' || no "summary.json error lacks file:line"
	# a syntax error: exit 1 with file:line too
	run syntax_error syntax_error.lua
	want_exit 1 || return
	has_fixed "$err" 'syntax_error.lua:3:' || no "syntax error: stderr lacks syntax_error.lua:3:"
}

case_interrupt() {
	interrupt interrupt interrupt.lua 'long epoch 1/' || return
	want_exit 130 || return
	[ -s "$out/checkpoint.thaw" ] || no "no checkpoint.thaw"
	"$THAW" summary "$out/checkpoint.thaw" >/dev/null 2>&1 || no "thaw summary cannot load checkpoint.thaw"
	n=$(count "$err" '^long epoch [0-9]*/300')
	rows=$(wc -l <"$out/metrics.jsonl")
	[ "$n" -ge 1 ] && [ "$rows" -eq "$n" ] || no "metrics.jsonl has $rows rows for $n finished epochs"
	[ "$(wc -l <"$out/metrics.csv")" -eq $((n + 1)) ] || no "metrics.csv rows do not match the finished epochs"
	png "$out/loss.png"
	has_fixed "$err" 'not interrupted' && no "the script ran to its end"
	has_fixed "$err" '--resume' || no "stderr does not say how to resume"
	[ "$(json_field "$out/summary.json" status)" = '"interrupted"' ] ||
		no "summary.json status $(json_field "$out/summary.json" status)"
	[ "$(json_field "$out/summary.json" exit_code)" = 130 ] || no "summary.json exit_code"
}

case_interrupt_pcall() {
	interrupt interrupt_pcall interrupt_pcall.lua 'long epoch 1/' || return
	want_exit 130
	[ -s "$out/checkpoint.thaw" ] || no "no checkpoint.thaw"
}

case_interrupt_lua() {
	interrupt interrupt_lua interrupt_lua.lua '^spinning' || return
	want_exit 130
	has_fixed "$err" 'interrupt was ignored' && no "the script ran to its end after Ctrl-C"
}

# resume_at NAME REGEX: interrupts resume.lua once stderr matches REGEX,
# resumes it and compares with the uninterrupted run in $TMP/resume_a
resume_at() {
	interrupt "$1" resume.lua "$2" -- slow || return
	[ "$rc" = 130 ] || { no "the run was not interrupted (exit $rc)"; return; }
	b=$out
	"$THAW" run "$S/resume.lua" --resume "$b" >"$TMP/$1.resumed.out" 2>"$TMP/$1.resumed.err"
	rc=$?
	err=$TMP/$1.resumed.err
	want_exit 0 || return
	has "$err" 'resume: phase [12] .* continues at epoch' || no "stderr does not say where the run continues"
	cmp -s "$TMP/resume_a/model.thaw" "$b/model.thaw" ||
		no "model.thaw after resuming differs from the uninterrupted run's"
	a_done=$(grep '^done' "$TMP/resume_a.err") b_done=$(grep '^done' "$err")
	[ -n "$a_done" ] && [ "$a_done" = "$b_done" ] || no "final validation loss: '$a_done' uninterrupted, '$b_done' resumed"
	a_rows=$(cut -d, -f1-3 "$TMP/resume_a/metrics.csv" | tr '\n' ' ')
	b_rows=$(cut -d, -f1-3 "$b/metrics.csv" | tr '\n' ' ')
	[ "$a_rows" = "$b_rows" ] || no "metrics rows after resuming: $b_rows; uninterrupted: $a_rows"
	[ "$(json_field "$b/summary.json" status)" = '"ok"' ] || no "resumed summary.json status"
}

case_resume() {
	run resume_a resume.lua
	want_exit 0 || return
	resume_at resume_tune 'tune epoch 1/'
}

case_resume_first_phase() {
	[ -s "$TMP/resume_a/model.thaw" ] || { run resume_a resume.lua; want_exit 0 || return; }
	resume_at resume_head 'head epoch 1/'
}

# The hint printed on Ctrl-C must be enough: a run started with --seed,
# interrupted, then continued with exactly the printed command, ends where
# the uninterrupted run with that seed ends.
case_resume_hint() {
	run resume_s5 resume.lua --seed 5
	want_exit 0 || return
	interrupt resume_hint resume.lua 'tune epoch 1/' --seed 5 -- slow || return
	[ "$rc" = 130 ] || { no "the run was not interrupted (exit $rc)"; return; }
	cmd=$(sed -n 's/^thaw run: interrupted; continue with: thaw run //p' "$err")
	[ -n "$cmd" ] || { no "no 'continue with:' hint on stderr"; return; }
	eval "\"\$THAW\" run $cmd" >"$TMP/resume_hint.resumed.out" 2>"$TMP/resume_hint.resumed.err"
	rc=$?
	err=$TMP/resume_hint.resumed.err
	want_exit 0 || return
	cmp -s "$TMP/resume_s5/model.thaw" "$out/model.thaw" ||
		no "following the hint (thaw run $cmd) does not give the --seed 5 run's weights"
}

# Seeds are 64-bit: --seed 2^32+1 is not --seed 1.
case_seed_64bit() {
	run seed_lo seed_args.lua --seed 1
	want_exit 0 || return
	run seed_hi seed_args.lua --seed 4294967297
	want_exit 0 || return
	has_fixed "$err" 'seed=4294967297' || no "thaw.seed() does not return 4294967297"
	cmp -s "$TMP/seed_lo/model.thaw" "$TMP/seed_hi/model.thaw" &&
		no "--seed 4294967297 trains the same weights as --seed 1 (seeds cut to 32 bits)"
}

case_seed_args() {
	run seed1 seed_args.lua --seed 11 -- alpha "two words" 3
	want_exit 0 || return
	has_fixed "$err" 'seed=11' || no "thaw.seed() does not return --seed 11"
	has_fixed "$err" 'argc=3' || no "#arg is not 3"
	has_fixed "$err" 'arg[1]=alpha' || no "arg[1] is not 'alpha'"
	has_fixed "$err" 'arg[2]=two words' || no "arg[2] is not 'two words'"
	has_fixed "$err" 'arg[3]=3' || no "arg[3] is not '3'"
	has_fixed "$err" 'arg[0]=tests/script/seed_args.lua' || no "arg[0] is not the script path"
	l1=$(grep '^loss=' "$err")
	run seed1b seed_args.lua --seed 11
	want_exit 0 || return
	has_fixed "$err" 'argc=0' || no "without -- ARGS #arg is not 0"
	[ "$(grep '^loss=' "$err")" = "$l1" ] || no "the same --seed gives another loss"
	cmp -s "$TMP/seed1/model.thaw" "$TMP/seed1b/model.thaw" || no "the same --seed gives different weights"
	run seed2 seed_args.lua --seed 12
	want_exit 0 || return
	[ "$(grep '^loss=' "$err")" != "$l1" ] || no "--seed 12 gives the same loss as --seed 11"
	cmp -s "$TMP/seed1/model.thaw" "$TMP/seed2/model.thaw" && no "--seed 12 gives the same weights as --seed 11"
	run seed_default seed_args.lua
	has_fixed "$err" 'seed=1' || no "the default seed is not 1"
}

case_history() {
	run history history.lua
	want_exit 0
}

case_optimizer_switch() {
	run optimizer_switch optimizer_switch.lua
	want_exit 0
}

case_misuse() {
	run misuse misuse.lua
	want_exit 0 || return
	has_fixed "$err" 'misuse done' || no "the script did not reach its end"
}

case_callback_misuse() {
	run callback_misuse callback_misuse.lua
	want_exit 0 || return
	has_fixed "$err" 'callback misuse done' || no "the script did not reach its end"
}

case_transfer() {
	run transfer transfer.lua
	want_exit 0 || return
	grep -q "^cut after drop1 (old head fc2: 5 classes)" "$log" "$err" || no "the recipe's lines were not printed"
}

case_fine_tune() {
	run fine_tune fine_tune.lua
	want_exit 0 || return
	has "$err" '^fine_tune done' || no "the script did not finish"
	has "$err" "batch norms stay frozen" || no "the log does not say the batch norms stay frozen"
	grep -q '"phase": *"fine-tune"' "$out/metrics.jsonl" || no "metrics.jsonl lacks the fine-tune phase"
	grep -q '"phase": *"head"' "$out/metrics.jsonl" || no "metrics.jsonl lacks the head phase"
	[ -s "$out/phase-2.thaw" ] || no "no phase-2.thaw: the run folder misses a phase"
	png "$out/lr-find.png"
}

case_closed_model() {
	run closed_model closed_model.lua
	want_exit 0 || return
	[ -s "$out/model.thaw" ] || no "no model.thaw although the script trained a model (and closed it)"
	"$THAW" summary "$out/model.thaw" >/dev/null 2>&1 || no "thaw summary cannot load model.thaw"
	grep -q '"name": "train".*topk' "$out/summary.json" && no "summary.json reports top-5 accuracy for 4 classes"
	grep -q '"name": "top2".*"topk": 2, "topk_accuracy"' "$out/summary.json" || no "summary.json lacks the top-2 accuracy"
}

case_sources() {
	fm=
	[ -d /usr/share/datasets/fashion-mnist ] || fm=nofashion
	run sources sources.lua -- $fm
	want_exit 0 || return
	has_fixed "$err" 'skipped unreadable image vbar/broken.png' || no "the skipped image is not in the log"
	has_fixed "$err" 'skipped 1 file that is not PNG or JPEG (hbar/notes.txt)' || no "the stray file is not in the log"
}

# Every ```lua block of docs/lua.md runs as a script and exits 0; arg[1] is
# a PNG class folder (for the folder examples).
case_docs() {
	[ -f docs/lua.md ] || { no "docs/lua.md missing"; return; }
	"$THAW" run "$S/pngfolder.lua" --out "$TMP/docs-png" -- "$TMP/shapes" >/dev/null 2>&1 ||
		{ no "pngfolder.lua failed"; return; }
	mkdir -p "$TMP/docs"
	awk -v dir="$TMP/docs" '
		/^```lua[ \t]*$/ { n++; f = sprintf("%s/snippet-%02d.lua", dir, n); inside = 1; next }
		/^```/ && inside { inside = 0; close(f); next }
		inside { print > f }' docs/lua.md
	n=0
	for f in "$TMP"/docs/snippet-*.lua; do
		[ -f "$f" ] || { no "docs/lua.md has no lua blocks"; return; }
		n=$((n + 1))
		b=$(basename "$f" .lua)
		(cd "$TMP/docs" && "$THAW" run "$f" --out "$TMP/docs/$b.run" -- "$TMP/shapes" >"$TMP/docs/$b.out" 2>"$TMP/docs/$b.err")
		rc=$?
		if [ "$rc" != 0 ]; then
			no "docs/lua.md block $n ($b) exits $rc: $(grep -m1 -i 'error\|FAILED' "$TMP/docs/$b.err")"
			err=$TMP/docs/$b.err
		fi
	done
}

# The README's Lua example, as printed: it must run and pass its check
# (the README quotes its accuracy). Needs the committed base model.
case_readme() {
	[ -d /usr/share/datasets/fashion-mnist ] || { skipped="no Fashion-MNIST"; return; }
	awk '/^```lua[ \t]*$/ { inside = 1; next } /^```/ && inside { exit } inside { print }' README.md >"$TMP/readme.lua"
	[ -s "$TMP/readme.lua" ] || { no "README.md has no lua block"; return; }
	out=$TMP/readme err=$TMP/readme.err
	"$THAW" run "$TMP/readme.lua" --out "$out" >"$TMP/readme.out" 2>"$err"
	rc=$?
	want_exit 0 || return
	has "$err" "check passed: target accuracy" || no "the README example's check did not run"
}

# class names and heads agree; a cut model is refused; predict from a file
case_classes() {
	run classes classes.lua
	want_exit 0 || return
	has "$err" '^classes done' || no "the script did not finish"
	has "$err" "take the data's class names" || no "the fit log does not say the head took the data's names"
}

CASES="success progress progress_tty check_fails script_error interrupt interrupt_pcall interrupt_lua resume
resume_first_phase resume_hint seed_args seed_64bit history optimizer_switch misuse callback_misuse transfer fine_tune closed_model classes sources docs
readme"
[ $# -gt 0 ] && CASES=$*

for c in $CASES; do
	err=/dev/null
	run_case "$c" ||
		if [ $VERBOSE = 1 ] && [ -s "$err" ]; then sed 's/^/    | /' "$err" | tail -n 20; fi
done
report
