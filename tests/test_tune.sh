#!/usr/bin/env bash
# mrxcl tune and the per-device cache of CLBlast's GEMM parameters (host/blas_tuning.c),
# on the CLBlast path (MRXCL_GEMM=clblast: CPU devices take the host BLAS otherwise):
# a tune writes the device's entry; later runs use it (said at -v) and the network still
# matches the PyTorch reference with the tuned kernels; an entry that is not JSON, names
# another driver (stale) or lacks a parameter is ignored with a warning and the run gives
# the stems of a run without one; a device without an entry is tuned at its first use
# when asked (MRXCL_TUNE=always, as GPUs are by default), and not with MRXCL_TUNE=off;
# bad --fraction and --size are refused. Tunes are tiny (--fraction 0.0001, 128 a side)
# so that PoCL's kernel builds take seconds.
#
#   bash tests/test_tune.sh MRXCL_BINARY TEST_FORWARD_BINARY REPO_ROOT
set -u
BIN=$1
FORWARD=$2
ROOT=$(cd "$3" && pwd)
PY=/usr/bin/python3
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mrxcl-test-tune.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
unset MRXCL_MODEL MRXCL_KERNEL_DIR MRXCL_TUNE MRXCL_TUNE_FRACTION MRXCL_TUNE_SIZE MRXCL_CLBLAST_DEFAULTS
export XDG_CACHE_HOME=$WORK/cache MRXCL_GEMM=clblast
passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1 ($2)"; failed=$((failed + 1)); sed 's/^/#   /' "$WORK/err" 2>/dev/null | head -n 12; }

if ! "$BIN" devices >/dev/null 2>&1; then echo "SKIP: no OpenCL device"; exit 77; fi
MODEL=$WORK/model.safetensors
"$PY" "$ROOT/tools/make_random_model.py" "$MODEL" --seed 7 --sample-rate 16000 --hop 8 \
    --windows 16,32,64 --hidden 8 --layers 1 --sources music,speech,sfx >/dev/null || exit 1
"$PY" - "$WORK/clip.wav" <<'PYEOF'
import math, struct, sys, wave
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(2); w.setsampwidth(2); w.setframerate(16000)
    w.writeframes(b"".join(struct.pack("<hh", int(9000 * math.sin(i / 7)), int(7000 * math.sin(i / 5)))
                           for i in range(24000)))
PYEOF
separate() { # DIR [env ...]: separate the clip into DIR at -v, stderr in $WORK/err
    local dir=$1
    shift
    env "$@" "$BIN" separate "$WORK/clip.wav" -o "$WORK/$dir" -m "$MODEL" -v 2>"$WORK/err"
}
same_stems() { # DIR DIR
    local s
    for s in music speech sfx; do
        "$PY" "$ROOT/tests/wav_data.py" "$WORK/$1/$s.wav" "$WORK/$2/$s.wav" || return 1
    done
}

separate plain || { not_ok "a run without a cache entry" "exit $?"; }
grep -q "parameters for CPUs (the built-in set)" "$WORK/err" && ok "no entry: the built-in CPU set" ||
    not_ok "no entry: the built-in CPU set" "not said at -v"

"$BIN" tune -m "$MODEL" --fraction 0.0001 --size 128 >"$WORK/out" 2>"$WORK/err"
rc=$?
entry=$(ls "$XDG_CACHE_HOME"/mrxcl/clblast/*.json 2>/dev/null | head -1)
if [ "$rc" -eq 0 ] && [ -n "$entry" ] && grep -q "kept in $entry" "$WORK/out" &&
    "$PY" - "$entry" <<'PYEOF'; then ok "tune writes the device's entry"
import json, sys
e = json.load(open(sys.argv[1]))
assert e["device"] and e["driver"] and e["clblast"] and e["platform"], e
assert len(e["xgemm"]) == 16 and all(isinstance(v, int) for v in e["xgemm"].values()), e
assert e["tuned_on_m_n_k"] == [128, 128, 128], e
PYEOF
else not_ok "tune writes the device's entry" "exit $rc, entry '$entry'"; fi

separate tuned
grep -q "parameters from $entry" "$WORK/err" && ok "later runs use the entry" ||
    not_ok "later runs use the entry" "not said at -v"
if "$PY" "$ROOT/tests/test_network.py" --bin "$FORWARD" --config tiny-stereo >"$WORK/err" 2>&1; then
    ok "the network with the tuned kernels matches the reference"
else not_ok "the network with the tuned kernels matches the reference" "test_network.py failed"; fi

bad_entry() { # NAME PHRASE PYTHON-EDIT
    cp "$entry" "$WORK/entry.json"
    "$PY" -c "import json, sys; p = sys.argv[1]; e = json.load(open(p)); $3; open(p, 'w').write(json.dumps(e) if isinstance(e, dict) else e)" "$entry"
    separate "bad-$1"
    local rc=$?
    if [ "$rc" -eq 0 ] && grep -q "ignoring the CLBlast cache entry.*$2" "$WORK/err" && same_stems plain "bad-$1"; then
        ok "entry $1: ignored with a warning"
    else not_ok "entry $1: ignored with a warning" "exit $rc, or no warning with '$2', or other stems than without an entry"; fi
    cp "$WORK/entry.json" "$entry"
}
bad_entry "not JSON" "not JSON" "e = '{\"device\": '"
bad_entry "of another driver" "stale" "e['driver'] = 'OpenCL 9.9 another'"
bad_entry "without VWN" "VWN" "del e['xgemm']['VWN']"
bad_entry "with a fractional KWG" "KWG" "e['xgemm']['KWG'] = 2.5"

rm -f "$entry"
separate off MRXCL_TUNE=off
{ [ ! -e "$entry" ] && ! grep -q "tuning CLBlast" "$WORK/err"; } && ok "MRXCL_TUNE=off: no tune" ||
    not_ok "MRXCL_TUNE=off: no tune" "it tuned"
separate auto MRXCL_TUNE=always MRXCL_TUNE_FRACTION=0.0001 MRXCL_TUNE_SIZE=128
{ [ -e "$entry" ] && grep -q "tuning CLBlast's GEMM for" "$WORK/err"; } &&
    ok "a device without an entry is tuned at its first use, and says so" ||
    not_ok "a device without an entry is tuned at its first use, and says so" "no entry or no warning"

for args in "--fraction 2" "--fraction 0" "--size 100" "--size 64"; do
    # shellcheck disable=SC2086
    "$BIN" tune -m "$MODEL" $args >/dev/null 2>"$WORK/err"
    rc=$?
    [ "$rc" -eq 2 ] && ok "tune $args refused" || not_ok "tune $args refused" "exit $rc"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
