#!/usr/bin/python3
"""Run the PyTorch reference MRX on raw float32 audio.

    ref_separate.py MODEL.safetensors INPUT.f32 OUTPUT.f32 --channels C [--double]
                    [--chunk S [--overlap S]] [--loudness] [--consistency MODE]

INPUT is raw little-endian float32, planar [C][L] (L = file size / 4 / C), at the
model's sample rate (no resampling, no loudness normalisation: the bare network, with the
mixture consistency the model file names, as `mrxcl separate` applies by default). OUTPUT is raw little-endian float32 planar
[S][C][L], source-major (sources in the model's order), then channel.
--double runs the network in float64 (the weights are the file's float32 values).
--chunk S separates in pieces of S seconds that overlap by --overlap seconds,
cross-faded, exactly as `mrxcl separate --chunk S --overlap S` does (chunked(), the
same plan and weights as host/chunked.c); without it, the whole input at once.
--loudness separates at -27 LUFS as `mrxcl separate` does by default (at_level()): the
input's integrated loudness (audio_io.input_loudness, libebur128) sets a gain on the input,
undone on every stem. --consistency all|music_sfx shares the residual (input less the sum of
the stems) among the stems before that gain is undone (consistent()), as mrxcl
--consistency does; pass leaves the network's output; model (the default) takes the mode
the model file's metadata names (mrx_io.model_consistency: pass when it names none).
"""

import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrx_io  # noqa: E402


def seconds_to_frames(seconds, rate):
    """As the mrxcl CLI rounds: llround(seconds * rate), halves away from zero."""
    return int(math.floor(seconds * rate + 0.5))


def chunk_plan(frames, length, overlap):
    """[(start, end), ...] of the pieces of host/chunked.h: pieces of `length`
    frames every length - overlap frames, the last one ending at `frames`; one piece
    when length is 0 or not shorter than the input. Needs 2 * overlap <= length."""
    if frames < 1:
        raise ValueError("no frames")
    if length == 0 or length >= frames:
        return [(0, frames)]
    if 2 * overlap > length:
        raise ValueError("overlap %d is more than half of the piece length %d" % (overlap, length))
    step = length - overlap
    count = 1 + (frames - length + step - 1) // step
    return [(k * step, min(k * step + length, frames)) for k in range(count)]


def chunked(separate_fn, x, length, overlap):
    """separate_fn(x[..., a:b]) -> array whose last axis is time (b - a frames), applied
    to the pieces of chunk_plan(); where two pieces overlap, the earlier is faded out and
    the later faded in with w(i) = sin^2(pi/2 * (i + 0.5) / overlap), whose weights sum to
    one. Returns the joined output in float64."""
    frames = x.shape[-1]
    plan = chunk_plan(frames, length, overlap)
    if len(plan) == 1:
        return np.asarray(separate_fn(x), dtype=np.float64)
    w = np.sin(0.5 * np.pi * (np.arange(overlap) + 0.5) / overlap) ** 2
    out = None
    for k, (a, b) in enumerate(plan):
        y = np.asarray(separate_fn(x[..., a:b]), dtype=np.float64)
        if out is None:
            out = np.zeros(y.shape[:-1] + (frames,))
        if k > 0:
            y[..., :overlap] *= w
        if k + 1 < len(plan):
            y[..., b - a - overlap:] *= 1.0 - w
        out[..., a:b] += y
    return out


SEPARATION_LUFS = -27.0


def level_gain(x, rate):
    """The gain that brings x [C, L] to -27 LUFS, as mrxcl separate applies it; 1 when x
    has no loudness (silent, or shorter than one 400 ms gating block)."""
    from audio_io import input_loudness

    lufs = input_loudness(x, rate)
    return 10.0 ** ((SEPARATION_LUFS - lufs) / 20.0) if math.isfinite(lufs) else 1.0


