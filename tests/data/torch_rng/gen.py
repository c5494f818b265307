"""Writes the reference draws of tests/test_torch_rng.c with Debian's
python3-torch (1.13, CPU): for each of 20 seeds, torch.manual_seed(seed) then
torch.randn(shape) for shapes [1], [7], [16], [4, 1, 28, 28] in float32 and
float64, plus one sequence of calls on one stream (the generator's cached
normal and the tail block of normal_fill carry across calls).
Run: /usr/bin/python3 gen.py (in this folder)."""
import numpy as np
import torch

SEEDS = [0, 1, 2, 3, 7, 42, 123, 1000, 2023, 31337, 65535, 65536, 99991, 123456789,
         2**31 - 1, 2**31, 2**32 - 1, 2**32 + 5, 987654321, 4242]
SHAPES = {"1": [1], "7": [7], "16": [16], "4x1x28x28": [4, 1, 28, 28]}

np.save("seeds.npy", np.array(SEEDS, dtype=np.float64))
for name, shape in SHAPES.items():
    for dt, tag in ((torch.float32, "f32"), (torch.float64, "f64")):
        rows = []
        for s in SEEDS:
            torch.manual_seed(s)
            rows.append(torch.randn(shape, dtype=dt).reshape(-1).numpy())
        np.save("randn_%s_%s.npy" % (name, tag), np.stack(rows))
# one stream: 7, 3, 20, 1, 33 values (float32), then 5 and 16 float64
seq = []
for s in SEEDS:
    torch.manual_seed(s)
    parts = [torch.randn(k).double() for k in (7, 3, 20, 1, 33)]
    parts += [torch.randn(k, dtype=torch.float64) for k in (5, 16)]
    seq.append(torch.cat(parts).numpy())
np.save("randn_seq.npy", np.stack(seq))
print("torch", torch.__version__, torch.backends.cpu.get_cpu_capability()
      if hasattr(torch.backends, "cpu") and hasattr(torch.backends.cpu, "get_cpu_capability")
      else "")
