#!/usr/bin/python3
"""Memory and speed of `mrxcl separate` on a long input: does a film fit?

    long_input.py [--minutes 10] [--channels 2] [--rate 48000] [--binary build/mrxcl]
                  [--model M] [--input FILE] [--keep] [-- MRXCL_ARGS...]

Writes a 16-bit WAV of --minutes of noise with a slowly varying level (a different level
per channel) at --rate (48 kHz, a film's rate, so the run resamples as it would for a
film), unless --input names a file; separates it with the binary (the embedded model
unless --model; anything after -- goes to `mrxcl separate`, e.g. `-- --chunk 0`), and
prints one JSON line: audio seconds, channels, rate, pieces, wall seconds, real-time
factor and the peak resident memory of the mrxcl process (getrusage of the child), which
on PoCL includes the device's memory. The record is appended to
bench/results/long-DATE.jsonl. Speed depends on what else the machine runs: time on an
idle machine, and read the figures as figures, not as pass or fail.
"""

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import wave

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def write_noise(path, seconds, channels, rate, seed=1):
    rng = np.random.default_rng(seed)
    frames = int(round(seconds * rate))
    block = rate * 10
    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        for start in range(0, frames, block):
            n = min(block, frames - start)
            t = (start + np.arange(n)) / rate
            level = 0.05 + 0.04 * np.sin(2 * np.pi * t[None, :] / (7.0 + np.arange(channels)[:, None]))
            x = rng.standard_normal((channels, n)) * level
            w.writeframes(np.round(np.clip(x, -1, 1) * 32767).astype("<i2").T.tobytes())


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description="Peak memory and speed of mrxcl on a long input.")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--rate", type=int, default=48000)
    ap.add_argument("--binary", default=os.path.join(HERE, "..", "build", "mrxcl"))
    ap.add_argument("--model", default=None)
    ap.add_argument("--input", default=None, help="separate this file instead of noise")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--no-record", action="store_true", help="do not write bench/results")
    args = ap.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="mrxcl-long-")
    try:
        src = args.input
        if not src:
            src = os.path.join(tmp, "in.wav")
            write_noise(src, args.minutes * 60, args.channels, args.rate)
        with open(src, "rb"):
            pass
        cmd = [args.binary, "separate", src, "-o", os.path.join(tmp, "stems"), "-v"] + extra
        if args.model:
            cmd += ["-m", args.model]
        t0 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.time() - t0
        rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if p.returncode != 0:
            print("long_input: %s failed (exit %d):\n%s" % (" ".join(cmd), p.returncode,
                                                           p.stderr[-2000:]), file=sys.stderr)
            return 1
        m = re.search(r"separated ([\d.]+) s of audio \((\d+) ch, (\d+) Hz\) in ([\d.]+) s.* on (.*)",
                      p.stderr)
        pieces = re.search(r"(\d+) pieces? of up to ([\d.]+) s, overlap ([\d.]+) s", p.stderr)
        audio = float(m.group(1)) if m else None
        rec = {
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "host": platform.node(), "device": m.group(5).strip() if m else None,
            "input": os.path.abspath(args.input) if args.input else "noise",
            "audio_seconds": audio, "channels": int(m.group(2)) if m else None,
            "rate": int(m.group(3)) if m else None,
            "pieces": int(pieces.group(1)) if pieces else None,
            "piece_seconds": float(pieces.group(2)) if pieces else None,
            "overlap_seconds": float(pieces.group(3)) if pieces else None,
            "extra_args": extra, "model": args.model or "embedded default",
            "wall_seconds": round(wall, 2),
            "separate_seconds": float(m.group(4)) if m else None,
            "x_real_time": round(audio / wall, 2) if audio else None,
            "peak_rss_mb": round(rss_kb / 1024.0, 1),
        }
        print(json.dumps(rec))
        if not args.no_record:
            out = os.path.join(HERE, "results", "long-%s.jsonl" % datetime.date.today().strftime("%Y%m%d"))
            with open(out, "a") as f:
                f.write(json.dumps(rec) + "\n")
        return 0
    finally:
        if args.keep:
            print("kept %s" % tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
