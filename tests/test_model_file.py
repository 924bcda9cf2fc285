#!/usr/bin/python3
"""The model file's budget and tools/convert.py's second storing of a model file.

    test_model_file.py --budget MODEL      the embedded default model within issue 3's bounds
    test_model_file.py --restore [--seed N]

--budget: MODEL (the shipped models/default.safetensors) must be a readable mrxcl model
file of at most mrx_io.MB_BUDGET megabytes (10^6 bytes; the library embeds the file as it
is) whose configuration costs at most mrx_io.GFLOP_BUDGET GFLOP per mono audio second
(mrx_io.flop_estimate). An F32 export of the 10 M-parameter model is 41 MB, so this is
what fails when an export forgets --f16.

--restore: a fresh random model (mrx_io.random_state_dict) with a training record and a
consistency mode, written F32, is stored again by convert.py as F16 and back as F32.
Checked exactly: every F16 tensor is the F32 tensor rounded to float16 (numpy's rounding,
independent of safetensors), the F32 file read back holds those values widened, and the
metadata (configuration, consistency, training record) is identical in all three files.
Refused with exit 1, a message and no output left behind: a configuration option given
with a model file; a truncated model file; a missing input.

Exit status: 0 pass, 1 failure, 77 skip (numpy, safetensors or torch not importable).
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(os.path.dirname(HERE), "tools")
sys.path.insert(0, TOOLS)
SKIP = 77
try:
    import numpy as np
    from safetensors import safe_open
    import mrx_io
except ImportError as e:
    print("skip: %s" % e)
    sys.exit(SKIP)


def fail(msg, seed=None):
    print("FAIL: %s%s" % (msg, "" if seed is None else " (seed %d)" % seed))
    sys.exit(1)


def budget(path):
    try:
        _, config = mrx_io.read_model_file(path)
    except (mrx_io.ModelError, OSError) as e:
        fail("%s: %s" % (path, e))
    size = os.path.getsize(path)
    with safe_open(path, framework="numpy") as f:
        dtypes = sorted({str(f.get_slice(k).get_dtype()) for k in f.keys()})
    cost = mrx_io.flop_estimate(config)["total"]
    print("%s: %d bytes (%.2f MB, %s), budget %.0f MB; %.3f GFLOP per mono audio second, "
          "budget %.1f" % (path, size, size / 1e6, ",".join(dtypes), mrx_io.MB_BUDGET, cost,
                           mrx_io.GFLOP_BUDGET))
    if size > mrx_io.MB_BUDGET * 1e6:
        fail("%s is %.2f MB, over the %.0f MB the binary may carry (issue 3): store it as F16 "
             "(tools/convert.py %s OUT --f16, or training/train.py --export ... --f16)"
             % (path, size / 1e6, mrx_io.MB_BUDGET, path))
    if cost > mrx_io.GFLOP_BUDGET:
        fail("%s costs %.3f GFLOP per mono audio second, over the budget of %.1f"
             % (path, cost, mrx_io.GFLOP_BUDGET))
    print("PASS")
    return 0


def convert(*args):
    p = subprocess.run([sys.executable, os.path.join(TOOLS, "convert.py")] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    return p.returncode, p.stdout + p.stderr


def read(path):
    with safe_open(path, framework="numpy") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


def restore(seed):
    rng = random.Random(seed)
    config = mrx_io.default_config()
    config.update(sample_rate=rng.choice((16000, 44100, 48000)), hop=rng.choice((4, 8)),
                  window_lengths=sorted(rng.sample((16, 32, 64), 2)), hidden=2 * rng.randint(2, 6),
                  lstm_layers=rng.randint(1, 2), sources=["music", "speech", "sfx"])
    sd = mrx_io.random_state_dict(config, seed)
    # Values of every magnitude F16 represents, subnormals included, so that rounding matters.
    gen = np.random.default_rng(seed)
    for k in sorted(sd):
        a = sd[k]
        sd[k] = (a * np.exp(gen.uniform(-12, 6, a.shape))).astype(np.float32)
    training = {"complete": False, "history": [{"steps": rng.randint(1, 9999), "seconds": 12.5,
                                                "device": "CPU", "batch": 3, "crop": 12.0,
                                                "seed": seed, "started_from": None}]}
    consistency = rng.choice(("pass", "all", "music_sfx"))
    with tempfile.TemporaryDirectory() as tmp:
        f32 = os.path.join(tmp, "a32.safetensors")
        f16 = os.path.join(tmp, "b16.safetensors")
        back = os.path.join(tmp, "c32.safetensors")
        mrx_io.save_model(f32, sd, config, dtype="f32", training=training, consistency=consistency)
        for src, dst, flag in ((f32, f16, ["--f16"]), (f16, back, [])):
            rc, out = convert(src, dst, *flag)
            if rc != 0:
                fail("convert.py %s %s %s: exit %d: %s" % (src, dst, flag, rc, out), seed)
        a, meta_a = read(f32)
        b, meta_b = read(f16)
        c, meta_c = read(back)
        if not (meta_a == meta_b == meta_c):
            fail("metadata changed: %s / %s / %s" % (meta_a, meta_b, meta_c), seed)
        if meta_a.get("consistency") != consistency or "training" not in meta_a:
            fail("consistency or training record not written: %s" % meta_a, seed)
        if not (set(a) == set(b) == set(c)):
            fail("tensor names changed", seed)
        for k in a:
            want = a[k].astype(np.float16)
            if b[k].dtype != np.float16 or not np.array_equal(b[k].view(np.uint16), want.view(np.uint16)):
                fail("%s: F16 file is not the F32 tensor rounded to float16" % k, seed)
            if c[k].dtype != np.float32 or not np.array_equal(c[k], want.astype(np.float32)):
                fail("%s: F32 file from the F16 one is not its values widened" % k, seed)

        # Refusals: exit 1, a message naming the problem, no output left behind.
        out = os.path.join(tmp, "out.safetensors")
        with open(f32, "rb") as f:
            data = f.read()
        trunc = os.path.join(tmp, "trunc.safetensors")
        with open(trunc, "wb") as f:
            f.write(data[:len(data) - rng.randint(1, len(data) // 2)])
        cases = ((["--hop", "256"], f32, "--hop"), ([], trunc, "trunc.safetensors"),
                 ([], os.path.join(tmp, "missing.safetensors"), "missing.safetensors"))
        for flags, src, word in cases:
            rc, msg = convert(src, out, *flags)
            if rc != 1 or word not in msg:
                fail("convert.py %s %s: exit %d, message %r (want 1, naming %s)"
                     % (src, flags, rc, msg, word), seed)
            left = [n for n in os.listdir(tmp) if n == "out.safetensors" or n.startswith(".convert-")]
            if left:
                fail("convert.py %s %s left %s behind" % (src, flags, left), seed)
    print("PASS (seed %d)" % seed)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget", metavar="MODEL")
    ap.add_argument("--restore", action="store_true")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    if args.budget:
        return budget(args.budget)
    if args.restore:
        seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
        return restore(seed)
    ap.error("give --budget MODEL or --restore")


if __name__ == "__main__":
    sys.exit(main())
