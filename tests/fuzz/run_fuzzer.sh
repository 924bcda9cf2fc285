#!/usr/bin/env bash
# Runs a libFuzzer target for a bounded time from a copy of its seed corpus (ctest -L fuzz).
#   run_fuzzer.sh FUZZER SEED_DIR WORK_DIR SECONDS [DICT]
# WORK_DIR is emptied and receives the growing corpus (corpus/) and any crashing input
# (artifacts/); the seed corpus in the repository is only read. Exit 0 when the time ran
# out with nothing found; 1 on a crash, leak, sanitizer report, timeout or memory limit.
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: run_fuzzer.sh FUZZER SEED_DIR WORK_DIR SECONDS [DICT]" >&2; exit 2; }
fuzzer=$1 seeds=$2 work=$3 seconds=$4 dict=${5:-}
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
cp "$seeds"/* "$work/corpus/"
start=$(find "$work/corpus" -type f | wc -l)
args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -error_exitcode=1
      -timeout_exitcode=1 -print_final_stats=1 -artifact_prefix="$work/artifacts/")
[ -z "$dict" ] || args+=(-dict="$dict")
status=0
# libFuzzer's progress lines go to stderr; keep the log and show its end.
"$fuzzer" "${args[@]}" "$work/corpus" > "$work/log" 2>&1 || status=$?
end=$(find "$work/corpus" -type f | wc -l)
tail -n 40 "$work/log"
echo "$(basename "$fuzzer"): corpus $start -> $end inputs, exit status $status"
if [ "$status" -ne 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
    echo "$(basename "$fuzzer") found a problem: the input is in $work/artifacts/" \
         "(reproduce: $fuzzer $work/artifacts/<file>)" >&2
    exit 1
fi
