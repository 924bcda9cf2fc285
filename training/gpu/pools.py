#!/usr/bin/python3
"""Carry the training pools to a lent GPU machine in 64 MiB calls, and unpack them there.

    pools.py pack --corpus CORPUS [--cache CACHE] [--val-dir VAL] --out DIR
                  [--shards 4] [--budget-mib 40] [--share speech=0.4,music=0.3,sfx=0.3]
                  [--full-kbps 20] [--sfx-kbps 48] [--val-tracks 12] [--val-seconds 30]
                  [--seed 0] [--jobs N]
    pools.py unpack SHARD... --into DIR [--jobs N]
    pools.py selftest [--seed S]

The `device` tool sends the working tree plus at most 64 MiB in all with each call, and the
pools are 38 h of audio (1.55 GB of Vorbis). `pack` (here) draws a subset of the train pools
that fits K shards of B MiB each and writes them as Ogg Opus. Speech and music get a bitrate
chosen by each file's bandwidth (manifest `bandwidth_hz`): up to 4 kHz 8 kbit/s, up to 8 kHz
12, up to 12 kHz 16, wider --full-kbps; at those rates libopus codes the band the file has,
so narrowband speech stays narrowband and full-band music stays full band (its top octave
with less detail). Effects get --sfx-kbps whatever their band. A model fine-tuned on Opus
pools lost 0.3 dB on sfx against the same files uncoded, 0.08 dB less with effects at 48
kbit/s than at 20 (training/gpu/README.md, "What the codec costs"). Clips of one class and bitrate are concatenated, 0.1 s of silence apart, into
blocks of at most 10 minutes (one Ogg stream each: a stream per clip would cost a kilobyte of
headers per clip, and 10 000 speech clips), at 48 kHz (Opus's rate; resampled from the
44.1 kHz pool cache with scipy's polyphase filter). pack.json in each shard lists the clips
of every block with their sample offsets, package, bandwidth and manifest path.

Which files: the budget is shared among the classes (--share, of the bytes left after the
validation stems); a class needing less than its share (sfx: 21 MB in all) passes the rest
on. Within a class every package gets an equal share of the class's bytes (a package needing
less passes the rest on), and its files are drawn at random (--seed), so a smaller budget
thins every package rather than dropping some. The files are dealt to the shards so that
each shard holds a balanced sample of every class: training on the shards that arrived works
when the machine was lost between calls. Each shard also carries the stems of the first
--val-tracks validation mixtures (cut to --val-seconds, at 32 kbit/s), for train.py's
validation there; mix.wav is rebuilt as their sum, so stems and mix agree exactly.

`unpack` (there) decodes the shards with soundfile (the wheel bundles libsndfile with Opus),
resamples to 44.1 kHz and writes a corpus train.py reads with --corpus: one 16-bit WAV per
clip under DIR/corpus at the manifest path plus ".wav", DIR/corpus/manifest.json (every
shard unpacked into DIR so far), and the validation tracks under DIR/validation. A shard
already unpacked into DIR is skipped, so a later call on the same machine adds its shard to
what an earlier one left.

`selftest` packs and unpacks a small synthetic corpus in two shards: every clip comes back
at its length and position (cross-correlation peak at lag 0) with a signal-to-noise ratio
above 12 dB, the shards stay within budget and deal the classes evenly, the validation mix
is the sum of its stems, and a second unpack skips what is there.

Needs numpy, scipy, soundfile (>= 0.12, for compression_level) and, to pack, dnr_mix's
pool cache (libebur128).
"""

import argparse
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import time

import numpy as np

TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [TRAINING, os.path.join(TRAINING, "..", "tools")]  # training/, the product's tools/
import dnr_mix  # noqa: E402

FORMAT = "mrxcl-gpu-pools"
VERSION = 2
RATE = dnr_mix.SAMPLE_RATE      # pools and model
OPUS_RATE = 48000               # Opus codes 8/12/16/24/48 kHz; the pools are 44.1 kHz
GAP_S = 0.1                     # silence between clips in a block
BLOCK_S = 600.0                 # longest block (one Ogg stream, decoded by one process)
VAL_KBPS = 32
CLASSES = ("speech", "music", "sfx")
OVERHEAD = 1.04                 # Ogg pages over the Opus payload, measured about 1-2 %


