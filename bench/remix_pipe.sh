#!/usr/bin/env bash
# remix against separate, and ffmpeg pipes against files, on the same input in one run:
#   bash bench/remix_pipe.sh MRXCL_BINARY [MINUTES] [MODEL]
# Makes MINUTES (default 10) of 48 kHz stereo (tones and noise, ffmpeg's lavfi), then
# times each way of running it with the same model (default: the built-in one) and
# prints seconds, the real-time factor, the first pass's seconds (reading, copying a
# pipe, measuring the loudness) and the peak memory (RSS) of mrxcl. The first
# run warms the kernel cache and is not counted.
set -euo pipefail
BIN=$(realpath "$1")
MIN=${2:-10}
MODEL=${3:+-m $3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mrxcl-bench-remix.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
SECONDS_AUDIO=$((MIN * 60))
ffmpeg -v error -nostdin -f lavfi -i "sine=f=220:d=$SECONDS_AUDIO:r=48000" \
    -f lavfi -i "anoisesrc=d=$SECONDS_AUDIO:r=48000:a=0.05" \
    -filter_complex "[0][1]amerge=inputs=2,pan=stereo|c0=c0+c1|c1=0.5*c0+c1" -c:a pcm_s16le in.wav
ffmpeg -v error -nostdin -i in.wav -c:a aac -b:a 192k in.mkv
"$BIN" remix in.wav -o warm.wav $MODEL -q >/dev/null

# name, then a command line for bash -c ($B: mrxcl, $M: model options, $P: progress as
# JSON lines into p.json, from which the first pass's time is read)
cases=(
  "separate, file to stems|\$B separate in.wav -o stems \$M \$P 2>p.json"
  "remix, file to file|\$B remix in.wav -o r.wav \$M \$P 2>p.json"
  "remix, file, --input-lufs (no loudness pass)|\$B remix in.wav -o r.wav \$M \$P 2>p.json --input-lufs -20"
  "remix, pipe in (spooled) to file|cat in.wav | \$B remix - -o r.wav \$M \$P 2>p.json"
  "remix, file to pipe out|\$B remix in.wav -o - \$M \$P 2>p.json | cat >/dev/null"
  "ffmpeg, remix, ffmpeg (AAC in Matroska)|ffmpeg -v error -nostdin -i in.mkv -map 0:a:0 -f wav - | \$B remix - -o - \$M \$P 2>p.json | ffmpeg -v error -y -i - -c:a aac out.mkv"
)
printf '%-44s %8s %8s %8s %8s\n' "case ($MIN min, 48 kHz stereo)" seconds "x real" "1st pass" "RSS MiB"
for c in "${cases[@]}"; do
    name=${c%%|*}
    cmd=${c#*|}
    rm -rf stems r.wav out.mkv
    /usr/bin/time -f "%e %M" -o time.txt env B="$BIN" M="$MODEL" P="-q --progress json" \
        bash -o pipefail -c "$cmd"
    read -r secs rss <time.txt
    # the first pass (reading, a pipe's copy, the loudness) ends where "separate" begins
    first=$(sed -n 's/.*"stage":"separate","seconds_total":[^,]*,"elapsed":\([0-9.]*\).*/\1/p' p.json | head -1)
    # /usr/bin/time reports the largest RSS of the processes it waited for: with a pipe,
    # the shell's largest child, which is mrxcl here (ffmpeg's decoders are smaller)
    awk -v n="$name" -v s="$secs" -v a="$SECONDS_AUDIO" -v r="$rss" -v f="$first" \
        'BEGIN { printf "%-44s %8.1f %8.1f %8.2f %8.0f\n", n, s, a / s, f, r / 1024 }'
done
