#!/bin/sh
# Data-parallel training over MPI, with OpenMPI's mpirun on this machine
# (2 ranks, oversubscribed, as root when the tests run as root): N ranks
# against one process (gradients and weights), the same weights again for
# the same seed, only rank 0 writing, a failing rank ending the whole job
# (never a hang: every mpirun runs under a timeout), resume after a rank
# died and after Ctrl-C. Skipped with a message when thaw was built without MPI or mpirun
# is missing. Last line: `N passed, N failed`.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
suite_init mpi
T=$SUITE_TMP

./thaw --version | grep -q '^mpi: no' &&
	skip_rest "thaw was built without MPI (install libopenmpi-dev and openmpi-bin, then ./configure)"
command -v mpirun >/dev/null 2>&1 || skip_rest "no mpirun (Debian package openmpi-bin)"
# OpenMPI refuses root unless told; CI runs as root
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
MPIRUN="timeout 60 mpirun -np 2"

# run1 NAME ARGS...: one process; run2 NAME ARGS...: two ranks; output in $T/NAME.log
run1() {
	n=$1
	shift
	./thaw run tests/mpi/equiv.lua --out "$T/$n" -- "$@" >"$T/$n.log" 2>&1 || bad "$n (one process)" "$(tail -n 3 "$T/$n.log")"
}
run2() {
	n=$1
	shift
	$MPIRUN ./thaw run tests/mpi/equiv.lua --out "$T/$n" -- "$@" >"$T/$n.log" 2>&1 || bad "$n (2 ranks)" "$(tail -n 3 "$T/$n.log")"
}
# same NAME A B TOL: the weights of two models within TOL
same() {
	if ./thaw diff -q "$2" "$3" --tolerance "$4" >"$T/diff" 2>&1; then ok "$1: $(tail -n 1 "$T/diff")"
	else bad "$1" "$(tail -n 1 "$T/diff")"; fi
}

# ---- 2 ranks against one process: one SGD step at rate 1 over one batch
# of 192 (the change of the weights is the gradient), then 3 epochs of
# Adam with augmentation and synchronised batch norm
run1 one-step sgd1
run2 two-step sgd1
same "gradients of 2 ranks = one process's (SGD step at lr 1)" "$T/one-step/model.thaw" "$T/two-step/model.thaw" 1e-5
run1 one-train train
run2 two-train train
same "weights after 3 epochs: 2 ranks = one process" "$T/one-train/model.thaw" "$T/two-train/model.thaw" 1e-5
# 3 ranks: slices of 10 and 11 images, a reduction of three
timeout 60 mpirun -np 3 ./thaw run tests/mpi/equiv.lua --out "$T/three-train" -- train >"$T/three-train.log" 2>&1 ||
	bad "three-train (3 ranks)" "$(tail -n 3 "$T/three-train.log")"
same "weights after 3 epochs: 3 ranks = one process" "$T/one-train/model.thaw" "$T/three-train/model.thaw" 1e-5
grep -q "data-parallel over 2 MPI ranks" "$T/two-train.log" && ok "the log says how the batch is shared" ||
	bad "sharing line" "$(head -n 5 "$T/two-train.log")"
grep -q "^train epoch 3/3  loss $(sed -n 's/^train epoch 3\/3  loss \([0-9.]*\).*/\1/p' "$T/one-train.log") " "$T/two-train.log" &&
	ok "rank 0 reports the whole batch's loss (the same as one process)" ||
	bad "reported loss" "$(grep 'epoch 3/3' "$T/one-train.log" "$T/two-train.log")"
# per-rank batch statistics are another computation: not one process's
run2 two-local train local
if ./thaw diff -q "$T/one-train/model.thaw" "$T/two-local/model.thaw" --tolerance 1e-4 >"$T/diff"; then
	bad "bn_stats = local" "matches one process: $(tail -n 1 "$T/diff")"
else
	ok "bn_stats = \"local\": per-rank statistics differ from one process ($(sed 's/;.*//' "$T/diff" | tail -n 1))"
