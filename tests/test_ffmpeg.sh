#!/usr/bin/env bash
# mrxcl in the issue's "real film pipeline" with ffmpeg on both sides:
#
#   ffmpeg -i in.mkv -map 0:a:0 -f wav - | mrxcl remix - -o - --preset dialogue |
#     ffmpeg -i in.mkv -i - -map 0:v -map 1:a -c:v copy out.mkv
#
# On a 3 s film made with lavfi (testsrc2 video, 5.1 AAC soundtrack, 48 kHz): the video
# packets come through untouched; the audio keeps its length, 6 channels and layout 5.1;
# with every gain at 0 dB the pipeline is a null (bit-exact); separate from a pipe writes
# three FLAC stems of the input's shape; a reader that goes away (head, ffmpeg killed)
# makes mrxcl fail with "Broken pipe", a truncated WAV on stdin makes it fail with
# "truncated" and no output; 5.1 and 7.1 WAV files keep their layout in remix and separate.
#
#   bash tests/test_ffmpeg.sh MRXCL_BINARY REPO_ROOT
#
# Prints "ok - NAME" / "not ok - NAME (why)" per case and "N passed, M failed" last.
# Exit 0 when nothing failed, 1 otherwise; 77 (skip) without ffmpeg/ffprobe, without
# numpy/soundfile for /usr/bin/python3, or without an OpenCL device.
set -u
set -o pipefail

