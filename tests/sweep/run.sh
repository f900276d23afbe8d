#!/bin/sh
# thaw sweep end to end. --local always: a grid of small points (one of
# them failing), the table, CSV and PNG, Ctrl-C and a re-run that skips
# what finished and resumes what was interrupted. --slurm on a one-node
# Slurm cluster this script starts as root under a temporary directory
# (tests/sweep/slurm-cluster.sh) and stops afterwards; skipped with a
# message when that cannot be. Last line: `N passed, N failed`.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
. tests/sweep/slurm-cluster.sh
suite_init sweep
T=$SUITE_TMP
at_exit cluster_stop
# a sweep that hangs fails its case instead of the whole suite
EXPECT_WRAP="timeout 120"
check() { # check NAME CONDITION-COMMAND...
	name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name" "$*"; fi
}
mtime() { stat -c %y "$1" 2>/dev/null; }

P=tests/sweep/point.lua
S=$T/local
# ---- --local: 6 points, 2 of them failing (lr=bad is not a number)
expect "local sweep: the failing points are named with exit code and log" 1 \
	"lr=bad epochs=1: FAILED: error (exit 1); log $S/points/004-lr=bad-epochs=1/log.txt" -- \
	./thaw sweep $P --grid lr=1e-3,3e-3,bad --grid epochs=1,2 --local 2 --out "$S" --metric val.loss -- extra
cp "$T/out" "$T/first"
check "the others went on and finished" [ "$(grep -c ': ok$' "$T/first")" -eq 4 ]
check "manifest records grid and points" \
	sh -c "grep -q '^grid	lr	1e-3	3e-3	bad\$' '$S/manifest.tsv' && [ \$(grep -c '^point	' '$S/manifest.tsv') -eq 6 ]"
check "a point's folder is a run folder" grep -q '"status": "ok"' "$S/points/003-lr=3e-3-epochs=2/summary.json"
check "arg holds the script arguments then NAME=VALUE" \
	grep -q "arg extra lr=3e-3 epochs=2 params lr=0.003" "$S/points/003-lr=3e-3-epochs=2/log.txt"
check "the failing point's log has the script error" \
	grep -q "point.lua:10: option 'lr' must be a number (got string)" "$S/points/005-lr=bad-epochs=2/log.txt"
check "results.csv: a header and a row per point" [ "$(wc -l <"$S/results.csv")" -eq 7 ]
check "results.csv has the parameters and every summary number" \
	sh -c "head -n 1 '$S/results.csv' | grep -q '^point,folder,repeat,seed,lr,epochs,status,exit_code,.*val.loss'"
check "results.png is a PNG" is_png "$S/results.png"
# the table: ok points sorted by val.loss, lowest first, failures last
awk '$1 ~ /^[0-9]+$/ && $4 == "ok" { print $5 }' "$S/results.txt" >"$T/losses"
check "the table is sorted by the metric" sh -c "[ \$(wc -l <'$T/losses') -eq 4 ] && sort -g -c '$T/losses'"
check "failed points come last in the table" sh -c "tail -n +3 '$S/results.txt' | sed -n 5,6p | grep -c 'error (exit 1)' | grep -q 2"
ok_log=$S/points/000-lr=1e-3-epochs=1/log.txt
before=$(mtime "$ok_log")
expect "re-run: the finished points are skipped" 1 "(4 finished before: skipped)" -- \
	./thaw sweep $P --grid lr=1e-3,3e-3,bad --grid epochs=1,2 --local 2 --out "$S" --metric val.loss -- extra
check "re-run started only the 2 unfinished points" [ "$(grep -c 'thaw sweep: start' "$T/out")" -eq 2 ]
check "re-run left a finished point's folder alone" [ "$(mtime "$ok_log")" = "$before" ]
expect "another grid in the same folder is refused" 1 "holds another sweep (its grid is lr=1e-3,3e-3,bad epochs=1,2)" -- \
	./thaw sweep $P --grid lr=1e-3 --out "$S"
expect "--collect redoes the table" 1 "6 points (4 ok, 2 failed, 0 not finished); val.accuracy" -- \
	./thaw sweep --collect "$S"
expect "--collect with an unknown metric lists the known ones" 1 "no summary has it; they have" -- \
	./thaw sweep --collect "$S" --metric nope
