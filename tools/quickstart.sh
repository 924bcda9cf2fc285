#!/usr/bin/env bash
# The README's first quick-start command: install dependencies, build, and separate a
# clip. Uses models/default.safetensors when the tree has one; until a trained model
# ships, it makes a model of the authors' configuration with random weights, so the
# run shows the whole pipeline but the stems are not a real separation.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

mkdir -p demo
CLIP=${1:-demo/clip.wav}
if [ ! -f "$CLIP" ]; then
    # 10 s at 44.1 kHz stereo: a chord, noise bursts and a buzzing "voice".
    /usr/bin/python3 - "$CLIP" <<'PY'
import sys, wave
import numpy as np
sr, n = 44100, 441000
t = np.arange(n) / sr
rng = np.random.default_rng(0)
music = sum(0.05 * np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
sfx = 0.2 * rng.standard_normal(n) * ((t % 2.0) < 0.15)
voice = 0.08 * np.sign(np.sin(2 * np.pi * 120 * t)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) * ((t % 4) > 1)
mix = np.stack([music + sfx + voice, music + 0.7 * sfx + voice], axis=1)
pcm = (np.clip(mix, -1, 1) * 32767).astype("<i2")
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(2); w.setsampwidth(2); w.setframerate(sr); w.writeframes(pcm.tobytes())
PY
fi
MODEL=models/default.safetensors
if [ ! -f "$MODEL" ]; then
    MODEL=demo/random-mrx.safetensors
    echo "quickstart: no trained default model in this tree yet; using random weights in the"
    echo "quickstart: authors' configuration ($MODEL): the stems show the pipeline, not a separation."
    [ -f "$MODEL" ] || /usr/bin/python3 tools/make_random_model.py "$MODEL" --seed 1 --sample-rate 44100 \
        --hop 256 --windows 1024,2048,8192 --hidden 512 --layers 3 --sources music,speech,sfx
fi
./build/mrxcl info "$MODEL"
./build/mrxcl separate "$CLIP" -o demo/stems -m "$MODEL"
ls -l demo/stems
