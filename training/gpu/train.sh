#!/usr/bin/env bash
# Runs ON a lent GPU machine (the `device` tool): unpacks the pool shards that
# training/gpu/pools.py pack wrote into .device-carry/pools, and with `train` probes the
# machine, fits the learning-rate schedule to the steps the time allows, trains, and
# leaves the exported model and the run under $OUT. training/gpu/README.md has the recipe.
#
#   bash training/gpu/train.sh unpack                          # a call that only adds a shard
#   bash training/gpu/train.sh train MINUTES [train.py flags]  # MINUTES: this whole command
#
# Environment: INIT (model to start from; default models/default.safetensors; empty: a new
# model of HIDDEN (320), LAYERS (2), HOP (512)), BATCH (32), CROP (4), LR (3e-4), EMA
# (0.998), SEED (7), DEVICE (cuda; cpu for a dry run here), POOLS (.device-carry/pools),
# PROBE_ARGS (more probe.py flags; default on cuda: --lstm nn),
# MRXCL_GPU_WORK (/tmp/mrxcl-gpu: unpacked pools, cache, run; a later call on
# the same machine finds them), OUT (where results go; the device tool sets it).
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-}
case "$mode" in
    unpack) shift ;;
    train) shift; minutes=${1:?usage: train.sh train MINUTES [train.py flags]}; shift ;;
    *) echo "usage: train.sh unpack | train MINUTES [train.py flags]" >&2; exit 2 ;;
esac
carry=.device-carry
work=${MRXCL_GPU_WORK:-/tmp/mrxcl-gpu}
out=${OUT:-$work/out}
py=${PYTHON:-python3}
mkdir -p "$work" "$out"
export PYTHONUNBUFFERED=1
# soundfile (with libsndfile and Opus inside its wheel) and cffi travel as wheels, and
# praat-parselmouth (train.py --speech-formant) when prepare.sh --formant put it there;
# libebur128 (dnr_mix's loudness) as a shared library
need=0
$py -c "import soundfile" 2>/dev/null || need=1
if compgen -G "$carry/common/wheels/praat_parselmouth-*.whl" >/dev/null &&
        ! PYTHONPATH="$work/site" $py -c "import parselmouth" 2>/dev/null; then
    need=1
fi
if [ $need = 1 ]; then
    $py -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$work/site" "$carry"/common/wheels/*.whl
fi
[ -d "$work/site" ] && export PYTHONPATH="$work/site${PYTHONPATH:+:$PYTHONPATH}"
export LD_LIBRARY_PATH="$PWD/$carry/common/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