def kbps_for(bandwidth_hz, full_kbps):
    """Opus bitrate (kbit/s) for a file of this bandwidth; libopus's automatic bandwidth at
    that rate covers it (narrowband up to 8, wideband up to 12, super-wideband to 16)."""
    bw = bandwidth_hz if bandwidth_hz and np.isfinite(bandwidth_hz) else 22050.0
    if bw <= 4100:
        return 8
    if bw <= 8100:
        return 12
    if bw <= 12100:
        return 16
    return int(full_kbps)


def compression_level(kbps):
    """soundfile's compression_level for an Opus bitrate: libsndfile sets the bitrate
    6 + (1 - level) * 250 kbit/s per channel (measured: 0.93 gives 24.0, 0.97 14.0)."""
    return float(min(1.0, max(0.0, 1.0 - (kbps * 1000.0 - 6000.0) / 250000.0)))


def zero_runs(x, shortest):
    """[[start, end), ...] of the runs of exact zeros at least `shortest` samples long."""
    z = np.concatenate([[False], np.asarray(x) == 0, [False]])
    edges = np.flatnonzero(z[1:] != z[:-1])
    return [[int(a), int(b)] for a, b in zip(edges[::2], edges[1::2]) if b - a >= shortest]


def est_bytes(seconds, kbps):
    return (seconds + GAP_S) * kbps * 125.0 * OVERHEAD


def waterfill(budget, needs):
    """Split budget among keys so that none gets more than it needs and the rest share
    equally: {key: allotment}."""
    out = {k: 0.0 for k in needs}
    left = dict(needs)
    budget = float(budget)
    while left and budget > 1e-9:
        share = budget / len(left)
        small = {k: v for k, v in left.items() if v <= share}
        if not small:
            for k in left:
                out[k] += share
            return out
        for k, v in small.items():
            out[k] += v
            budget -= v
            del left[k]
    return out


def to_opus_rate(x):
    from scipy.signal import resample_poly
    return resample_poly(x, 160, 147).astype(np.float32)


def from_opus_rate(y, frames):
    """Back to 44.1 kHz, exactly `frames` long."""
    from scipy.signal import resample_poly
    x = resample_poly(np.asarray(y, dtype=np.float64), 147, 160)
    if len(x) < frames:
        x = np.concatenate([x, np.zeros(frames - len(x))])
    return x[:frames]


def encode(path, x44, kbps):
    """Write x44 (float, 44.1 kHz, mono) as Ogg Opus at about kbps kbit/s."""
    import soundfile
    y = np.clip(to_opus_rate(x44), -1.0, 1.0)
    tmp = path + ".tmp"
    soundfile.write(tmp, y, OPUS_RATE, format="OGG", subtype="OPUS",
                    compression_level=compression_level(kbps))
    os.replace(tmp, path)


def decode(path, frames):
    import soundfile
    y, rate = soundfile.read(path, dtype="float32", always_2d=True)
    if rate != OPUS_RATE:
        raise ValueError("%s: %d Hz, expected %d" % (path, rate, OPUS_RATE))
    return from_opus_rate(y.mean(axis=1), frames)


# ---------------------------------------------------------------------------------
# pack