if [ $# -ne 2 ]; then
    echo "usage: bash tests/test_ffmpeg.sh MRXCL_BINARY REPO_ROOT" >&2
    exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=$(cd "$2" && pwd)
PY=/usr/bin/python3
unset MRXCL_MODEL MRXCL_KERNEL_DIR

for tool in ffmpeg ffprobe; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "# SKIP: $tool is not installed (not on PATH)"
        exit 77
    fi
done
if ! "$PY" -c 'import numpy, soundfile' 2>/dev/null; then
    echo "# SKIP: $PY lacks numpy or soundfile"
    exit 77
fi
if ! "$BIN" devices >/dev/null 2>&1; then
    echo "# SKIP: no OpenCL device ('mrxcl devices' fails)"
    exit 77
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mrxcl-test-ffmpeg.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

passed=0
failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
# not_ok NAME WHY [FILE...]: the FILEs (stderr of the stages) are shown under it.
not_ok() {
    echo "not ok - $1 ($2)"
    failed=$((failed + 1))
    shift 2
    local f
    for f in "$@"; do
        if [ -s "$f" ]; then sed "s|^|#   $(basename "$f"): |" "$f" | head -n 15; fi
    done
}
finish() {
    echo "$passed passed, $failed failed"
    if [ "$failed" -ne 0 ]; then exit 1; fi
    exit 0
}
# A run of mrxcl that failed for want of a device skips the whole test.
check_device() {
    if grep -q "no OpenCL device" "$1" 2>/dev/null; then
        echo "# SKIP: no OpenCL device ($(head -n 1 "$1"))"
        exit 77
    fi
}
FF=(ffmpeg -nostdin -hide_banner -v error -y)
# probe FILE ENTRY: one field of the first audio stream (channel_layout, channels, ...)
probe() {
    ffprobe -v error -select_streams a:0 -show_entries "stream=$2" -of default=nw=1:nk=1 "$1" 2>/dev/null
}
# first_pts FILE v|a: the first video packet's pts / the first decoded audio frame's pts,
# in Matroska's milliseconds
first_pts() {
    if [ "$2" = v ]; then
        ffprobe -v error -select_streams v:0 -show_entries stream=start_pts -of csv=p=0 "$1"
    else
        ffprobe -v error -select_streams a:0 -show_frames -show_entries frame=pts -of csv=p=0 "$1"
    fi 2>/dev/null | awk 'NR == 1 { print $1 }'
}
# aeval N: an aevalsrc expression list of N different tones (a little noise on each),
# peaks under 0.1, so that the random model's stems stay within full scale: mrxcl sets no
# SFC_SET_CLIPPING, and libsndfile 1.2.0 then refuses a FLAC block with a sample over it.
aeval() {
    local i e=""
    for ((i = 0; i < $1; i++)); do
        e="$e${e:+|}0.0$((5 + i % 3))*sin(2*PI*$((110 + 97 * i))*t)+0.01*(2*random($i)-1)"
    done
    printf '%s' "$e"
}

# ---- helpers in Python --------------------------------------------------------------
cat >"$WORK/check.py" <<'EOF'
import sys
import numpy as np
import soundfile as sf

cmd = sys.argv[1]
if cmd == "info":  # FILE -> "frames channels rate"
    i = sf.info(sys.argv[2])
    print(i.frames, i.channels, i.samplerate)
elif cmd == "null":  # REF OUT -> the largest difference relative to REF's peak, in dB
    ref, r1 = sf.read(sys.argv[2], dtype="float64", always_2d=True)
    out, r2 = sf.read(sys.argv[3], dtype="float64", always_2d=True)
    if ref.shape != out.shape or r1 != r2:
        print(f"shapes differ: {ref.shape} at {r1} Hz vs {out.shape} at {r2} Hz")
        sys.exit(1)
    peak = np.abs(ref).max()
    diff = np.abs(out - ref).max()
    db = -np.inf if diff == 0 else 20 * np.log10(diff / peak)
    print(f"max |out - in| = {diff:.3g} ({db:.1f} dB re the input's peak {peak:.3f}), "
          f"{ref.shape[0]} frames x {ref.shape[1]} channels"
          + (", bit-exact" if diff == 0 else ""))
    sys.exit(0 if db <= -100 else 1)
elif cmd == "packets":  # A.csv B.csv (packet,pts,dts,duration,size,flags,hash)
    rows = [[l.strip().split(",") for l in open(f) if l.strip()] for f in sys.argv[2:4]]
    a, b = rows
    if not a or len(a) != len(b):
        print(f"{len(a)} video packets vs {len(b)}")
        sys.exit(1)
    shifts = set()
    for i, (x, y) in enumerate(zip(a, b)):
        if x[3:] != y[3:]:
            print(f"packet {i}: duration, size, flags, hash {x[3:]} vs {y[3:]}")
            sys.exit(1)
        for k in (1, 2):
            if (x[k] == "N/A") != (y[k] == "N/A"):
                print(f"packet {i}: pts/dts {x[1:3]} vs {y[1:3]}")
                sys.exit(1)
            if x[k] != "N/A":
                shifts.add(int(y[k]) - int(x[k]))
    if len(shifts) != 1:
        print(f"timestamps shifted unevenly: {sorted(shifts)} ms")
        sys.exit(1)
    print(f"{len(a)} packets, same data (SHA-256), size, flags and duration, "
          f"pts/dts shifted by {shifts.pop():+d} ms")
EOF
info() { "$PY" "$WORK/check.py" info "$1"; }

MODEL=$WORK/model.safetensors
if ! "$PY" "$ROOT/tools/make_random_model.py" "$MODEL" --seed 7 --sample-rate 16000 --hop 8 \
    --windows 16,32,64 --hidden 8 --layers 1 --sources music,speech,sfx >/dev/null 2>"$WORK/model.err"; then
    not_ok "make a random model" "tools/make_random_model.py failed" "$WORK/model.err"
    finish
fi

# ---- the film: 3 s of testsrc2 at 160x120, 10 fps, with a 5.1 AAC soundtrack at 48 kHz ----
ENCODERS=$(ffmpeg -hide_banner -encoders 2>/dev/null)
if grep -q ' libx264 ' <<<"$ENCODERS"; then VCODEC=libx264; else VCODEC=mpeg4; fi
if ! "${FF[@]}" -f lavfi -i "testsrc2=size=160x120:rate=10:duration=3" \
    -f lavfi -i "aevalsrc=$(aeval 6):c=5.1:s=48000:d=3" \
    -map 0:v -map 1:a -c:v "$VCODEC" -pix_fmt yuv420p -c:a aac -b:a 192k in.mkv 2>make.err; then
    not_ok "make in.mkv ($VCODEC + 5.1 AAC)" "ffmpeg failed" make.err
    finish
fi
if [ "$(probe in.mkv channel_layout)" != "5.1" ] || [ "$(probe in.mkv codec_name)" != "aac" ]; then
    not_ok "make in.mkv" "its audio is $(probe in.mkv codec_name) $(probe in.mkv channel_layout), not aac 5.1"
    finish
fi
# The input's audio as the pipeline's first stage hands it over (16-bit WAV), and in float.
"${FF[@]}" -i in.mkv -map 0:a:0 -c:a pcm_s16le in16.wav 2>/dev/null &&
    "${FF[@]}" -i in.mkv -map 0:a:0 -c:a pcm_f32le in32.wav 2>/dev/null || {
    not_ok "decode in.mkv's audio" "ffmpeg failed"
    finish
}
read -r IN_FRAMES IN_CH IN_RATE < <(info in32.wav)
echo "# in.mkv: $VCODEC 160x120 10 fps + AAC 5.1, decodes to $IN_FRAMES frames x $IN_CH ch at $IN_RATE Hz"

# video_same A B: the video streams have the same parameters, the same stream-copy MD5 and
# the same packets (data, size, flags, duration) at timestamps shifted by one constant:
# sets VRES (what was found) and VSHIFT (the shift, ms). ffmpeg shifts a whole file's
# timestamps when an audio encoder's priming starts before 0 (Vorbis: 128 samples; its
# avoid_negative_ts), so the shift must equal the shift of the first decoded audio sample:
# the audio-video offset is what must stay.
video_same() {
    local f
    VSHIFT=
    for f in "$1" "$2"; do
        ffprobe -v error -select_streams v -show_entries stream=codec_name,profile,width,height,pix_fmt,r_frame_rate \
            -of csv "$f" >"$f.vstream" &&
            ffprobe -v error -select_streams v -show_packets -show_data_hash sha256 \
                -show_entries packet=pts,dts,duration,size,flags,data_hash -of csv "$f" >"$f.vpackets" &&
            ffmpeg -nostdin -v error -i "$f" -map 0:v -c copy -f md5 - >"$f.vmd5" || {
            VRES="ffprobe/ffmpeg failed on $f"
            return 1
        }
    done
    if ! cmp -s "$1.vstream" "$2.vstream"; then
        VRES="stream parameters: $(cat "$1.vstream") vs $(cat "$2.vstream")"
        return 1
    fi
    if ! cmp -s "$1.vmd5" "$2.vmd5"; then
        VRES="stream-copy MD5 $(cat "$1.vmd5") vs $(cat "$2.vmd5")"
        return 1
    fi
    VRES=$("$PY" "$WORK/check.py" packets "$1.vpackets" "$2.vpackets") || return 1
    VSHIFT=$(printf '%s' "$VRES" | sed -n 's/.*shifted by \([-+0-9]*\) ms.*/\1/p')
    VSHIFT=$((VSHIFT))
    local v1 a1 v2 a2 off1 off2
    v1=$(first_pts "$1" v) a1=$(first_pts "$1" a) v2=$(first_pts "$2" v) a2=$(first_pts "$2" a)
    if ! [[ "$v1 $a1 $v2 $a2" =~ ^-?[0-9]+\ -?[0-9]+\ -?[0-9]+\ -?[0-9]+$ ]]; then
        VRES="$VRES; no first video/audio pts: '$v1' '$a1' '$v2' '$a2'"
        return 1
    fi
    off1=$((v1 - a1)) off2=$((v2 - a2))
    VRES="$VRES, audio-video offset $off1 ms -> $off2 ms"
    [ "$off1" = "$off2" ]
}

# ---- 1. the issue's pipeline, --preset dialogue ---------------------------------------
name="ffmpeg | remix - -o - --preset dialogue | ffmpeg -c:v copy"
"${FF[@]}" -i in.mkv -map 0:a:0 -f wav - 2>ff1.err |
    "$BIN" remix - -o - --preset dialogue -m "$MODEL" 2>mrxcl.err |
    "${FF[@]}" -i in.mkv -i - -map 0:v -map 1:a -c:v copy out.mkv 2>ff2.err
st=("${PIPESTATUS[@]}")
check_device mrxcl.err
if [ "${st[*]}" != "0 0 0" ]; then
    not_ok "$name" "exit statuses ${st[*]} (ffmpeg, mrxcl, ffmpeg)" ff1.err mrxcl.err ff2.err
else
    ok "$name: every stage exits 0"
    if video_same in.mkv out.mkv; then
        ok "out.mkv video untouched: $VRES, same stream-copy MD5"
    else
        not_ok "out.mkv video untouched" "$VRES"
    fi
    nstreams=$(ffprobe -v error -show_entries stream=codec_type -of csv=p=0 out.mkv | tr '\n' ' ')
    acodec=$(probe out.mkv codec_name)
    layout=$(probe out.mkv channel_layout)
    if "${FF[@]}" -i out.mkv -map 0:a:0 -c:a pcm_f32le out32.wav 2>dec.err; then
        read -r frames ch rate < <(info out32.wav)
        # Matroska's default audio encoder (Vorbis; AC-3 without libvorbis) pads the last
        # block and Matroska keeps no end trim for it: the decoded audio may be longer by
        # less than one block (2048 samples), never shorter (ffmpeg alone, WAV -> Vorbis in
        # Matroska, adds 704 frames to this input). The null case below, in PCM, checks
        # the exact length.
        d=$((frames - IN_FRAMES))
        why=""
        [ "$nstreams" = "video audio " ] || why="$why streams: $nstreams;"
        [ "$ch" = 6 ] || why="$why $ch channels;"
        [ "$layout" = "5.1" ] || why="$why layout '$layout';"
        [ "$rate" = "$IN_RATE" ] || why="$why $rate Hz;"
        if [ "$d" -lt 0 ] || [ "$d" -gt 2048 ]; then why="$why $frames frames vs $IN_FRAMES;"; fi
        if [ -z "$why" ]; then
            ok "out.mkv audio ($acodec): 6 channels, layout 5.1, $rate Hz, $frames frames = input + $d (tolerance 0..2048, encoder padding)"
        else
            not_ok "out.mkv audio" "${why# }"
        fi
    else
        not_ok "decode out.mkv's audio" "ffmpeg failed" dec.err
    fi
fi

# ---- 2. null: all gains 0 dB, --consistency all, PCM out ------------------------------
# null_case NAME FIRST_CODEC REF: the pipeline with the first stage writing FIRST_CODEC
# WAV, the last one pcm_f32le in Matroska; out.mkv's audio must equal REF.
null_case() {
    local name=$1 codec=$2 ref=$3 st
    rm -f null.mkv null32.wav
    "${FF[@]}" -i in.mkv -map 0:a:0 -c:a "$codec" -f wav - 2>ff1.err |
        "$BIN" remix - -o - --consistency all -m "$MODEL" 2>mrxcl.err |
        "${FF[@]}" -i in.mkv -i - -map 0:v -map 1:a -c:v copy -c:a pcm_f32le null.mkv 2>ff2.err
    st=("${PIPESTATUS[@]}")
    check_device mrxcl.err
    if [ "${st[*]}" != "0 0 0" ]; then
        not_ok "$name" "exit statuses ${st[*]} (ffmpeg, mrxcl, ffmpeg)" ff1.err mrxcl.err ff2.err
        return
    fi
    if ! "${FF[@]}" -i null.mkv -map 0:a:0 -c:a pcm_f32le null32.wav 2>dec.err; then
        not_ok "$name" "cannot decode null.mkv's audio" dec.err
        return
    fi
    local res
    if res=$("$PY" "$WORK/check.py" null "$ref" null32.wav 2>&1); then
        ok "$name: $res"
    else
        not_ok "$name" "$res; must be <= -100 dB"
    fi
}
null_case "null (0 dB, --consistency all): 16-bit WAV stage (ffmpeg's default) vs in.mkv decoded to 16 bits" \
    pcm_s16le in16.wav
null_case "null (0 dB, --consistency all): float WAV stage vs in.mkv decoded to float" pcm_f32le in32.wav
# PCM has no priming: here not even the timestamps move.
if video_same in.mkv null.mkv && [ "$VSHIFT" = 0 ]; then
    ok "null.mkv video untouched: $VRES, same stream-copy MD5"
else
    not_ok "null.mkv video untouched" "$VRES; want no shift"
fi

# ---- 3. separate from a pipe, FLAC stems ----------------------------------------------
name="ffmpeg | separate - -o stems --format flac"
"${FF[@]}" -i in.mkv -map 0:a:0 -f wav - 2>ff1.err |
    "$BIN" separate - -o stems --format flac -m "$MODEL" 2>mrxcl.err
st=("${PIPESTATUS[@]}")
check_device mrxcl.err
if [ "${st[*]}" != "0 0" ]; then
    not_ok "$name" "exit statuses ${st[*]} (ffmpeg, mrxcl)" ff1.err mrxcl.err
else
    why=""
    files=$(cd stems && ls -A | sort | tr '\n' ' ')
    [ "$files" = "music.flac sfx.flac speech.flac " ] || why="$why stems/ holds: $files;"
    for s in music speech sfx; do
        [ -f "stems/$s.flac" ] || continue
        read -r frames ch rate < <(info "stems/$s.flac")
        [ "$(probe "stems/$s.flac" codec_name)" = flac ] || why="$why $s.flac is not FLAC;"
        if [ "$frames $ch $rate" != "$IN_FRAMES 6 $IN_RATE" ]; then
            why="$why $s.flac: $frames frames x $ch ch at $rate Hz;"
        fi
    done
    if [ -z "$why" ]; then
        ok "$name: music, speech, sfx.flac: $IN_FRAMES frames x 6 ch at $IN_RATE Hz each"
    else
        not_ok "$name" "${why# }; want $IN_FRAMES frames x 6 ch at $IN_RATE Hz"
    fi
fi

# ---- 4. a reader that goes away, and a truncated input ---------------------------------
if ! "${FF[@]}" -f lavfi -i "aevalsrc=$(aeval 2):c=stereo:s=48000:d=60" -c:a pcm_s16le long.wav 2>make.err; then
    not_ok "make a 60 s WAV" "ffmpeg failed" make.err
    finish
fi
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

name="remix -o - | head -c 100000 (reader goes away)"
t0=$(now)
timeout 120 "$BIN" remix long.wav -o - -m "$MODEL" 2>mrxcl.err | head -c 100000 >/dev/null
st=("${PIPESTATUS[@]}")
t=$(elapsed "$t0" "$(now)")
check_device mrxcl.err
if [ "${st[0]}" = 1 ] && grep -q "Broken pipe" mrxcl.err; then
    ok "$name: exit 1 after $t s, \"$(grep -m1 'Broken pipe' mrxcl.err)\""
else
    not_ok "$name" "exit ${st[0]} after $t s (124: still running at 120 s), want 1 and \"Broken pipe\"" mrxcl.err
fi

# ffmpeg reading in real time (-re), killed (SIGKILL) after a second: mrxcl writes into a
# pipe without a reader and must stop within a few seconds.
name="remix -o - | ffmpeg -re, ffmpeg killed mid-stream"
rm -f fifo && mkfifo fifo
"$BIN" remix long.wav -o - -m "$MODEL" >fifo 2>mrxcl.err &
mpid=$!
ffmpeg -nostdin -v error -re -i fifo -f null - 2>ff2.err &
fpid=$!
sleep 1.5
kill -KILL "$fpid" 2>/dev/null
wait "$fpid" 2>/dev/null
t0=$(now)
rc=124
for _ in $(seq 600); do # up to 60 s
    if ! kill -0 "$mpid" 2>/dev/null; then
        wait "$mpid"
        rc=$?
        break
    fi
    sleep 0.1
done
t=$(elapsed "$t0" "$(now)")
if [ "$rc" = 124 ]; then
    kill -TERM "$mpid" 2>/dev/null
    wait "$mpid" 2>/dev/null
fi
check_device mrxcl.err
if [ "$rc" = 1 ] && grep -q "Broken pipe" mrxcl.err; then
    ok "$name: mrxcl exits 1 $t s after the kill, \"$(grep -m1 'Broken pipe' mrxcl.err)\""
else
    not_ok "$name" "mrxcl: exit $rc $t s after the kill (124: still running after 60 s), want 1 and \"Broken pipe\"" mrxcl.err
fi

name="truncated WAV on stdin (header: 60 s, data: half) | remix - -o out.wav"
mkdir trunc
size=$(stat -c %s long.wav)
head -c $((size / 2)) long.wav | (cd trunc && "$BIN" remix - -o out.wav -m "$MODEL") 2>mrxcl.err
st=("${PIPESTATUS[@]}")
check_device mrxcl.err
left=$(cd trunc && ls -A | tr '\n' ' ')
if [ "${st[1]}" = 1 ] && grep -q "truncated" mrxcl.err && [ -z "$left" ]; then
    ok "$name: exit 1, nothing left, \"$(head -n 1 mrxcl.err)\""
else
    not_ok "$name" "exit ${st[1]}, want 1 and \"truncated\"; left in the directory: '${left}'" mrxcl.err
fi

# ---- 5. 5.1 and 7.1 WAV (WAVE_FORMAT_EXTENSIBLE) keep their layout ---------------------
for layout in 5.1 7.1; do
    n=${layout%.1}
    n=$((n + 1))
    f=in$layout.wav
    if ! "${FF[@]}" -f lavfi -i "aevalsrc=$(aeval "$n"):c=$layout:s=44100:d=1" -c:a pcm_s16le "$f" 2>make.err ||
        [ "$(probe "$f" channel_layout)" != "$layout" ] ||
        [ "$("$PY" -c 'import sys; d=open(sys.argv[1],"rb").read(22); print(d[20:22].hex())' "$f")" != feff ]; then
        not_ok "make a $layout WAV" "ffmpeg failed or did not write WAVE_FORMAT_EXTENSIBLE $layout" make.err
        continue
    fi
    read -r want_frames _ _ < <(info "$f")
    name="remix $layout WAV -o out$layout.wav"
    "$BIN" remix "$f" -o "out$layout.wav" --preset dialogue -m "$MODEL" 2>mrxcl.err
    rc=$?
    if [ "$rc" = 0 ]; then
        got="$(probe "out$layout.wav" channel_layout) $(info "out$layout.wav")"
        if [ "$got" = "$layout $want_frames $n 44100" ]; then
            ok "$name: layout $layout, $want_frames frames x $n ch"
        else
            not_ok "$name" "layout, frames, channels, rate: $got; want $layout $want_frames $n 44100"
        fi
    else
        check_device mrxcl.err
        not_ok "$name" "exit $rc" mrxcl.err
    fi
    name="separate $layout WAV -o stems$layout (WAV stems)"
    "$BIN" separate "$f" -o "stems$layout" -m "$MODEL" 2>mrxcl.err
    rc=$?
    if [ "$rc" = 0 ]; then
        why=""
        for s in music speech sfx; do
            got="$(probe "stems$layout/$s.wav" channel_layout) $(info "stems$layout/$s.wav" 2>/dev/null)"
            [ "$got" = "$layout $want_frames $n 44100" ] || why="$why $s.wav: $got;"
        done
        if [ -z "$why" ]; then
            ok "$name: music, speech, sfx.wav have layout $layout, $want_frames frames x $n ch"
        else
            not_ok "$name" "${why# }; want $layout $want_frames $n 44100"
        fi
    else
        check_device mrxcl.err
        not_ok "$name" "exit $rc" mrxcl.err
    fi
done

finish
