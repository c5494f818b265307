#!/usr/bin/env python3
"""ckpt_diff.py A B [BLOCK] - the largest |a - b| / (|b| + 1e-3) over the
float32 tensors of two sgm checkpoints (safetensors) whose name starts with
BLOCK (default "params."), and the largest |a - b|; prints "rel abs".
A helper of tests/mpi/*.sh (not a test itself); standard library only."""
import json
import struct
import sys


def tensors(path, block):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    head = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out = {}
    for k, v in head.items():
        if k == "__metadata__" or not k.startswith(block) or v["dtype"] != "F32":
            continue
        a, b = v["data_offsets"]
        out[k] = struct.unpack("<%df" % ((b - a) // 4), raw[base + a : base + b])
    return out


def main():
    block = sys.argv[3] if len(sys.argv) > 3 else "params."
    ta, tb = tensors(sys.argv[1], block), tensors(sys.argv[2], block)
    if not ta or set(ta) != set(tb):
        print("tensor sets differ or are empty", file=sys.stderr)
        return 1
    rel = ab = 0.0
    for k in ta:
        for x, y in zip(ta[k], tb[k]):
            d = abs(x - y)
            ab = max(ab, d)
            rel = max(rel, d / (abs(y) + 1e-3))
    print("%.3g %.3g" % (rel, ab))
    return 0


if __name__ == "__main__":
    sys.exit(main())
