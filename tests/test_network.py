#!/usr/bin/python3
"""Parity test: the engine's MRX forward pass against the PyTorch reference.

    test_network.py --bin PATH/test_forward --config NAME|all [--seed N] [--min-snr 80]
    test_network.py --bin PATH/test_forward --model FILE [--seed N]
    test_network.py --selfcheck

For each configuration (CONFIGS below) and input length: write a model with random
weights (mrx_io.random_state_dict) to a temporary directory, make Gaussian noise
input (std 0.1, float32), run the reference (tools/mrx_ref.py) in float64 on that
float32 input and the engine as

    BIN MODEL INPUT.f32 OUTPUT.f32 CHANNELS SAMPLE_RATE

(raw float32 planar: input [C][L], output [S][C][L]). The output must have exactly
S*C*L floats, all finite, and SNR = 10 log10(sum ref^2 / sum (ref - out)^2) of at
least --min-snr dB for every (source, channel); a stem more than 40 dB below the
loudest input channel is measured against that level instead (see REF_FLOOR_DB).

--model FILE runs the same comparison on a given model file (the shipped default model,
say) instead of random weights: stereo, 3 s at the model's rate plus 7 samples.

--selfcheck (no --bin) checks the reference itself: stft/istft against torch.stft/
torch.istft, reflect_indices against numpy.pad(mode='reflect'), and the state_dict
names of MRX() against the spec's tensor table.

Exit status: 0 pass, 1 failure, 77 skip (torch not importable).
"""

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))

try:
    import torch
    import mrx_ref
    import mrx_io
except ImportError as e:  # the engine's test suite runs on machines without torch
    print("SKIP: the reference needs torch, which is not importable here (%s)" % e)
    sys.exit(77)

SKIP = 77
SOURCES3 = ["music", "speech", "sfx"]


def model(sample_rate, hop, windows, hidden, layers, sources=SOURCES3):
    return {"sample_rate": sample_rate, "hop": hop, "window_lengths": list(windows),
            "hidden": hidden, "lstm_layers": layers, "sources": list(sources)}


# name -> model configuration, channels, input lengths (one run per length)
CONFIGS = {
    "tiny-mono": (model(16000, 8, (16, 32, 64), 8, 1), 1, [1001]),
    "tiny-stereo": (model(16000, 4, (16, 32), 12, 2, ("speech", "music")), 2, [777]),
    "one-source": (model(8000, 16, (32, 64, 128), 16, 3, ("speech",)), 1, [2049]),
    # shorter than half the largest window: the reflection wraps around
    "short": (model(16000, 8, (16, 32, 64), 8, 2), 2, [20]),
    "very-short": (model(16000, 8, (16, 32, 64), 8, 2), 2, [1, 3]),
    # non-power-of-two windows (radix 2 and 3)
    "odd": (model(16000, 12, (24, 48, 96), 10, 2), 1, [1237]),
    "default": (mrx_io.default_config(), 1, [44100 * 2 + 17]),
    "default-stereo": (mrx_io.default_config(), 2, [30000]),
}


# A stem more than 40 dB below the loudest input channel is measured against that
# level instead. Two cases need it, both at L = 1 where a channel is one sample:
# where every mask is zero at the few bins such an input has, the float64 reference
# is pure roundoff (1e-18) and a float32 engine's roundoff (1e-9, 130 dB below the
# input) would read as an SNR of -180 dB; and a float32 FFT may legitimately couple
# batched rows at roundoff level (clFFT packs pairs of real rows into one complex
# FFT), so a channel 70 dB quieter than its neighbour gets errors of 1e-7 relative to
# the neighbour, which on its own scale reads as 80 dB.
REF_FLOOR_DB = -40.0


def snr_db(ref, out, floor=0.0):
    """10 log10(max(sum ref^2, floor) / sum (ref - out)^2)."""
    sig = max(float(np.sum(ref.astype(np.float64) ** 2)), floor)
    err = float(np.sum((ref.astype(np.float64) - out.astype(np.float64)) ** 2))
    if err == 0.0:
        return math.inf
    if sig == 0.0:
        return -math.inf
    return 10.0 * math.log10(sig / err)


