#!/usr/bin/python3
"""Convert an MRX PyTorch checkpoint into an mrxcl model file, or store a model file again.

    convert.py CHECKPOINT OUTPUT.safetensors [--sample-rate 44100] [--hop 256]
        [--sources music,speech,sfx] [--f16]
    convert.py MODEL.safetensors OUTPUT.safetensors [--f16]

CHECKPOINT is either a plain state_dict (the authors' published
*_mrx_pre_trained_weights.pth files) or a PyTorch Lightning checkpoint whose
`state_dict` holds the same tensors with a `model.` prefix (keys without that
prefix, e.g. loss buffers, are ignored). The configuration is inferred from the
tensor shapes; sample rate, hop and source names are not stored in the weights and
come from the options (the authors' values by default). Every tensor is checked
for presence, shape and finite values before anything is written; on any problem
the tool names the tensor, exits 1 and leaves no OUTPUT behind.

Given an mrxcl model file instead (a safetensors file, which a PyTorch checkpoint never
is), it writes the same model again at the width asked for (F32, or F16 with --f16),
with the file's configuration, mixture consistency and training record kept as they are:
an F32 export made F16 for embedding (issue 3 allows the binary 25 MB), or an F16 file
widened for tools that want F32. The configuration options do not apply to such a file.
"""

import argparse
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrx_io  # noqa: E402


def extract_state_dict(ckpt):
    """The MRX tensors of a loaded checkpoint, under the authors' names."""
    if not isinstance(ckpt, dict):
        raise mrx_io.ModelError("checkpoint holds a %s, not a state_dict" % type(ckpt).__name__)
    if "state_dict" in ckpt and isinstance(ckpt["state_dict"], dict):
        sd = ckpt["state_dict"]  # Lightning
    else:
        sd = ckpt
    if any(k.startswith("model.") for k in sd):
        sd = {k[len("model."):]: v for k, v in sd.items() if k.startswith("model.")}
    for k, v in sd.items():
        if not hasattr(v, "shape"):
            raise mrx_io.ModelError("entry %s is a %s, not a tensor" % (k, type(v).__name__))
    return sd


def load_checkpoint(torch, path):
    """torch.load of a checkpoint, tensors only where it can be: PyTorch 2.6 and later load
    only tensors and plain containers by default (weights_only), and a Lightning checkpoint
    also holds its hyper-parameters as other objects, so a file that fails that way is
    loaded in full, with a note (unpickling runs code from the file: convert files whose
    source you trust, such as the authors' published checkpoints)."""
    import pickle
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        print("convert: %s holds objects besides tensors; loading it in full (convert only "
              "checkpoints from a source you trust)" % path, file=sys.stderr)
        return torch.load(path, map_location="cpu", weights_only=False)


def is_safetensors(path):
    """True when the file starts as a safetensors file does: an 8-byte little-endian header
    length, then the JSON header's '{'. (PyTorch checkpoints are zip or pickle files.)"""
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] > 1


def read_model_file(path):
    """(tensors, config, save_model keyword arguments) of an mrxcl model file: its training
    record and the consistency mode it names (None when it names none), kept as they are."""
    tensors, config, training = mrx_io.read_model_file(path, with_training=True)
    mrx_io.model_consistency(path)  # checks the mode the file names, if any
    from safetensors import safe_open
    with safe_open(path, framework="numpy") as f:
        consistency = (f.metadata() or {}).get("consistency")
    return tensors, config, {"training": training, "consistency": consistency}


def write(args, read):
    """read() -> (state_dict, config, save_model keyword arguments), written to args.output
    through a temporary file in its folder, so that a failure leaves no output behind.
    Prints what it wrote; returns the exit status."""
    out_dir = os.path.dirname(os.path.abspath(args.output))
    tmp = None
    try:
        sd, config, extra = read()
        fd, tmp = tempfile.mkstemp(prefix=".convert-", suffix=".tmp", dir=out_dir)
        os.close(fd)
        mrx_io.save_model(tmp, sd, config, dtype="f16" if args.f16 else "f32", **extra)
        os.replace(tmp, args.output)
        tmp = None
    except mrx_io.ModelError as e:
        print("convert: %s: %s" % (args.checkpoint, e), file=sys.stderr)
        return 1
    except OSError as e:
        print("convert: cannot write %s: %s" % (args.output, e), file=sys.stderr)
        return 1
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    print("configuration: %s" % mrx_io.describe_config(config))
    print("parameters: %d (%s); %d bytes" % (mrx_io.parameter_count(config),
                                             "float16" if args.f16 else "float32",
                                             os.path.getsize(args.output)))
    print("wrote %s" % args.output)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description="Convert an MRX checkpoint to an mrxcl model file.")
    ap.add_argument("checkpoint")
    ap.add_argument("output")
    ap.add_argument("--sample-rate", type=int, default=None, help="default 44100")
    ap.add_argument("--hop", type=int, default=None, help="default 256")
    ap.add_argument("--sources", default=None,
                    help="source names in output order (default music,speech,sfx for 3 "
                         "sources, else source0,source1,..)")
    ap.add_argument("--f16", action="store_true", help="store float16 tensors")
    args = ap.parse_args(argv)

    try:
        model_file = is_safetensors(args.checkpoint)
    except OSError as e:
        print("convert: cannot read %s: %s" % (args.checkpoint, e.strerror or e), file=sys.stderr)
        return 1
    if model_file:
        given = [o for o, v in (("--sample-rate", args.sample_rate), ("--hop", args.hop),
                                ("--sources", args.sources)) if v is not None]
        if given:
            print("convert: %s is an mrxcl model file, which names its own configuration; %s "
                  "does not apply to it" % (args.checkpoint, ", ".join(given)), file=sys.stderr)
            return 1
        return write(args, lambda: read_model_file(args.checkpoint))

    import torch

    try:
        ckpt = load_checkpoint(torch, args.checkpoint)
    except Exception as e:  # torch raises many kinds for a bad file
        print("convert: cannot load %s: %s" % (args.checkpoint, e), file=sys.stderr)
        return 1

    def from_checkpoint():
        sd = extract_state_dict(ckpt)
        sources = args.sources.split(",") if args.sources else None
        config = mrx_io.config_from_state_dict(sd, args.sample_rate or 44100, args.hop or 256,
                                               sources)
        mrx_io.validate_state_dict(sd, config)  # names the first bad tensor
        return sd, config, {}
    return write(args, from_checkpoint)


if __name__ == "__main__":
    sys.exit(main())
