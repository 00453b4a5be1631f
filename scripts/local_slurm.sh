#!/usr/bin/env bash
# A single-node Slurm on this machine, for trying and testing Sweep.py --executor slurm.
#
#   scripts/local_slurm.sh start   # installs slurm-wlm and munge (Debian) if missing, starts munged, slurmctld, slurmd
#   export SLURM_CONF=/tmp/local-slurm/slurm.conf     # what start prints: sbatch, squeue, ... then use this cluster
#   scripts/local_slurm.sh stop    # cancels its jobs and stops exactly the daemons that start started (by pid)
#
# Needs root. Everything lives under LOCAL_SLURM_DIR (default /tmp/local-slurm): the configuration, the munge key
# and socket, pid files, logs, state and spool. The node is this machine's host name with CPUs=2 (LOCAL_SLURM_CPUS);
# one partition, `debug`. start is idempotent: a cluster already running is left as it is.
set -euo pipefail

STATE=${LOCAL_SLURM_DIR:-/tmp/local-slurm}
CPUS=${LOCAL_SLURM_CPUS:-2}
CONF=$STATE/slurm.conf
NODE=$(hostname -s)

say() { echo "local_slurm.sh: $*"; }
die() { echo "local_slurm.sh: error: $*" >&2; exit 1; }

alive() {  # alive NAME: the daemon NAME started by this script is running
    local pid
    pid=$(cat "$STATE/$1.pid" 2>/dev/null) || return 1
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && grep -q "$1" "/proc/$pid/comm" 2>/dev/null
}

install_packages() {
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
        && command -v sbatch >/dev/null && return 0
    command -v apt-get >/dev/null || die "slurm-wlm and munge are missing and there is no apt-get to install them."
    say "installing slurm-wlm and munge (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    local install=(timeout 300 apt-get install -y -q --no-install-recommends slurm-wlm munge)
    if ! "${install[@]}" >"$STATE/apt.log" 2>&1; then
        timeout 300 apt-get update -q >>"$STATE/apt.log" 2>&1 || true
        "${install[@]}" >>"$STATE/apt.log" 2>&1 \
            || die "could not install slurm-wlm and munge (see $STATE/apt.log)."
    fi
}

write_configuration() {
    cat >"$CONF" <<EOF
ClusterName=localslurm
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$STATE/munge/munge.socket,cred_expire=5
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
MailProg=/bin/true
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
KillWait=30
MinJobAge=600
NodeName=$NODE CPUs=$CPUS State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
    alive munged && return 0
    mkdir -p "$STATE/munge"
    [[ -s $STATE/munge/munge.key ]] || mungekey --create --keyfile="$STATE/munge/munge.key"
    chown -R munge: "$STATE/munge"
    chmod 711 "$STATE/munge"  # clients reach the socket inside; nobody else may list or write
    chmod 600 "$STATE/munge/munge.key"
    # munged refuses a pid file or socket in a folder others may write to, so all of it is in munge/
    runuser -u munge -- munged --key-file="$STATE/munge/munge.key" --socket="$STATE/munge/munge.socket" \
        --pid-file="$STATE/munge/munged.pid" --log-file="$STATE/munge/munged.log" \
        --seed-file="$STATE/munge/munged.seed" || abort_start "munged did not start (see $STATE/munge/munged.log)."
    ln -sf "$STATE/munge/munged.pid" "$STATE/munged.pid"
}

wait_until() {  # wait_until SECONDS COMMAND...: true once COMMAND succeeds
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

node_ready() { [[ $(SLURM_CONF=$CONF sinfo -h -n "$NODE" -o %t 2>/dev/null) =~ ^(idle|mix|alloc) ]]; }

abort_start() {  # a failed start leaves no daemon of its own behind
    stop_daemons slurmd slurmctld munged
    die "$@"
}

start() {
    [[ $(id -u) == 0 ]] || die "needs root (it starts slurmctld and slurmd as root)."
    if alive slurmctld && alive slurmd && alive munged; then
        say "already running ($CONF); export SLURM_CONF=$CONF"
        return 0
    fi
    mkdir -p "$STATE/state" "$STATE/spool"
    install_packages
    write_configuration
    start_munge
    alive slurmctld || slurmctld -f "$CONF" || abort_start "slurmctld did not start (see $STATE/slurmctld.log)."
    alive slurmd || slurmd -f "$CONF" || abort_start "slurmd did not start (see $STATE/slurmd.log)."
    local deadline=$((SECONDS + 30))
    until node_ready; do
        alive slurmctld || abort_start "slurmctld stopped right after it started (see $STATE/slurmctld.log)."
        alive slurmd || abort_start "slurmd stopped right after it started (see $STATE/slurmd.log)."
        ((SECONDS < deadline)) || abort_start "the node did not come up within 30 s (see $STATE/slurmctld.log)."
        sleep 0.2
    done
    say "running: partition debug, node $NODE ($CPUS CPUs); export SLURM_CONF=$CONF"
}

stop_daemons() {  # stop_daemons NAME...: SIGTERM to each that runs, SIGKILL to any still there after 15 s
    local name pids=()
    for name in "$@"; do
        alive "$name" && pids+=("$(cat "$STATE/$name.pid")")
    done
    if ((${#pids[@]})); then
        kill -TERM "${pids[@]}" 2>/dev/null || true
        wait_until 15 bash -c "! kill -0 ${pids[*]} 2>/dev/null" || kill -KILL "${pids[@]}" 2>/dev/null || true
    fi
    for name in "$@"; do
        rm -f "$STATE/$name.pid"
    done
}

stop() {
    if alive slurmctld; then  # the jobs first, so that no step daemon outlives slurmd
        SLURM_CONF=$CONF scancel --full --signal=KILL --state=RUNNING --user="$(id -un)" >/dev/null 2>&1 || true
        SLURM_CONF=$CONF scancel --user="$(id -un)" >/dev/null 2>&1 || true
        wait_until 30 bash -c "[[ -z \$(SLURM_CONF=$CONF squeue -h -o %i 2>/dev/null | head -c1) ]]" || true
    fi
    stop_daemons slurmd slurmctld
    stop_daemons munged
    say "stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) die "usage: $0 start|stop" ;;
esac
