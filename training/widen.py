#!/usr/bin/python3
"""Widen an mrxcl model to a larger hidden size without changing what it computes.

    widen.py IN.safetensors OUT.safetensors --hidden H [--seed N] [--f16]
    widen.py --selftest [--seed N]

A wider network (train.py --hidden) costs more per step but can fit more; trained from
random weights it needs the whole schedule again. This writes a model of hidden size H
whose output is the input model's (to float32 rounding): every new unit gets fresh
random incoming weights (torch's default scales) and zero weights out of it, so it
starts with no effect and training (train.py --init OUT) grows it from the input model's
function instead of from scratch (the "random padding" form of Net2WiderNet, Chen,
Goodfellow and Shlens, 2016).

What grows, for hidden h -> H (each BiLSTM direction h/2 -> H/2):
  - encoder r: Linear(F_r, h) gains H-h output rows; BatchNorm(h) gains H-h channels
    (weight 1, bias 0, running mean 0, variance 1): C1 gains H-h features;
  - each BiLSTM layer: every gate block (i, f, g, o) gains H/2-h/2 units per direction;
    the old units read nothing from the new inputs and new hidden states (zero columns);
    the layer output [forward, backward] keeps the old units at the head of each half;
  - decoder: Linear(2h, h) gains H-h output rows and zero columns for the new entries of
    D = [C1, C2]; BatchNorm(h) gains channels as above; Linear(h, F_r) gets zero columns
    for them.
The output file has the input's configuration and training record, the hidden size
changed; float32, or float16 with --f16 (half the bytes, for a GPU call's 64 MiB: an F16
input's weights are kept exactly, the new units' are rounded). The check at the end runs both files through mrx_ref on noise.
"""

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "tools")]  # training/, the product's tools/
import mrx_io  # noqa: E402
import mrx_ref  # noqa: E402


def _bn_grow(sd, out, prefix, n_old, n_new):
    for name, fill in (("weight", 1.0), ("bias", 0.0), ("running_mean", 0.0),
                       ("running_var", 1.0)):
        a = np.full(n_new, fill, dtype=np.float32)
        a[:n_old] = sd[prefix + "." + name]
        out[prefix + "." + name] = a


