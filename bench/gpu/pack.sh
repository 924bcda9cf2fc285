#!/usr/bin/env bash
# Run HERE (the Debian build machine) before a `device` call: copies the shared
# libraries build/ links (clFFT, CLBlast, libsndfile and its codecs, libsoxr, libcjson,
# the ocl-icd loader, ...) into .device-carry/lib, so that the call can `carry`
# [build, .device-carry] (64 MiB in all: the 122 MB default-size model is made there
# by run.sh instead). The GPU machine has NVIDIA's OpenCL driver but none of these
# libraries. .device-carry is git-ignored.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.device-carry
rm -rf "$out" && mkdir -p "$out/lib"
for bin in build/mrxcl build/mrxcl_bench build/tests/test_forward; do
    ldd "$bin" | awk '/=> \// {print $3}'
done | sort -u | grep -v -E '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' |
    while read -r lib; do cp -L "$lib" "$out/lib/"; done
du -sh "$out"
