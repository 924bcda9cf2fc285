#!/usr/bin/env bash
# mrxcl batch: manifests and directories, the output layout, skipping what was done before
# (same input, model and options) and redoing anything else, --force, a bad input skipped
# with exit 1, shards that cover every input once, bad shards refused, outputs identical
# to one `mrxcl separate` (or `remix`) per file; then under a private Slurm cluster
# (tests/slurm/slurm_env.sh): an array job with one task cancelled in the middle of a
# file, resubmitted, redoing only what was unfinished, and the same batch through GNU
# parallel.
#
#   bash tests/test_batch.sh MRXCL_BINARY REPO_ROOT
#
# Prints "ok - NAME" / "not ok - NAME (why)" per case and "N passed, M failed" last.
# Exit 0 when nothing failed, 77 when there is no OpenCL device, 1 otherwise. The Slurm
# and GNU parallel parts say "# SKIP" when those are missing.
set -u

if [ $# -ne 2 ]; then
    echo "usage: bash tests/test_batch.sh MRXCL_BINARY REPO_ROOT" >&2
    exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=$(cd "$2" && pwd)
PY=/usr/bin/python3
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mrxcl-test-batch.XXXXXX")
cleanup() {
    if declare -F slurm_env_stop >/dev/null; then slurm_env_stop; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
unset MRXCL_MODEL MRXCL_KERNEL_DIR SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_MIN SLURM_ARRAY_TASK_COUNT

passed=0
failed=0
skipped=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() {
    echo "not ok - $1 ($2)"
    failed=$((failed + 1))
    if [ -s "$WORK/stderr" ]; then grep -v '"event":"progress"' "$WORK/stderr" | sed 's/^/#   stderr: /' | head -n 15; fi
}
skip() { echo "ok - $1 # SKIP $2"; skipped=$((skipped + 1)); }
finish() {
    if [ "$skipped" -ne 0 ]; then echo "# $skipped skipped"; fi
    echo "$passed passed, $failed failed"
    if [ "$failed" -ne 0 ]; then exit 1; fi
    exit 0
}
check() { # NAME CONDITION-STATUS WHY
    if [ "$2" -eq 0 ]; then ok "$1"; else not_ok "$1" "$3"; fi
}

# ---- fixtures ---------------------------------------------------------------------
MODEL=$WORK/model.safetensors
"$PY" "$ROOT/tools/make_random_model.py" "$MODEL" --seed 7 --sample-rate 16000 --hop 8 \
    --windows 16,32,64 --hidden 8 --layers 1 --sources music,speech,sfx >/dev/null 2>"$WORK/stderr" ||
    { not_ok "make a random model" "tools/make_random_model.py failed"; finish; }

# clips DIR SECONDS NAME... : 16-bit mono 16 kHz WAVs (.flac through soundfile), each its own
make_clips() {
    "$PY" - "$@" <<'EOF'
import array, math, os, random, sys, wave
d, seconds, names = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
for k, name in enumerate(names):
    rng = random.Random(hash(name) & 0xffff)
    n = int(16000 * seconds)
    f = 110 + 40 * k
    data = array.array("h", (int(8000 * math.sin(2 * math.pi * f * i / 16000) + 3000 * rng.uniform(-1, 1))
                             for i in range(n)))
    path = os.path.join(d, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if path.endswith(".flac"):
        import soundfile
        soundfile.write(path, [v / 32768 for v in data], 16000, subtype="PCM_16")
        continue
    if sys.byteorder == "big":
        data.byteswap()
    with wave.open(path, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
        w.writeframes(data.tobytes())
EOF
}
IN=$WORK/in
make_clips "$IN" 1 x/a.wav x/b.wav y/c.wav y/d.flac || { not_ok "make clips" "python failed"; finish; }
head -c 5000 /dev/urandom >"$IN/y/bad.wav" # undecodable
GOOD="x/a x/b y/c y/d"

# Whether two WAV files hold the same bytes in their data chunks (a float WAV's PEAK
# chunk holds a time stamp).
same_data() { "$PY" "$ROOT/tests/wav_data.py" "$1" "$2" 2>/dev/null; }

# events LOG EVENT: the inputs of that event in a JSON log, one a line, sorted
events() { "$PY" -c '
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{"):
        o = json.loads(line)
        if o.get("event") == sys.argv[2]:
            print(o.get("input", ""))' "$1" "$2" | sort; }
count() { events "$1" "$2" | grep -c .; }

# The references: one `mrxcl separate` per input, with the same options.
ref() { # NAME (x/a) OPTIONS... -> $WORK/ref/NAME-OPTIONS/
    local name=$1 ext
    shift
    local dir="$WORK/ref/$name$(printf '%s' "$*" | tr ' /' '__')"
    if [ ! -d "$dir" ]; then
        mkdir -p "$(dirname "$dir")"
        ext=wav; [ -e "$IN/$name.flac" ] && ext=flac
        "$BIN" separate "$IN/$name.$ext" -o "$dir" -m "$MODEL" -q "$@" 2>>"$WORK/stderr" || return 1
    fi
    printf '%s' "$dir"
}
# Empty when OUTROOT holds each of NAMES' stems, identical to one separate's, else why.
compare_stems() { # OUTROOT "NAMES" OPTIONS...
    local out=$1 names=$2 problems="" n r s
    shift 2
    for n in $names; do
        r=$(ref "$n" "$@") || { problems="$problems separate $n failed;"; continue; }
        for s in music speech sfx; do
            same_data "$out/$n/$s.wav" "$r/$s.wav" || problems="$problems $n/$s.wav differs or is missing;"
        done
    done
    printf '%s' "$problems"
}
# Temporary or partial files left under a directory.
leftovers() { find "$1" -name '*.partial-*' -o -name '.*.tmp*' | head -n 5; }

if ! "$BIN" separate "$IN/x/a.wav" -o "$WORK/probe" -m "$MODEL" -q 2>"$WORK/stderr"; then
    if grep -qi "no OpenCL\|no device\|NO_DEVICE" "$WORK/stderr"; then
        echo "# no OpenCL device: skipped"
        exit 77
    fi
fi

# ---- a manifest ---------------------------------------------------------------------
cat >"$WORK/manifest" <<EOF
# films for the batch

$IN/x/a.wav
  $IN/x/b.wav
$IN/y/c.wav
EOF
(cd "$WORK" && printf 'in/y/d.flac\r\n' >>manifest) # relative to the current directory
R1=$WORK/r1
(cd "$WORK" && "$BIN" batch manifest -o "$R1" -m "$MODEL" --progress json 2>"$WORK/stderr")
rc=$?
problems=$(compare_stems "$R1" "$GOOD")
[ $rc -eq 0 ] && [ -z "$problems" ] && [ "$(count "$WORK/stderr" done)" = 4 ] &&
    [ -d "$R1/y/d" ] && [ ! -e "$R1/y/d.flac" ]
check "manifest: ROOT/x/a/{music,speech,sfx}.wav ..., identical to one separate each" $? \
    "rc $rc;$problems"
cp "$WORK/stderr" "$WORK/first.log"
"$PY" -c '
import json, sys
s = json.load(open(sys.argv[1] + "/.mrxcl/summary-0-of-1.json"))
last = [json.loads(l) for l in open(sys.argv[2]) if l.startswith("{")][-1]
assert last["event"] == "summary", last
for k in ("inputs", "done", "skipped", "failed", "seconds", "elapsed"):
    assert k in s and k in last, k
assert (s["inputs"], s["done"], s["skipped"], s["failed"], s["seconds"]) == (4, 4, 0, 0, 4), s
d = [json.loads(l) for l in open(sys.argv[2]) if "\"done\"" in l and l.startswith("{")]
done = [e for e in d if e["event"] == "done"]
assert len(done) == 4 and all(e["realtime_factor"] > 0 and e["batch"] >= 1 and e["device_seconds"] > 0
                              and 0 < e["device_busy"] <= 1.01 and e["device_bytes"] > 0
                              and e["first_pass_seconds"] >= 0 for e in done), done
' "$R1" "$WORK/stderr" 2>>"$WORK/stderr"
check "summary: JSON line last and ROOT/.mrxcl/summary-0-of-1.json; done events with the device's figures" $? "bad summary"

t0=$(date +%s%N)
(cd "$WORK" && "$BIN" batch manifest -o "$R1" -m "$MODEL" --progress json 2>"$WORK/stderr")
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc -eq 0 ] && [ "$(count "$WORK/stderr" skipped)" = 4 ] && [ "$(count "$WORK/stderr" done)" = 0 ] &&
    grep -q '"why":"done before"' "$WORK/stderr" && ! grep -q '"stage"' "$WORK/stderr"
check "rerun: every input skipped (done before), nothing read ($ms ms)" $? "rc $rc"

flip() { "$PY" -c '
import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[int(sys.argv[2])] ^= 1; open(p, "wb").write(b)' "$1" "$2"; }
touch "$IN/x/a.wav"
flip "$IN/y/c.wav" 100
(cd "$WORK" && "$BIN" batch manifest -o "$R1" -m "$MODEL" --progress json 2>"$WORK/stderr")
rc=$?
[ $rc -eq 0 ] && [ "$(events "$WORK/stderr" done | tr '\n' ' ')" = "$IN/x/a.wav $IN/y/c.wav " ] &&
    [ "$(events "$WORK/stderr" skipped | tr '\n' ' ')" = "$IN/x/b.wav $IN/y/d.flac " ]
check "a touched and a modified input are redone, the others skipped" $? "rc $rc"
# the same size and mtime, a byte changed: only the hash of its first MiB tells
touch -r "$IN/y/c.wav" "$WORK/stamp"
flip "$IN/y/c.wav" 101
touch -r "$WORK/stamp" "$IN/y/c.wav"
(cd "$WORK" && "$BIN" batch manifest -o "$R1" -m "$MODEL" --progress json 2>"$WORK/stderr")
rc=$?
[ $rc -eq 0 ] && [ "$(events "$WORK/stderr" done)" = "$IN/y/c.wav" ] && [ "$(count "$WORK/stderr" skipped)" = 3 ]
check "a byte changed with size and mtime kept: redone (SHA-256 of its ends)" $? "rc $rc"
rm -rf "$WORK/ref/y/c"* # its reference changed

(cd "$WORK" && "$BIN" batch manifest -o "$R1" -m "$MODEL" --chunk 0.5 --overlap 0.1 --progress json 2>"$WORK/stderr")
rc=$?
problems=$(compare_stems "$R1" "$GOOD" --chunk 0.5 --overlap 0.1)
[ $rc -eq 0 ] && [ "$(count "$WORK/stderr" done)" = 4 ] && [ -z "$problems" ]
check "an option changed (--chunk): every input redone, identical to separate --chunk" $? "rc $rc;$problems"
(cd "$WORK" && "$BIN" batch manifest -o "$R1" -m "$MODEL" --chunk 0.5 --overlap 0.1 --progress json 2>"$WORK/stderr")
[ "$(count "$WORK/stderr" skipped)" = 4 ]
check "the same options again: skipped" $? "not all skipped"
(cd "$WORK" && "$BIN" batch manifest -o "$R1" -m "$MODEL" --chunk 0.5 --overlap 0.1 --force --progress json 2>"$WORK/stderr")
rc=$?
[ $rc -eq 0 ] && [ "$(count "$WORK/stderr" done)" = 4 ]
check "--force redoes everything" $? "rc $rc"
"$PY" "$ROOT/tools/make_random_model.py" "$WORK/model2.safetensors" --seed 8 --sample-rate 16000 --hop 8 \
    --windows 16,32,64 --hidden 8 --layers 1 --sources music,speech,sfx >/dev/null 2>&1
(cd "$WORK" && "$BIN" batch manifest -o "$R1" -m "$WORK/model2.safetensors" --chunk 0.5 --overlap 0.1 --progress json 2>"$WORK/stderr")
[ "$(count "$WORK/stderr" done)" = 4 ]
check "another model: every input redone" $? "not all redone"
rm -f "$R1/x/b/speech.wav"
(cd "$WORK" && "$BIN" batch manifest -o "$R1" -m "$WORK/model2.safetensors" --chunk 0.5 --overlap 0.1 --progress json 2>"$WORK/stderr")
[ "$(events "$WORK/stderr" done)" = "$IN/x/b.wav" ]
check "an output removed: that input redone" $? "done: $(events "$WORK/stderr" done | tr '\n' ' ')"

# ---- a directory, a bad input, standard input ------------------------------------------
R2=$WORK/r2
"$BIN" batch "$IN" -o "$R2" -m "$MODEL" --progress json 2>"$WORK/stderr"
rc=$?
problems=$(compare_stems "$R2" "$GOOD")
[ $rc -eq 1 ] && [ "$(count "$WORK/stderr" done)" = 4 ] && [ "$(events "$WORK/stderr" failed)" = "$IN/y/bad.wav" ] &&
    grep '"event":"failed"' "$WORK/stderr" | grep -q 'bad.wav.*"error":"[^"]*bad.wav' && [ -z "$problems" ] &&
    [ ! -e "$R2/y/bad" ] && [ -z "$(leftovers "$R2")" ]
check "a directory: walked; the undecodable input failed (its message in JSON), the others done, exit 1" $? \
    "rc $rc;$problems"
"$BIN" batch "$IN" -o "$IN/out" -m "$MODEL" -q 2>"$WORK/stderr" >/dev/null
"$BIN" batch "$IN" -o "$IN/out" -m "$MODEL" --progress json 2>"$WORK/stderr"
[ "$(count "$WORK/stderr" skipped)" = 4 ] && [ ! -e "$IN/out/out" ]
check "ROOT inside a walked directory: its outputs are not inputs" $? "$(events "$WORK/stderr" done | head -3)"
rm -rf "$IN/out"
printf '%s\n' "$IN/x/a.wav" "$IN/y/c.wav" | "$BIN" batch - -o "$WORK/r2s" -m "$MODEL" -q 2>"$WORK/stderr"
rc=$?
[ $rc -eq 0 ] && [ -e "$WORK/r2s/x/a/music.wav" ] && [ -e "$WORK/r2s/y/c/sfx.wav" ]
check "- reads the manifest from standard input; the common base is the inputs'" $? "rc $rc"
"$BIN" batch --manifest "$WORK/manifest" -o "$WORK/r2m" -m "$MODEL" -q 2>"$WORK/stderr"
rc=$?
[ $rc -eq 1 ] && grep -q "d.flac" "$WORK/stderr" # relative path from another directory
check "--manifest FILE; relative paths are the current directory's (missing here: failed)" $? "rc $rc"

# ---- an unwritable output ---------------------------------------------------------------
R5=$WORK/r5
mkdir -p "$R5"
: >"$R5/x" # a file where a directory should be
printf '%s\n' "$IN/x/a.wav" "$IN/x/b.wav" "$IN/y/c.wav" >"$WORK/m5"
"$BIN" batch "$WORK/m5" -o "$R5" -m "$MODEL" --progress json 2>"$WORK/stderr"
rc=$?
[ $rc -eq 1 ] && [ "$(count "$WORK/stderr" failed)" = 2 ] && [ "$(count "$WORK/stderr" done)" = 1 ]
check "outputs that cannot be written: those inputs failed, the batch went on, exit 1" $? "rc $rc"

# ---- shards -----------------------------------------------------------------------------
R3=$WORK/r3
"$BIN" batch "$IN" -o "$R3" -m "$MODEL" --shard 0/2 --progress json 2>"$WORK/s0.log"
rc0=$?
"$BIN" batch "$IN" -o "$R3" -m "$MODEL" --shard 1/2 --progress json 2>"$WORK/s1.log"
rc1=$?
all=$( (events "$WORK/s0.log" start; events "$WORK/s1.log" start) | sort)
uniq_all=$(printf '%s\n' "$all" | sort -u)
want=$(cd "$IN" && find . -name '*.wav' -o -name '*.flac' | sed "s|^\.|$IN|" | LC_ALL=C sort)
[ $((rc0 + rc1)) -eq 1 ] && [ "$all" = "$uniq_all" ] && [ "$all" = "$(printf '%s\n' "$want" | sort)" ] &&
    [ -z "$(compare_stems "$R3" "$GOOD")" ] && [ -e "$R3/.mrxcl/summary-0-of-2.json" ] &&
    [ -e "$R3/.mrxcl/summary-1-of-2.json" ] &&
    [ "$(events "$WORK/s0.log" start | tr '\n' ' ')" = "$(printf '%s\n' $want | awk 'NR % 2 == 1' | tr '\n' ' ')" ]
check "--shard 0/2 and 1/2: every input once, every other of the sorted list (bad.wav's shard exits 1)" $? "rc $rc0 $rc1"
SLURM_ARRAY_TASK_ID=6 SLURM_ARRAY_TASK_MIN=5 SLURM_ARRAY_TASK_COUNT=2 \
    "$BIN" batch "$IN" -o "$R3" -m "$MODEL" --progress json 2>"$WORK/stderr"
[ "$(events "$WORK/stderr" skipped; events "$WORK/stderr" failed)" = "$(events "$WORK/s1.log" start)" ]
check "in a Slurm array task: the shard is ID - MIN of COUNT" $? "other inputs"
bad=""
for s in 2/2 0/0 x/2 1 -1/2 1/2x /2 1/ 3/2; do
    "$BIN" batch "$IN" -o "$WORK/r4" -m "$MODEL" --shard "$s" 2>"$WORK/stderr"
    [ $? -eq 2 ] && grep -q "shard" "$WORK/stderr" || bad="$bad $s"
done
SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_COUNT=2 \
    "$BIN" batch "$IN" -o "$WORK/r4" -m "$MODEL" 2>"$WORK/stderr"
[ $? -eq 2 ] || bad="$bad slurm-3-of-2"
"$BIN" batch "$IN" -m "$MODEL" 2>/dev/null; [ $? -eq 2 ] || bad="$bad no-o"
"$BIN" batch -o "$WORK/r4" -m "$MODEL" 2>/dev/null; [ $? -eq 2 ] || bad="$bad no-input"
"$BIN" batch "$IN" -o "$WORK/r4" -m "$MODEL" --speech 3 2>/dev/null; [ $? -eq 2 ] || bad="$bad gain-without-remix"
[ -z "$bad" ] && [ ! -e "$WORK/r4" ]
check "bad shards and usage refused with exit 2, nothing written" $? "accepted:$bad"

# ---- remix ------------------------------------------------------------------------------
R6=$WORK/r6
"$BIN" batch "$WORK/m5" -o "$R6" -m "$MODEL" --remix --preset dialogue --music -20 -q 2>"$WORK/stderr"
rc=$?
problems=""
for n in x/a x/b y/c; do
    "$BIN" remix "$IN/$n.wav" -o "$WORK/remix.wav" -m "$MODEL" --preset dialogue --music -20 -q 2>>"$WORK/stderr"
    same_data "$R6/$n.wav" "$WORK/remix.wav" || problems="$problems $n.wav;"
done
"$BIN" batch "$WORK/m5" -o "$R6" -m "$MODEL" --remix --preset dialogue --music -20 --progress json 2>"$WORK/stderr"
s1=$(count "$WORK/stderr" skipped)
"$BIN" batch "$WORK/m5" -o "$R6" -m "$MODEL" --remix --preset dialogue --music -19 --progress json 2>"$WORK/stderr"
[ $rc -eq 0 ] && [ -z "$problems" ] && [ "$s1" = 3 ] && [ "$(count "$WORK/stderr" done)" = 3 ]
check "--remix: ROOT/x/a.wav identical to remix; a gain changed redoes" $? "rc $rc;$problems skipped $s1"

# ---- SIGTERM in the middle of a file ----------------------------------------------------------
make_clips "$WORK/long" 40 l1.wav l2.wav
R7=$WORK/r7
"$BIN" batch "$WORK/long" -o "$R7" -m "$MODEL" --chunk 0.2 --overlap 0.05 --progress json 2>"$WORK/stderr" &
pid=$!
for _ in $(seq 1 200); do
    grep -q '"stage":"separate","seconds_done"' "$WORK/stderr" && break
    sleep 0.05
done
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 143 ] && [ -z "$(leftovers "$R7")" ] && [ -z "$(ls "$R7/.mrxcl/done")" ] && [ ! -e "$R7/l1/music.wav" ]
check "SIGTERM in the middle of a file: exit 143, no partial file, nothing recorded" $? \
    "rc $rc; $(leftovers "$R7") $(ls "$R7/.mrxcl/done" 2>&1)"

# ---- under Slurm ------------------------------------------------------------------------------
slurm_part() {
    . "$ROOT/tests/slurm/slurm_env.sh"
    local sw=$WORK/slurm
    mkdir -p "$sw"
    slurm_env_start "$sw/cluster" 2>"$WORK/slurm-start.err"
    local rc=$?
    if [ $rc -eq 77 ]; then
        skip "Slurm array: cancel mid-file, resubmit" "$(tail -n 1 "$WORK/slurm-start.err")"
        return
    fi
    [ $rc -eq 0 ] || { not_ok "Slurm: start a private cluster" "rc $rc"; return; }
    local names="" i
    for i in 1 2 3 4 5 6 7 8 9; do names="$names f$i.wav"; done
    make_clips "$sw/in" 30 $names
    ls "$sw/in"/*.wav >"$sw/manifest"
    local opts="-m $MODEL --chunk 0.2 --overlap 0.05"
    cat >"$sw/job.sh" <<EOF
#!/bin/bash
exec "$BIN" batch "$sw/manifest" -o "$sw/root" $opts --progress json
EOF
    local job
    job=$(cd "$sw" && sbatch --parsable --array=0-2 -o "$sw/run1_%a.log" job.sh) ||
        { not_ok "Slurm: sbatch" "sbatch failed"; return; }
    job=${job%%;*}
    # task 1: cancel once it is in the middle of its second file
    local started=0
    for _ in $(seq 1 600); do
        started=$(grep -c '"event":"start"' "$sw/run1_1.log" 2>/dev/null)
        [ "${started:-0}" -ge 2 ] && grep -q '"stage":"separate","seconds_done"' <(tail -n 1 "$sw/run1_1.log") && break
        sleep 0.05
    done
    scancel "${job}_1"
    slurm_wait_jobs "$job" 120 || { not_ok "Slurm: the first array ends" "timeout"; return; }
    local state
    state=$(squeue -h -t all -j "${job}_1" -o %T)
    local done1
    done1=$(cat "$sw"/run1_*.log | events /dev/stdin done)
    job=$(cd "$sw" && sbatch --parsable --array=0-2 -o "$sw/run2_%a.log" job.sh) ||
        { not_ok "Slurm: sbatch again" "sbatch failed"; return; }
    job=${job%%;*}
    slurm_wait_jobs "$job" 120 || { not_ok "Slurm: the second array ends" "timeout"; return; }
    local done2 skipped2 all
    done2=$(cat "$sw"/run2_*.log | events /dev/stdin done)
    skipped2=$(cat "$sw"/run2_*.log | events /dev/stdin skipped)
    all=$(sort "$sw/manifest")
    local problems=""
    [ "$state" = CANCELLED ] || problems="$problems task 1 is $state;"
    [ "$(printf '%s\n' "$done1" | grep -c .)" -lt 9 ] || problems="$problems nothing was left to redo;"
    [ "$(printf '%s\n' "$skipped2")" = "$(printf '%s\n' "$done1")" ] || problems="$problems run 2 skipped other than run 1 did;"
    [ "$(printf '%s\n%s\n' "$done1" "$done2" | grep . | sort)" = "$all" ] || problems="$problems run 2 did not do exactly the rest;"
    for i in 1 2 3 4 5 6 7 8 9; do
        IN=$sw/in
        r=$(ref "f$i" --chunk 0.2 --overlap 0.05) || { problems="$problems separate f$i failed;"; continue; }
        for s in music speech sfx; do
            same_data "$sw/root/f$i/$s.wav" "$r/$s.wav" || problems="$problems f$i/$s.wav;"
        done
        IN=$WORK/in
    done
    [ -z "$(leftovers "$sw/root")" ] || problems="$problems left: $(leftovers "$sw/root");"
    [ "$(find "$sw/root" -name '*.wav' | wc -l)" = 27 ] || problems="$problems not 27 stems;"
    [ -z "$problems" ]
    check "Slurm array of 3, task 1 cancelled mid-file ($(printf '%s\n' "$done1" | grep -c .) done), resubmitted: run 2 did the other $(printf '%s\n' "$done2" | grep -c .), outputs identical, nothing partial" $? "$problems"
    slurm_env_stop

    if ! command -v parallel >/dev/null; then
        skip "GNU parallel across two shards" "parallel not installed"
        return
    fi
    parallel --will-cite -j2 "$BIN" batch "$sw/manifest" -o "$sw/proot" $opts -q --shard {}/2 ::: 0 1 2>"$WORK/stderr"
    rc=$?
    problems=""
    for i in 1 2 3 4 5 6 7 8 9; do
        for s in music speech sfx; do
            same_data "$sw/proot/f$i/$s.wav" "$sw/root/f$i/$s.wav" || problems="$problems f$i/$s.wav;"
        done
    done
    [ $rc -eq 0 ] && [ -z "$problems" ] && [ "$(find "$sw/proot" -name '*.wav' | wc -l)" = 27 ] &&
        [ "$(ls "$sw/proot/.mrxcl/done" | wc -l)" = 9 ]
    check "GNU parallel, --shard {}/2: every input once, identical" $? "rc $rc;$problems"
}
slurm_part

finish
