#!/usr/bin/env python3
"""Writes broken variants of a valid mrxcl model, for the CLI's error tests.

    make_bad_models.py GOOD.safetensors OUTDIR

Parses the safetensors bytes directly (8-byte little-endian header length, JSON
header, data), so it needs nothing but the standard library. Writes into OUTDIR:

    truncated.safetensors       the file cut at half its length
    wrong_shape.safetensors     one tensor's last dimension one smaller (data and
                                offsets adjusted, so the file is otherwise valid)
    missing_tensor.safetensors  one tensor left out of the header and the data
    nan_weight.safetensors      one float32 weight set to NaN
    bad_dtype_i64.safetensors   one float32 tensor stored as I64 (same shape)
    bad_dtype_bf16.safetensors  one float32 tensor stored as BF16 (same shape)
    long_sources.safetensors    metadata 'sources' of 600 characters (tensor "sources")

and prints one line per file, "FILE TENSOR", naming the tensor it changed ("-" for
the truncated file), so that a test can check that the error names it.
"""
import json
import math
import os
import struct
import sys

DTYPE_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2,
              "I8": 1, "U8": 1, "BOOL": 1}


def parse(blob):
    (header_len,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    data = blob[8 + header_len:]
    metadata = header.pop("__metadata__", None)
    # (name, dtype, shape, bytes) in file order, so a rewrite keeps the layout
    tensors = []
    for name, t in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = t["data_offsets"]
        tensors.append([name, t["dtype"], list(t["shape"]), data[begin:end]])
    return metadata, tensors


def serialize(metadata, tensors):
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as safetensors writes it
    return struct.pack("<Q", len(text)) + text + b"".join(t[3] for t in tensors)


def pick(tensors, wanted, min_dims=1):
    """The first tensor whose name ends with one of `wanted` (in that order of
    preference), else the first float32 tensor with at least min_dims dimensions."""
    for suffix in wanted:
        for t in tensors:
            if t[0].endswith(suffix) and t[1] == "F32" and len(t[2]) >= min_dims:
                return t
    for t in tensors:
        if t[1] == "F32" and len(t[2]) >= min_dims and t[2][-1] > 1:
            return t
    raise SystemExit("make_bad_models.py: no float32 tensor to change")


def floats(raw):
    return struct.unpack("<%df" % (len(raw) // 4), raw)


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        blob = f.read()
    out = argv[2]
    os.makedirs(out, exist_ok=True)
    metadata, tensors = parse(blob)

    def write(file_name, content, tensor):
        with open(os.path.join(out, file_name), "wb") as f:
            f.write(content)
        print(file_name, tensor)

    write("truncated.safetensors", blob[:len(blob) // 2], "-")

    t = [list(x) for x in tensors]
    victim = pick(t, ["_cross_net.lstm.1.weight_hh_l0", "weight_hh_l0"], min_dims=2)
    shape = victim[2][:-1] + [victim[2][-1] - 1]
    rows = math.prod(victim[2][:-1])
    old_cols, new_cols = victim[2][-1], shape[-1]
    victim[3] = b"".join(victim[3][r * old_cols * 4:(r * old_cols + new_cols) * 4]
                         for r in range(rows))
    victim[2] = shape
    write("wrong_shape.safetensors", serialize(metadata, t), victim[0])

    t = [list(x) for x in tensors]
    victim = pick(t, ["_decoders.2.1.block.4.running_var", "running_var"])
    t.remove(victim)
    write("missing_tensor.safetensors", serialize(metadata, t), victim[0])

    t = [list(x) for x in tensors]
    victim = pick(t, ["_encoders.1.layer.2.weight", "layer.2.weight"])
    victim[3] = struct.pack("<f", float("nan")) + victim[3][4:]
    write("nan_weight.safetensors", serialize(metadata, t), victim[0])

    t = [list(x) for x in tensors]
    victim = pick(t, ["_decoders.0.0.block.0.weight", "block.0.weight"], min_dims=2)
    victim[1] = "I64"
    victim[3] = b"".join(struct.pack("<q", int(v)) for v in floats(victim[3]))
    write("bad_dtype_i64.safetensors", serialize(metadata, t), victim[0])

    t = [list(x) for x in tensors]
    victim = pick(t, ["_decoders.0.0.block.0.weight", "block.0.weight"], min_dims=2)
    victim[1] = "BF16"
    # bfloat16 is the upper half of a float32: a real conversion, not noise
    victim[3] = b"".join(victim[3][i + 2:i + 4] for i in range(0, len(victim[3]), 4))
    write("bad_dtype_bf16.safetensors", serialize(metadata, t), victim[0])

    # A 'sources' entry of 600 characters: the loader must say it is too long, not missing.
    long_meta = dict(metadata or {})
    long_meta["sources"] = ",".join([long_meta.get("sources", "music,speech,sfx")] +
                                    ["x" * 99] * 6)[:600]
    write("long_sources.safetensors", serialize(long_meta, tensors), "sources")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
