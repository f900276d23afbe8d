#!/bin/sh
# Faults a user's machine has: kill -9 at random moments of a run with
# checkpoints (every .thaw loads, --resume ends with the uninterrupted
# run's weights byte for byte), a full disk (a small tmpfs, when root:
# every writer fails naming its file, exit non-zero, every previous file
# intact), Ctrl-C outside thaw.fit, and a headless run under valgrind (the
# portable build: zero errors, zero definite leaks). Bounded: about a
# minute on a quiet machine. FAULT_SEED=N repeats the kill moments of a
# failed run; FAULT_TRIALS=N changes how many (10).
# Last line: `N passed, N failed`.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
suite_init fault
T=$SUITE_TMP
THAW=$ROOT/thaw
F=$ROOT/tests/fault
M=$T/disk
at_exit 'mountpoint -q "$M" 2>/dev/null && { umount "$M" || umount -l "$M"; }'
skip() { echo "skip $1: $2"; }
start=$(date +%s)
took() { echo "# $1: $(($(date +%s) - start)) s"; start=$(date +%s); }
tmp_left() { find "$1" -name '*.tmp.*' | head -n 1; }
# sums DIR: one line per file (name and checksum), the filler left out
sums() { (cd "$1" && find . -type f ! -name fill -exec md5sum {} + | sort); }

# ---- kill -9 at random moments; every file loads, resume matches
"$THAW" run "$F/train.lua" --out "$T/ref" >"$T/ref.out" 2>"$T/ref.err"
if [ $? -ne 0 ]; then
	bad "the uninterrupted run" "$(tail -n 3 "$T/ref.err")"
else
	ok "the uninterrupted run"
