#!/usr/bin/env bash
# Run HERE (the Debian build machine) before a `device` call: puts into .device-carry
# (git-ignored) what bench/gpu/run.sh needs on the GPU machine, within the 64 MiB a call
# carries with the working tree (21 MB, the default model file included):
#   .device-carry/build   mrxcl, lstm_rates and the GPU tests' programs from build-gpu/, configured
#                         without the embedded model (1 MB a program instead of 21 MB:
#                         the default model travels once, as models/default.safetensors),
#                         with ctest's files; run.sh points their paths at the copy there
#   .device-carry/build/lib.tar.xz  the shared libraries they link (clFFT, CLBlast,
#                         OpenBLAS, libsndfile and its codecs, libsoxr, libcjson, the
#                         ocl-icd loader): 55 MB, 9 MB in xz (OpenBLAS alone is 37 MB)
#   .device-carry/common  the soundfile wheel (with cffi, pycparser) for the machine's
#                         Python 3.12, from training/gpu/prepare.sh, unless already there
#   bash bench/gpu/pack.sh [BUILD_DIR]    (default build-gpu, configured and built if needed)
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${1:-build-gpu}
progs=(mrxcl lstm_rates tests/test_forward tests/test_lstm tests/test_stream tests/test_stft tests/test_kernels)
if [ ! -f "$src/CMakeCache.txt" ]; then
    cmake -S . -B "$src" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMRXCL_TESTS=ON -DMRXCL_EMBED_DEFAULT_MODEL=OFF
fi
cmake --build "$src" -j"$(nproc)" --target mrxcl lstm_rates test_forward test_lstm test_stream test_stft test_kernels
out=.device-carry
lib=$(mktemp -d)/lib
rm -rf "$out/build" && mkdir -p "$lib" "$out/build/tests"
for p in "${progs[@]}"; do
    cp "$src/$p" "$out/build/$p"
    ldd "$src/$p" | awk '/=> \// {print $3}'
done | sort -u | grep -v -E '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' |
    while read -r l; do cp -L "$l" "$lib/"; done
tar cJf "$out/build/lib.tar.xz" -C "$(dirname "$lib")" lib && rm -rf "$(dirname "$lib")"
cp "$src/CTestTestfile.cmake" "$out/build/"
cp "$src/tests/CTestTestfile.cmake" "$out/build/tests/"
# ctest's files name absolute paths: run.sh replaces these with the copies' there
printf '%s\n%s\n' "$(cd "$src" && pwd)" "$(pwd)" >"$out/build/ROOTS"
[ -d "$out/common/wheels" ] || bash training/gpu/prepare.sh >/dev/null
tree=$(git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
carry=$(du -cb "$out/build" "$out/common" | tail -1 | cut -f1)
printf 'working tree %.1f MiB + carry %.1f MiB = %.1f MiB of 64\n' \
    "$(echo "$tree / 1048576" | bc -l)" "$(echo "$carry / 1048576" | bc -l)" \
    "$(echo "($tree + $carry) / 1048576" | bc -l)"
[ $((tree + carry)) -lt $((64 * 1048576)) ] || { echo "pack.sh: over 64 MiB" >&2; exit 1; }
