#!/usr/bin/env bash
# Behaviour of the mrxcl command-line program: errors name the problem and the file,
# exit 1 (runtime) or 2 (usage), and leave the output directory exactly as it was;
# a good run writes every stem with the input's rate, channels and length.
#
#   bash tests/test_cli.sh MRXCL_BINARY REPO_ROOT
#
# Prints "ok - NAME" / "not ok - NAME (why)" per case and "N passed, M failed" last.
# Exit 0 when nothing failed; 77 (skip) when nothing failed but the cases that need an
# OpenCL device were skipped because there is none; 1 otherwise. A case skipped for
# another reason says so ("# SKIP") without changing the exit status.
set -u

if [ $# -ne 2 ]; then
    echo "usage: bash tests/test_cli.sh MRXCL_BINARY REPO_ROOT" >&2
    exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=$(cd "$2" && pwd)
PY=/usr/bin/python3
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mrxcl-test-cli.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
unset MRXCL_MODEL MRXCL_KERNEL_DIR

passed=0
failed=0
skipped=0
HAVE_DEVICE=1
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() {
    echo "not ok - $1 ($2)"
    failed=$((failed + 1))
    if [ -s "$WORK/stderr" ]; then sed 's/^/#   stderr: /' "$WORK/stderr" | head -n 15; fi
}
skip() { echo "ok - $1 # SKIP $2"; skipped=$((skipped + 1)); }
finish() {
    if [ "$skipped" -ne 0 ]; then echo "# $skipped skipped"; fi
    echo "$passed passed, $failed failed"
    if [ "$failed" -ne 0 ]; then exit 1; fi
    if [ "$HAVE_DEVICE" -eq 0 ]; then exit 77; fi
    exit 0
}

# ---- fixtures ---------------------------------------------------------------------
MODEL=$WORK/model.safetensors
if ! "$PY" "$ROOT/tools/make_random_model.py" "$MODEL" --seed 7 --sample-rate 16000 --hop 8 \
    --windows 16,32,64 --hidden 8 --layers 1 --sources music,speech,sfx >"$WORK/stdout" 2>"$WORK/stderr"; then
    not_ok "make a random model" "tools/make_random_model.py failed"
    finish
fi
mkdir "$WORK/bad"
if ! "$PY" "$ROOT/tests/make_bad_models.py" "$MODEL" "$WORK/bad" >"$WORK/bad/list" 2>"$WORK/stderr"; then
    not_ok "make broken models" "tests/make_bad_models.py failed"
    finish
fi
tensor_of() { awk -v f="$1" '$1 == f { print $2 }' "$WORK/bad/list"; }

# Clips: 16-bit PCM written with the standard library's wave module.
"$PY" - "$WORK" <<'EOF'
import array, math, os, random, sys, wave
work = sys.argv[1]
def write(name, rate, channels, frames, seed=1):
    rng = random.Random(seed)
    data = array.array("h", bytes(2 * frames * channels))
    for i in range(frames):
        for c in range(channels):
            v = 0.3 * math.sin(2 * math.pi * (220 + 110 * c) * i / rate) + 0.05 * rng.uniform(-1, 1)
            data[i * channels + c] = int(v * 32767)
    if sys.byteorder == "big":
        data.byteswap()
    with wave.open(os.path.join(work, name), "wb") as w:
        w.setnchannels(channels); w.setsampwidth(2); w.setframerate(rate)
        w.writeframes(data.tobytes())
write("stereo22k.wav", 22050, 2, 22050 + 1234)   # 1.06 s; the model runs at 16 kHz
write("mono16k.wav", 16000, 1, 8000)
write("empty.wav", 16000, 1, 0)
write("long.wav", 16000, 1, 16000 * 120)          # for the signal test: runs a while
with open(os.path.join(work, "x.wav"), "wb") as f:
    f.write(random.Random(3).randbytes(4096))
write("rate384k.wav", 384000, 1, 38400)           # above what Vorbis encodes
# A WAV whose header promises 2 s of which it holds 0.5 s (a download cut short).
write("full2s.wav", 16000, 1, 32000)
with open(os.path.join(work, "full2s.wav"), "rb") as f:
    blob = f.read()
with open(os.path.join(work, "truncated.wav"), "wb") as f:
    f.write(blob[:44 + 16000])
# ... and in stereo, cut inside a frame: the header's count is still 16000 frames
write("full1s_stereo.wav", 16000, 2, 16000)
with open(os.path.join(work, "full1s_stereo.wav"), "rb") as f:
    blob = f.read()
with open(os.path.join(work, "truncated_stereo.wav"), "wb") as f:
    f.write(blob[:44 + 4 * 5000 + 2])
import struct
def write_float(name, rate, frames):  # WAVE_FORMAT_IEEE_FLOAT: rows of per-channel samples
    ch = len(frames[0])
    data = b"".join(struct.pack("<%df" % ch, *row) for row in frames)
    fmt = struct.pack("<HHIIHH", 3, ch, rate, rate * ch * 4, ch * 4, 32)
    with open(os.path.join(work, name), "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE" +
                b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" +
                struct.pack("<I", len(data)) + data)
rows = [[0.3 * math.sin(i / 7), 0.2 * math.sin(i / 9)] for i in range(16000)]
rows[12345][1] = float("nan")
write_float("nan.wav", 16000, rows)
rows[12345][1] = 0.0
rows[777][0] = float("inf")
write_float("inf.wav", 16000, rows)
write_float("rate10.wav", 10, [[0.3 * math.sin(i / 3)] for i in range(100)])  # 10 s at 10 Hz
# More channels than libebur128's 64: the signal on channel 1, on channel 70, on both.
rng = random.Random(5)
sig = [int(8000 * math.sin(i / 7) + 2000 * rng.uniform(-1, 1)) for i in range(12800)]
def write_on(name, channels, where):
    data = array.array("h", bytes(2 * len(sig) * channels))
    for i, v in enumerate(sig):
        for c in where:
            data[i * channels + c] = v
    if sys.byteorder == "big":
        data.byteswap()
    with wave.open(os.path.join(work, name), "wb") as w:
        w.setnchannels(channels); w.setsampwidth(2); w.setframerate(16000)
        w.writeframes(data.tobytes())
write_on("on1of1.wav", 1, [0])
write_on("on1of70.wav", 70, [0])
write_on("on70of70.wav", 70, [69])
write_on("on1and70of70.wav", 70, [0, 69])
EOF
CLIP=$WORK/stereo22k.wav
mkdir "$WORK/a-directory"

# Checks a WAV (float or PCM, plain or extensible) with its own RIFF parser, since the
# wave module reads only PCM: prints "channels rate frames nonfinite".
wav_props() {
    "$PY" - "$1" <<'EOF'
import math, struct, sys
blob = open(sys.argv[1], "rb").read()
assert blob[:4] in (b"RIFF", b"RF64") and blob[8:12] == b"WAVE", "not a WAV file"
pos, fmt, data = 12, None, None
while pos + 8 <= len(blob):
    cid, size = blob[pos:pos + 4], struct.unpack_from("<I", blob, pos + 4)[0]
    body = blob[pos + 8:pos + 8 + size]
    if cid == b"fmt ":
        fmt = struct.unpack_from("<HHIIHH", body)
        if fmt[0] == 0xFFFE:
            fmt = (struct.unpack_from("<H", body, 24)[0],) + fmt[1:]
    elif cid == b"data":
        data = body
    pos += 8 + size + (size & 1)
tag, channels, rate, _, align, bits = fmt
nonfinite = 0
if tag == 3 and bits == 32:
    nonfinite = sum(1 for v in struct.unpack("<%df" % (len(data) // 4), data) if not math.isfinite(v))
print(channels, rate, len(data) // align, nonfinite)
EOF
}

# Whether two WAV files hold the same bytes in their data chunks.
same_data() { "$PY" "$ROOT/tests/wav_data.py" "$1" "$2" 2>/dev/null; }

# ---- helpers ------------------------------------------------------------------------
n_dirs=0
# A fresh output directory $OUT holding a sentinel music.wav (random bytes), whose copy
# is $WORK/sentinel.N.
new_outdir() {
    n_dirs=$((n_dirs + 1))
    OUT=$WORK/out.$n_dirs
    mkdir "$OUT"
    head -c 3000 /dev/urandom >"$OUT/music.wav"
    cp "$OUT/music.wav" "$WORK/sentinel.$n_dirs"
}
# Empty when $OUT still holds only the untouched sentinel, else what is wrong.
outdir_problems() {
    local problems="" f
    for f in "$OUT"/* "$OUT"/.[!.]*; do
        [ -e "$f" ] || continue
        [ "$f" = "$OUT/music.wav" ] || problems="$problems left $(basename "$f");"
    done
    cmp -s "$OUT/music.wav" "$WORK/sentinel.$n_dirs" || problems="$problems sentinel music.wav changed;"
    printf '%s' "$problems"
}
# run CMD...: runs it with stdout/stderr in $WORK/stdout, $WORK/stderr; RC is its status.
run() {
    "$@" >"$WORK/stdout" 2>"$WORK/stderr"
    RC=$?
}
# Why stderr lacks one of the phrases (case-insensitive), empty if it has them all.
missing_phrases() {
    local p why=""
    for p in "$@"; do
        [ -z "$p" ] && continue
        grep -qiF -- "$p" "$WORK/stderr" || why="$why stderr lacks '$p';"
    done
    printf '%s' "$why"
}
# expect_failure NAME RC "PHRASE1|PHRASE2" CMD...: in a fresh $OUT (use it in CMD as
# "@OUT@"), CMD exits RC, says every phrase on stderr, and leaves $OUT as it was.
expect_failure() {
    local name=$1 want=$2 phrases=$3 why="" arg
    shift 3
    new_outdir
    local cmd=()
    for arg in "$@"; do cmd+=("${arg//@OUT@/$OUT}"); done
    run "${cmd[@]}"
    [ "$RC" -eq "$want" ] || why="exit $RC, expected $want;"
    local list
    IFS='|' read -r -a list <<<"$phrases"
    why="$why$(missing_phrases "${list[@]}")"
    grep -qF "mrxcl: error: " "$WORK/stderr" || why="$why no 'mrxcl: error: ' line;"
    why="$why$(outdir_problems)"
    if [ -z "$why" ]; then ok "$name"; else not_ok "$name" "${why%;}"; fi
}

run "$BIN" devices
if [ "$RC" -ne 0 ]; then HAVE_DEVICE=0; fi
need_device() { [ "$HAVE_DEVICE" -eq 1 ] || { skip "$1" "no OpenCL device"; return 1; }; }

# ---- usage ----------------------------------------------------------------------------
run "$BIN" --help
if [ "$RC" -eq 0 ] && grep -q "separate" "$WORK/stdout" && grep -q "devices" "$WORK/stdout" &&
    grep -q "info" "$WORK/stdout" && grep -q "Example" "$WORK/stdout"; then
    ok "--help"
else not_ok "--help" "exit $RC or incomplete usage"; fi

run "$BIN" --version
if [ "$RC" -eq 0 ] && grep -Eq "^mrxcl [0-9]+\.[0-9]+\.[0-9]+" "$WORK/stdout"; then ok "--version"
else not_ok "--version" "exit $RC, stdout '$(head -c 100 "$WORK/stdout")'"; fi

expect_failure "no command" 2 "no command" "$BIN"
expect_failure "unknown option" 2 "unknown option '--frobnicate'" \
    "$BIN" separate "$CLIP" -o @OUT@ -m "$MODEL" --frobnicate
expect_failure "--overlap more than half of --chunk" 2 "more than half" \
    "$BIN" separate "$CLIP" -o @OUT@ -m "$MODEL" --chunk 10 --overlap 6
expect_failure "--chunk negative" 2 "invalid value '-1' for --chunk" \
    "$BIN" separate "$CLIP" -o @OUT@ -m "$MODEL" --chunk -1
expect_failure "--overlap without pieces" 2 "--chunk 0" \
    "$BIN" separate "$CLIP" -o @OUT@ -m "$MODEL" --chunk 0 --overlap 1
expect_failure "missing -o" 2 "-o DIR" "$BIN" separate "$CLIP" -m "$MODEL"
expect_failure "flac rejects float" 2 "FLAC|float" \
    "$BIN" separate "$CLIP" -o @OUT@ -m "$MODEL" --format flac --subtype float
expect_failure "ogg rejects --subtype" 2 "subtype|ogg" \
    "$BIN" separate "$CLIP" -o @OUT@ -m "$MODEL" --format ogg --subtype pcm16
expect_failure "bad --format value" 2 "mp3" "$BIN" separate "$CLIP" -o @OUT@ -m "$MODEL" --format mp3
if "$BIN" --version | grep -q "^default model: none"; then
    expect_failure "no model given, none embedded" 2 "no default model" \
        env -u MRXCL_MODEL "$BIN" separate "$CLIP" -o @OUT@
    expect_failure "info without a model, none embedded" 2 "no default model" \
        env -u MRXCL_MODEL "$BIN" info
    HAVE_DEFAULT=0
else
    HAVE_DEFAULT=1
fi

# ---- input errors ---------------------------------------------------------------------
expect_failure "missing input" 1 "No such file|nope.wav" \
    "$BIN" separate "$WORK/nope.wav" -o @OUT@ -m "$MODEL"
expect_failure "input is a directory" 1 "is a directory|a-directory" \
    "$BIN" separate "$WORK/a-directory" -o @OUT@ -m "$MODEL"
expect_failure "undecodable input" 1 "decode|x.wav" "$BIN" separate "$WORK/x.wav" -o @OUT@ -m "$MODEL"
expect_failure "zero-length input" 1 "has no audio|empty.wav" \
    "$BIN" separate "$WORK/empty.wav" -o @OUT@ -m "$MODEL"

expect_failure "truncated WAV" 1 "truncated.wav|is truncated|announces 32000 frames" \
    "$BIN" separate "$WORK/truncated.wav" -o @OUT@ -m "$MODEL"
expect_failure "truncated stereo WAV, cut inside a frame" 1 "announces 16000 frames|holds 5000" \
    "$BIN" separate "$WORK/truncated_stereo.wav" -o @OUT@ -m "$MODEL"
expect_failure "NaN in the input" 1 "nan.wav|NaN at sample 12345|channel 2" \
    "$BIN" separate "$WORK/nan.wav" -o @OUT@ -m "$MODEL"
expect_failure "Inf in the input, --loudness off" 1 "inf.wav|Inf at sample 777|channel 1" \
    "$BIN" separate "$WORK/inf.wav" -o @OUT@ -m "$MODEL" --loudness off
expect_failure "--chunk absurdly long" 2 "--chunk 1e+08 is absurd|at most 1e+07 s" \
    "$BIN" separate "$CLIP" -o @OUT@ -m "$MODEL" --chunk 1e8
expect_failure "--chunk too short" 2 "--chunk 0.0001 is shorter than the network can use|0.1 s" \
    "$BIN" separate "$CLIP" -o @OUT@ -m "$MODEL" --chunk 0.0001 --overlap 0
expect_failure "--batch 0" 2 "--batch|1 to 4096" "$BIN" separate "$CLIP" -o @OUT@ -m "$MODEL" --batch 0
expect_failure "--max-memory under 1M" 2 "--max-memory|1M" \
    "$BIN" separate "$CLIP" -o @OUT@ -m "$MODEL" --max-memory 10K
expect_failure "--batch that cannot fit --max-memory" 1 "batch of 64 pieces|MiB|fit" \
    "$BIN" separate "$CLIP" -o @OUT@ -m "$MODEL" --chunk 0.2 --overlap 0.05 --batch 64 --max-memory 8M
expect_failure "batch --stats" 2 "--stats FILE is for one input" \
    "$BIN" batch "$CLIP" -o @OUT@ -m "$MODEL" --stats "$WORK/batch-stats.json"
expect_failure "ogg above Vorbis's rates" 1 "200000 Hz|384000 Hz|Vorbis" \
    "$BIN" separate "$WORK/rate384k.wav" -o @OUT@ -m "$MODEL" --format ogg

# The same input, model and options give the same files, byte for byte, whatever the
# batch and the pipeline's timing (float WAVs carry no PEAK chunk with a time in it);
# --stats writes the run's figures as JSON
identical_files_case() {
    local name="identical files: runs and batch sizes" why="" k s
    need_device "$name" || return
    for k in 1 1 3; do
        run "$BIN" separate "$CLIP" -o "$WORK/ident-$k-$RANDOM" -m "$MODEL" --chunk 0.3 \
            --overlap 0.05 --batch $k --stats "$WORK/ident-$k.json" -q
        [ "$RC" -eq 0 ] || why="$why batch $k: exit $RC $(head -c 200 "$WORK/stderr");"
    done
    set -- "$WORK"/ident-[13]-*
    [ $# -eq 3 ] || why="$why $# output directories, not 3;"
    for s in music speech sfx; do
        for d in "$2" "$3"; do
            cmp -s "$1/$s.wav" "$d/$s.wav" || why="$why $(basename "$1")/$s.wav and $(basename "$d")/$s.wav differ;"
        done
    done
    why="$why$("$PY" - "$WORK/ident-3.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
bad = [k for k in ("audio_seconds", "pieces", "batch", "batches", "seconds", "x_real_time",
                   "device_busy", "device_bytes", "peak_rss_bytes") if k not in r]
if not bad and not (r["batch"] == 3 and r["pieces"] >= 4 and 0 < r["device_busy"] <= 1.01
                    and r["seconds"]["device"] > 0 and r["peak_rss_bytes"] > 0):
    bad = ["values %r" % {k: r[k] for k in ("batch", "pieces", "device_busy")}]
print("".join(" --stats: %s;" % b for b in bad), end="")
PYEOF
)"
    if [ -z "$why" ]; then ok "$name"; else not_ok "$name" "${why%;}"; fi
}
identical_files_case

# A header that claims 68 G frames (FLAC's 36-bit count) in a small file must size no
# allocation: refused as truncated, with address space for nothing of the kind (the
# pieces of --chunk 0 --loudness off, or the buffer of a piped input, were sized by it).
# A FLAC cut at a frame boundary is refused as truncated too, as the WAV above.
huge_flac_case() {
    local name="header claiming 68 G frames"
    # 8 GB of address space; a sanitizer build reserves terabytes of shadow: none there
    VLIMIT=8000000
    if grep -qa __asan_init "$BIN"; then VLIMIT=unlimited; fi
    need_device "$name" || return
    run "$BIN" separate "$WORK/full2s.wav" -o "$WORK/flacsrc" -m "$MODEL" --format flac -q
    "$PY" - "$WORK/flacsrc/music.flac" "$WORK/huge.flac" "$WORK/cut.flac" <<'PYEOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
assert b[:4] == b"fLaC" and b[4] & 0x7F == 0  # STREAMINFO first
# cut at the frame that starts nearest the middle: a FLAC that ends cleanly, short
sync = [i for i in range(42, len(b) - 1) if b[i] == 0xFF and b[i + 1] in (0xF8, 0xF9)]
open(sys.argv[3], "wb").write(b[:min(sync, key=lambda i: abs(i - len(b) // 2))])
v = int.from_bytes(b[18:26], "big")  # rate, channels, bits, then the 36-bit frame count
b[18:26] = ((v & ~((1 << 36) - 1)) | ((1 << 36) - 1)).to_bytes(8, "big")
open(sys.argv[2], "wb").write(b)
PYEOF
    expect_failure "truncated FLAC" 1 "cut.flac|is truncated|announces 32000 frames" \
        "$BIN" separate "$WORK/cut.flac" -o @OUT@ -m "$MODEL"
    expect_failure "$name, --chunk 0" 1 "huge.flac|is truncated|68719476735" \
        bash -c 'ulimit -v "$1"; shift; exec "$@"' _ "$VLIMIT" "$BIN" separate "$WORK/huge.flac" -o @OUT@ \
        -m "$MODEL" --loudness off --chunk 0
    expect_failure "$name, piped" 1 "is truncated|68719476735" \
        bash -c 'ulimit -v "$1"; shift; exec "$@" <"$0"' "$WORK/huge.flac" "$VLIMIT" "$BIN" separate /dev/stdin \
        -o @OUT@ -m "$MODEL"
}
huge_flac_case

# Pipes and FIFOs are read once: the input is copied to an unlinked file in $TMPDIR
# (nothing left there), the model read into memory; the stems are those of the file.
pipe_case() {
    local name="input from a pipe, a FIFO; model from a FIFO" why="" s
    need_device "$name" || return
    mkdir -p "$WORK/tmp" "$WORK/pipes"
    run "$BIN" separate "$CLIP" -o "$WORK/pipes/file" -m "$MODEL" -q
    [ "$RC" -eq 0 ] || why="$why the run on the file failed;"
    run env TMPDIR="$WORK/tmp" bash -c 'cat "$1" | "$2" separate /dev/stdin -o "$3" -m "$4" -q' \
        _ "$CLIP" "$BIN" "$WORK/pipes/pipe" "$MODEL"
    [ "$RC" -eq 0 ] || why="$why pipe: exit $RC;"
    mkfifo "$WORK/in.fifo" "$WORK/model.fifo"
    cat "$CLIP" >"$WORK/in.fifo" &
    cat "$MODEL" >"$WORK/model.fifo" &
    run env TMPDIR="$WORK/tmp" timeout 120 "$BIN" separate "$WORK/in.fifo" -o "$WORK/pipes/fifo" \
        -m "$WORK/model.fifo" -q
    [ "$RC" -eq 0 ] || why="$why FIFOs: exit $RC;"
    # a writer left blocked (the run did not open its FIFO) would hang the wait: free it
    exec 8<>"$WORK/in.fifo" 9<>"$WORK/model.fifo"
    exec 8<&- 9<&-
    wait
    for s in music speech sfx; do # the samples
        same_data "$WORK/pipes/file/$s.wav" "$WORK/pipes/pipe/$s.wav" || why="$why pipe: $s.wav differs;"
        same_data "$WORK/pipes/file/$s.wav" "$WORK/pipes/fifo/$s.wav" || why="$why FIFO: $s.wav differs;"
    done
    [ -z "$(ls -A "$WORK/tmp")" ] || why="$why left $(ls -A "$WORK/tmp" | head -1) in \$TMPDIR;"
    if [ -z "$why" ]; then ok "$name"; else not_ok "$name" "${why%;}"; fi
}
pipe_case

# Loudness beyond libebur128's 64 channels: BS.1770 sums the channels' energies, so a
# signal on channel 1 of 70, or on channel 70 (weight 1), measures as the same signal
# alone in a mono file, and on both 3.01 dB louder. Under 16 Hz there is no meter: the
# input is separated at its own level with a warning.
loudness_of() {
    run "$BIN" separate "$1" -o "$WORK/loud" -m "$MODEL" -v
    sed -n 's/.*input loudness \(-*[0-9.]*\) LUFS.*/\1/p' "$WORK/stderr"
}
loudness_case() {
    local name="loudness of 70 channels; of 10 Hz" why="" mono one last both
    need_device "$name" || return
    mono=$(loudness_of "$WORK/on1of1.wav")
    one=$(loudness_of "$WORK/on1of70.wav")
    last=$(loudness_of "$WORK/on70of70.wav")
    both=$(loudness_of "$WORK/on1and70of70.wav")
    "$PY" -c 'import sys; m, a, b, c = map(float, sys.argv[1:])
sys.exit(not (abs(a - m) < 0.01 and abs(b - m) < 0.01 and abs(c - m - 3.0103) < 0.01))' \
        "$mono" "$one" "$last" "$both" 2>/dev/null ||
        why="LUFS mono '$mono', ch 1 of 70 '$one', ch 70 '$last', both '$both';"
    run "$BIN" separate "$WORK/rate10.wav" -o "$WORK/slow" -m "$MODEL"
    [ "$RC" -eq 0 ] || why="$why 10 Hz: exit $RC;"
    why="$why$(missing_phrases "cannot be measured at 10 Hz" "its own level")"
    [ "$(wav_props "$WORK/slow/music.wav" 2>/dev/null)" = "1 10 100 0" ] || why="$why 10 Hz stems;"
    if [ -z "$why" ]; then ok "$name"; else not_ok "$name" "${why%;}"; fi
}
loudness_case

# ---- model errors ---------------------------------------------------------------------
expect_failure "model: missing file" 1 "nomodel.safetensors|No such file" \
    "$BIN" separate "$CLIP" -o @OUT@ -m "$WORK/nomodel.safetensors"
expect_failure "model: a directory" 1 "a-directory|is a directory" \
    "$BIN" separate "$CLIP" -o @OUT@ -m "$WORK/a-directory"
expect_failure "model: 'sources' too long" 1 "long_sources.safetensors|'sources' is too long" \
    "$BIN" separate "$CLIP" -o @OUT@ -m "$WORK/bad/long_sources.safetensors"
expect_failure "model: truncated" 1 "truncated.safetensors" \
    "$BIN" separate "$CLIP" -o @OUT@ -m "$WORK/bad/truncated.safetensors"
for kind in wrong_shape missing_tensor nan_weight bad_dtype_i64 bad_dtype_bf16; do
    expect_failure "model: $kind" 1 "$kind.safetensors|$(tensor_of "$kind.safetensors")" \
        "$BIN" separate "$CLIP" -o @OUT@ -m "$WORK/bad/$kind.safetensors"
done
expect_failure "info on a broken model" 1 "missing_tensor.safetensors" \
    "$BIN" info "$WORK/bad/missing_tensor.safetensors"

"$PY" "$ROOT/tools/make_random_model.py" "$WORK/abc.safetensors" --seed 7 --sample-rate 16000 \
    --hop 8 --windows 16,32,64 --hidden 8 --layers 1 --sources a,b,c >/dev/null 2>&1
expect_failure "--consistency music_sfx without music and sfx" 1 "music_sfx|music and sfx|abc.safetensors" \
    "$BIN" separate "$CLIP" -o @OUT@ -m "$WORK/abc.safetensors" --consistency music_sfx

# A model file may name the consistency it is meant for (metadata "consistency"): info
# shows it, separate applies it unless --consistency says otherwise (bit for bit the
# same stems as --consistency all here), and a model that names none gets pass.
"$PY" "$ROOT/tools/make_random_model.py" "$WORK/all.safetensors" --seed 7 --sample-rate 16000 \
    --hop 8 --windows 16,32,64 --hidden 8 --layers 1 --consistency all >/dev/null 2>&1
run "$BIN" info "$WORK/all.safetensors"
info_all=$(grep "^consistency:" "$WORK/stdout")
run "$BIN" info "$MODEL"
info_none=$(grep "^consistency:" "$WORK/stdout")
case "$info_all|$info_none" in
    "consistency:  all "*"|consistency:  pass "*) ok "info: the model's consistency" ;;
    *) not_ok "info: the model's consistency" "'$info_all' and '$info_none'" ;;
esac
# tools/mrx_io.py reads and writes it as the engine does (eval.py and ref_separate.py
# resolve --consistency model with it), and refuses what the engine refuses.
why=$("$PY" - "$ROOT/tools" "$WORK" "$MODEL" 2>&1 <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import mrx_io
work, model = sys.argv[2], sys.argv[3]
got = (mrx_io.model_consistency(work + "/all.safetensors"), mrx_io.model_consistency(model))
if got != ("all", "pass"):
    print("model_consistency gave %s, %s" % got)
tensors, config = mrx_io.read_model_file(model)
for mode, sources in (("everything", None), ("music_sfx", ["a", "b", "c"])):
    cfg = dict(config, sources=sources or config["sources"])
    try:
        mrx_io.save_model(work + "/refused.safetensors", tensors, cfg, consistency=mode)
        print("save_model wrote consistency %s with sources %s" % (mode, cfg["sources"]))
    except mrx_io.ModelError:
        pass
EOF
)
if [ -z "$why" ]; then ok "mrx_io: the model's consistency"; else not_ok "mrx_io: the model's consistency" "$why"; fi
if need_device "separate: the model's consistency by default"; then
    why=""
    for mode in default all pass model; do
        args=(); [ "$mode" = default ] || args=(--consistency "$mode")
        run "$BIN" separate "$CLIP" -o "$WORK/cons-$mode" -m "$WORK/all.safetensors" -q "${args[@]}"
        [ "$RC" -eq 0 ] || why="$why $mode: exit $RC;"
    done
    # the samples
    why="$why$("$PY" - "$ROOT/tools" "$WORK" 2>&1 <<'EOF'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from audio_io import read_wav
stem = lambda mode, s: read_wav("%s/cons-%s/%s.wav" % (sys.argv[2], mode, s))[0]
for s in ("music", "speech", "sfx"):
    for mode in ("all", "model"):
        if not np.array_equal(stem("default", s), stem(mode, s)):
            print(" %s differs from --consistency %s;" % (s, mode), end="")
if np.array_equal(stem("default", "sfx"), stem("pass", "sfx")):
    print(" sfx is the same as with --consistency pass;", end="")
EOF
)"
    if [ -z "$why" ]; then ok "separate: the model's consistency by default"
    else not_ok "separate: the model's consistency by default" "${why%;}"; fi
fi

# ---- device and kernel errors ---------------------------------------------------------
mkdir "$WORK/no-icds"
expect_failure "no OpenCL device" 1 "OpenCL device" \
    env OCL_ICD_VENDORS="$WORK/no-icds" "$BIN" separate "$CLIP" -o @OUT@ -m "$MODEL"
expect_failure "devices without OpenCL" 1 "OpenCL" env OCL_ICD_VENDORS="$WORK/no-icds" "$BIN" devices

if need_device "kernel build failure"; then
    mkdir "$WORK/bad-kernels"
    for f in "$ROOT"/kernels/*.cl; do
        cp "$f" "$WORK/bad-kernels/"
        printf '\nthis is not OpenCL C;\n' >>"$WORK/bad-kernels/$(basename "$f")"
    done
    expect_failure "kernel build failure" 1 "failed to build|bad-kernels|OpenCL build log" \
        env MRXCL_KERNEL_DIR="$WORK/bad-kernels" "$BIN" separate "$CLIP" -o @OUT@ -m "$MODEL"
    # the compiler's complaint about the appended line, after the log's heading
    if sed -n '/OpenCL build log:/,$p' "$WORK/stderr" | grep -q "this"; then
        ok "kernel build failure: the build log names the bad code"
    else not_ok "kernel build failure: the build log names the bad code" "no 'this' in the log"; fi
fi

# ---- good runs ------------------------------------------------------------------------
if [ "$HAVE_DEFAULT" -eq 1 ] && need_device "separate with the embedded default model"; then
    new_outdir
    run env -u MRXCL_MODEL "$BIN" separate "$CLIP" -o "$OUT"
    why=""
    [ "$RC" -eq 0 ] || why="exit $RC: $(tail -c 300 "$WORK/stderr");"
    for s in music speech sfx; do
        if [ ! -f "$OUT/$s.wav" ]; then why="$why no $s.wav;"; continue; fi
        props=$(wav_props "$OUT/$s.wav" 2>&1)
        [ "$props" = "2 22050 23284 0" ] ||
            why="$why $s.wav is '$props' (channels rate frames nonfinite), expected '2 22050 23284 0';"
    done
    if [ -z "$why" ]; then ok "separate with the embedded default model"
    else not_ok "separate with the embedded default model" "${why%;}"; fi
    run env -u MRXCL_MODEL "$BIN" info
    if [ "$RC" -eq 0 ] && grep -q "the default model" "$WORK/stdout" &&
        grep -q "music" "$WORK/stdout"; then ok "info on the embedded default model"
    else not_ok "info on the embedded default model" "exit $RC, stdout '$(head -c 200 "$WORK/stdout")'"; fi
fi

if need_device "separate: wav float, 22050 Hz stereo (resampled)"; then
    new_outdir
    run "$BIN" separate "$CLIP" -o "$OUT" -m "$MODEL"
    why=""
    [ "$RC" -eq 0 ] || why="exit $RC;"
    for s in music speech sfx; do
        if [ ! -f "$OUT/$s.wav" ]; then why="$why no $s.wav;"; continue; fi
        props=$(wav_props "$OUT/$s.wav" 2>&1)
        [ "$props" = "2 22050 23284 0" ] ||
            why="$why $s.wav is '$props' (channels rate frames nonfinite), expected '2 22050 23284 0';"
    done
    cmp -s "$OUT/music.wav" "$WORK/sentinel.$n_dirs" && why="$why music.wav was not replaced;"
    if ls -A "$OUT" | grep -q partial; then why="$why left a temporary file;"; fi
    grep -q "separated .* real time on" "$WORK/stderr" || why="$why no timing line;"
    DEVICE_NAME=$(sed -n 's/^separated .* real time on //p' "$WORK/stderr")
    if [ -z "$why" ]; then ok "separate: wav float, 22050 Hz stereo (resampled)"
    else not_ok "separate: wav float, 22050 Hz stereo (resampled)" "${why%;}"; fi
fi

if need_device "separate: wav pcm16 into a new directory, -q"; then
    run "$BIN" separate "$CLIP" -o "$WORK/new-dir" -m "$MODEL" --subtype pcm16 -q
    why=""
    [ "$RC" -eq 0 ] || why="exit $RC;"
    [ -s "$WORK/stderr" ] && why="$why -q printed something;"
    for s in music speech sfx; do
        props=$("$PY" -c 'import sys, wave
w = wave.open(sys.argv[1]); print(w.getnchannels(), w.getframerate(), w.getnframes(), w.getsampwidth())' \
            "$WORK/new-dir/$s.wav" 2>&1)
        [ "$props" = "2 22050 23284 2" ] || why="$why $s.wav is '$props', expected '2 22050 23284 2';"
    done
    if [ -z "$why" ]; then ok "separate: wav pcm16 into a new directory, -q"
    else not_ok "separate: wav pcm16 into a new directory, -q" "${why%;}"; fi
fi

# flac and ogg: read back with soundfile where it is installed, else check the magic.
check_encoded() {
    local name=$1 ext=$2 magic=$3 frames_exact=$4 dir=$5 why="" s
    for s in music speech sfx; do
        local f="$dir/$s.$ext"
        if [ ! -s "$f" ]; then why="$why no $s.$ext;"; continue; fi
        [ "$(head -c 4 "$f")" = "$magic" ] || why="$why $s.$ext does not start with $magic;"
        props=$("$PY" -c 'import sys
try:
    import soundfile
except ImportError:
    print("no soundfile"); sys.exit(0)
i = soundfile.info(sys.argv[1]); print(i.channels, i.samplerate, i.frames)' "$f" 2>&1)
        case "$props" in
        "no soundfile") ;;
        "2 22050 23284") ;;
        "2 22050 "*) [ "$frames_exact" = 1 ] && why="$why $s.$ext is '$props';" ;;
        *) why="$why $s.$ext is '$props';" ;;
        esac
    done
    if [ -z "$why" ]; then ok "$name"; else not_ok "$name" "${why%;}"; fi
}
if need_device "separate: flac pcm16"; then
    run "$BIN" separate "$CLIP" -o "$WORK/flac" -m "$MODEL" --format flac --subtype pcm16
    if [ "$RC" -ne 0 ]; then not_ok "separate: flac pcm16" "exit $RC"
    else check_encoded "separate: flac pcm16" flac fLaC 1 "$WORK/flac"; fi
fi
if need_device "separate: ogg vorbis"; then
    run "$BIN" separate "$CLIP" -o "$WORK/ogg" -m "$MODEL" --format=ogg --device 0 -v
    if [ "$RC" -ne 0 ]; then not_ok "separate: ogg vorbis" "exit $RC"
    else check_encoded "separate: ogg vorbis" ogg OggS 0 "$WORK/ogg"; fi
fi

if need_device "separate: device by name, MRXCL_MODEL"; then
    # the device the first good run named in its timing line
    run env MRXCL_MODEL="$MODEL" "$BIN" separate "$WORK/mono16k.wav" -o "$WORK/by-name" \
        --device "${DEVICE_NAME:-0}"
    why=""
    [ "$RC" -eq 0 ] || why="exit $RC;"
    props=$(wav_props "$WORK/by-name/speech.wav" 2>&1)
    [ "$props" = "1 16000 8000 0" ] || why="$why speech.wav is '$props';"
    if [ -z "$why" ]; then ok "separate: device by name, MRXCL_MODEL"
    else not_ok "separate: device by name, MRXCL_MODEL" "${why%;}"; fi
fi

# A first run builds the kernels (PoCL: also at their first launch, in the first piece):
# -v keeps that time apart from the separation's real-time factor. Words, not times,
# are checked: how long a build takes depends on the machine and its kernel cache.
if need_device "separate -v: kernel build apart from the real-time factor"; then
    why=""
    run "$BIN" separate "$WORK/mono16k.wav" -o "$WORK/verbose" -m "$MODEL" -v --chunk 0.2 --overlap 0.05
    [ "$RC" -eq 0 ] || why="exit $RC;"
    n=$(grep -Ec "^separated [0-9.]+ s of audio .* in [0-9.]+ s, [0-9.]+x real time on " "$WORK/stderr")
    [ "$n" = 1 ] || why="$why $n timing lines, expected 1;"
    grep -Eq "^mrxcl: kernel build and device setup: [0-9]+\.[0-9]+ s before separating, not counted above" \
        "$WORK/stderr" || why="$why no setup time apart (pieces);"
    grep -Eq "^mrxcl: the first piece took [0-9]+\.[0-9]+ s more .*: the separation alone ran at [0-9.]+x real time$" \
        "$WORK/stderr" || why="$why no first piece apart;"
    grep -Eq "times: .*kernel build and device setup [0-9.]+ s, read\+separate\+write [0-9.]+ s" \
        "$WORK/stderr" || why="$why the times line does not name the setup;"
    run "$BIN" separate "$WORK/mono16k.wav" -o "$WORK/verbose" -m "$MODEL" -v
    [ "$RC" -eq 0 ] || why="$why one piece: exit $RC;"
    grep -Eq "^mrxcl: kernel build and device setup: [0-9]+\.[0-9]+ s before separating" "$WORK/stderr" ||
        why="$why no setup time apart (one piece);"
    grep -q "^mrxcl: in one piece, the time above may include kernels" "$WORK/stderr" ||
        why="$why one piece: no word on kernels built at their first launch;"
    if [ -z "$why" ]; then ok "separate -v: kernel build apart from the real-time factor"
    else not_ok "separate -v: kernel build apart from the real-time factor" "${why%;}"; fi
fi

# A first run on PoCL (an empty kernel cache) prints no compiler warnings: clFFT's
# generated kernels draw some ("unknown attribute 'max_constant_size' ignored"), which
# the program hides unless POCL_EXTRA_BUILD_FLAGS is set; ctest kernels holds our own
# kernels to no warning at all. With the variable set (even empty), they show again.
# MRXCL_FFT=clfft: on CPU devices the FFTs run on the host and no clFFT kernel is built.
if need_device "a first run prints no kernel-compiler warnings"; then
    mkdir -p "$WORK/pocl-cold" "$WORK/pocl-cold-2"
    run env -u POCL_EXTRA_BUILD_FLAGS MRXCL_FFT=clfft POCL_CACHE_DIR="$WORK/pocl-cold" \
        "$BIN" separate "$WORK/mono16k.wav" -o "$WORK/cold" -m "$MODEL" -q
    if [ "$RC" -eq 0 ] && ! grep -qi "warning" "$WORK/stderr"; then
        ok "a first run prints no kernel-compiler warnings"
    else not_ok "a first run prints no kernel-compiler warnings" "exit $RC"; fi
    if "$BIN" devices 2>/dev/null | grep -qi "portable computing language"; then
        run env POCL_EXTRA_BUILD_FLAGS= MRXCL_FFT=clfft POCL_CACHE_DIR="$WORK/pocl-cold-2" \
            "$BIN" separate "$WORK/mono16k.wav" -o "$WORK/cold" -m "$MODEL" -q
        if [ "$RC" -eq 0 ] && grep -q "warning" "$WORK/stderr"; then
            ok "POCL_EXTRA_BUILD_FLAGS of the user's own shows the warnings again"
        else not_ok "POCL_EXTRA_BUILD_FLAGS of the user's own shows the warnings again" \
            "exit $RC, no warning on stderr"; fi
    else skip "POCL_EXTRA_BUILD_FLAGS of the user's own shows the warnings again" "not PoCL"; fi
fi

# Long inputs are separated in cross-faded pieces (host/chunked.c), at -27 LUFS
# (host/cli/loudness.c). The stems must match the PyTorch reference doing the same
# (tools/ref_separate.py chunked() and at_level(), float64): pieces and --chunk 0 (whole)
# with --loudness off, the defaults (one piece here, loudness on), and --consistency all
# and music_sfx (ref_separate.consistent(); with all, the stems also sum to the input
# within 1e-5). This small random model forgets within a few frames, so cross-faded
# pieces come within about 120 dB of the whole; pieces with hard cuts (--overlap 0)
# differ from it, and must, so that their comparison tells where the pieces lie (the
# cross-fade itself is checked in tests/test_chunked.c); and the clip is drawn loud, far
# from -27 LUFS, so that the reference at -27 LUFS differs from the bare one (below).
# A fresh random clip each run (16 kHz, the model's rate: no resampling); its seed is
# printed on failure (SEED=N reruns it).
if need_device "separate in pieces and at -27 LUFS: the PyTorch reference"; then
    name="separate in pieces and at -27 LUFS: the PyTorch reference"
    if ! "$PY" -c "import torch" 2>/dev/null; then
        skip "$name" "torch is not importable"
    else
        seed=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
        why=$("$PY" - "$ROOT/tools" "$BIN" "$MODEL" "$WORK/chunks" "$seed" 2>&1 <<'EOF'
import os, subprocess, sys, wave
import numpy as np
tools, binary, model_path, work, seed = sys.argv[1:6]
sys.path.insert(0, tools)
import mrx_io, mrx_ref, ref_separate
from audio_io import read_wav
os.makedirs(work)
rng = np.random.default_rng(int(seed))
frames = 3 * 16000 + int(rng.integers(0, 4000))
# 8 to 15 dB above -20 dBFS rms. Not below: a quiet clip meets this small random model in
# its near-linear range, where the gain to -27 LUFS and back barely changes the stems
# (seed 1433109879, 12.9 dB below: 60.8 dB apart); above, they are about 6 dB apart.
level = 10 ** (rng.uniform(8, 15) / 20)
pcm = np.round(np.clip(rng.standard_normal((2, frames)) * 0.1 * level, -1, 1) * 32767).astype("<i2")
with wave.open(os.path.join(work, "in.wav"), "wb") as w:
    w.setnchannels(2); w.setsampwidth(2); w.setframerate(16000)
    w.writeframes(pcm.T.tobytes())
x = pcm.astype(np.float32) / 32768.0  # as libsndfile reads PCM16
model = mrx_ref.load_model(model_path)[0].double()
sources = mrx_io.read_model_file(model_path)[1]["sources"]
sep = lambda v: ref_separate.separate(model, v, double=True)  # [S, C, n]
off = ["--loudness", "off"]
cases = {"faded": (["--chunk", "0.75", "--overlap", "0.2"] + off, 12000, 3200),
         "cut": (["--chunk", "0.75", "--overlap", "0"] + off, 12000, 0),
         "whole": (["--chunk", "0"] + off, 0, 0),
         "defaults": ([], 0, 0),
         "all": (["--consistency", "all"], 0, 0),
         "music_sfx": (["--consistency", "music_sfx"], 0, 0)}
refs = {case: ref_separate.chunked(sep, x, n, o) for case, (_, n, o) in cases.items()}
for mode in ("defaults", "all", "music_sfx"):
    refs[mode] = ref_separate.at_level(
        lambda v: ref_separate.consistent(sep(v), v, "pass" if mode == "defaults" else mode,
                                          sources), x, 16000)
def snr(ref, out):
    err = np.sum((ref - out) ** 2)
    return np.inf if err == 0 else 10 * np.log10(np.sum(ref ** 2) / err)
problems = []
for case, (args, length, overlap) in cases.items():
    out_dir = os.path.join(work, case)
    p = subprocess.run([binary, "separate", os.path.join(work, "in.wav"), "-o", out_dir,
                        "-m", model_path, "-v"] + args, capture_output=True, text=True)
    if p.returncode != 0:
        problems.append("%s: exit %d: %s" % (case, p.returncode, p.stderr[-300:]))
        continue
    n = len(ref_separate.chunk_plan(frames, length, overlap))
    want = "%d piece%s of up to" % (n, "s" if n > 1 else "")
    if want not in p.stderr:
        problems.append("%s: -v does not say '%s'" % (case, want))
    for s, name in enumerate(sources):
        y, rate = read_wav(os.path.join(out_dir, name + ".wav"))
        for c in range(2):
            v = snr(refs[case][s, c], y[c].astype(np.float64))
            if not v >= 80:
                problems.append("%s: %s channel %d: SNR %.1f dB against the reference, "
                                "threshold 80" % (case, name, c, v))
    if case == "all":  # the stems sum to the input
        total = sum(read_wav(os.path.join(out_dir, n + ".wav"))[0].astype(np.float64) for n in sources)
        err = np.abs(total - x).max()
        if not err < 1e-5:
            problems.append("all: the stems miss the input by up to %.3g" % err)
for a, b in (("whole", "cut"), ("whole", "defaults"), ("defaults", "all"), ("defaults", "music_sfx")):
    apart = min(snr(refs[a][s, c], refs[b][s, c]) for s in range(3) for c in range(2))
    if not apart < 60:
        problems.append("the %s reference is within %.1f dB of the %s one" % (b, apart, a))
print("; ".join(problems))
EOF
)
        if [ -z "$why" ]; then ok "$name"; else not_ok "$name" "seed $seed: $why"; fi
    fi
fi

# 5.1 loudness leaves the LFE out (BS.1770-4): raising the fourth channel by 20 dB must
# not change the gain, so channel 0's stems stay as they were (channels are separated
# independently); raising a surround must change them. Fresh random clip, seed printed.
if need_device "5.1 loudness leaves the LFE out"; then
    seed=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
    why=$("$PY" - "$ROOT/tools" "$BIN" "$MODEL" "$WORK/lfe" "$seed" 2>&1 <<'EOF'
import os, subprocess, sys, wave
import numpy as np
tools, binary, model_path, work, seed = sys.argv[1:6]
sys.path.insert(0, tools)
from audio_io import read_wav
os.makedirs(work)
rng = np.random.default_rng(int(seed))
x = rng.standard_normal((6, 2 * 16000)) * 0.02
def run(name, y):
    path = os.path.join(work, name + ".wav")
    with wave.open(path, "wb") as w:
        w.setnchannels(6); w.setsampwidth(2); w.setframerate(16000)
        w.writeframes(np.round(np.clip(y, -1, 1) * 32767).astype("<i2").T.tobytes())
    p = subprocess.run([binary, "separate", path, "-o", os.path.join(work, name), "-m", model_path],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("%s: exit %d: %s" % (name, p.returncode, p.stderr[-300:]))
    return read_wav(os.path.join(work, name, "speech.wav"))[0][0].astype(np.float64)
def snr(a, b):
    e = np.sum((a - b) ** 2)
    return np.inf if e == 0 else 10 * np.log10(np.sum(a ** 2) / e)
base = run("base", x)
lfe, surround = x.copy(), x.copy()
lfe[3] *= 10
surround[4] *= 10
problems = []
v = snr(base, run("lfe", lfe))
if not v >= 100:
    problems.append("a louder LFE changed channel 0 (SNR %.1f dB, threshold 100)" % v)
v = snr(base, run("surround", surround))
if not v < 60:
    problems.append("a louder surround left channel 0 within %.1f dB" % v)
print("; ".join(problems))
EOF
)
    if [ -z "$why" ]; then ok "5.1 loudness leaves the LFE out"
    else not_ok "5.1 loudness leaves the LFE out" "seed $seed: $why"; fi
fi

# A model file that train.py exported carries a training record in its metadata; the engine
# reads only the configuration, so the same tensors separate to the same samples.
if need_device "separate: a model with a training record"; then
    why=""
    if ! "$PY" - "$ROOT/tools" "$MODEL" "$WORK/model-hist.safetensors" 2>"$WORK/stderr" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import mrx_io
tensors, config = mrx_io.read_model_file(sys.argv[2])
stage = {"steps": 10, "seconds": 2.5, "device": "cpu", "batch": 2, "crop": 1.0, "seed": 0,
         "started_from": None}
mrx_io.save_model(sys.argv[3], tensors, config, training={"history": [stage], "complete": True})
EOF
    then why="could not write the model: $(head -c 300 "$WORK/stderr");"
    else
        run "$BIN" separate "$WORK/mono16k.wav" -o "$WORK/hist" -m "$WORK/model-hist.safetensors" \
            --device "${DEVICE_NAME:-0}"
        [ "$RC" -eq 0 ] || why="exit $RC: $(head -c 300 "$WORK/stderr");"
        for s in music speech sfx; do  # the samples
            [ "$RC" -eq 0 ] && ! "$PY" -c 'import sys; sys.path.insert(0, sys.argv[1])
from audio_io import read_wav
import numpy as np
a, b = read_wav(sys.argv[2]), read_wav(sys.argv[3])
sys.exit(not (a[1] == b[1] and np.array_equal(a[0], b[0])))' \
                "$ROOT/tools" "$WORK/by-name/$s.wav" "$WORK/hist/$s.wav" &&
                why="$why $s.wav differs from the run without the record;"
        done
    fi
    if [ -z "$why" ]; then ok "separate: a model with a training record"
    else not_ok "separate: a model with a training record" "${why%;}"; fi
fi

# ---- output errors --------------------------------------------------------------------
head -c 100 /dev/urandom >"$WORK/a-file"
cp "$WORK/a-file" "$WORK/a-file.copy"
run "$BIN" separate "$CLIP" -o "$WORK/a-file/out" -m "$MODEL"
why=""
[ "$RC" -eq 1 ] || why="exit $RC, expected 1;"
why="$why$(missing_phrases "cannot create output directory" "a-file/out" "Not a directory")"
cmp -s "$WORK/a-file" "$WORK/a-file.copy" || why="$why the file in the path changed;"
if ls -A "$WORK" | grep -q partial; then why="$why left a temporary file;"; fi
if [ -z "$why" ]; then ok "output directory through a regular file"
else not_ok "output directory through a regular file" "${why%;}"; fi

expect_failure "output directory is a file" 1 "not a directory|a-file" \
    "$BIN" separate "$CLIP" -o "$WORK/a-file" -m "$MODEL"

ln -s "$WORK/nowhere" "$WORK/dangling"
run "$BIN" separate "$CLIP" -o "$WORK/dangling" -m "$MODEL"
why=""
[ "$RC" -eq 1 ] || why="exit $RC, expected 1;"
why="$why$(missing_phrases "dangling symbolic link" "$WORK/nowhere")"
{ [ -L "$WORK/dangling" ] && [ ! -e "$WORK/nowhere" ]; } || why="$why the link or its target changed;"
if [ -z "$why" ]; then ok "output directory is a dangling symlink"
else not_ok "output directory is a dangling symlink" "${why%;}"; fi

if need_device "short write (file size limit)"; then
    # ulimit -f 4096: writes past 4 MiB fail with EFBIG, as a full disk fails a write.
    # The stems of long.wav are 7.7 MB; the OpenCL compiler's cache files are smaller.
    expect_failure "short write (file size limit)" 1 "cannot write|music.wav|File too large" \
        bash -c 'ulimit -f 4096; exec "$@"' _ "$BIN" separate "$WORK/long.wav" -o @OUT@ -m "$MODEL"
fi

# An interrupted run removes its temporary files and exits 128 + the signal.
signal_case() {
    local sig=$1 want=$2 name="interrupted by SIG$1" delay=${3:-0}
    [ "$delay" = 0 ] || name="$name, ${delay} s into the separation"
    need_device "$name" || return
    new_outdir
    "$BIN" separate "$WORK/long.wav" -o "$OUT" -m "$MODEL" >"$WORK/stdout" 2>"$WORK/stderr" &
    local pid=$! i
    for ((i = 0; i < 1000; i++)); do
        if ls -A "$OUT" | grep -q partial; then break; fi
        sleep 0.02
    done
    # With a delay, the OpenCL compiler (LLVM in PoCL) has installed its handlers, which
    # take SIGUSR1 for their own unless the program takes it back.
    sleep "$delay"
    # Stopped, it cannot finish before the signal arrives; it handles it on SIGCONT.
    local alive=0
    kill -s STOP "$pid" 2>/dev/null && alive=1
    case "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" in Z | "") alive=0 ;; esac # exited
    kill -s "$sig" "$pid" 2>/dev/null
    kill -s CONT "$pid" 2>/dev/null
    wait "$pid"
    RC=$?
    # A run that was still there when signalled must not finish as if it was not.
    if [ "$RC" -eq 0 ] && [ "$alive" -eq 0 ]; then
        skip "$name" "the run finished before the signal"
        return
    fi
    local why=""
    [ "$RC" -eq "$want" ] || why="exit $RC, expected $want;"
    why="$why$(outdir_problems)"
    if [ -z "$why" ]; then ok "$name"; else not_ok "$name" "${why%;}"; fi
}
signal_case TERM 143
signal_case INT 130
signal_case PIPE 141
signal_case ALRM 142
signal_case USR1 138
signal_case USR1 138 1

# A reader of stderr that goes away: the next message raises SIGPIPE.
if need_device "stderr piped into head"; then
    rm -rf "$WORK/headed"
    bash -c '"$1" separate -v "$2" -o "$3" -m "$4" 2>&1 | head -1 >/dev/null
             exit "${PIPESTATUS[0]}"' _ "$BIN" "$WORK/long.wav" "$WORK/headed" "$MODEL"
    RC=$?
    if [ "$RC" -eq 141 ] && [ ! -e "$WORK/headed" ]; then ok "stderr piped into head"
    else not_ok "stderr piped into head" "exit $RC, or left: $(ls -A "$WORK/headed" 2>/dev/null)"; fi
fi

# What a killed run (SIGKILL) leaves, a later run into DIR removes: the partials of its
# stems whose process is gone; not those of a live process, of other names, or of the
# old name form without a pid.
if need_device "stale partial files"; then
    new_outdir
    sleep 60 &
    live=$!
    dead=$(bash -c 'echo $$')
    for f in ".music.wav.partial-$dead-aaaaaa" ".sfx.flac.partial-$dead-bbbbbb" \
        ".speech.wav.partial-$live-cccccc" ".other.wav.partial-$dead-dddddd" \
        ".music.wav.partial-eeeeee"; do
        echo x >"$OUT/$f"
        touch -d '1 hour ago' "$OUT/$f"
    done
    run "$BIN" separate "$CLIP" -o "$OUT" -m "$MODEL" -q
    why=""
    [ "$RC" -eq 0 ] || why="exit $RC;"
    left=$(cd "$OUT" && ls -A | grep partial | sort | tr '\n' ' ')
    want=$(printf '%s\n' ".music.wav.partial-eeeeee" ".other.wav.partial-$dead-dddddd" \
        ".speech.wav.partial-$live-cccccc" | sort | tr '\n' ' ')
    [ "$left" = "$want" ] || why="$why left '$left', expected '$want';"
    kill "$live" 2>/dev/null
    wait "$live" 2>/dev/null
    if [ -z "$why" ]; then ok "stale partial files"; else not_ok "stale partial files" "${why%;}"; fi
fi

# ---- remix ---------------------------------------------------------------------------------
expect_failure "remix: unknown source" 2 "unknown option or source '--dialog'|music, speech, sfx" \
    "$BIN" remix "$CLIP" -o @OUT@/r.wav -m "$MODEL" --dialog 3
expect_failure "remix: a gain that is not a number" 2 "invalid gain 'loud' for --speech" \
    "$BIN" remix "$CLIP" -o @OUT@/r.wav -m "$MODEL" --speech loud
expect_failure "remix: an absurd gain" 2 "absurd|+40 dB" \
    "$BIN" remix "$CLIP" -o @OUT@/r.wav -m "$MODEL" --music 90
expect_failure "remix: no -o" 2 "-o FILE" "$BIN" remix "$CLIP" -m "$MODEL"
expect_failure "remix: an output name of no known format" 2 "cannot tell the format|r.mp3" \
    "$BIN" remix "$CLIP" -o @OUT@/r.mp3 -m "$MODEL"
expect_failure "remix: -o - is WAV only" 2 "WAV only" \
    "$BIN" remix "$CLIP" -o - -m "$MODEL" --format flac
expect_failure "separate: -o - refused" 2 "is for remix" "$BIN" separate "$CLIP" -o - -m "$MODEL"
expect_failure "remix: truncated input leaves no file" 1 "is truncated" \
    "$BIN" remix "$WORK/truncated.wav" -o @OUT@/r.wav -m "$MODEL"
expect_failure "remix: truncated input on a pipe" 1 "standard input|is truncated" \
    bash -c '"$1" remix - -o "$2/r.wav" -m "$3" <"$4"' _ "$BIN" @OUT@ "$MODEL" "$WORK/truncated.wav"

# The remix against the stems of the same options: input + sum (gain - 1) x stem, in
# float64 here (-100 dB of the peak or better: float sums in another order); gains of
# 0 dB with consistency all give the input (exact by construction).
remix_error() { # remix.wav input.wav stems_dir "g_music g_speech g_sfx" (dB; -inf mutes)
    "$PY" - "$@" <<'EOF'
import sys, numpy as np, soundfile as sf
r = sf.read(sys.argv[1], dtype="float64", always_2d=True)[0]
x = sf.read(sys.argv[2], dtype="float64", always_2d=True)[0]
want = x.copy()
for name, db in zip(("music", "speech", "sfx"), map(float, sys.argv[4].split())):
    want += (10 ** (db / 20) - 1) * sf.read(f"{sys.argv[3]}/{name}.wav", dtype="float64", always_2d=True)[0]
peak = max(np.abs(want).max(), 1e-12)
print(20 * np.log10(max(np.abs(r - want).max(), 1e-300) / peak) if r.shape == want.shape else "shape")
EOF
}
remix_case() {
    local name="remix: gains, presets, pipes, progress" why="" e spec R=$WORK/remix
    need_device "$name" || return
    mkdir -p "$R"
    run "$BIN" separate "$CLIP" -o "$R/stems" -m "$MODEL" --consistency pass -q
    [ "$RC" -eq 0 ] || why="$why separate: exit $RC;"
    for spec in "--speech mute --music 6 --sfx -3.5|6 -inf -3.5" "--preset me|0 -inf 0" \
        "--preset dialogue|-9 3 -6" "--preset dialogue --music=-20|-20 3 -6"; do
        # shellcheck disable=SC2086 # the options are words
        run "$BIN" remix "$CLIP" -o "$R/r.wav" -m "$MODEL" --consistency pass -q ${spec%%|*}
        e=$(remix_error "$R/r.wav" "$CLIP" "$R/stems" "${spec##*|}")
        { [ "$RC" -eq 0 ] && awk -v e="$e" 'BEGIN { exit !(e + 0 <= -100) }'; } ||
            why="$why ${spec%%|*}: exit $RC, error $e dB of the peak (at most -100);"
    done
    # integer formats clip what goes over full scale (+20 dB on music does), neither
    # failing (libsndfile's FLAC writer) nor wrapping round (PCM WAV)
    run "$BIN" remix "$CLIP" -o "$R/loud.wav" -m "$MODEL" --music 20 -q
    for f in loud.flac loud16.wav; do
        local sub=()
        [ "$f" = loud16.wav ] && sub=(--subtype pcm16)
        run "$BIN" remix "$CLIP" -o "$R/$f" -m "$MODEL" --music 20 -q "${sub[@]}"
        "$PY" - "$R/loud.wav" "$R/$f" <<'EOF' || why="$why --music 20 into $f: exit $RC, not clipped;"
import sys, numpy as np, soundfile as sf
ref = sf.read(sys.argv[1], dtype="float64")[0]
got = sf.read(sys.argv[2], dtype="float64")[0]
assert np.abs(ref).max() > 1.2, "the float remix does not go over full scale"
want = np.clip(ref, -1, 1)
assert np.abs(got - want).max() < 1e-3, np.abs(got - want).max()
EOF
    done
    run "$BIN" remix "$CLIP" -o "$R/same.wav" -m "$MODEL" --consistency all -q
    e=$(remix_error "$R/same.wav" "$CLIP" "$R/stems" "0 0 0")
    { [ "$RC" -eq 0 ] && awk -v e="$e" 'BEGIN { exit !(e + 0 <= -100) }'; } ||
        why="$why 0 dB, all: exit $RC, $e dB from the input;"
    # standard input and output: the same samples as from and to files
    run "$BIN" remix "$CLIP" -o "$R/file.wav" -m "$MODEL" --preset dialogue -q
    run bash -c 'cat "$1" | "$2" remix - -o - -m "$3" --preset dialogue -q >"$4"' \
        _ "$CLIP" "$BIN" "$MODEL" "$R/pipe.wav"
    [ "$RC" -eq 0 ] || why="$why pipe to pipe: exit $RC;"
    same_data "$R/file.wav" "$R/pipe.wav" || why="$why pipe to pipe: other samples than file to file;"
    [ "$(wav_props "$R/pipe.wav")" = "$(wav_props "$R/file.wav")" ] ||
        why="$why standard output's header: $(wav_props "$R/pipe.wav"), the file's $(wav_props "$R/file.wav");"
    run bash -c '"$1" separate - -o "$2" -m "$3" --consistency pass -q <"$4"' \
        _ "$BIN" "$R/stdin" "$MODEL" "$CLIP"
    same_data "$R/stems/speech.wav" "$R/stdin/speech.wav" || why="$why separate -: other stems;"
    # progress: JSON lines on request (even with -q), nothing with -q alone
    run "$BIN" remix "$CLIP" -o "$R/p.wav" -m "$MODEL" -q --progress json --chunk 0.3 --overlap 0.05
    "$PY" - "$WORK/stderr" <<'EOF' || why="$why --progress json: $(tail -c 300 "$WORK/stderr");"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
stages = [l["stage"] for l in lines]
last = lines[-1]
assert all(l["event"] == "progress" and l["input"].endswith("stereo22k.wav") for l in lines)
assert "read" in stages and stages.count("separate") >= 4, stages
assert abs(last["seconds_done"] - last["seconds_total"]) < 1e-3 and last["eta"] == 0, last
assert last["realtime_factor"] > 0 and last["elapsed"] > 0, last
EOF
    run "$BIN" remix "$CLIP" -o "$R/q.wav" -m "$MODEL" -q
    { [ "$RC" -eq 0 ] && [ ! -s "$WORK/stderr" ]; } || why="$why -q: exit $RC, stderr not empty;"
    run "$BIN" remix "$CLIP" -o "$R/n.wav" -m "$MODEL"
    { [ "$(grep -c . "$WORK/stderr")" -eq 1 ] && grep -q "real time" "$WORK/stderr"; } ||
        why="$why stderr not a terminal: more than the summary line;"
    if [ -z "$why" ]; then ok "$name"; else not_ok "$name" "${why%;}"; fi
}
remix_case

# ---- info, devices ----------------------------------------------------------------------
# The learned-parameter count must agree with tools/mrx_io.py's, which counts from the shapes.
NPARAM=$("$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import mrx_io
print(mrx_io.parameter_count(mrx_io.read_model_file(sys.argv[2])[1]))' "$ROOT/tools" "$MODEL" 2>/dev/null)
run "$BIN" info "$MODEL"
if [ "$RC" -eq 0 ] && grep -q "16000 Hz" "$WORK/stdout" && grep -q "music, speech, sfx" "$WORK/stdout" &&
    [ -n "$NPARAM" ] && grep -Eq "parameters: +$NPARAM \(" "$WORK/stdout"; then ok "info"
else not_ok "info" "exit $RC, expected $NPARAM parameters, stdout: $(tr '\n' ' ' <"$WORK/stdout" | head -c 300)"; fi

if need_device "devices"; then
    run "$BIN" devices
    if [ "$RC" -eq 0 ] && [ "$(wc -l <"$WORK/stdout")" -ge 2 ]; then ok "devices"
    else not_ok "devices" "exit $RC"; fi
fi

finish
