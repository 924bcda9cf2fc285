#!/usr/bin/env bash
# Run THERE (on the GPU machine, from the repository root) in one `device` call of at most
# 8 minutes, after bench/gpu/pack.sh here (bench/README.md, "GPUs"):
#   device run: bash bench/gpu/run.sh
#   carry: [".device-carry/build", ".device-carry/common"], timeout_s 480
# 1. the devices (nvidia-smi, mrxcl devices);
# 2. the GPU part of the tests through ctest, with MRXCL_DEVICE=NVIDIA: the network against
#    the PyTorch reference (network_*), the LSTM (lstm, lstm_vec*), the stream (stream),
#    the STFT and the kernels;
# 3. MRXCL_PROFILE=1 stage times, both models, 60 s stereo (upload and download apart);
#    3b. the recurrence's formulations (lstm_rates: blocks of 1, 2, 4, 8 sequences);
# 4. bench/film.py, both models, K = 1, the chosen K and 2, 4, 8, and PyTorch on CUDA: a
#    1-minute stereo probe first, then 2 h stereo and 30 min 5.1 scaled down by the probe's
#    pace to fit the time left (BUDGET seconds for the whole script, default 450), each
#    with film.py --deadline as a backstop.
# Writes to $OUT (at most 8 files come back): film-stereo.json/.png, film-5.1.json/.png,
# summary.txt, logs.tgz (every log, the probe's record, the profiles, ctest's output).
# DRY=1 does it all here on PoCL with torch on the CPU and tiny sizes (a check of the
# script, not a measurement): DRY=1 OUT=/tmp/gpu-out bash bench/gpu/run.sh
# MODELS=default (film.py --models) leaves the authors' configuration out of step 4.
set -uo pipefail
here=$(pwd)
t0=$(date +%s)
budget=${BUDGET:-450}
dry=${DRY:-0}
out=${OUT:-/tmp/mrxcl-gpu-out}
logs=$(mktemp -d /tmp/mrxcl-gpu-logs.XXXXXX)
mkdir -p "$out"
carry=$here/.device-carry
build=$carry/build
export PYTHONUNBUFFERED=1
mkdir -p /tmp/mrxcl-lib && tar xJf "$build/lib.tar.xz" -C /tmp/mrxcl-lib || exit 1
export LD_LIBRARY_PATH=/tmp/mrxcl-lib/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
elapsed() { echo $(($(date +%s) - t0)); }
say() { echo "[$(elapsed) s] $*" | tee -a "$logs/run.log"; }

if [ "$dry" = 1 ]; then
    py=${PYTHON:-/usr/bin/python3}
    torch_dev=cpu
    want_stereo=0.5 want_51=0.25 probe=0.25 batches=1,2 profile_s=10
else
    py=${PYTHON:-python3}
    torch_dev=cuda
    want_stereo=120 want_51=30 probe=1 batches=1,2,4,8 profile_s=60
    if ! grep -qs nvidia /etc/OpenCL/vendors/*.icd; then
        # No ICD file names NVIDIA's driver (it comes with the driver): write one.
        mkdir -p /tmp/icd && echo libnvidia-opencl.so.1 >/tmp/icd/nvidia.icd
        export OCL_ICD_VENDORS=/tmp/icd
    fi
    export MRXCL_DEVICE=${MRXCL_DEVICE:-NVIDIA}
    export XDG_CACHE_HOME=$logs/cache       # CLBlast's tune for this GPU comes back in logs.tgz
fi
# soundfile travels as a wheel (the machine's Python has none)
if ! $py -c "import soundfile" 2>/dev/null; then
    $py -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/mrxcl-site "$carry"/common/wheels/*.whl && export PYTHONPATH=/tmp/mrxcl-site
fi
mrxcl=$build/mrxcl
model=$here/models/default.safetensors

say "1. devices"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1; "$mrxcl" devices 2>&1; } |
    tee "$logs/devices.txt"

say "2. tests on the device (ctest)"
# ctest's files name this machine's paths: the copies' here instead
{ read -r old_build; read -r old_root; } <"$build/ROOTS"
pyabs=$(command -v "$py")
for f in "$build/CTestTestfile.cmake" "$build/tests/CTestTestfile.cmake"; do
    sed -i -e "s#$old_build#$build#g" -e "s#$old_root#$here#g" -e "s#\"/usr/bin/python3\"#\"$pyabs\"#g" "$f"
done
ctest_bin=$(command -v ctest || echo "$($py -c 'import cmake, os; print(os.path.join(cmake.CMAKE_BIN_DIR, "ctest"))' 2>/dev/null)")
tests='^(network_|lstm|stream|stft|kernels)'
skip='_clblast$|^lstm_host$'            # GPUs take CLBlast anyway; the host path is for CPUs
[ "$dry" = 1 ] && tests='^(network_tiny-mono|network_odd|lstm|stream|kernels)$'
(cd "$build" && timeout $((budget / 3)) "$ctest_bin" -R "$tests" -E "$skip" --timeout 120 \
    --output-on-failure) >"$logs/ctest.log" 2>&1
say "ctest exit $?: $(grep -E 'tests passed|tests failed' "$logs/ctest.log")"
grep -E "Passed|Failed|Not Run|Skipped|\*\*\*" "$logs/ctest.log" | tee -a "$logs/run.log" | tail -30

say "3. stage times (MRXCL_PROFILE=1), ${profile_s} s stereo"
$py -c "import sys; sys.path[:0] = ['bench', 'tools']; import film; film.write_soundtrack('$logs/profile.wav', $profile_s, 'stereo')"
$py -c "import sys; sys.path[:0] = ['bench', 'tools']; from compare import make_authors_model as m; m('$logs/authors.safetensors')"
for m in default authors; do
    mf=$model; [ $m = authors ] && mf=$logs/authors.safetensors
    # twice: the first compiles the kernels (and tunes CLBlast's GEMM on a new GPU)
    for k in 1 2; do
        s=$(date +%s.%N)
        MRXCL_PROFILE=1 timeout 120 "$mrxcl" separate "$logs/profile.wav" -o "$logs/stems" -m "$mf" -v \
            --progress none >"$logs/profile-$m-$k.txt" 2>&1
        say "profile $m run $k: exit $?, $(echo "$(date +%s.%N) - $s" | bc) s"
    done
    # per stage, summed over the pieces; then the GEMMs' rates and the run's own lines
    sed -n 's/.*profile: *\([^ ]*\) *\([0-9.]*\) ms.*/\1 \2/p' "$logs/profile-$m-2.txt" |
        awk '{s[$1] += $2; n[$1]++} END {for (k in s) printf "  %-10s %9.1f ms (%d marks)\n", k, s[k], n[k]}' |
        tee -a "$logs/run.log"
    grep -E "GFLOP|separated|stage seconds" "$logs/profile-$m-2.txt" | tee -a "$logs/run.log"