def select(files, budget, shares, full_kbps, rng):
    """files: [{class, package, path, seconds, bandwidth, ...}] -> the chosen subset and the
    bytes per class (estimates)."""
    need = {c: sum(est_bytes(f["seconds"], f["kbps"]) for f in files if f["class"] == c)
            for c in CLASSES}
    # shares first, then what a class leaves goes to the others in proportion to theirs
    alloc = {c: 0.0 for c in CLASSES}
    left = float(budget)
    open_ = [c for c in CLASSES if need[c] > 0]
    while open_ and left > 1e-6:
        tot = sum(shares[c] for c in open_)
        give = {c: left * shares[c] / tot for c in open_}
        left = 0.0
        for c in list(open_):
            room = need[c] - alloc[c]
            if give[c] >= room:
                alloc[c] += room
                left += give[c] - room
                open_.remove(c)
            else:
                alloc[c] += give[c]
    chosen = []
    for c in CLASSES:
        by_pkg = {}
        for f in files:
            if f["class"] == c:
                by_pkg.setdefault(f["package"], []).append(f)
        pneed = {p: sum(est_bytes(f["seconds"], f["kbps"]) for f in fs)
                 for p, fs in by_pkg.items()}
        pallot = waterfill(alloc[c], pneed)
        for p in sorted(by_pkg):
            fs = by_pkg[p]
            order = rng.permutation(len(fs))
            used = 0.0
            for k in order:
                b = est_bytes(fs[k]["seconds"], fs[k]["kbps"])
                if used + b > pallot[p] + 1e-6:
                    continue
                used += b
                chosen.append(fs[k])
    return chosen, alloc


def deal(chosen, shards, rng):
    """Assign files to shards, per class to the shard holding the fewest bytes of it."""
    out = [[] for _ in range(shards)]
    for c in CLASSES:
        fs = [f for f in chosen if f["class"] == c]
        fs = [fs[k] for k in rng.permutation(len(fs))]
        fs.sort(key=lambda f: -est_bytes(f["seconds"], f["kbps"]))  # big first: even shards
        load = [0.0] * shards
        for f in fs:
            k = int(np.argmin(load))
            out[k].append(f)
            load[k] += est_bytes(f["seconds"], f["kbps"])
    return out


def blocks_of(files, pools):
    """Group a shard's files into blocks: same class and bitrate, at most BLOCK_S."""
    groups = {}
    for f in sorted(files, key=lambda f: f["path"]):
        groups.setdefault((f["class"], f["kbps"]), []).append(f)
    blocks = []
    gap = int(round(GAP_S * RATE))
    for (c, kbps), fs in sorted(groups.items()):
        cur, pos = [], gap
        for f in fs:
            n = int(pools[c].lengths[f["index"]])
            if cur and (pos + n + gap) / RATE > BLOCK_S:
                blocks.append({"class": c, "kbps": kbps, "files": cur, "frames": pos})
                cur, pos = [], gap
            cur.append(dict(f, start=pos, length=n))
            pos += n + gap
        if cur:
            blocks.append({"class": c, "kbps": kbps, "files": cur, "frames": pos})
    return blocks


def _write_block(job):
    path, kbps, frames, parts = job
    x = np.zeros(frames, dtype=np.float64)
    for start, audio in parts:
        x[start:start + len(audio)] = audio
    encode(path, x, kbps)
    return os.path.getsize(path)


def _block_job(path, block, pools):
    pool = pools[block["class"]]
    parts = [(f["start"], pool.segment(f["index"], 0, f["length"])) for f in block["files"]]
    return path, block["kbps"], block["frames"], parts


def run_jobs(fn, jobs, n):
    if n > 1 and len(jobs) > 1:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(min(n, len(jobs))) as p:
            return p.map(fn, jobs, chunksize=1)
    return [fn(j) for j in jobs]