def run_config(name, args, seed, tmp):
    """Run one configuration; returns a list of failure messages."""
    failures = []
    if args.model:
        model_path = args.model
        config = mrx_io.read_model_file(model_path)[1]
        channels, lengths = 2, [3 * int(config["sample_rate"]) + 7]
    else:
        config, channels, lengths = CONFIGS[name]
        model_path = os.path.join(tmp, name + ".safetensors")
        mrx_io.save_model(model_path, mrx_io.random_state_dict(config, seed), config)
    # The reference uses the weights exactly as stored (float32), in float64.
    ref_model, _ = mrx_ref.load_model(model_path)
    ref_model = ref_model.double()
    S = len(config["sources"])
    for L in lengths:
        tag = "%s C=%d L=%d" % (name, channels, L)
        rng = np.random.default_rng([seed, L, channels])
        x = (rng.standard_normal((channels, L)) * 0.1).astype(np.float32)
        in_path = os.path.join(tmp, "%s-%d-in.f32" % (name, L))
        out_path = os.path.join(tmp, "%s-%d-out.f32" % (name, L))
        x.astype("<f4").tofile(in_path)
        if os.path.exists(out_path):
            os.unlink(out_path)
        with torch.no_grad():
            ref = ref_model(torch.from_numpy(x).double()).transpose(0, 1).numpy()  # [S, C, L]

        cmd = [args.bin, model_path, in_path, out_path, str(channels), str(config["sample_rate"])]
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=args.timeout)
        except (OSError, subprocess.TimeoutExpired) as e:
            failures.append("%s: cannot run %s: %s" % (tag, args.bin, e))
            continue
        if proc.returncode != 0:
            text = proc.stdout.decode("utf-8", "replace").strip()
            failures.append("%s: %s exited with status %d\n%s"
                            % (tag, " ".join(cmd), proc.returncode, text[-4000:]))
            continue
        if not os.path.exists(out_path):
            failures.append("%s: %s wrote no output file" % (tag, args.bin))
            continue
        out = np.fromfile(out_path, dtype="<f4")
        if out.size != S * channels * L or os.path.getsize(out_path) != 4 * S * channels * L:
            failures.append("%s: output has %d bytes, expected %d (S=%d x C=%d x L=%d floats)"
                            % (tag, os.path.getsize(out_path), 4 * S * channels * L, S, channels, L))
            continue
        out = out.reshape(S, channels, L)
        bad = np.flatnonzero(~np.isfinite(out))
        if bad.size:
            s, c, i = np.unravel_index(bad[0], out.shape)
            failures.append("%s: %d non-finite output samples, first at source %d channel %d "
                            "sample %d" % (tag, bad.size, s, c, i))
            continue
        loudest = float(np.max(np.sum(x.astype(np.float64) ** 2, axis=1)))
        for s in range(S):
            for c in range(channels):
                floor = 10 ** (REF_FLOOR_DB / 10) * loudest
                snr = snr_db(ref[s, c], out[s, c], floor)
                ok = snr >= args.min_snr
                note = ""
                if float(np.sum(ref[s, c] ** 2)) < floor:
                    note = " (stem < %g dB re loudest input: measured against that)" % REF_FLOOR_DB
                print("  %-16s %-7s channel %d: SNR %7.2f dB  %s%s"
                      % (tag, config["sources"][s], c, snr, "ok" if ok else "FAIL", note))
                if not ok:
                    err = np.abs(ref[s, c].astype(np.float64) - out[s, c])
                    failures.append("%s: source %s channel %d: SNR %.2f dB < %.1f dB "
                                    "(max abs error %.3g at sample %d, ref rms %.3g)"
                                    % (tag, config["sources"][s], c, snr, args.min_snr,
                                       err.max(), int(err.argmax()),
                                       float(np.sqrt(np.mean(ref[s, c] ** 2)))))
    return failures


