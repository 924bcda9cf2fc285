#!/usr/bin/env python3
"""GEMM rate per stage of mrxcl against numpy's SGEMM on the same shapes, in one run.

    /usr/bin/python3 bench/gemm_rates.py [--build build] [--model M] [--seconds 60]
                                         [--channels 1] [--reps 3] [--paths clblast,host]

Runs build/mrxcl_bench once per repetition and GEMM path (MRXCL_GEMM=clblast|host,
alternating) with MRXCL_PROFILE=1, which makes the library log per GEMM label its FLOPs
and time (it waits for the device around each GEMM), and times numpy's A @ B.T in float32
on the shapes the network uses (numpy's BLAS: OpenBLAS on Debian). Takes the min of the
repetitions per label. Without --model: random weights in the authors' configuration.
Prints GFLOP/s per label, each path's share of numpy's rate, and the stage times.
"""
import argparse
import os
import re
import subprocess
import tempfile
import time

import numpy as np

from compare import make_authors_model  # bench/compare.py, beside this file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def model_info(build, model):
    out = subprocess.run([os.path.join(build, "mrxcl"), "info", model], check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    get = lambda key: re.search(r"^%s:\s+(.*)$" % key, out, re.M).group(1)
    return {"hop": int(get("hop").split()[0]), "windows": [int(w) for w in get("windows").split(" samples")[0].split(",")],
            "hidden": int(get("hidden")), "layers": int(get("LSTM layers")),
            "sources": len(get("sources").split(",")), "rate": int(get("sample rate").split()[0])}


def shapes(info, seconds, channels):
    rows = channels * (1 + int(seconds * info["rate"]) // info["hop"])
    h, S, R = info["hidden"], info["sources"], len(info["windows"])
    F = [w // 2 + 1 for w in info["windows"]]
    return {"encoder": [(rows, h, f) for f in F],
            "LSTM input projection": [(rows, 4 * h, h)] * (S * info["layers"]),
            "decoder layer 1": [(rows, S * R * h, 2 * h)],
            "decoder layer 2": [(rows, f, h) for _ in range(S) for f in F]}


def numpy_rate(shape_list):
    rng = np.random.default_rng(0)
    ops = [(rng.random((M, K), dtype=np.float32), rng.random((N, K), dtype=np.float32)) for M, N, K in shape_list]
    for a, b in ops[:1]:
        a @ b.T
    t0 = time.perf_counter()
    for a, b in ops:
        a @ b.T
    t = time.perf_counter() - t0
    return sum(2.0 * M * N * K for M, N, K in shape_list) / t * 1e-9


def mrxcl_run(build, model, seconds, channels, path):
    env = dict(os.environ, MRXCL_PROFILE="1", MRXCL_GEMM=path)
    p = subprocess.run([os.path.join(build, "mrxcl_bench"), model, "--seconds", str(seconds), "--channels",
                        str(channels), "--reps", "1", "--warmup", "1"], env=env, check=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = p.stderr.splitlines()
    half = lines[len(lines) // 2:]  # the timed repetition (the warm-up logs the same lines first)
    gemm = {m.group(1).strip(): float(m.group(2)) for m in
            (re.search(r"GEMM (.+?)\s+\d+ calls .* ms\s+([\d.]+) GFLOP/s", l) for l in half) if m}
    stages = {}
    for l in half:
        m = re.search(r"profile: (encoders|bilstm|decoders)\s+([\d.]+) ms", l)
        if m:
            stages[m.group(1)] = float(m.group(2)) / 1e3
        m = re.search(r"recurrence ([\d.]+) ms", l)
        if m:
            stages["recurrence"] = float(m.group(1)) / 1e3
    import json
    total = json.loads(p.stdout.strip().splitlines()[-1])["min_s"]
    return gemm, stages, total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--model")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--paths", default="clblast,host")
    a = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    model = a.model
    if not model:
        model = make_authors_model(os.path.join(tmp.name, "authors.safetensors"))
    sh = shapes(model_info(a.build, model), a.seconds, a.channels)
    paths = a.paths.split(",")
    best = {p: ({}, {}, float("inf")) for p in paths}
    np_best = {}
    for _ in range(a.reps):
        for p in paths:
            g, st, tot = mrxcl_run(a.build, model, a.seconds, a.channels, p)
            bg, bst, btot = best[p]
            best[p] = ({k: max(v, bg.get(k, 0)) for k, v in g.items()},
                       {k: min(v, bst.get(k, 1e9)) for k, v in st.items()}, min(tot, btot))
        for k, v in sh.items():
            np_best[k] = max(np_best.get(k, 0), numpy_rate(v))
    print("%.0f s, %d channel(s), min of %d; GFLOP/s (share of numpy's)" % (a.seconds, a.channels, a.reps))
    print("%-22s %8s %s" % ("GEMM", "GFLOP", " ".join("%16s" % p for p in paths)) + " %8s" % "numpy")
    for k, v in sh.items():
        gf = sum(2.0 * M * N * K for M, N, K in v) * 1e-9
        cells = " ".join("%8.1f (%4.0f%%)" % (best[p][0].get(k, 0), 100 * best[p][0].get(k, 0) / np_best[k])
                         for p in paths)
        print("%-22s %8.2f %s %8.1f" % (k, gf, cells, np_best[k]))
    for p in paths:
        print("%-8s stages (s): %s; total %.2f s" % (p, ", ".join("%s %.2f" % kv for kv in best[p][1].items()),
                                                   best[p][2]))


if __name__ == "__main__":
    main()
