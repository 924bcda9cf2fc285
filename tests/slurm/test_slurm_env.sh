#!/bin/bash
# Self-test of tests/slurm/slurm_env.sh: starts a private one-node Slurm in a
# fresh directory under ${TMPDIR:-/tmp}, runs a 3-task job array and checks each
# task's SLURM_ARRAY_TASK_{ID,MIN,COUNT}, runs two tasks at once (when nproc >= 2)
# and cancels one of them with scancel JOB_TASK, then stops the daemons and checks
# that exactly they are gone: a second private cluster (the "bystander", started
# first by this script in another process) and any Slurm or munge daemon that
# was already running must survive.
# Exit: 0 pass, 1 fail, 77 skip (reason on stderr: Slurm/munge missing or
# unable to start).  Needs Debian's slurmctld, slurmd, slurm-client and munge.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/slurm/slurm_env.sh
. "$here/slurm_env.sh"

# Bystander mode: run a cluster in WORKDIR until WORKDIR/stop appears.
if [ "${1:-}" = --bystander ]; then
    trap slurm_env_stop EXIT
    slurm_env_start "$2" || exit $?
    touch "$2/ready"
    while [ ! -e "$2/stop" ]; do sleep 0.2; done
    exit 0
fi

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; }
# "PID NAME" of every live Slurm or munge daemon on the machine (not job steps,
# which come and go).
daemons() {
    local d c
    for d in /proc/[0-9]*; do
        c=$(cat "$d/comm" 2>/dev/null) || continue
        case $c in munged | slurmctld | slurmd | slurmdbd) alive "${d#/proc/}" && echo "${d#/proc/} $c" ;; esac
    done
}