def pack(o):
    t0 = time.time()
    manifest_path = os.path.join(o.corpus, "manifest.json")
    with open(manifest_path) as f:
        manifest = json.load(f)
    shares = {c: 0.0 for c in CLASSES}
    for part in o.share.split(","):
        k, _, v = part.partition("=")
        if k not in shares:
            raise SystemExit("pools.py: --share %s: classes are %s" % (part, ", ".join(CLASSES)))
        shares[k] = float(v)
    if not all(v >= 0 for v in shares.values()) or not sum(shares.values()) > 0:
        raise SystemExit("pools.py: --share %s: shares must be >= 0, not all 0" % o.share)
    pools = dnr_mix.load_pools(o.corpus, "train", o.cache, RATE, verbose=True, jobs=o.jobs)
    meta = {}
    for entry in manifest.get("files") or []:
        if isinstance(entry, dict) and "path" in entry:
            meta[entry["path"]] = entry
    files = []
    for c in CLASSES:
        pool = pools[c]
        for i, p in enumerate(pool.paths):
            m = meta.get(p, {})
            bw = float(pool.bandwidth[i])
            files.append({"class": c, "index": i, "path": p,
                          "package": m.get("package") or p.split("/")[1],
                          "seconds": float(pool.lengths[i]) / RATE, "bandwidth": bw,
                          "kbps": (o.sfx_kbps if c == "sfx" else kbps_for(bw, o.full_kbps))})

    # validation stems: the same in every shard
    val = []
    if o.val_dir and o.val_tracks > 0:
        from eval import find_tracks
        for t in find_tracks(o.val_dir)[:o.val_tracks]:
            stems = {}
            for s in dnr_mix.SOURCES:
                a, rate = dnr_mix.read_wav(os.path.join(t, s + ".wav"))
                if rate != RATE:
                    raise SystemExit("pools.py: %s/%s.wav: %d Hz, expected %d" % (t, s, rate, RATE))
                stems[s] = a.mean(axis=0)[:int(round(o.val_seconds * RATE))].astype(np.float64)
            val.append((os.path.relpath(t, o.val_dir), stems))
    val_bytes = sum(est_bytes(len(x) / RATE, VAL_KBPS) for _, st in val for x in st.values())
    per_shard = o.budget_mib * 2**20
    budget = o.shards * (per_shard - val_bytes - 64 * 1024)
    if budget <= 0:
        raise SystemExit("pools.py: --budget-mib %g leaves nothing after the validation stems"
                         % o.budget_mib)
    rng = np.random.default_rng(o.seed)
    chosen, alloc = select(files, budget, shares, o.full_kbps, rng)
    dealt = deal(chosen, o.shards, rng)
    pack_id = hashlib.sha1(json.dumps([VERSION, manifest.get("created"), o.shards, o.budget_mib,
                                       o.share, o.full_kbps, o.sfx_kbps, o.seed, o.val_tracks,
                                       o.val_seconds, sorted(f["path"] for f in chosen)])
                           .encode()).hexdigest()[:12]
    os.makedirs(o.out, exist_ok=True)
    report = []
    for k, files_k in enumerate(dealt):
        sdir = os.path.join(o.out, "shard-%d" % k)
        if os.path.exists(sdir):
            shutil.rmtree(sdir)
        os.makedirs(sdir)
        blocks = blocks_of(files_k, pools)
        jobs = []
        desc = []
        for b, block in enumerate(blocks):
            name = "%s-%dk-%03d.opus" % (block["class"], block["kbps"], b)
            jobs.append(_block_job(os.path.join(sdir, name), block, pools))
            desc.append({"file": name, "class": block["class"], "kbps": block["kbps"],
                         "frames": block["frames"],
                         "clips": [[f["path"], f["start"], f["length"], f["package"],
                                    f["bandwidth"]] for f in block["files"]]})
        vdesc = []
        for name, stems in val:
            ent = {"track": name, "frames": len(stems["music"]), "stems": {}, "zeros": {}}
            for s, x in stems.items():
                fname = "val-%03d-%s.opus" % (len(vdesc), s)
                jobs.append((os.path.join(sdir, fname), VAL_KBPS, len(x), [(0, x)]))
                ent["stems"][s] = fname
                # DnR stems are exactly 0 between clips, and wholly 0 where a class is
                # absent (eval.py leaves such a stem out); the codec's faint noise there
                # would count, so unpack restores those zeros
                ent["zeros"][s] = zero_runs(x, int(0.01 * RATE))
            vdesc.append(ent)
        sizes = run_jobs(_write_block, jobs, o.jobs or os.cpu_count() or 1)
        hours = {c: sum(f["seconds"] for f in files_k if f["class"] == c) / 3600 for c in CLASSES}
        info = {"format": FORMAT, "version": VERSION, "pack": pack_id, "shard": k,
                "shards": o.shards, "sample_rate": RATE, "opus_rate": OPUS_RATE,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "corpus": {"manifest_created": manifest.get("created"),
                           "rules_version": manifest.get("rules_version"),
                           "classes": {c: {s: {"packages": manifest["classes"][c][s]
                                               .get("packages", {})}
                                           for s in ("train", "validation")
                                           if s in manifest.get("classes", {}).get(c, {})}
                                       for c in CLASSES if c in manifest.get("classes", {})}},
                "hours": hours, "files": len(files_k), "bytes": int(sum(sizes)),
                "blocks": desc, "validation": {"seconds": o.val_seconds, "tracks": vdesc}}
        with open(os.path.join(sdir, "pack.json"), "w") as f:
            json.dump(info, f)
        size = sum(os.path.getsize(os.path.join(sdir, n)) for n in os.listdir(sdir))
        report.append((k, size, hours, len(files_k)))
    for c in CLASSES:
        got = sum(f["seconds"] for f in chosen if f["class"] == c) / 3600
        tot = sum(f["seconds"] for f in files if f["class"] == c) / 3600
        print("pools.py: %-6s %6.2f of %6.2f h (%3.0f %%), %5.1f MB allotted"
              % (c, got, tot, 100 * got / max(tot, 1e-9), alloc[c] / 1e6))
    for k, size, hours, n in report:
        print("pools.py: shard-%d: %.1f MiB (budget %g), %d files, %s" % (
            k, size / 2**20, o.budget_mib, n,
            ", ".join("%s %.2f h" % (c, hours[c]) for c in CLASSES)))
        if size > per_shard:
            print("pools.py: shard-%d is over its budget: lower --full-kbps or --budget-mib"
                  % k, file=sys.stderr)
    print("pools.py: pack %s in %s (%.0f s)" % (pack_id, o.out, time.time() - t0))
    return 0 if all(size <= per_shard for _, size, _, _ in report) else 1