def selfcheck():
    failures = []
    # reflect_indices == numpy.pad(mode='reflect'), including pad > L (repeated reflection)
    n = 0
    for L in list(range(1, 40)) + [64, 100, 257]:
        for pad in list(range(0, 70)) + [128, 512, 4096]:
            want = np.pad(np.arange(L), pad, mode="reflect")
            got = mrx_ref.reflect_indices(L, pad)
            n += 1
            if got.shape != want.shape or np.any(got != want):
                failures.append("reflect_indices(%d, %d) differs from numpy.pad: %s vs %s"
                                % (L, pad, got[:20], want[:20]))
    print("reflect_indices: %d (L, pad) pairs checked" % n)
    f = mrx_ref.stft_selfcheck()
    print("stft/istft against torch.stft/istft and reconstruction: %s"
          % ("ok" if not f else "%d failures" % len(f)))
    failures += f
    f = mrx_ref.state_dict_selfcheck()
    names = mrx_ref.expected_state_dict_names()
    print("state_dict of MRX(): %d tensors against the spec table: %s"
          % (len(names), "ok" if not f else "%d failures" % len(f)))
    failures += f
    # the configurations of this file also give spec-conforming state_dicts
    for name, (config, _, _) in CONFIGS.items():
        failures += ["%s: %s" % (name, m) for m in mrx_ref.state_dict_selfcheck(config)]
    # config_from_state_dict inverts the shapes
    for name, (config, _, _) in CONFIGS.items():
        sd = mrx_ref.MRX(**config).state_dict()
        got = mrx_ref.config_from_state_dict(sd, config["sample_rate"], config["hop"],
                                             config["sources"])
        if got != config:
            failures.append("config_from_state_dict(%s) = %s" % (name, got))
    return failures


def main(argv=None):
    ap = argparse.ArgumentParser(description="MRX engine vs PyTorch reference parity test.")
    ap.add_argument("--bin", help="the engine's test_forward program")
    ap.add_argument("--config", help="one of %s, or all" % ", ".join(CONFIGS))
    ap.add_argument("--model", help="compare on this model file instead of random weights")
    ap.add_argument("--seed", type=int, help="seed (default: fresh from os.urandom)")
    ap.add_argument("--min-snr", type=float, default=80.0, help="dB (default 80)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per engine run")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--selfcheck", action="store_true",
                    help="check the reference against torch and the spec (no --bin)")
    args = ap.parse_args(argv)

    if args.selfcheck:
        failures = selfcheck()
        for m in failures:
            print("FAIL: %s" % m)
        print("selfcheck %s" % ("passed" if not failures else "FAILED"))
        return 1 if failures else 0

    if not args.bin or not (args.config or args.model):
        ap.error("--bin and --config or --model are required (or --selfcheck)")
    if args.model:
        if not os.path.isfile(args.model):
            print("SKIP: no model file %s" % args.model)
            return SKIP
        names = [os.path.basename(args.model)]
    else:
        if args.config != "all" and args.config not in CONFIGS:
            ap.error("unknown --config %s (have: %s, all)" % (args.config, ", ".join(CONFIGS)))
        names = list(CONFIGS) if args.config == "all" else [args.config]
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    print("seed=%d" % seed)
    sys.stdout.flush()

    tmp = tempfile.mkdtemp(prefix="mrxcl-test-network-")
    failures = []
    try:
        for name in names:
            config = (mrx_io.read_model_file(args.model)[1] if args.model
                      else CONFIGS[name][0])
            print("%s: %s" % (name, mrx_io.describe_config(config)))
            sys.stdout.flush()
            failures += run_config(name, args, seed, tmp)
    finally:
        if args.keep:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    for m in failures:
        print("FAIL: %s (seed=%d; rerun with --seed %d)" % (m, seed, seed))
    print("%s (seed=%d)" % ("PASS" if not failures else "FAILED", seed))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