expect "bad grid: no values" 1 "--grid lr=: lr: an empty value" -- ./thaw sweep $P --grid lr= --out "$T/x"
expect "bad grid: a value twice" 1 "value '1' given twice" -- ./thaw sweep $P --grid k=1,1 --out "$T/x"
expect "positional parameter beyond the arguments" 1 "arg\[3\] would leave a gap" -- \
	./thaw sweep $P --grid 3=a,b --out "$T/x"
check "a refused sweep leaves no folder" [ ! -e "$T/x" ]
expect "--collect of a folder that is no sweep" 1 "is $T a sweep folder" -- ./thaw sweep --collect "$T"

# ---- positional grid values, repeats, and the MPI launcher's command line
cat >"$T/fake-mpirun" <<EOF
#!/bin/sh
# stands in for mpirun: records its arguments, runs the command after -np N
echo "\$@" >>"$T/mpirun.args"
shift 2
exec "\$@"
EOF
chmod +x "$T/fake-mpirun"
expect "--mpi with a launcher, --repeat 2: seeds 1 and 2" 0 "2 points (2 ok, 0 failed" -- \
	./thaw sweep $P --grid 1=7 --repeat 2 --mpi 2 --launcher "$T/fake-mpirun -np 2" --out "$T/mpi"
check "each point ran under the launcher" \
	[ "$(grep -c -- '^-np 2 .*/thaw run .*point.lua --out .* --seed [12] -- 7$' "$T/mpirun.args")" -eq 2 ]
check "repeats get their own folders" [ -f "$T/mpi/points/001-1=7-r2/summary.json" ]

# ---- --mpi N for real, where thaw is built with MPI: mpirun -np 2 here
# (as root OpenMPI wants these two variables)
MPI_OK=0
if ./thaw --version 2>/dev/null | grep -q '^mpi: [^n]' && command -v mpirun >/dev/null 2>&1; then
	MPI_OK=1
	expect "--mpi 2 --local: a point trains on 2 ranks under mpirun" 0 "1 point (1 ok, 0 failed" -- \
		env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
		./thaw sweep $P --grid lr=1e-3 --mpi 2 --out "$T/realmpi"
	check "  its log: mpirun -np 2, rank 0 of 2 reporting" \
		sh -c "grep -q 'point 0: mpirun -np 2 ' '$T/realmpi/points/000-lr=1e-3/log.txt' && grep -q '^mpi rank 0 of 2\$' '$T/realmpi/points/000-lr=1e-3/log.txt'"
else
	echo "skip --mpi with real ranks: thaw is built without MPI or mpirun is missing"
fi

# ---- Ctrl-C: the running point writes its checkpoint; a re-run resumes it
I=$T/int
./thaw sweep $P --grid epochs=60 --grid lr=1e-3 --out "$I" >"$T/int.out" 2>&1 &
sp=$!
i=0
while [ $i -lt 200 ] && [ "$(cat "$I/points/000-epochs=60-lr=1e-3/metrics.csv" 2>/dev/null | wc -l)" -lt 2 ]; do
	sleep 0.05
	i=$((i + 1))
done
kill -INT $sp
wait $sp
rc=$?
check "Ctrl-C stops the sweep: exit 130" [ $rc -eq 130 ]
check "the point was interrupted with a checkpoint" \
	sh -c "grep -q '\"status\": \"interrupted\"' '$I/points/000-epochs=60-lr=1e-3/summary.json' && [ -f '$I/points/000-epochs=60-lr=1e-3/checkpoint.thaw' ]"
expect "re-run resumes the interrupted point" 0 "1 point (1 ok, 0 failed" -- \
	./thaw sweep $P --grid epochs=60 --grid lr=1e-3 --out "$I"
check "from its checkpoint" grep -q -- "--resume $I/points/000-epochs=60-lr=1e-3" "$I/points/000-epochs=60-lr=1e-3/log.txt"

# ---- Slurm
if ! cluster_start "$T/slurm"; then
	echo "skip Slurm tests: $CLUSTER_WHY"