fi
# ---- the same seed and the same N: the same bits
run2 two-train-again train
same "2 ranks twice: the same weights, bit for bit" "$T/two-train/model.thaw" "$T/two-train-again/model.thaw" 0

# ---- only rank 0 writes and prints: each rank in its own working
# directory, each rank's output in its own files
mkdir -p "$T/w0" "$T/w1"
$MPIRUN --output-filename "$T/out" -np 1 -wdir "$T/w0" "$ROOT/thaw" run "$ROOT/tests/mpi/fault.lua" --out run -- ok : \
	-np 1 -wdir "$T/w1" "$ROOT/thaw" run "$ROOT/tests/mpi/fault.lua" --out run -- ok >"$T/mpmd.log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	bad "2 ranks in two folders" "exit $rc: $(tail -n 5 "$T/mpmd.log")"
else
	missing=""
	for f in model.thaw checkpoint.thaw phase-1.thaw phase-2.thaw metrics.csv metrics.jsonl loss.png summary.json \
		fault.lua saved-by-script.thaw; do
		[ -s "$T/w0/run/$f" ] || missing="$missing $f"
	done
	[ -z "$missing" ] && ok "rank 0 writes the run folder, checkpoints and the script's model" ||
		bad "rank 0's run folder" "missing:$missing"
	left=$(find "$T/w1" -mindepth 1 | head -n 5)
	[ -z "$left" ] && ok "rank 1 writes no file" || bad "rank 1 wrote files" "$left"
	r0=$(find "$T/out" -path '*rank.0*' -name stderr | head -n 1)
	r1=$(find "$T/out" -path '*rank.1*' -type f | head -n 2)
	if grep -q "tune epoch 3/3" "$r0" 2>/dev/null && grep -q "done on 2 ranks" "$(dirname "$r0")/stdout" 2>/dev/null ||
		grep -q "done on 2 ranks" "$r0" 2>/dev/null; then ok "rank 0 prints progress and the script's output"
	else bad "rank 0's output" "$(ls -R "$T/out" | head -n 8)"; fi
	quiet=1
	for f in $r1; do [ -s "$f" ] && quiet=0; done
	[ $quiet -eq 1 ] && ok "rank 1 prints nothing" || bad "rank 1 printed" "$(cat $r1 | head -n 3)"
fi

# ---- a rank that fails ends the job: a Lua error on rank 1, then rank 1
# leaving at once; timeout's 124 would mean a hang
$MPIRUN ./thaw run tests/mpi/fault.lua --out "$T/err" -- error >"$T/err.log" 2>&1
rc=$?
if [ $rc -eq 124 ]; then bad "a failing rank" "the job hung (killed after 60 s)"
elif [ $rc -eq 0 ]; then bad "a failing rank" "mpirun exited 0"
elif ! grep -q "rank 1 fails on purpose" "$T/err.log" || ! grep -q "rank 1 of 2 failed (exit 1)" "$T/err.log"; then
	bad "a failing rank's message" "$(tail -n 6 "$T/err.log")"
else ok "a script error on rank 1 ends the job (exit $rc), naming the rank and the error"; fi

$MPIRUN ./thaw run tests/mpi/fault.lua --out "$T/dead" -- exit >"$T/dead.log" 2>&1
rc=$?
if [ $rc -eq 124 ]; then bad "a rank that dies" "the job hung (killed after 60 s)"
elif [ $rc -ne 7 ]; then bad "a rank that dies" "exit $rc, wanted 7: $(tail -n 6 "$T/dead.log")"
elif ! grep -q "non-zero status" "$T/dead.log"; then bad "a rank that dies: message" "$(tail -n 6 "$T/dead.log")"
else ok "rank 1 dying (exit 7) ends the job with its code and OpenMPI's message"; fi

# ranks that no longer hold the same weights stop at the end of the epoch
$MPIRUN ./thaw run tests/mpi/fault.lua --out "$T/apart" -- diverge >"$T/apart.log" 2>&1
rc=$?
if [ $rc -eq 124 ] || [ $rc -eq 0 ]; then bad "ranks drifting apart" "exit $rc: $(tail -n 4 "$T/apart.log")"
elif ! grep -q "head: the weights of rank 1 differ from rank 0's" "$T/apart.log"; then
	bad "ranks drifting apart: message" "$(tail -n 6 "$T/apart.log")"
