# slurm_env.sh: start a private one-node Slurm cluster for a test, and stop it.
#
# Use (bash; the library sets no shell options and works under set -eu):
#
#   . tests/slurm/slurm_env.sh
#   work=$(mktemp -d)
#   trap 'slurm_env_stop' EXIT
#   slurm_env_start "$work" || exit $?      # 77: skip (reason on stderr), 1: failure
#   jobid=$(sbatch --parsable --array=0-2 job.sh)
#   slurm_wait_jobs "$jobid" 60
#   slurm_env_stop
#
# What it starts, all from the calling shell, all as the calling user, no systemd:
#   munged     with its own key, socket, pid, seed and log files under WORKDIR;
#   slurmctld  and slurmd in the foreground (-D), sent to the background, with a
#              slurm.conf written to WORKDIR/slurm.conf: one node named "localhost"
#              (slurmd falls back to that name whatever `hostname -s` says) at
#              127.0.0.1 with CPUs=$(nproc), one partition "debug", cons_tres with
#              CR_Core (one array task per CPU at once), no cgroups
#              (proctrack/linuxproc, task/none), no accounting, two free TCP ports
#              picked at random outside the defaults (6817/6818) and the ephemeral
#              range, so it never meets a real Slurm on the machine.
# The daemons are children of the calling shell; their PIDs are kept in
# SLURM_ENV_PIDS (and WORKDIR/daemons.pid) and slurm_env_stop signals exactly
# those, after cancelling this cluster's jobs.  SLURM_CONF is exported so that
# sbatch, squeue, scancel, sinfo and scontrol in the calling shell (and the jobs,
# which inherit it) talk to this cluster; slurm.conf's AuthInfo=socket=... points
# Slurm (daemons and clients) at the private munge socket.  SLURM_ENV_MUNGE_SOCKET
# holds that path for `munge -S`.
#
# Unix socket paths are limited to 107 bytes: munged's socket and slurmd's spool
# (which holds one socket per job step, named NODE_JOBID.STEPID) go to WORKDIR/run
# when that path is short, else to a fresh short directory /tmp/slurm-env.XXXXXX
# that slurm_env_stop removes.
#
# Needs: bash, coreutils, and Debian 12's packages slurmctld, slurmd, slurm-client
# and munge (22.05); sacct is not used (no accounting: finished jobs are read
# with squeue/scontrol for MinJobAge=300 s).  Runs as root or as any other user
# (SlurmUser and SlurmdUser are set to the calling user; a non-root cluster can
# only run that user's jobs).
#
# Functions:
#   slurm_env_start WORKDIR   start; 0 when the node is idle; 77 with a one-line
#                             reason on stderr (after the daemons' log tails)
#                             when Slurm/munge are missing or a daemon exits
#                             while starting (1 instead if SLURM_ENV_REQUIRE=1);
#                             1 when the node is not idle within 60 s.
#   slurm_env_stop            cancel this cluster's jobs, then TERM (KILL after
#                             10 s) the PIDs started; safe to call twice, or
#                             from an EXIT trap, or when start failed.
#   slurm_wait_jobs JOBID [TIMEOUT]
#                             wait (default 120 s) until no task of JOBID is
#                             pending, running or completing; 1 on timeout.
#
# Set SLURM_ENV_REQUIRE=1 where Slurm must work (CI that installed it): every
# skip (77) becomes a failure (1).

SLURM_ENV_PIDS=()        # PIDs of the daemons this library started, in start order
SLURM_ENV_NAMES=()       # their program names, to check a PID before signalling it
SLURM_ENV_DIR=           # WORKDIR, absolute
SLURM_ENV_RUNDIR=        # where the Unix sockets live
SLURM_ENV_RUNDIR_OWNED=  # 1 when RUNDIR is a /tmp directory made here (removed on stop)
SLURM_ENV_MUNGE_SOCKET=
SLURM_ENV_NODE=localhost
SLURM_ENV_PARTITION=debug
_SLURM_ENV_OLD_CONF=     # SLURM_CONF before start, restored by stop
_SLURM_ENV_HAD_CONF=