done
rm -rf "$logs/stems" "$logs/profile.wav"

# The recurrence's two formulations (host/context.c, lstm_block): GPUs keep a work-group
# per sequence until these figures say otherwise; the fastest block per width and B.
say "3b. the recurrence: a work-group per sequence against blocks (build/lstm_rates)"
lr_args=(--hidden 320,512 --channels 1,2,4,8,16,32,64,128 --blocks 1,2,4,8 --steps 512 --reps 3)
[ "$dry" = 1 ] && lr_args=(--hidden 320 --channels 1,4 --blocks 1,4 --steps 64 --reps 1)
timeout 90 "$build/lstm_rates" "${lr_args[@]}" --out "$logs/lstm-rates.jsonl" >"$logs/lstm-rates.txt" 2>&1
say "lstm_rates exit $?"
awk 'NR > 1 && $7 + 0 > 0 {k = $1 " " $2; if (!(k in b) || $7 > b[k]) {b[k] = $7; sb[k] = $3}}
     END {for (k in b) {split(k, h, " ");
          printf "  lstm hidden %s B %s: fastest block %s, %.0f GFLOP/s\n", h[1], h[2], sb[k], b[k]}}' \
    "$logs/lstm-rates.txt" | sort -k3,3n -k5,5n | tee -a "$logs/run.log"

common=(--bin "$mrxcl" --default-model "$model" --models "${MODELS:-default,authors}"
        --batches "$batches" --torch-device "$torch_dev"
        --python "$py" --keep-logs "$logs/film")
say "4. film.py probe: $probe min stereo"
$py bench/film.py "${common[@]}" --minutes "$probe" --layout stereo --out "$logs" --name film-probe \
    --deadline $((t0 + budget - 60)) 2>&1 | tee -a "$logs/run.log"
# Scale the two films to the time left by the probe's pace (linear in minutes: its fixed
# costs, counted as per-minute ones, make the estimate err on the short side); 5.1 costs
# three times stereo a minute.
read -r m_stereo m_51 share < <($py - "$logs/film-probe.json" "$((budget - $(elapsed) - 20))" \
    "$probe" "$want_stereo" "$want_51" <<'EOF'
import json, sys
path, left, probe, ws, w51 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
try:
    per_min = json.load(open(path))["bench_seconds"] / probe
except (OSError, ValueError, KeyError):
    per_min = 1e9
f = min(1.0, max(0.0, left) / (per_min * (ws + 3 * w51)))
print("%.2f %.2f %.3f" % (max(0.1, ws * f), max(0.1, w51 * f), ws / (ws + 3 * w51)))
EOF
)
say "left $((budget - $(elapsed))) s: ${m_stereo} min stereo (asked $want_stereo), ${m_51} min 5.1 (asked $want_51)"
end_stereo=$(echo "$(date +%s) + ($budget - $(elapsed)) * $share" | bc | cut -d. -f1)
$py bench/film.py "${common[@]}" --minutes "$m_stereo" --layout stereo --out "$out" --name film-stereo \
    --deadline "$end_stereo" 2>&1 | tee -a "$logs/run.log"
$py bench/film.py "${common[@]}" --minutes "$m_51" --layout 5.1 --out "$out" --name film-5.1 \
    --deadline $((t0 + budget)) 2>&1 | tee -a "$logs/run.log"
say "done"
grep -E "^\[|x  |PyTorch /|baseline /|skipped|written|ctest|  lstm " "$logs/run.log" >"$out/summary.txt"
tar czf "$out/logs.tgz" -C "$logs" --exclude '*.safetensors' --exclude '*.wav' . && rm -rf "$logs"
ls -la "$out"
