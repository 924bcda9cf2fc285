#!/usr/bin/env bash
# The README's first quick-start command: install what building and running mrxcl needs
# (Debian packages only: `.ci/deps.sh build`), build the program without its tests, and
# separate a clip into speech, music and sound effects with the default model that the
# build embeds from models/default.safetensors. The clip is the argument, or
# examples/demo/mixture.opus: 25 s of speech over music with effects, mixed by
# training/dnr_mix.py from Debian packages the model never trained on
# (examples/demo/README.md names the clips, their licences and what to listen for).
# The stems go to demo/stems/. No Python on this path.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f models/default.safetensors ] && [ -z "${MRXCL_MODEL:-}" ]; then
    echo "quickstart: this tree has no models/default.safetensors, so the build embeds no" >&2
    echo "quickstart: model: name one with MRXCL_MODEL=FILE (tools/convert.py converts the" >&2
    echo "quickstart: authors' checkpoint) and run this again." >&2
    exit 1
fi
bash .ci/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMRXCL_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"

DEMO=examples/demo/mixture.opus
CLIP=${1:-$DEMO}
OUT=demo/stems
./build/mrxcl info
echo "quickstart: separating $CLIP into $OUT/ (the first run on a device builds the"
echo "quickstart: OpenCL kernels, which takes longer than the separation)"
mkdir -p "$OUT"
./build/mrxcl separate "$CLIP" -o "$OUT"
ls -l "$OUT"
if [ "$CLIP" = "$DEMO" ]; then
    cat <<'EOF'

What to listen for (examples/demo/README.md has the clips, their licences and scores):
  mixture.opus  words in eight languages over an orchestral battle theme, with a helicopter
                engine (2-7 s), a crash, machinery, an explosion and space-weapon shots
  speech.wav    the words, clear; music and effects pushed down by about 20 dB, a little
                more of them where no one speaks (12-14 s)
  music.wav     the orchestra without the words; much of the helicopter engine lands here
  sfx.wav       the effects, with some of the orchestra under them
EOF
fi
