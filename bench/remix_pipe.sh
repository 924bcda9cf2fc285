#!/usr/bin/env bash
# remix against separate, and ffmpeg pipes against files, on the same input in one run:
#   bash bench/remix_pipe.sh MRXCL_BINARY [MINUTES] [MODEL]
# Makes MINUTES (default 10) of 48 kHz stereo (tones and noise, ffmpeg's lavfi), then
# times each way of running it with the same model (default: the built-in one) and
# prints seconds, the real-time factor and the peak memory (RSS) of mrxcl. The first
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
"$BIN" remix in.wav -o warm.wav $MODEL -q --chunk 10 >/dev/null

# name, then a command line for bash -c ($B: mrxcl, $M: model options)
cases=(
  "separate, file to stems|\$B separate in.wav -o stems \$M -q"
  "remix, file to file|\$B remix in.wav -o r.wav \$M -q"
  "remix, file, --input-lufs (no loudness pass)|\$B remix in.wav -o r.wav \$M -q --input-lufs -20"
  "remix, pipe in (spooled) to file|cat in.wav | \$B remix - -o r.wav \$M -q"
  "remix, file to pipe out|\$B remix in.wav -o - \$M -q | cat >/dev/null"
  "ffmpeg | remix | ffmpeg (mkv, AAC, video-less)|ffmpeg -v error -nostdin -i in.mkv -map 0:a:0 -f wav - | \$B remix - -o - \$M -q | ffmpeg -v error -y -i - -c:a aac out.mkv"
)
printf '%-48s %9s %9s %9s\n' "case ($MIN min, 48 kHz stereo)" seconds "x real" "RSS MiB"
for c in "${cases[@]}"; do
    name=${c%%|*}
    cmd=${c#*|}
    rm -rf stems r.wav out.mkv
    /usr/bin/time -f "%e %M" -o time.txt env B="$BIN" M="$MODEL" bash -o pipefail -c "$cmd"
    read -r secs rss <time.txt
    # /usr/bin/time reports the largest RSS of the processes it waited for: with a pipe,
    # the shell's largest child, which is mrxcl here (ffmpeg's decoders are smaller)
    awk -v n="$name" -v s="$secs" -v a="$SECONDS_AUDIO" -v r="$rss" \
        'BEGIN { printf "%-48s %9.1f %9.1f %9.0f\n", n, s, a / s, r / 1024 }'
done
