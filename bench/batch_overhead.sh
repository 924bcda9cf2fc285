#!/usr/bin/env bash
# Per-file overhead of `mrxcl batch` against one `mrxcl separate` process per file, in one
# run: bash bench/batch_overhead.sh MRXCL_BINARY [FILES] [SECONDS] [MODEL]
# Makes FILES (default 20) clips of SECONDS (default 10) s of 44.1 kHz stereo (tones and
# noise, ffmpeg's lavfi), warms the kernel cache, then times: a loop of separate, one
# batch over the same clips, and the batch again (every input skipped). Model: the
# built-in one unless MODEL is given.
set -euo pipefail
BIN=$(realpath "$1")
N=${2:-20}
SECS=${3:-10}
MODEL=()
[ -n "${4:-}" ] && MODEL=(-m "$(realpath "$4")")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mrxcl-bench-batch.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
mkdir clips loop
for i in $(seq -w 1 "$N"); do
    ffmpeg -v error -nostdin -f lavfi -i "sine=f=$((200 + 10 * 10#$i)):d=$SECS:r=44100" \
        -f lavfi -i "anoisesrc=d=$SECS:r=44100:a=0.05:seed=$i" \
        -filter_complex "[0][1]amerge=inputs=2" -c:a pcm_s16le "clips/clip$i.wav"
done
"$BIN" separate clips/clip01.wav -o warm "${MODEL[@]}" -q
t0=$(date +%s.%N)
for f in clips/*.wav; do
    "$BIN" separate "$f" -o "loop/$(basename "$f" .wav)" "${MODEL[@]}" -q
done
t1=$(date +%s.%N)
"$BIN" batch clips -o batch "${MODEL[@]}" -q
t2=$(date +%s.%N)
"$BIN" batch clips -o batch "${MODEL[@]}" -q
t3=$(date +%s.%N)
awk -v n="$N" -v s="$SECS" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN {
    printf "%d clips of %d s: separate per file %.2f s/file, batch %.2f s/file (%.2fx), ",
           n, s, (b - a) / n, (c - b) / n, (b - a) / (c - b)
    printf "overhead saved %.2f s/file; batch again, all skipped: %.2f s\n",
           ((b - a) - (c - b)) / n, d - c }'