else ok "ranks given different learning rates stop after the first epoch, naming rank 1"; fi

# ---- resume after the death: from the last checkpoint, to the weights of
# the uninterrupted run above
if [ -s "$T/dead/checkpoint.thaw" ]; then
	$MPIRUN ./thaw run tests/mpi/fault.lua --resume "$T/dead" -- ok >"$T/resume.log" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then bad "resume under MPI" "exit $rc: $(tail -n 4 "$T/resume.log")"
	elif ! grep -q "resume: phase 2 ('tune') continues at epoch 2" "$T/resume.log"; then
		bad "resume point" "$(grep resume "$T/resume.log" | head -n 3)"
	else
		ok "resume under MPI continues phase 2 at epoch 2"
		[ -s "$T/w0/run/model.thaw" ] &&
			same "resumed = uninterrupted, bit for bit" "$T/w0/run/model.thaw" "$T/dead/model.thaw" 0
	fi
else
	bad "checkpoint before the death" "no $T/dead/checkpoint.thaw"
fi

# ---- Ctrl-C to mpirun (it passes SIGTERM on): the ranks stop after the
# same batch, rank 0 writes the checkpoint, and resume ends as the
# uninterrupted run did
$MPIRUN ./thaw run tests/mpi/fault.lua --out "$T/int" -- signal "$T/int.mark" >"$T/int.log" 2>&1 &
pid=$!
k=0
while [ ! -e "$T/int.mark" ] && [ $k -lt 600 ] && kill -0 $pid 2>/dev/null; do sleep 0.1; k=$((k + 1)); done
# to mpirun itself ($pid is timeout's; a background job of a
# non-interactive shell may start with SIGINT ignored, which timeout keeps)
mp=$(pgrep -P $pid mpirun)
kill -INT ${mp:-$pid} 2>/dev/null
wait $pid
rc=$?
if [ ! -e "$T/int.mark" ]; then bad "Ctrl-C under mpirun" "the run never reached phase 2, epoch 2: $(tail -n 3 "$T/int.log")"
elif [ $rc -eq 0 ] || [ $rc -eq 124 ]; then bad "Ctrl-C under mpirun" "exit $rc"
elif ! grep -q "interrupted: checkpoint at tune, epoch 2" "$T/int.log" ||
	! grep -q "rank 0 of 2 interrupted (exit 130)" "$T/int.log"; then
	bad "Ctrl-C under mpirun: checkpoint" "$(grep -i 'interrupt\|rank' "$T/int.log" | head -n 4)"
else
	ok "Ctrl-C to mpirun: both ranks stop after one batch, rank 0 writes the checkpoint (exit $rc)"
	$MPIRUN ./thaw run tests/mpi/fault.lua --resume "$T/int" -- ok >"$T/int2.log" 2>&1 ||
		bad "resume after Ctrl-C" "$(tail -n 3 "$T/int2.log")"
	[ -s "$T/w0/run/model.thaw" ] &&
		same "resumed after Ctrl-C = uninterrupted, bit for bit" "$T/w0/run/model.thaw" "$T/int/model.thaw" 0
fi

# ---- thaw train: one saved model, one report
$MPIRUN ./thaw train --data synth:300 --epochs 2 --batch 32 -o "$T/train.thaw" >"$T/train.log" 2>&1
rc=$?
n=$(grep -c "^val_accuracy" "$T/train.log")
if [ $rc -ne 0 ]; then bad "thaw train on 2 ranks" "exit $rc: $(tail -n 4 "$T/train.log")"
elif [ "$n" -ne 1 ] || [ "$(grep -c "^saved $T/train.thaw" "$T/train.log")" -ne 1 ]; then
	bad "thaw train on 2 ranks" "reported $n times: $(tail -n 4 "$T/train.log")"
else ok "thaw train on 2 ranks: one report, one model"; fi

report