# ---------------------------------------------------------------------------------
# unpack

def _unpack_block(job):
    src, frames, clips, corpus = job
    x = decode(src, frames)
    out = []
    for path, start, length, _package, _bw in clips:
        seg = x[start:start + length]
        dst = os.path.join(corpus, path + ".wav")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        write_pcm16(dst, seg)
        out.append(path + ".wav")
    return out


def write_pcm16(path, x):
    import soundfile
    q = np.clip(np.round(np.asarray(x) * 32768.0), -32768, 32767).astype(np.int16)
    tmp = path + ".tmp"
    soundfile.write(tmp, q, RATE, subtype="PCM_16", format="WAV")
    os.replace(tmp, path)


def unpack(o):
    t0 = time.time()
    corpus = os.path.join(o.into, "corpus")
    frag_dir = os.path.join(corpus, ".shards")
    os.makedirs(frag_dir, exist_ok=True)
    for sdir in o.shards:
        with open(os.path.join(sdir, "pack.json")) as f:
            info = json.load(f)
        if info.get("format") != FORMAT or info.get("version") != VERSION:
            raise SystemExit("pools.py: %s is not a version-%d %s shard" % (sdir, VERSION, FORMAT))
        frag = os.path.join(frag_dir, "%s-%d.json" % (info["pack"], info["shard"]))
        if os.path.exists(frag):
            print("pools.py: %s: shard %d of pack %s is unpacked already" % (
                sdir, info["shard"], info["pack"]))
            continue
        others = [n for n in os.listdir(frag_dir) if n.endswith(".json")
                  and not n.startswith(info["pack"] + "-")]
        if others:
            raise SystemExit("pools.py: %s holds shards of another pack (%s); unpack into a "
                             "fresh folder" % (corpus, others[0]))
        jobs = [(os.path.join(sdir, b["file"]), b["frames"], b["clips"], corpus)
                for b in info["blocks"]]
        run_jobs(_unpack_block, jobs, o.jobs or os.cpu_count() or 1)
        entries = []
        for b in info["blocks"]:
            for path, _start, length, package, bw in b["clips"]:
                entries.append({"path": path + ".wav", "class": b["class"], "split": "train",
                                "package": package, "bandwidth_hz": bw,
                                "duration": length / RATE, "kbps": b["kbps"]})
        vdir = os.path.join(o.into, "validation")
        for t in info["validation"]["tracks"]:
            tdir = os.path.join(vdir, t["track"])
            if os.path.exists(os.path.join(tdir, "mix.wav")):
                continue
            os.makedirs(tdir, exist_ok=True)
            stems = {}
            for s, n in t["stems"].items():
                x = decode(os.path.join(sdir, n), t["frames"])
                for a, b in t.get("zeros", {}).get(s, []):
                    x[a:b] = 0.0
                stems[s] = x.astype(np.float32)
            for s, x in stems.items():
                dnr_mix.write_wav(os.path.join(tdir, s + ".wav"), x, RATE)
            mix = np.sum([stems[s].astype(np.float64) for s in dnr_mix.SOURCES], axis=0)
            dnr_mix.write_wav(os.path.join(tdir, "mix.wav"), mix.astype(np.float32), RATE)
        with open(frag + ".tmp", "w") as f:
            json.dump({"info": {k: v for k, v in info.items() if k not in ("blocks",)},
                       "files": entries}, f)
        os.replace(frag + ".tmp", frag)
        print("pools.py: unpacked shard %d of pack %s: %d files, %s (%.0f s)" % (
            info["shard"], info["pack"], len(entries), ", ".join(
                "%s %.2f h" % (c, h) for c, h in info["hours"].items()), time.time() - t0))
    write_manifest(corpus, frag_dir)
    return 0