shopt -s nullglob
shards=("${POOLS:-$carry/pools}"/shard-*)
if [ ${#shards[@]} -gt 0 ]; then
    $py training/gpu/pools.py unpack "${shards[@]}" --into "$work"
fi
if [ ! -f "$work/corpus/manifest.json" ]; then
    echo "train.sh: no pool shard unpacked in $work: carry .device-carry/pools/shard-K" >&2
    exit 1
fi
[ "$mode" = unpack ] && { echo "train.sh: unpacked in ${SECONDS} s"; exit 0; }

init=${INIT-models/default.safetensors}
device=${DEVICE:-cuda}
if [ -n "$init" ]; then
    model=(--init "$init")
else
    model=(--hidden "${HIDDEN:-320}" --layers "${LAYERS:-2}" --hop "${HOP:-512}")
fi
batch=${BATCH:-32}
crop=${CROP:-4}
# On a GPU the probe times cuDNN's LSTM alone unless PROBE_ARGS says otherwise: the step is
# bound by the data there (0.2 s against 0.1 of compute on an H200, training/gpu/README.md), and
# under torch 2.x fast_lstm ran 100 times slower than nn.LSTM on a CPU, which would spend
# the probe's minutes
default_probe=""
[ "$device" = cuda ] && default_probe="--lstm nn"
read -r -a probe_args <<< "${PROBE_ARGS-$default_probe}"
nproc=$(nproc)
workers=$(( nproc > 2 ? nproc - 1 : 1 ))
$py training/gpu/probe.py --corpus "$work/corpus" --cache "$work/cache" --device "$device" \
    --batch "$batch" --crop "$crop" "${model[@]}" --workers "$workers" \
    --json "$out/probe.json" "${probe_args[@]}" 2>&1 | tail -n 3
# Steps that fit: what is left of MINUTES, less a reserve for train.py's start (fast_lstm's
# self-check, the validation set), two validations and the export.
read -r lstm sps < <($py -c "import json, sys; p = json.load(open(sys.argv[1]))
print(p['lstm'], p['sec_per_step'])" "$out/probe.json")
left=$($py -c "print(max(0.0, $minutes * 60 - $SECONDS - 75))")
steps=$($py -c "print(int($left / $sps))")
if [ "$steps" -lt 50 ]; then
    echo "train.sh: $left s left at $sps s/step: $steps steps, too few to train" >&2
    exit 1
fi
warm=$(( steps / 10 < 200 ? steps / 10 : 200 ))
lstm_flag=()
[ "$lstm" = nn ] && lstm_flag=(--nn-lstm)
echo "train.sh: $steps steps of batch $batch x $crop s at $sps s/step ($lstm LSTM), warm-up $warm"
limit=$($py -c "print(max(1.0, ($minutes * 60 - $SECONDS - 40) / 60))")
run="$work/run"
rm -rf "$run"
nval=$(find "$work/validation" -name mix.wav 2>/dev/null | wc -l)
# What the run trains on, for training/model_card.py --pack: the shards that arrived, hours
# per class, package and Opus bitrate
$py - "$work/corpus/manifest.json" "$out/pack.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
s = dict(m["gpu_pack"], packages={}, kbps_hours={})
for f in m["files"]:
    pk = s["packages"].setdefault(f["class"], {})
    pk[f["package"]] = pk.get(f["package"], 0.0) + f["duration"] / 3600
    k = str(f["kbps"])
    s["kbps_hours"][k] = s["kbps_hours"].get(k, 0.0) + f["duration"] / 3600
json.dump(s, open(sys.argv[2], "w"), indent=1)
EOF
set +e
$py training/train.py --corpus "$work/corpus" --cache "$work/cache" --device "$device" \
    "${model[@]}" --run "$run" --val-dir "$work/validation" --val-count "$nval" --val-seconds 30 \
    --batch "$batch" --crop "$crop" --steps "$steps" --lr "${LR:-3e-4}" --warmup "$warm" \
    --decay-start "$warm" --decay-steps $(( steps - warm )) --decay-lr 1e-5 \
    --ema "${EMA:-0.998}" --val-every $(( (steps + 3) / 4 )) --log-every 25 \
    --ckpt-every 100000 --workers "$workers" --seed "${SEED:-7}" --time-limit "$limit" \
    "${lstm_flag[@]}" "$@" 2>&1 | tee "$out/train.log"
status=${PIPESTATUS[0]}
set -e
cp "$run/log.jsonl" "$out/" 2>/dev/null || true
which=best
[ -f "$run/best.pt" ] || which=last
if [ -f "$run/$which.pt" ]; then
    # the files name the mixture consistency they are scored and used with (CONSISTENCY=pass
    # for none; README.md, metadata "consistency")
    $py training/train.py --run "$run" --export "$out/model.safetensors" --which "$which" --f16 \
        --consistency "${CONSISTENCY:-all}"
    # The device tool brings back at most 8 files of 16 MiB, 64 MiB in all: the best and the
    # last step as F16 model files (20.4 MB: in parts, below) (the last when it is another step than the best, so that
    # both can be scored on all 40 mixtures), the logs, and the run's checkpoints without
    # weights or optimiser state (run.tar: training/model_card.py --run run reads their
    # history and flags; the weights are the exported files)
    $py - "$run" "$out" "$py" <<'EOF2'
import os, subprocess, sys, torch
run, out, py = sys.argv[1:4]
steps = {}
for name in ("best", "last"):
    p = os.path.join(run, name + ".pt")
    if not os.path.exists(p):
        continue
    ck = torch.load(p, map_location="cpu", weights_only=False)
    if name == "last" and steps.get("best") == ck["step"]:
        os.remove(p)  # the same step as best.pt: model_card.py then reads best.pt alone
        continue
    if name == "last" and "best" in steps:
        subprocess.run([py, "training/train.py", "--run", run, "--export",
                        os.path.join(out, "last.safetensors"), "--which", "last", "--f16",
                        "--consistency", os.environ.get("CONSISTENCY", "all")],
                       check=True)
    steps[name] = ck["step"]
    for k in ("optimizer", "scheduler", "rng"):
        ck.pop(k, None)
    ck["weights_dropped"] = "ema" if ck.get("ema") is not None else "model"
    ck["model"] = ck["ema"] = None
    torch.save(ck, p + ".tmp")
    os.replace(p + ".tmp", p)
print("train.sh: exported steps %s" % steps)
EOF2
    # probe.json and pack.json travel inside run.tar; each model file in parts of 15 MiB
    # (the tool drops a file over 16 MiB: cat model.safetensors.part-* > model.safetensors)
    for f in probe.json pack.json; do
        [ -f "$out/$f" ] && mv "$out/$f" "$run/"
    done
    tar -C "$work" -cf "$out/run.tar" run
    for f in model last; do
        if [ -f "$out/$f.safetensors" ]; then
            split -b 15m "$out/$f.safetensors" "$out/$f.safetensors.part-"
            rm "$out/$f.safetensors"
        fi
    done
fi
# What the device tool brings back: at most 8 files, 16 MiB each, 64 MiB in all
$py - "$out" <<'EOF3'
import os, sys
files = [os.path.join(r, f) for r, _, fs in os.walk(sys.argv[1]) for f in fs]
sizes = [os.path.getsize(f) for f in files]
big = [f for f, n in zip(files, sizes) if n > 16 << 20]
if len(files) > 8 or big or sum(sizes) > 64 << 20:
    print("train.sh: WARNING: $OUT holds %d files, %.1f MiB, over 16 MiB: %s; not all will "
          "come back" % (len(files), sum(sizes) / 2**20, big), file=sys.stderr)
EOF3
ls -l "$out"
echo "train.sh: train.py exit status $status; ${SECONDS} s in all"
exit "$status"