else
	W=$T/slurm-sweep
	hold=$T/hold
	touch "$hold"
	export SWEEP_HOLD=$hold
	# points 1 and 3 (slow=1) wait while $hold exists; 0 and 2 finish
	expect "--slurm submits one array job" 0 "submitted job [0-9]*: 4 tasks" -- \
		./thaw sweep $P --grid lr=1e-3,3e-3 --grid slow=0,1 --slurm --cpus-per-task 1 --time 5 \
		--no-watch --out "$W"
	job=$(sed -n 's/.*submitted job \([0-9]*\).*/\1/p' "$T/out")
	check "the batch script passes the options and runs the wrapper" \
		sh -c "grep -q '^#SBATCH --cpus-per-task=1' '$W/sweep.sbatch' && grep -q '^#SBATCH --time=5' '$W/sweep.sbatch' && grep -q 'sweep --point' '$W/sweep.sbatch'"
	i=0
	while [ $i -lt 240 ] && ! { [ -f "$W/points/000-lr=1e-3-slow=0/exit" ] && [ -f "$W/points/002-lr=3e-3-slow=0/exit" ]; }; do
		sleep 0.25
		i=$((i + 1))
	done
	check "two points finished on Slurm" grep -q '"status": "ok"' "$W/points/002-lr=3e-3-slow=0/summary.json"
	expect "--collect while the job runs: the waiting point is running in Slurm" 1 \
		"lr=1e-3 slow=1  running (Slurm)" -- ./thaw sweep --collect "$W"
	scancel "$job"
	i=0
	while [ $i -lt 120 ] && [ -n "$(squeue -h -j "$job" 2>/dev/null)" ]; do
		sleep 0.25
		i=$((i + 1))
	done
	check "scancel ended the job" [ -z "$(squeue -h -j "$job" 2>/dev/null)" ]
	# point 3 was still pending (not run) or waiting (killed) when cancelled
	expect "--collect after the cancel: finished points intact" 1 "4 points (2 ok, " -- \
		./thaw sweep --collect "$W"
	check "the cancelled points are not ok" \
		sh -c "grep -Eq '^ *[0-9]  lr=1e-3 slow=1  (killed|interrupted)' '$T/out' && grep -Eq '^ *[0-9]  lr=3e-3 slow=1  (killed|interrupted|not run)' '$T/out'"
	# scancel's SIGTERM stops thaw run as Ctrl-C does (exit 130, after a
	# checkpoint) or, when it comes too late, Slurm's SIGKILL ends it
	check "the cancelled running point is stopped, its log named" \
		sh -c "grep -Eq 'lr=1e-3 slow=1: (killed|interrupted)' '$T/out' && grep -q 'log $W/points/001-lr=1e-3-slow=1/log.txt' '$T/out'"
	ok_log=$W/points/000-lr=1e-3-slow=0/log.txt
	before=$(mtime "$ok_log")
	rm -f "$hold"
	expect "re-run on Slurm: finished points skipped, the rest run, watched with squeue" 0 \
		"4 points (4 ok, 0 failed, 0 not finished)" -- \
		./thaw sweep $P --grid lr=1e-3,3e-3 --grid slow=0,1 --slurm --cpus-per-task 1 --time 5 --out "$W"
	check "only the 2 cancelled points were submitted" grep -q "submitted job [0-9]*: 2 tasks" "$T/out"
	check "squeue progress was shown" grep -q "running, [0-9]* pending" "$T/out"
	check "the finished point was not run again" [ "$(mtime "$ok_log")" = "$before" ]
	expect "a third run submits nothing" 0 "nothing submitted" -- \
		./thaw sweep $P --grid lr=1e-3,3e-3 --grid slow=0,1 --slurm --out "$W"
	if [ $MPI_OK -eq 1 ]; then
		expect "--mpi 2 --slurm: a point trains on 2 ranks under srun --mpi=pmix" 0 "1 point (1 ok, 0 failed" -- \
			./thaw sweep $P --grid lr=1e-3 --mpi 2 --slurm --out "$T/slurm-mpi"
		check "  --ntasks=2 in the batch script; srun --mpi=pmix -n 2, rank 0 of 2 in its log" \
			sh -c "grep -q '^#SBATCH --ntasks=2\$' '$T/slurm-mpi/sweep.sbatch' && grep -q 'point 0: srun --mpi=pmix -n 2 ' '$T/slurm-mpi/points/000-lr=1e-3/log.txt' && grep -q '^mpi rank 0 of 2\$' '$T/slurm-mpi/points/000-lr=1e-3/log.txt'"
	fi
fi

report