def write_manifest(corpus, frag_dir):
    """corpus/manifest.json from every unpacked shard (dnr_mix.load_manifest's schema)."""
    files, shards, info = [], [], None
    for n in sorted(os.listdir(frag_dir)):
        if n.endswith(".json"):
            with open(os.path.join(frag_dir, n)) as f:
                frag = json.load(f)
            files += frag["files"]
            info = frag["info"]
            shards.append(info["shard"])
    if info is None:
        raise SystemExit("pools.py: nothing unpacked in %s" % corpus)
    hours = {c: sum(e["duration"] for e in files if e["class"] == c) / 3600 for c in CLASSES}
    m = {"manifest_version": 1, "created": info["corpus"]["manifest_created"],
         "rules_version": info["corpus"]["rules_version"],
         "gpu_pack": {"pack": info["pack"], "shards": sorted(shards), "of": info["shards"],
                      "hours": hours},
         "classes": info["corpus"]["classes"], "files": files,
         "totals": {"files": len(files), "hours": sum(hours.values())}}
    tmp = os.path.join(corpus, "manifest.json.tmp")
    with open(tmp, "w") as f:
        json.dump(m, f)
    os.replace(tmp, os.path.join(corpus, "manifest.json"))
    print("pools.py: %s: shards %s of %d, %d files, %s" % (
        corpus, ",".join(map(str, sorted(shards))), info["shards"], len(files),
        ", ".join("%s %.2f h" % kv for kv in hours.items())))


# ---------------------------------------------------------------------------------
# selftest