# Path of a program: PATH first, then the sbin directories a non-root PATH lacks.
_slurm_env_which() {
    local p
    p=$(command -v "$1" 2>/dev/null) && { printf '%s\n' "$p"; return 0; }
    for p in /usr/sbin/"$1" /sbin/"$1" /usr/local/sbin/"$1"; do
        [ -x "$p" ] && { printf '%s\n' "$p"; return 0; }
    done
    return 1
}

# True while PID is alive and not a zombie.
_slurm_env_alive() {
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 0
    [ "$state" != Z ]
}

# True when some socket on the machine uses TCP port $1 (listening or not).
_slurm_env_port_used() {
    local hex
    hex=$(printf '%04X' "$1")
    if [ -r /proc/net/tcp ]; then
        cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
            awk -v h="$hex" '{ split($2, a, ":"); if (a[2] == h) f = 1 } END { exit !f }'
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# A free port in 20000-32767: below Linux's ephemeral range (32768-60999), far
# from Slurm's defaults, and not $1 (the other port already picked).
_slurm_env_free_port() {
    local p i
    for i in $(seq 1 200); do
        p=$((20000 + (RANDOM % 12768)))
        [ "$p" != "${1:-}" ] && ! _slurm_env_port_used "$p" && { echo "$p"; return 0; }
    done
    return 1
}

_slurm_env_log_tails() {
    local f
    for f in "$SLURM_ENV_DIR"/log/*.out; do   # stdout+stderr: all of the log, and early fatal errors
        [ -s "$f" ] || continue
        echo "--- tail of $f" >&2
        tail -n 15 "$f" >&2
    done
}

# Start one daemon in the background with umask 077; record its PID.
_slurm_env_spawn() {
    local name=$1 log=$2
    shift 2
    ( umask 077; exec "$@" ) </dev/null >>"$log" 2>&1 &
    SLURM_ENV_PIDS+=("$!")
    SLURM_ENV_NAMES+=("$name")
    echo "$! $name" >>"$SLURM_ENV_DIR/daemons.pid"
}

# Name of the first started daemon that has exited; 1 when all are alive.
_slurm_env_dead() {
    local i
    for i in "${!SLURM_ENV_PIDS[@]}"; do
        _slurm_env_alive "${SLURM_ENV_PIDS[i]}" || { echo "${SLURM_ENV_NAMES[i]}"; return 0; }
    done
    return 1
}

# Wait up to $1 s for the command "$2..." to succeed while all daemons live.
# 0: it succeeded; 1: time ran out; 2: a daemon exited.
_slurm_env_until() {
    local secs=$1 i
    shift
    for i in $(seq 1 $((secs * 5))); do
        "$@" >/dev/null 2>&1 && return 0
        _slurm_env_dead >/dev/null && return 2
        sleep 0.2
    done
    return 1
}

# A daemon could not run here: skip (77), or fail (1) where SLURM_ENV_REQUIRE=1
# says Slurm must work (CI, after installing it).
_slurm_env_skip() {
    _slurm_env_log_tails
    echo "slurm_env: skipped: $*" >&2
    slurm_env_stop
    [ "${SLURM_ENV_REQUIRE:-0}" = 1 ] && return 1
    return 77
}

_slurm_env_node_idle() {
    [ "$(sinfo -h -N -n "$SLURM_ENV_NODE" -o %T 2>/dev/null)" = idle ]
}

# PIDs of processes of this cluster that outlived slurmd: each slurmstepd
# (detached from slurmd, so no child of ours) whose environment, inherited from
# our slurmd, names this cluster's slurm.conf, and the stepd's descendants (the
# job's processes).
_slurm_env_strays() {
    local d pid st ppid q
    local -a stepds=()
    local -A kids=()
    [ -n "$SLURM_ENV_DIR" ] || return 0
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        st=$(cat "$d/stat" 2>/dev/null) || continue
        read -r _ ppid _ <<<"${st##*) }"     # fields after "(comm) ": state ppid
        kids[$ppid]+=" $pid"
        [ "$(cat "$d/comm" 2>/dev/null || true)" = slurmstepd ] &&
            grep -qzxF "SLURM_CONF=$SLURM_ENV_DIR/slurm.conf" "$d/environ" 2>/dev/null &&
            stepds+=("$pid")
    done
    q=${stepds[*]:-}
    while [ -n "${q// /}" ]; do          # breadth first, stepds before their jobs
        # shellcheck disable=SC2086   # split the PID list on purpose
        set -- $q
        q=
        for pid; do
            echo "$pid"
            q+=" ${kids[$pid]:-}"
        done
    done
}

slurm_env_start() {
    local work=${1:?usage: slurm_env_start WORKDIR}
    local prog user mem cpus ctld_port slurmd_port conf spool mk i
    local -A bin=()

    if [ "${#SLURM_ENV_PIDS[@]}" -gt 0 ]; then
        echo "slurm_env_start: already started (PIDs ${SLURM_ENV_PIDS[*]})" >&2
        return 1
    fi
    for prog in munged slurmctld slurmd sbatch squeue scancel sinfo scontrol; do
        bin[$prog]=$(_slurm_env_which "$prog") || {
            echo "slurm_env: skipped: $prog not found (Debian: apt-get install slurmctld slurmd slurm-client munge)" >&2
            [ "${SLURM_ENV_REQUIRE:-0}" = 1 ] && return 1
            return 77
        }
    done
    # Jobs and clients in this shell must find the client programs in PATH.
    command -v sbatch >/dev/null || PATH=$(dirname "${bin[sbatch]}"):$PATH

    mkdir -p "$work" && SLURM_ENV_DIR=$(cd "$work" && pwd -P) || return 1
    # shellcheck disable=SC2174   # -m is for these, not for their existing parent
    mkdir -m 0700 -p "$SLURM_ENV_DIR/log" "$SLURM_ENV_DIR/state" "$SLURM_ENV_DIR/munge" || return 1
    : >"$SLURM_ENV_DIR/daemons.pid"

    # Longest socket: SPOOL/localhost_JOBID.STEPID with two 10-digit numbers
    # (RUNDIR + 40 bytes); munged's is RUNDIR/munge.socket (RUNDIR + 13).
    SLURM_ENV_RUNDIR=$SLURM_ENV_DIR/run
    SLURM_ENV_RUNDIR_OWNED=
    if [ $(( ${#SLURM_ENV_RUNDIR} + 40 )) -gt 100 ]; then
        SLURM_ENV_RUNDIR=$(mktemp -d /tmp/slurm-env.XXXXXX) || return 1
        SLURM_ENV_RUNDIR_OWNED=1
    fi
    spool=$SLURM_ENV_RUNDIR/slurmd
    # shellcheck disable=SC2174
    mkdir -m 0700 -p "$SLURM_ENV_RUNDIR" "$spool" || return 1
    chmod 0700 "$SLURM_ENV_RUNDIR"   # munged refuses a socket dir others may write
    SLURM_ENV_MUNGE_SOCKET=$SLURM_ENV_RUNDIR/munge.socket

    # munge: a private key (munged insists on owner-only permissions) and daemon.
    local key=$SLURM_ENV_DIR/munge/munge.key
    if mk=$(_slurm_env_which mungekey); then
        "$mk" --create --keyfile="$key" || return 1
    else
        dd if=/dev/urandom of="$key" bs=1024 count=1 status=none || return 1
    fi
    chmod 0400 "$key"
    # --force: munged wants every directory above its socket open to all users
    # (o+x); WORKDIR from mktemp -d is 0700, and only this user needs the socket.
    _slurm_env_spawn munged "$SLURM_ENV_DIR/log/munged.out" "${bin[munged]}" --foreground --force \
        --socket="$SLURM_ENV_MUNGE_SOCKET" --key-file="$key" \
        --pid-file="$SLURM_ENV_DIR/munge/munged.pid" \
        --seed-file="$SLURM_ENV_DIR/munge/munged.seed" \
        --log-file="$SLURM_ENV_DIR/log/munged.log"
    if ! _slurm_env_until 15 test -S "$SLURM_ENV_MUNGE_SOCKET"; then
        _slurm_env_skip "munged did not start (logs in $SLURM_ENV_DIR/log)"
        return $?
    fi

    # slurm.conf.  RealMemory: three quarters of MemTotal, so slurmd never finds
    # less than configured.  config_overrides trusts CPUs= over what slurmd sees.
    user=$(id -un)
    cpus=$(nproc)
    mem=$(awk '/^MemTotal:/ { m = int($2 / 1024 * 3 / 4); print (m > 1 ? m : 1) }' /proc/meminfo)
    if ! ctld_port=$(_slurm_env_free_port) || ! slurmd_port=$(_slurm_env_free_port "$ctld_port"); then
        echo "slurm_env: no free TCP port found in 20000-32767" >&2
        slurm_env_stop
        return 1
    fi
    conf=$SLURM_ENV_DIR/slurm.conf
    cat >"$conf" <<EOF
# Written by tests/slurm/slurm_env.sh: a private one-node cluster.
ClusterName=slurmenv
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SLURM_ENV_MUNGE_SOCKET
StateSaveLocation=$SLURM_ENV_DIR/state
SlurmdSpoolDir=$spool
SlurmctldPidFile=$SLURM_ENV_DIR/state/slurmctld.pid
SlurmdPidFile=$spool/slurmd.pid
SlurmctldLogFile=$SLURM_ENV_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_ENV_DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups, no accounting, no mail.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
PropagateResourceLimits=NONE
# Schedule each core separately; start jobs at once.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=1
SlurmdParameters=config_overrides
ReturnToService=2
# Fail fast; keep finished jobs visible to squeue/scontrol for 5 minutes.
SlurmctldTimeout=10
SlurmdTimeout=30
MessageTimeout=10
TCPTimeout=2
BatchStartTimeout=10
KillWait=2
Waittime=0
InactiveLimit=0
MinJobAge=300
NodeName=$SLURM_ENV_NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=$SLURM_ENV_PARTITION Nodes=$SLURM_ENV_NODE Default=YES MaxTime=INFINITE State=UP
EOF

    if [ -n "${SLURM_CONF+x}" ]; then _SLURM_ENV_HAD_CONF=1; _SLURM_ENV_OLD_CONF=$SLURM_CONF; fi
    export SLURM_CONF=$conf

    _slurm_env_spawn slurmctld "$SLURM_ENV_DIR/log/slurmctld.out" "${bin[slurmctld]}" -D -f "$conf"
    _slurm_env_spawn slurmd "$SLURM_ENV_DIR/log/slurmd.out" "${bin[slurmd]}" -D -f "$conf"
    local rc=0
    _slurm_env_until 60 _slurm_env_node_idle || rc=$?
    case $rc in
    0) return 0 ;;
    2) _slurm_env_skip "$(_slurm_env_dead) exited while starting (logs in $SLURM_ENV_DIR/log)"
       return $? ;;
    esac
    _slurm_env_log_tails
    echo "slurm_env: the node did not become idle within 60 s (sinfo: $(timeout 10 sinfo -h -N -o '%N %T' 2>&1 | head -n 1); logs in $SLURM_ENV_DIR/log)" >&2
    slurm_env_stop
    return 1
}

slurm_wait_jobs() {
    local job=${1:?usage: slurm_wait_jobs JOBID [TIMEOUT]} secs=${2:-120} out i
    for i in $(seq 1 $((secs * 5))); do
        # Without -t, squeue lists pending, running and completing tasks only.
        if out=$(squeue -h -j "$job" -o %i 2>&1); then
            [ -z "$out" ] && return 0
        else
            case $out in *"Invalid job id"*) return 0 ;; esac   # already purged
        fi
        sleep 0.2
    done
    echo "slurm_wait_jobs: job $job still queued after $secs s: $(squeue -h -j "$job" -o '%i %T' 2>&1 | tr '\n' ' ')" >&2
    return 1
}

slurm_env_stop() {
    # Every command may fail here without ending a caller under set -e.
    local n=${#SLURM_ENV_PIDS[@]} i pid name comm conf
    if [ "$n" -gt 0 ]; then
        # Cancel this cluster's jobs first, so that no slurmstepd or job outlives
        # slurmd, and give them KillWait (2 s) plus a margin to end.
        if _slurm_env_alive "${SLURM_ENV_PIDS[1]:-0}"; then
            conf=$SLURM_ENV_DIR/slurm.conf
            SLURM_CONF=$conf timeout 10 scancel --user="$(id -un)" >/dev/null 2>&1 || true
            for _ in $(seq 1 50); do
                [ -z "$(SLURM_CONF=$conf timeout 5 squeue -h -o %i 2>/dev/null || true)" ] && break
                sleep 0.2
            done
        fi
        # Last started, first stopped: slurmd, slurmctld, munged.
        for ((i = n - 1; i >= 0; i--)); do
            pid=${SLURM_ENV_PIDS[i]} name=${SLURM_ENV_NAMES[i]}
            if _slurm_env_alive "$pid"; then
                comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
                # Had it died earlier, bash reaped it and its PID may be
                # another process's now: signal it only under its own name.
                case $comm in "$name"*) ;; *)
                    echo "slurm_env_stop: PID $pid is '$comm', not $name: left alone" >&2
                    continue ;;
                esac
                kill -TERM "$pid" 2>/dev/null || true
                for _ in $(seq 1 50); do _slurm_env_alive "$pid" || break; sleep 0.2; done
                if _slurm_env_alive "$pid"; then
                    echo "slurm_env_stop: $name ($pid) ignored TERM for 10 s: KILL" >&2
                    kill -KILL "$pid" 2>/dev/null || true
                fi
            fi
            wait "$pid" 2>/dev/null || true   # reap it (a no-op when not our child)
        done
    fi
    # Job steps that outlived slurmd (when jobs could not be cancelled above).
    if [ "$n" -gt 0 ]; then
        local -a strays=()
        mapfile -t strays < <(_slurm_env_strays)
        if [ "${#strays[@]}" -gt 0 ]; then
            echo "slurm_env_stop: TERM, then KILL, to job steps slurmd left behind: ${strays[*]}" >&2
            kill -TERM "${strays[@]}" 2>/dev/null || true
            sleep 1
            for pid in "${strays[@]}"; do
                _slurm_env_alive "$pid" && { kill -KILL "$pid" 2>/dev/null || true; }
            done
        fi
    fi
    SLURM_ENV_PIDS=()
    SLURM_ENV_NAMES=()
    if [ -n "$SLURM_ENV_RUNDIR_OWNED" ] && [ -d "$SLURM_ENV_RUNDIR" ]; then
        rm -rf -- "$SLURM_ENV_RUNDIR"
    fi
    SLURM_ENV_RUNDIR_OWNED=
    if [ -n "$SLURM_ENV_DIR" ] && [ "${SLURM_CONF:-}" = "$SLURM_ENV_DIR/slurm.conf" ]; then
        if [ -n "$_SLURM_ENV_HAD_CONF" ]; then export SLURM_CONF=$_SLURM_ENV_OLD_CONF; else unset SLURM_CONF; fi
    fi
    _SLURM_ENV_HAD_CONF=
    _SLURM_ENV_OLD_CONF=
    return 0
}