fi
# how long the run takes, in ms, to spread the kills over it
t0=$(date +%s%N)
"$THAW" run "$F/train.lua" --out "$T/timing" >/dev/null 2>&1
span=$((($(date +%s%N) - t0) / 1000000))
seed=${FAULT_SEED:-$(date +%s)}
trials=${FAULT_TRIALS:-10}
echo "# kill -9 trials: seed $seed, spread over $span ms (FAULT_SEED=$seed to repeat)"
moments=$(awk -v s="$seed" -v n="$trials" -v span="$span" 'BEGIN { srand(s); for (i = 0; i < n; i++) printf "%d ", 30 + rand() * span }')
k=0 mid_save=0 loads=0 identical=0 fresh=0
for ms in $moments; do
	k=$((k + 1))
	d=$T/kill$k
	"$THAW" run "$F/train.lua" --out "$d" >"$d.out" 2>"$d.err" &
	pid=$!
	sleep "$(awk -v ms="$ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ -n "$(tmp_left "$d")" ] && mid_save=$((mid_save + 1))
	# every model file the killed run left loads
	bad_file=
	for f in "$d"/*.thaw; do
		[ -e "$f" ] || continue
		"$THAW" summary "$f" >/dev/null 2>"$d.sum.err" || bad_file="$f: $(head -n 1 "$d.sum.err")"
	done
	if [ -n "$bad_file" ]; then
		bad "kill at $ms ms: every .thaw loads" "$bad_file"
		continue
	fi
	loads=$((loads + 1))
	if [ -e "$d/checkpoint.thaw" ]; then
		"$THAW" run "$F/train.lua" --resume "$d" >"$d.out" 2>"$d.err"
	else # killed before its first checkpoint: resume says so, a fresh run does it
		"$THAW" run "$F/train.lua" --resume "$d" >"$d.out" 2>"$d.err"
		if [ $? -ne 1 ] || ! has "$d.err" "has no checkpoint yet\|no such run folder"; then
			bad "kill at $ms ms: resume without a checkpoint" "$(tail -n 2 "$d.err")"
			continue
		fi
		fresh=$((fresh + 1))
		"$THAW" run "$F/train.lua" --out "$d" >"$d.out" 2>"$d.err"
	fi
	rc=$?
	if [ $rc -ne 0 ]; then
		bad "kill at $ms ms: resume" "exit $rc: $(tail -n 2 "$d.err")"
	elif ! cmp -s "$T/ref/model.thaw" "$d/model.thaw"; then
		bad "kill at $ms ms: resume" "model.thaw differs from the uninterrupted run's"
	elif [ "$(cut -d, -f1-6 "$T/ref/metrics.csv")" != "$(cut -d, -f1-6 "$d/metrics.csv")" ]; then
		bad "kill at $ms ms: resume" "metrics.csv rows differ: $(cut -d, -f1-3 "$d/metrics.csv" | tr '\n' ' ')"
	elif [ "$(grep -c . "$d/metrics.jsonl")" -ne "$(grep -c . "$T/ref/metrics.jsonl")" ]; then
		bad "kill at $ms ms: resume" "metrics.jsonl has $(grep -c . "$d/metrics.jsonl") rows"
	elif [ -n "$(tmp_left "$d")" ]; then
		bad "kill at $ms ms: resume" "a temporary file is left: $(tmp_left "$d")"
	else
		identical=$((identical + 1))
	fi
done
echo "# $k kills: $mid_save left a temporary file (mid-save), $fresh before the first checkpoint"
[ "$loads" -eq "$k" ] && ok "kill -9: every .thaw loads ($loads of $k)" ||
	bad "kill -9: every .thaw loads ($loads of $k)" "some files did not load"
[ "$identical" -eq "$k" ] && ok "kill -9: --resume ends byte-identical ($identical of $k)" ||
	bad "kill -9: --resume ends byte-identical ($identical of $k)" "see above"
took "kill -9 trials"

# ---- Ctrl-C outside thaw.fit: exit 130, status "interrupted"
# interrupt NAME MODE PATTERN [SIGNAL]: SIGINT (or SIGNAL) once the
# script printed PATTERN
interrupt() {
	d=$T/int-$2
	"$THAW" run "$F/evals.lua" --out "$d" -- "$2" >"$d.out" 2>"$d.err" &
	pid=$!
	wait_file "$d.err" "$3" "$pid"
	kill -"${4:-INT}" "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	if [ $rc -ne 130 ]; then
		bad "$1" "exit $rc, wanted 130: $(tail -n 2 "$d.err")"
	elif [ "$(json_field "$d/summary.json" status)" != '"interrupted"' ]; then
		bad "$1" "summary.json status $(json_field "$d/summary.json" status)"
	elif has "$d.err" '^finished'; then
		bad "$1" "the script ran to its end"
	else
		ok "$1"
	fi
}
interrupt "Ctrl-C in a loop of evaluations: exit 130, interrupted" loop '^fitted'
interrupt "Ctrl-C in the last call after the last fit: exit 130, interrupted" last '^last call'
interrupt "SIGTERM (a CI or Slurm time limit): exit 130, interrupted" loop '^fitted' TERM
took "Ctrl-C"

# ---- a full disk: a small tmpfs (root only)
if [ "$(id -u)" != 0 ]; then
	skip "full disk" "needs root to mount a tmpfs"
elif ! mkdir -p "$M" || ! mount -t tmpfs -o size=12m tmpfs "$M" 2>"$T/mount.err"; then
	skip "full disk" "cannot mount a tmpfs: $(cat "$T/mount.err")"
else
	# the previous files: a run folder, a grid, ONNX, a model, an exported folder
	"$THAW" run "$F/train.lua" --out "$M/run" >/dev/null 2>&1 &&
		"$THAW" data synth:60 --grid "$M/grid.png" >/dev/null 2>&1 &&
		"$THAW" export "$M/run/model.thaw" -o "$M/m.onnx" >/dev/null 2>&1 &&
		"$THAW" edit "$M/run/model.thaw" -o "$M/m.thaw" --pop --head 3:head >/dev/null 2>&1 &&
		"$THAW" data synth:20 --export "$M/folder" >/dev/null 2>&1 &&
		ok "full disk: the previous files written" ||
		bad "full disk: the previous files written" "a writer failed with room to spare"
	sums "$M" >"$T/before"
	dd if=/dev/zero of="$M/fill" bs=64k >/dev/null 2>&1 # until the disk is full
	# writer NAME FILE-IN-MESSAGE command...: fails, names the file
	writer() {
		name=$1 file=$2
		shift 2
		"$@" >"$T/w.out" 2>&1
		rc=$?
		if [ $rc -eq 0 ]; then
			bad "full disk: $name" "exit 0"
		elif ! grep -q -- "$file.*\(No space left\|write error\|out of disk\)" "$T/w.out"; then
			bad "full disk: $name" "exit $rc, the message does not name $file and the reason: $(tail -n 2 "$T/w.out")"
		else
			ok "full disk: $name fails naming $file"
		fi
	}
	writer "thaw run into a new folder" "$M/new/metrics" "$THAW" run "$F/train.lua" --out "$M/new"
	writer "thaw run --resume of a finished run" "$M/run/" "$THAW" run "$F/train.lua" --resume "$M/run"
	writer "thaw data --grid over a grid" "$M/grid.png" "$THAW" data synth:60 --grid "$M/grid.png"
	writer "thaw export over an ONNX file" "$M/m.onnx" "$THAW" export "$M/run/model.thaw" -o "$M/m.onnx"
	writer "thaw edit over a model" "$M/m.thaw" "$THAW" edit "$M/run/model.thaw" -o "$M/m.thaw" --pop
	writer "thaw data --export over a folder" "$M/folder/" "$THAW" data synth:20 --export "$M/folder"
	writer "thaw train --checkpoint" "$M/ck.thaw" "$THAW" train --data synth:200 --epochs 1 --batch 32 \
		--checkpoint "$M/ck.thaw" -o "$M/t.thaw"
	sums "$M" >"$T/after"
	changed=$(comm -23 "$T/before" "$T/after" | head -n 3 | tr '\n' ' ')
	if [ -z "$changed" ]; then
		ok "full disk: every previous file intact ($(wc -l <"$T/before") files)"
	else
		bad "full disk: every previous file intact" "changed or gone: $changed"
	fi
	left=$(tmp_left "$M")
	[ -z "$left" ] && ok "full disk: no temporary file left" || bad "full disk: no temporary file left" "$left"
	# nearly full: room for metrics and plots, not for a checkpoint
	rm -f "$M/fill"
	free=$(df -k --output=avail "$M" | tail -n 1)
	[ "$free" -gt 400 ] && dd if=/dev/zero of="$M/fill" bs=1k count=$((free - 400)) >/dev/null 2>&1
	"$THAW" run "$F/train.lua" --out "$M/run2" >"$T/w.out" 2>&1
	rc=$?
	st=$(json_field "$M/run2/summary.json" status)
	if [ $rc -ne 1 ]; then
		bad "nearly full disk: thaw run fails" "exit $rc: $(tail -n 2 "$T/w.out")"
	elif [ "$st" != '"save-failed"' ]; then
		bad "nearly full disk: thaw run fails" "summary.json status $st"
	elif ! grep -q "error: a save failed: $M/run2/checkpoint.thaw: write failed.*No space left" "$T/w.out"; then
		bad "nearly full disk: thaw run fails" "stderr: $(tail -n 2 "$T/w.out")"
	elif ! has "$M/run2/summary.json" "\"save_failed\": {\"file\": \"$M/run2/checkpoint.thaw\""; then
		bad "nearly full disk: thaw run fails" "summary.json has no save_failed file"
	else
		ok "nearly full disk: thaw run exits 1, status save-failed, names checkpoint.thaw"
	fi
	umount "$M"
fi
took "full disk"

# ---- valgrind: a headless run of the portable build
if ! command -v valgrind >/dev/null; then
	bad "valgrind" "valgrind is not installed (scripts/install-deps)"
elif ! make -s portable >"$T/make.out" 2>&1; then
	bad "valgrind" "make portable failed: $(tail -n 3 "$T/make.out")"
else
	OPENBLAS_NUM_THREADS=1 valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
		--error-exitcode=99 --log-file="$T/vg.log" \
		build/portable/thaw run "$F/small.lua" --out "$T/vg" >"$T/vg.out" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		bad "valgrind: a headless run, no errors, no definite leaks" \
			"exit $rc: $(grep -m 3 -e '==[0-9]*== [A-Z]' -e 'definitely' "$T/vg.log" | tr '\n' ' ') $(tail -n 1 "$T/vg.out")"
	elif [ "$(json_field "$T/vg/summary.json" status)" != '"ok"' ]; then
		bad "valgrind: a headless run" "summary status $(json_field "$T/vg/summary.json" status)"
	else
		ok "valgrind: a headless run, no errors, no definite leaks"
	fi
fi
took "valgrind"
report
