# A one-node Slurm cluster for tests, sourced by run.sh: munged with its own
# key and socket, slurmctld and slurmd on localhost with 2 CPUs and ports of
# their own, every file under $1. Needs root (slurmd runs jobs as their
# users). cluster_start DIR: 0 when sinfo shows the node idle, else 1 with
# the reason in $CLUSTER_WHY; cluster_stop ends the daemons it started (by
# their pid files) and nothing else. Clients find the cluster through
# SLURM_CONF, which cluster_start exports.

CLUSTER_DIR=
CLUSTER_WHY=

# A free TCP port pair from 20000..59999, from the pid so that parallel
# test runs differ.
cluster_ports() {
	p=$((20000 + ($$ * 7) % 40000))
	i=0
	while [ $i -lt 50 ]; do
		if ! ss -ltnH 2>/dev/null | awk '{print $4}' | grep -Eq ":($p|$((p + 1)))\$"; then
			echo $p
			return 0
		fi
		p=$((p + 2))
		[ $p -ge 59998 ] && p=20000
		i=$((i + 1))
	done
	return 1
}

cluster_start() {
	CLUSTER_DIR=$1
	if [ "$(id -u)" -ne 0 ]; then
		CLUSTER_WHY="not root (slurmd must run as root)"
		return 1
	fi
	for b in munged mungekey slurmctld slurmd sbatch squeue scancel sinfo; do
		if ! command -v $b >/dev/null 2>&1 && [ ! -x /usr/sbin/$b ]; then
			CLUSTER_WHY="$b not installed (scripts/install-deps installs slurmctld, slurmd, slurm-client, munge)"
			return 1
		fi
	done
	PATH=$PATH:/usr/sbin
	D=$CLUSTER_DIR
	mkdir -p "$D/munge" "$D/ctld" "$D/d" || return 1
	chmod 700 "$D/munge"
	if ! mungekey --create --keyfile="$D/munge/munge.key" --force >"$D/munge.out" 2>&1; then
		CLUSTER_WHY="mungekey failed: $(tail -n 1 "$D/munge.out")"
		return 1
	fi
	chmod 600 "$D/munge/munge.key"
	if ! munged --socket="$D/munge/sock" --key-file="$D/munge/munge.key" --pid-file="$D/munge.pid" \
		--log-file="$D/munge.log" --seed-file="$D/munge/seed" --force >>"$D/munge.out" 2>&1; then
		CLUSTER_WHY="munged failed: $(tail -n 2 "$D/munge.log" "$D/munge.out" 2>/dev/null | tr '\n' ' ')"
		return 1
	fi
	port=$(cluster_ports) || {
		CLUSTER_WHY="no free port pair"
		return 1
	}
	host=$(hostname -s)
	cat >"$D/slurm.conf" <<EOF
ClusterName=thawtest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$D/munge/sock
CredType=cred/munge
StateSaveLocation=$D/ctld
SlurmdSpoolDir=$D/d
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
KillWait=5
MinJobAge=10
SchedulerParameters=sched_interval=2
NodeName=thawnode NodeHostname=$host NodeAddr=127.0.0.1 CPUs=2 RealMemory=500 State=UNKNOWN
PartitionName=thawtest Nodes=thawnode Default=YES MaxTime=INFINITE State=UP
EOF
	export SLURM_CONF="$D/slurm.conf"
	if ! slurmctld -i >"$D/slurmctld.out" 2>&1 || ! slurmd -N thawnode >"$D/slurmd.out" 2>&1; then
		CLUSTER_WHY="slurmctld or slurmd did not start: $(cat "$D"/slurm*.out | tail -n 2 | tr '\n' ' ')"
		return 1
	fi
	i=0
	while [ $i -lt 60 ]; do
		if sinfo -h -o '%T' 2>/dev/null | grep -q '^idle'; then
			return 0
		fi
		sleep 0.25
		i=$((i + 1))
	done
	CLUSTER_WHY="the node did not come up in 15 s: $(tail -n 2 "$D/slurmctld.log" "$D/slurmd.log" 2>/dev/null | tr '\n' ' ')"
	return 1
}

cluster_stop() {
	[ -n "$CLUSTER_DIR" ] || return 0
	for f in slurmd.pid slurmctld.pid munge.pid; do
		if [ -s "$CLUSTER_DIR/$f" ]; then
			kill "$(cat "$CLUSTER_DIR/$f")" 2>/dev/null
		fi
	done
	# wait (briefly) for them to go, so the directory can be removed
	i=0
	while [ $i -lt 20 ]; do
		alive=0
		for f in slurmd.pid slurmctld.pid munge.pid; do
			pid=$(cat "$CLUSTER_DIR/$f" 2>/dev/null)
			# a zombie is gone (this container's init may never reap it)
			if [ -n "$pid" ] && [ -r /proc/$pid/stat ] && ! grep -q ') Z ' /proc/$pid/stat; then
				alive=1
			fi
		done
		[ $alive -eq 0 ] && break
		sleep 0.25
		i=$((i + 1))
	done
	CLUSTER_DIR=
}
