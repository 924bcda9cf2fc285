#!/usr/bin/python3
"""Run the PyTorch reference MRX on raw float32 audio.

    ref_separate.py MODEL.safetensors INPUT.f32 OUTPUT.f32 --channels C [--double]

INPUT is raw little-endian float32, planar [C][L] (L = file size / 4 / C), at the
model's sample rate (no resampling, no loudness normalisation, no mixture
consistency: the bare network). OUTPUT is raw little-endian float32 planar
[S][C][L], source-major (sources in the model's order), then channel.
--double runs the network in float64 (the weights are the file's float32 values).
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrx_io  # noqa: E402


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
    args = ap.parse_args(argv)

    data = np.fromfile(args.input, dtype="<f4")
    C = args.channels
    if C < 1 or data.size == 0 or data.size % C:
        print("ref_separate: %s holds %d floats, not a positive multiple of %d channels"
              % (args.input, data.size, C), file=sys.stderr)
        return 1
    try:
        model, config = mrx_io.load_model(args.model)
    except (OSError, mrx_io.ModelError) as e:
        print("ref_separate: %s: %s" % (args.model, e), file=sys.stderr)
        return 1
    out = separate(model, data.reshape(C, -1).astype(np.float32), args.double)
    out.astype("<f4").tofile(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
