#!/usr/bin/env bash
# Runs HERE (the Debian machine, with PyPI reachable) before GPU training calls: puts in
# .device-carry/common what training/gpu/train.sh needs on the GPU machine beside its own
# PyTorch, numpy, scipy and safetensors: the soundfile wheel (libsndfile with Opus inside)
# with cffi and pycparser for its Python 3.12, and libebur128 (dnr_mix's loudness). The
# pool shards come from training/gpu/pools.py pack (training/gpu/README.md). .device-carry is
# git-ignored.
set -euo pipefail
cd "$(dirname "$0")/../.."
common=.device-carry/common
rm -rf "$common" && mkdir -p "$common/wheels" "$common/lib"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$common/wheels" \
    soundfile==0.13.1 cffi==1.17.1 pycparser==2.22
# --formant: also praat-parselmouth (10.7 MB), for train.py --speech-formant; pack the pools
# with --budget-mib 29 then, so that a call still fits in 64 MiB
if [ "${1:-}" = "--formant" ]; then
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d "$common/wheels" praat-parselmouth==0.4.7
fi
lib=$(ldconfig -p | awk '/libebur128\.so\.1 .*x86-64/ {print $NF; exit}')
if [ -z "$lib" ]; then
    echo "prepare.sh: libebur128.so.1 not found: apt-get install libebur128-1" >&2
    exit 1
fi
cp -L "$lib" "$common/lib/"
du -sh "$common"
ls "$common/wheels" "$common/lib"