def _half_map(h, H):
    """Positions in a width-H [forward, backward] vector of a width-h one's entries."""
    return np.concatenate([np.arange(h // 2), H // 2 + np.arange(h // 2)])


def widen_state_dict(sd, config, hidden, seed):
    """(state dict, config) of the widened model; sd: name -> float32 numpy array."""
    h, H = int(config["hidden"]), int(hidden)
    if H < h or H % 2:
        raise ValueError("--hidden %d: an even size not below the model's %d" % (H, h))
    rng = np.random.default_rng(seed)
    new = dict(config, hidden=H)
    bins = [int(n) // 2 + 1 for n in config["window_lengths"]]
    out = {}

    def uniform(shape, fan_in):
        a = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-a, a, size=shape).astype(np.float32)

    for r, f in enumerate(bins):
        p = "_encoders.%d.layer." % r
        for name in ("weight", "bias", "running_mean", "running_var"):
            out[p + "0." + name] = sd[p + "0." + name]
        w = uniform((H, f), f)
        w[:h] = sd[p + "1.weight"]
        out[p + "1.weight"] = w
        _bn_grow(sd, out, p + "2", h, H)

    hs, Hs = h // 2, H // 2
    # rows of each gate block; inputs of layer 0 are C1 (plain order), of the layers after
    # it the previous layer's [forward, backward] output
    rows = np.concatenate([g * Hs + np.arange(hs) for g in range(4)])
    for b in range(len(config["sources"])):
        for k in range(int(config["lstm_layers"])):
            cols_in = np.arange(h) if k == 0 else _half_map(h, H)
            for sfx in ("", "_reverse"):
                p = "_cross_net.lstm.%d." % b
                ih, hh = p + "weight_ih_l%d%s" % (k, sfx), p + "weight_hh_l%d%s" % (k, sfx)
                w = uniform((4 * Hs, H), Hs)
                w[rows] = 0.0
                w[np.ix_(rows, cols_in)] = sd[ih]
                out[ih] = w
                w = uniform((4 * Hs, Hs), Hs)
                w[rows] = 0.0
                w[np.ix_(rows, np.arange(hs))] = sd[hh]
                out[hh] = w
                for bias in ("bias_ih_l%d%s" % (k, sfx), "bias_hh_l%d%s" % (k, sfx)):
                    v = uniform((4 * Hs,), Hs)
                    v[rows] = sd[p + bias]
                    out[p + bias] = v

    d_cols = np.concatenate([np.arange(h), H + _half_map(h, H)])  # D = [C1, C2]
    for s in range(len(config["sources"])):
        for r, f in enumerate(bins):
            p = "_decoders.%d.%d.block." % (s, r)
            w = uniform((H, 2 * H), 2 * H)
            w[:h] = 0.0
            w[np.ix_(np.arange(h), d_cols)] = sd[p + "0.weight"]
            out[p + "0.weight"] = w
            _bn_grow(sd, out, p + "1", h, H)
            w = np.zeros((f, H), dtype=np.float32)
            w[:, :h] = sd[p + "3.weight"]
            out[p + "3.weight"] = w
            for name in ("weight", "bias", "running_mean", "running_var"):
                out[p + "4." + name] = sd[p + "4." + name]
    return {k: out[k] for k in mrx_io.expected_shapes(new)}, new


def max_difference(path_a, path_b, seconds=3.0, seed=0):
    """Largest |difference| of the two model files' outputs on noise, and the output rms."""
    import torch
    a, config = mrx_ref.load_model(path_a)
    b, _ = mrx_ref.load_model(path_b)
    g = torch.Generator().manual_seed(seed)
    x = 0.1 * torch.randn(2, int(seconds * config["sample_rate"]), generator=g)
    with torch.no_grad():
        ya, yb = a(x), b(x)
    return float((ya - yb).abs().max()), float(ya.pow(2).mean().sqrt())


def selftest(seed=None):
    """Widen fresh random models (and one fixed seed); a failure names its seed, which
    --selftest --seed N replays."""
    import tempfile
    fails = []
    config = {"sample_rate": 44100, "hop": 64, "window_lengths": [128, 256, 512],
              "hidden": 12, "lstm_layers": 3, "sources": ["music", "speech", "sfx"]}
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "a.safetensors"), os.path.join(tmp, "b.safetensors")
        fresh = int.from_bytes(os.urandom(3), "little") if seed is None else seed
        for seed in (fresh, 7):
            mrx_io.save_model(src, mrx_io.random_state_dict(config, seed), config)
            tensors, cfg = mrx_io.read_model_file(src)
            sd, new = widen_state_dict(tensors, cfg, 20, seed + 1)
            mrx_io.save_model(dst, sd, new)
            diff, rms = max_difference(src, dst, 0.5, seed)
            # float32 sums in another order: a few ulps of the output, nowhere near rms
            if not diff <= 1e-3 * max(rms, 1e-3):
                fails.append("widen 12 -> 20 (seed %d): outputs differ by %.3g (rms %.3g)"
                             % (seed, diff, rms))
            if mrx_io.read_model_file(dst)[1]["hidden"] != 20:
                fails.append("widen: the written file does not say hidden 20")
        try:
            widen_state_dict(tensors, cfg, 11, 0)
            fails.append("widen: an odd hidden size was accepted")
        except ValueError:
            pass
    return fails


def main(argv=None):
    ap = argparse.ArgumentParser(description="Widen an mrxcl model (same output, more units).")
    ap.add_argument("input", nargs="?")
    ap.add_argument("output", nargs="?")
    ap.add_argument("--hidden", type=int)
    ap.add_argument("--seed", type=int, default=None,
                    help="seed of the new units' weights (default 0); with --selftest, "
                    "the random model's")
    ap.add_argument("--f16", action="store_true", help="store float16 tensors")
    ap.add_argument("--selftest", action="store_true")
    args = ap.parse_args(argv)
    if args.selftest:
        fails = selftest(args.seed)
        print("\n".join(fails) if fails else "widen.py selftest: widened outputs match")
        return 1 if fails else 0
    if not (args.input and args.output and args.hidden):
        ap.error("give IN, OUT and --hidden (or --selftest)")
    try:
        tensors, config, training = mrx_io.read_model_file(args.input, with_training=True)
        sd, new = widen_state_dict(tensors, config, args.hidden, args.seed or 0)
        mrx_io.save_model(args.output, sd, new, dtype="f16" if args.f16 else "f32",
                          training=training)
    except (OSError, mrx_io.ModelError, ValueError) as e:
        print("widen: %s" % (getattr(e, "strerror", None) or e), file=sys.stderr)
        return 1
    diff, rms = max_difference(args.input, args.output)
    print("%s: %s, %d parameters (was %d); outputs on 3 s of noise differ by at most %.3g "
          "(rms %.3g)" % (args.output, mrx_io.describe_config(new), mrx_io.parameter_count(new),
                          mrx_io.parameter_count(config), diff, rms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
