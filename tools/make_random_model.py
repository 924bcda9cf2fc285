#!/usr/bin/python3
"""Write an mrxcl model file with fresh random MRX weights (for tests).

    make_random_model.py OUTPUT.safetensors --seed N [--sample-rate 44100] [--hop 8]
        [--windows 16,32,64] [--hidden 8] [--layers 1] [--sources music,speech,sfx] [--f16]

Needs only numpy and safetensors (no torch). The weights come from
mrx_io.random_state_dict(), scaled so that no layer saturates or vanishes for
white noise input of rms 0.1; the same seed and options always give the same file.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrx_io  # noqa: E402


def int_list(text):
    return [int(v) for v in text.split(",")]


def main(argv=None):
    ap = argparse.ArgumentParser(description="Write a random-weight MRX model file.")
    ap.add_argument("output")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--sample-rate", type=int, default=44100)
    ap.add_argument("--hop", type=int, default=8)
    ap.add_argument("--windows", type=int_list, default=[16, 32, 64],
                    help="window lengths, comma-separated (default 16,32,64)")
    ap.add_argument("--hidden", type=int, default=8)
    ap.add_argument("--layers", type=int, default=1, help="LSTM layers per branch")
    ap.add_argument("--sources", default="music,speech,sfx")
    ap.add_argument("--f16", action="store_true", help="store float16 tensors")
    ap.add_argument("--consistency", default=None, choices=mrx_io.CONSISTENCY_MODES,
                    help="name this mixture consistency in the file (default: none)")
    args = ap.parse_args(argv)

    config = {
        "sample_rate": args.sample_rate,
        "hop": args.hop,
        "window_lengths": args.windows,
        "hidden": args.hidden,
        "lstm_layers": args.layers,
        "sources": args.sources.split(","),
    }
    try:
        sd = mrx_io.random_state_dict(config, args.seed)
        mrx_io.save_model(args.output, sd, config, dtype="f16" if args.f16 else "f32",
                          consistency=args.consistency)
    except (mrx_io.ModelError, ValueError) as e:
        print("make_random_model: %s" % e, file=sys.stderr)
        return 1
    print("%s: %s, %d parameters, seed %d"
          % (args.output, mrx_io.describe_config(config), mrx_io.parameter_count(config), args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