def selftest(seed=None):
    """Pack and unpack a synthetic corpus; returns a list of failures."""
    seed = int.from_bytes(os.urandom(4), "little") if seed is None else int(seed)
    rng = np.random.default_rng(seed)
    fails = []
    root = tempfile.mkdtemp(prefix="mrxcl-pools-")
    try:
        corpus = os.path.join(root, "corpus")
        man_files, originals = [], {}
        t_all = np.arange(int(RATE * 9)) / RATE
        pkgs = {"speech": ["sa", "sb"], "music": ["ma", "mb", "mc"], "sfx": ["xa"]}
        for c, names in pkgs.items():
            for p in names:
                for j in range(int(rng.integers(2, 5))):
                    n = int(rng.integers(int(0.6 * RATE), int(8 * RATE)))
                    # low-passed noise under a slow envelope: one correlation peak
                    x = np.convolve(rng.standard_normal(n), np.hanning(9) / 4.5, "same")
                    x *= 0.15 * (0.3 + np.sin(2 * np.pi * rng.uniform(0.3, 2) * t_all[:n]) ** 2)
                    rel = "%s/%s/clip%d.ogg" % (c, p, j)
                    os.makedirs(os.path.dirname(os.path.join(corpus, rel)), exist_ok=True)
                    # a WAV named .ogg, as soundfile decodes by content
                    write_pcm16(os.path.join(corpus, rel), x)
                    # what the pool holds, so what the pack must restore: the file through
                    # the pool's high-pass (dnr_mix.Pool), stored as int16; on a clip under a
                    # second the filter's edges alone move it 7 to 11 dB from the file
                    hp = dnr_mix.high_pass(np.round(x * 32768) / 32768, RATE,
                                           dnr_mix.HIGH_PASS_HZ[c])
                    originals[rel] = np.clip(np.round(hp * 32768), -32768, 32767) / 32768
                    man_files.append({"path": rel, "class": c, "package": p, "split": "train",
                                      "bandwidth_hz": 20000.0,
                                      "duration": n / RATE})
        classes = {c: {"train": {"packages": {p: {} for p in names}}, "validation": {
            "packages": {}}} for c, names in pkgs.items()}
        with open(os.path.join(corpus, "manifest.json"), "w") as f:
            json.dump({"created": "selftest", "rules_version": 0, "classes": classes,
                       "files": man_files}, f)
        val = os.path.join(root, "val")
        vstems = {}
        for k in range(2):
            tdir = os.path.join(val, "%04d" % k)
            os.makedirs(tdir)
            st = {s: (0.1 * np.sin(2 * np.pi * rng.uniform(200, 900) * t_all[:int(RATE * 4)]))
                  .astype(np.float32) for s in dnr_mix.SOURCES}
            st["music"][:] = 0.0                                   # a class absent
            st["speech"][int(RATE * 1.0):int(RATE * 1.5)] = 0.0    # a gap between clips
            for s, x in st.items():
                dnr_mix.write_wav(os.path.join(tdir, s + ".wav"), x, RATE)
            dnr_mix.write_wav(os.path.join(tdir, "mix.wav"), sum(st.values()), RATE)
            vstems["%04d" % k] = st
        out = os.path.join(root, "pack")
        budget = 1.0
        args = ["pack", "--corpus", corpus, "--cache", os.path.join(root, "cache"),
                "--val-dir", val, "--val-tracks", "1", "--val-seconds", "3", "--out", out,
                "--shards", "2", "--budget-mib", str(budget), "--seed", str(seed),
                "--full-kbps", "160", "--sfx-kbps", "160",
                "--jobs", "2"]
        if main(args) != 0:
            fails.append("pack failed or a shard is over its budget")
        for k in range(2):
            size = sum(os.path.getsize(os.path.join(out, "shard-%d" % k, n))
                       for n in os.listdir(os.path.join(out, "shard-%d" % k)))
            if size > budget * 2**20:
                fails.append("shard-%d: %d bytes, over %g MiB" % (k, size, budget))
        into = os.path.join(root, "gpu")
        main(["unpack", os.path.join(out, "shard-0"), "--into", into, "--jobs", "2"])
        with open(os.path.join(into, "corpus", "manifest.json")) as f:
            one = json.load(f)["files"]
        main(["unpack", os.path.join(out, "shard-0"), os.path.join(out, "shard-1"),
              "--into", into, "--jobs", "2"])
        with open(os.path.join(into, "corpus", "manifest.json")) as f:
            got = json.load(f)
        files = got["files"]
        if len(set(e["path"] for e in files)) != len(files) or not len(one) < len(files):
            fails.append("merged manifest: %d files after shard 0, %d after both (duplicates?)"
                         % (len(one), len(files)))
        for k in range(2):
            with open(os.path.join(out, "shard-%d" % k, "pack.json")) as f:
                info = json.load(f)
            for c in CLASSES:
                if not any(b["class"] == c and b["clips"] for b in info["blocks"]):
                    fails.append("shard %d holds no %s" % (k, c))
        import soundfile
        for e in files:
            src = e["path"][:-len(".wav")]
            want = originals.get(src)
            if want is None:
                fails.append("%s: not a file of the corpus" % e["path"])
                continue
            have, rate = soundfile.read(os.path.join(into, "corpus", e["path"]), dtype="float64")
            if rate != RATE or len(have) != len(want):
                fails.append("%s: %d samples at %d Hz, want %d at %d" % (
                    e["path"], len(have), rate, len(want), RATE))
                continue
            lag = best_lag(want, have, 64)
            snr = 10 * np.log10(np.sum(want ** 2) / max(np.sum((have - want) ** 2), 1e-20))
            if lag != 0 or not snr > 12.0:
                fails.append("%s: lag %d samples, SNR %.1f dB (want 0 and > 12)" % (
                    e["path"], lag, snr))
        tdir = os.path.join(into, "validation", "0000")
        if not os.path.exists(os.path.join(tdir, "mix.wav")):
            fails.append("validation track 0000 not unpacked")
        else:
            mix = dnr_mix.read_wav(os.path.join(tdir, "mix.wav"))[0][0].astype(np.float64)
            st = [dnr_mix.read_wav(os.path.join(tdir, s + ".wav"))[0][0] for s in dnr_mix.SOURCES]
            if len(mix) != int(3 * RATE) or np.max(np.abs(mix - np.sum(st, axis=0))) > 1e-6:
                fails.append("validation mix: %d samples, not the sum of its stems" % len(mix))
            ref = vstems["0000"]["speech"][:int(3 * RATE)].astype(np.float64)
            snr = 10 * np.log10(np.sum(ref ** 2) / np.sum((st[1] - ref) ** 2))
            if not snr > 12.0:
                fails.append("validation speech stem: SNR %.1f dB" % snr)
            if np.any(st[0] != 0) or np.any(st[1][int(RATE * 1.0):int(RATE * 1.5)] != 0):
                fails.append("validation stems: the zeros of a silent stem or of a gap not "
                             "restored")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if fails:
        fails.insert(0, "pools.py selftest failed (seed %d)" % seed)
    return fails