work=$(mktemp -d "${TMPDIR:-/tmp}/slurm-env-test.XXXXXX") || exit 1
by_pid=
failed=
cleanup() {
    slurm_env_stop
    if [ -n "$by_pid" ]; then touch "$work/other/stop"; wait "$by_pid"; fi
    if [ -n "$failed" ]; then echo "logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() {
    failed=1
    echo "FAIL: $*" >&2
    for f in "$work"/log/*.out; do [ -s "$f" ] && { echo "--- $f" >&2; tail -n 10 "$f" >&2; }; done
    exit 1
}
skip() { echo "SKIP: $*" >&2; exit 77; }

preexisting=$(daemons)

# The bystander cluster, in its own process.
mkdir "$work/other"
bash "${BASH_SOURCE[0]}" --bystander "$work/other" &
by_pid=$!
for i in $(seq 1 300); do
    [ -e "$work/other/ready" ] && break
    if ! alive "$by_pid"; then
        wait "$by_pid"; rc=$?; by_pid=
        [ "$rc" = 77 ] && skip "slurm_env_start skipped (see above)"
        fail "the bystander cluster did not start (exit $rc)"
    fi
    sleep 0.2
done
[ -e "$work/other/ready" ] || fail "the bystander cluster did not start within 60 s"
by_daemons=$(cat "$work/other/daemons.pid")

# Our cluster.
t0=$(now_ms)
slurm_env_start "$work"
rc=$?
t1=$(now_ms)
[ "$rc" = 77 ] && skip "slurm_env_start skipped (see above)"
[ "$rc" = 0 ] || fail "slurm_env_start returned $rc"
echo "started in $((t1 - t0)) ms: PIDs ${SLURM_ENV_PIDS[*]} (${SLURM_ENV_NAMES[*]}), SLURM_CONF=$SLURM_CONF"
ours=("${SLURM_ENV_PIDS[@]}")
[ "${#ours[@]}" = 3 ] || fail "expected 3 daemons, got ${#ours[@]}"
grep -q "^SlurmctldPort=$(sed -n 's/^SlurmctldPort=//p' "$work/other/slurm.conf")\$" "$SLURM_CONF" &&
    fail "both clusters picked the same slurmctld port"

# 1. A three-task array: each task writes its ID, the array's first ID and count.
mkdir "$work/out"
cat >"$work/array.sh" <<'EOF'
#!/bin/bash
echo "$SLURM_ARRAY_TASK_ID $SLURM_ARRAY_TASK_MIN $SLURM_ARRAY_TASK_COUNT" >"$OUT/task.$SLURM_ARRAY_TASK_ID"
EOF
job=$(cd "$work" && OUT=$work/out sbatch --parsable --array=0-2 -o "$work/out/%A_%a.log" array.sh) ||
    fail "sbatch --array=0-2 failed"
job=${job%%;*}
t2=$(now_ms)
slurm_wait_jobs "$job" 60 || fail "array job $job did not finish"
echo "array job $job: 3 tasks done in $(( $(now_ms) - t2 )) ms"
for t in 0 1 2; do
    got=$(cat "$work/out/task.$t" 2>/dev/null)
    [ "$got" = "$t 0 3" ] || fail "task $t wrote '$got', expected '$t 0 3'"
    state=$(squeue -h -t all -j "${job}_$t" -o %T 2>&1)
    [ "$state" = COMPLETED ] || fail "task ${job}_$t is '$state', expected COMPLETED"
done

# 2. Two tasks: 0 ends by itself after 4 s, 1 sleeps until it is cancelled.
cat >"$work/long.sh" <<'EOF'
#!/bin/bash
if [ "$SLURM_ARRAY_TASK_ID" = 1 ]; then sleep 300; else sleep 4; fi
echo done >"$OUT/long.$SLURM_ARRAY_TASK_ID"
EOF
job2=$(cd "$work" && OUT=$work/out sbatch --parsable --array=0-1 -o "$work/out/%A_%a.log" long.sh) ||
    fail "sbatch --array=0-1 failed"
job2=${job2%%;*}
# Wait for task 1 (and, with two CPUs or more, both tasks at once) to run.
want=1; [ "$(nproc)" -ge 2 ] && want=2
for _ in $(seq 1 150); do
    running=$(squeue -h -j "$job2" -t RUNNING -o %i | wc -l)
    [ "$running" -ge "$want" ] && [ "$(squeue -h -j "${job2}_1" -o %T)" = RUNNING ] && break
    sleep 0.2
done
[ "$running" -ge "$want" ] || fail "expected $want tasks of $job2 running at once, saw $running"
scancel "${job2}_1" || fail "scancel ${job2}_1 failed"
slurm_wait_jobs "$job2" 60 || fail "array job $job2 did not finish"
s0=$(squeue -h -t all -j "${job2}_0" -o %T)
s1=$(squeue -h -t all -j "${job2}_1" -o %T)
[ "$s0" = COMPLETED ] || fail "task ${job2}_0 is '$s0', expected COMPLETED"
[ "$s1" = CANCELLED ] || fail "task ${job2}_1 is '$s1', expected CANCELLED"
[ -e "$work/out/long.0" ] || fail "task ${job2}_0 did not write its file"
[ -e "$work/out/long.1" ] && fail "cancelled task ${job2}_1 ran to its end"
echo "array job $job2: task 0 COMPLETED, task 1 CANCELLED ($want ran at once)"

# 3. Stop ours; twice, as an EXIT trap after an explicit stop would.
t3=$(now_ms)
slurm_env_stop
echo "stopped in $(( $(now_ms) - t3 )) ms"
slurm_env_stop || fail "a second slurm_env_stop failed"
[ -z "${SLURM_CONF:-}" ] || fail "SLURM_CONF is still set to $SLURM_CONF"
for pid in "${ours[@]}"; do
    alive "$pid" && fail "daemon $pid is still running"
done
while read -r pid name; do
    alive "$pid" || fail "bystander $name ($pid) was stopped by our slurm_env_stop"
done <<<"$by_daemons"
[ "$(SLURM_CONF=$work/other/slurm.conf sinfo -h -N -o %T)" = idle ] ||
    fail "the bystander cluster no longer answers"
while read -r pid name; do
    [ -n "$pid" ] || continue
    alive "$pid" || fail "pre-existing $name ($pid) is gone"
done <<<"$preexisting"
# No slurmstepd of ours may outlive slurmd (they name our slurm.conf).
for d in /proc/[0-9]*; do
    [ "$(cat "$d/comm" 2>/dev/null)" = slurmstepd ] || continue
    grep -qzxF "SLURM_CONF=$work/slurm.conf" "$d/environ" 2>/dev/null &&
        fail "slurmstepd ${d#/proc/} of our cluster outlived it"
done

# 4. Stop the bystander; its own slurm_env_stop must end its daemons.
touch "$work/other/stop"
wait "$by_pid" || fail "the bystander exited with $?"
by_pid=
while read -r pid name; do
    alive "$pid" && fail "bystander $name ($pid) still runs after its own stop"
done <<<"$by_daemons"
echo "PASS"