def at_level(separate_fn, x, rate):
    """separate_fn(x * g) / g with g = level_gain(x, rate)."""
    g = level_gain(x, rate)
    return np.asarray(separate_fn(np.asarray(x, dtype=np.float64) * g), dtype=np.float64) / g


def consistent(y, x, mode, sources, axis=0):
    """Mixture consistency (docs/network.md, "Around the network"; the authors' script):
    y holds the stems along `axis` (in the order of `sources`), x the input they came from,
    with y's shape less that axis. 'pass' returns y; 'all' adds (x - sum of stems) / number
    of stems to each; 'music_sfx' adds half of it to music and half to sfx, none to the rest."""
    y = np.asarray(y, dtype=np.float64)
    if mode == "pass":
        return y
    takers = [i for i, s in enumerate(sources) if mode == "all" or s in ("music", "sfx")]
    if mode not in ("all", "music_sfx") or (mode == "music_sfx" and len(takers) != 2):
        raise ValueError("consistency %r with sources %s" % (mode, ", ".join(sources)))
    r = (np.asarray(x, dtype=np.float64) - y.sum(axis=axis)) / len(takers)
    y = np.moveaxis(y.copy(), axis, 0)
    for i in takers:
        y[i] += r
    return np.moveaxis(y, 0, axis)


def separate(model, audio, double=False):
    """audio: float32 numpy [C, L] -> float32 numpy [S, C, L]."""
    import torch

    dtype = torch.float64 if double else torch.float32
    model = model.to(dtype)
    with torch.no_grad():
        y = model(torch.from_numpy(np.ascontiguousarray(audio)).to(dtype))  # [C, S, L]
    return y.transpose(0, 1).contiguous().numpy().astype(np.float32)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Separate raw float32 audio with the reference MRX.")
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--channels", type=int, required=True)
    ap.add_argument("--double", action="store_true", help="compute in float64")
    ap.add_argument("--chunk", type=float, default=0.0, metavar="S",
                    help="separate in pieces of S seconds, as mrxcl --chunk (default: whole)")
    ap.add_argument("--overlap", type=float, default=0.0, metavar="S",
                    help="seconds by which pieces overlap, as mrxcl --overlap")
    ap.add_argument("--loudness", action="store_true",
                    help="separate at -27 LUFS, as mrxcl --loudness on (its default)")
    ap.add_argument("--consistency", choices=("pass", "all", "music_sfx", "model"), default="model",
                    help="share the residual among the stems, as mrxcl --consistency (default "
                         "model: the mode the model file names, pass when it names none)")
    args = ap.parse_args(argv)
    if args.chunk < 0 or args.overlap < 0 or (args.chunk > 0 and 2 * args.overlap > args.chunk):
        ap.error("--chunk and --overlap must be >= 0, the overlap at most half the chunk")

    data = np.fromfile(args.input, dtype="<f4")
    C = args.channels
    if C < 1 or data.size == 0 or data.size % C:
        print("ref_separate: %s holds %d floats, not a positive multiple of %d channels"
              % (args.input, data.size, C), file=sys.stderr)
        return 1
    try:
        import mrx_ref  # torch, only to separate
        model, config = mrx_ref.load_model(args.model)
    except (OSError, mrx_io.ModelError) as e:
        print("ref_separate: %s: %s" % (args.model, e), file=sys.stderr)
        return 1
    mode = mrx_io.model_consistency(args.model) if args.consistency == "model" else args.consistency
    rate = config["sample_rate"]
    length = seconds_to_frames(args.chunk, rate)
    if args.chunk > 0:
        length = max(length, 1)
    def sep(v):
        y = chunked(lambda p: separate(model, p, args.double), v, length,
                    seconds_to_frames(args.overlap, rate))
        return consistent(y, v, mode, config["sources"])

    x = data.reshape(C, -1).astype(np.float32)
    out = at_level(sep, x, rate) if args.loudness else sep(x)
    out.astype("<f4").tofile(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
