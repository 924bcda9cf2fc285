#!/usr/bin/env python3
"""Times mrxcl against the PyTorch reference on the same machine, in the same run.

    /usr/bin/python3 bench/compare.py [--build build] [--model M] [--seconds 10]
                                      [--channels 1] [--reps 5] [--out bench/results]

Without --model it makes a random-weight model of the authors' configuration (the
time does not depend on the weights). mrxcl runs through build/mrxcl_bench (warm-up
excluded); PyTorch runs tools/mrx_ref.py in float32 under torch.no_grad() with all
cores, one warm-up, the same repetitions, on the same kind of random audio. Prints a
table and writes a JSON record (both engines' min and median, real-time factors and
their ratio) to --out.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))


def blas_library():
    """The BLAS behind Debian's torch (it calls libblas.so.3, an alternatives link): the
    reference netlib BLAS is some 25x slower than OpenBLAS, so a record must say which."""
    import ctypes.util
    for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"):
        p = os.path.join(d, "libblas.so.3")
        if os.path.exists(p):
            return os.path.realpath(p)
    return ctypes.util.find_library("blas") or "unknown"


def time_torch(model_path, seconds, channels, reps):
    import numpy as np
    import torch
    import mrx_ref

    torch.set_num_threads(os.cpu_count())
    model, config = mrx_ref.load_model(model_path)
    model.eval()
    L = int(seconds * config["sample_rate"])
    x = torch.from_numpy((np.random.default_rng(1).random((channels, L), dtype=np.float32) - 0.5) * 0.2)
    times = []
    with torch.no_grad():
        model(x)  # warm-up
        for _ in range(reps):
            t0 = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t0)
    return {"engine": "pytorch", "version": torch.__version__, "device": "CPU, %d threads" % torch.get_num_threads(),
            "blas": blas_library(),
            "min_s": min(times), "median_s": statistics.median(times),
            "realtime_factor": seconds / statistics.median(times)}


def make_authors_model(path):
    """A random model in the authors' configuration (30.5 M parameters; speed does not
    depend on the weights), written to path."""
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "make_random_model.py"), path, "--seed", "1",
                    "--sample-rate", "44100", "--hop", "256", "--windows", "1024,2048,8192",
                    "--hidden", "512", "--layers", "3"], check=True, stdout=subprocess.DEVNULL)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--model")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--device", help="mrxcl device (index or name part)")
    ap.add_argument("--no-torch", action="store_true", help="time mrxcl only")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    a = ap.parse_args()

    tmp = tempfile.TemporaryDirectory()
    model = a.model
    if not model:
        model = make_authors_model(os.path.join(tmp.name, "mrx-default-random.safetensors"))
    cmd = [os.path.join(a.build, "mrxcl_bench"), model, "--seconds", str(a.seconds), "--channels",
           str(a.channels), "--reps", str(a.reps)]
    if a.device:
        cmd += ["--device", a.device]
    run = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
    ours = json.loads(run.stdout.strip().splitlines()[-1])
    rec = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "host": platform.node(),
           "cpu_count": os.cpu_count(), "seconds": a.seconds, "channels": a.channels, "reps": a.reps,
           "model": "random weights, authors' configuration" if not a.model else a.model, "mrxcl": ours,
           # MRXCL_GEMM: host (OpenBLAS) or clblast; unset: host on CPU devices, clblast elsewhere
           "mrxcl_gemm": os.environ.get("MRXCL_GEMM") or "default",
           # MRXCL_FFT: host (KissFFT) or clfft; unset: host on CPU devices, clfft elsewhere
           "mrxcl_fft": os.environ.get("MRXCL_FFT") or "default"}
    rows = [ours]
    if not a.no_torch:
        ref = time_torch(model, a.seconds, a.channels, a.reps)
        rec["pytorch"] = ref
        rec["speedup_vs_pytorch"] = ref["median_s"] / ours["median_s"]
        rows.append(ref)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "bench-%s.json" % datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    with open(path, "w") as f:
        json.dump(rec, f, indent=1)
    print("%.1f s of audio, %d channel(s), %d reps" % (a.seconds, a.channels, a.reps))
    print("%-8s %-55s %9s %9s %8s" % ("engine", "device", "min s", "median s", "x RT"))
    for r in rows:
        print("%-8s %-55s %9.3f %9.3f %8.2f" % (r["engine"], r["device"][:55], r["min_s"], r["median_s"],
                                                r["realtime_factor"]))
    if "speedup_vs_pytorch" in rec:
        print("mrxcl / PyTorch speed ratio (median): %.2f" % rec["speedup_vs_pytorch"])
    print("written", path)


if __name__ == "__main__":
    main()
