#!/usr/bin/python3
"""How fast train.py can go on this machine: the data rate and the step time, measured.

    probe.py --corpus CORPUS --cache CACHE [--device cuda] [--batch 32] [--crop 4]
             [--init MODEL | --hidden H --layers L] [--workers N] [--seconds 8] [--json OUT]

Run before a time-boxed training session (training/gpu/train.sh does) so that the learning-rate
schedule can be fitted to the steps that will actually run:
- data: dnr_mix.MixSampler examples per second from N processes (default: all cores but one,
  as train.py --workers would run them), for --seconds; this also builds the pool cache
  train.py then finds ready;
- compute: the median time of a training step (forward, SNR loss, backward, clipping, Adam)
  on random batches, for the training BiLSTM of training/fast_lstm.py and for nn.LSTM (cuDNN on a
  GPU), after warm-up steps; the faster is reported as `lstm`.
Prints one JSON object; `sec_per_step` is the slower of the compute and the data supply.
"""

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time

TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [TRAINING, os.path.join(TRAINING, "..", "tools")]  # training/, the product's tools/

import numpy as np  # noqa: E402

_sampler = None


def _examples(args):
    start, n = args
    for i in range(n):
        _sampler.example(start + i)
    return n


def data_rate(corpus, cache, crop, workers, seconds):
    global _sampler
    import dnr_mix
    t0 = time.time()
    _sampler = dnr_mix.MixSampler(corpus, "train", 12345, crop, cache, verbose=True,
                                  jobs=os.cpu_count())
    load_s = time.time() - t0
    _sampler.example(0)  # first touch of the memmaps
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        done, k, t0 = 0, 0, time.time()
        chunk = 4
        it = pool.imap_unordered(_examples, ((1000 + 10 * j, chunk) for j in range(10**6)))
        while time.time() - t0 < seconds:
            done += next(it)
            k += 1
        rate = done / (time.time() - t0)
        pool.terminate()
    return rate, load_s, {c: p.hours() for c, p in _sampler.pools.items()}


def step_time(config, init, device, batch, crop, lstm, reps, warmup):
    import torch
    import mrx_ref
    import fast_istft
    import train
    model = mrx_ref.MRX(**config)
    if init is not None:
        model.load_state_dict(init, strict=False)
    if lstm == "fast":
        import fast_lstm
        fast_lstm.install(model)
    fast_istft.install(model)
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-5)
    L = int(round(crop * config["sample_rate"]))
    g = torch.Generator().manual_seed(1)
    mix = (0.05 * torch.randn(batch, L, generator=g)).to(device)
    stems = (0.03 * torch.randn(batch, 3, L, generator=g)).to(device)
    times = []
    for k in range(warmup + reps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        est = model(mix)
        loss, _, _ = train.snr_terms(est, stems, mix)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if k >= warmup:
            times.append(time.perf_counter() - t0)
        if not torch.isfinite(loss):
            raise RuntimeError("probe: non-finite loss with lstm=%s" % lstm)
    mem = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return statistics.median(times), mem


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--cache", default=None)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--crop", type=float, default=4.0)
    ap.add_argument("--init", default=None, help="model file (its configuration and weights)")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--windows", default="1024,2048,4096")
    ap.add_argument("--hop", type=int, default=256)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=8.0, help="data-rate measurement")
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--lstm", default="fast,nn", help="variants to time")
    ap.add_argument("--json", default=None)
    o = ap.parse_args(argv)

    import torch
    import mrx_io
    if o.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True   # as train.py on CUDA
        torch.backends.cudnn.allow_tf32 = True
    device = torch.device(o.device)
    workers = o.workers or max(1, (os.cpu_count() or 2) - 1)
    rate, load_s, hours = data_rate(o.corpus, o.cache, o.crop, workers, o.seconds)
    init = None
    if o.init:
        tensors, config = mrx_io.read_model_file(o.init)
        init = {k: torch.from_numpy(np.asarray(a, dtype=np.float32)) for k, a in tensors.items()}
    else:
        config = {"sample_rate": 44100, "hop": o.hop,
                  "window_lengths": [int(v) for v in o.windows.split(",")],
                  "hidden": o.hidden, "lstm_layers": o.layers,
                  "sources": ["music", "speech", "sfx"]}
    res = {"device": (torch.cuda.get_device_name(device) if device.type == "cuda"
                      else "CPU (%d torch threads)" % torch.get_num_threads()),
           "batch": o.batch, "crop": o.crop, "config": config, "pool_hours": hours,
           "pool_load_s": round(load_s, 1), "data_workers": workers,
           "data_examples_per_s": round(rate, 2), "step_s": {}, "peak_gpu_bytes": {}}
    for lstm in o.lstm.split(","):
        s, mem = step_time(config, init, device, o.batch, o.crop, lstm, o.reps, o.warmup)
        res["step_s"][lstm] = round(s, 4)
        res["peak_gpu_bytes"][lstm] = mem
    best = min(res["step_s"], key=res["step_s"].get)
    res["lstm"] = best
    res["sec_per_step"] = round(max(res["step_s"][best], o.batch / rate), 4)
    res["bound"] = "compute" if res["step_s"][best] >= o.batch / rate else "data"
    text = json.dumps(res)
    print(text)
    if o.json:
        with open(o.json, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