def best_lag(a, b, span):
    """Lag of b against a (samples, |lag| <= span) at the cross-correlation peak."""
    n = min(len(a), len(b))
    best, arg = -math.inf, 0
    for lag in range(-span, span + 1):
        if lag >= 0:
            v = float(np.dot(a[:n - lag], b[lag:n]))
        else:
            v = float(np.dot(a[-lag:n], b[:n + lag]))
        if v > best:
            best, arg = v, lag
    return arg


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--corpus", required=True)
    p.add_argument("--cache", default=None, help="dnr_mix pool cache")
    p.add_argument("--val-dir", default=None, help="validation mixtures (track folders)")
    p.add_argument("--val-tracks", type=int, default=12)
    p.add_argument("--val-seconds", type=float, default=30.0)
    p.add_argument("--out", required=True)
    p.add_argument("--shards", type=int, default=4)
    p.add_argument("--budget-mib", type=float, default=40.0,
                   help="MiB per shard (the call's 64 MiB less the tree and the wheels)")
    p.add_argument("--share", default="speech=0.4,music=0.3,sfx=0.3")
    p.add_argument("--full-kbps", type=int, default=20,
                   help="speech and music wider than 12 kHz (kbit/s)")
    p.add_argument("--sfx-kbps", type=int, default=48, help="every sfx file (kbit/s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=None)
    u = sub.add_parser("unpack")
    u.add_argument("shards", nargs="+")
    u.add_argument("--into", required=True)
    u.add_argument("--jobs", type=int, default=None)
    s = sub.add_parser("selftest")
    s.add_argument("--seed", type=int, default=None)
    o = ap.parse_args(argv)
    if o.cmd == "pack":
        if o.shards < 1:
            ap.error("--shards must be 1 or more")
        return pack(o)
    if o.cmd == "unpack":
        return unpack(o)
    fails = selftest(o.seed)
    print("\n".join(fails) if fails else "pools.py selftest: pack and unpack ok")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
