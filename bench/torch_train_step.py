#!/usr/bin/env python3
"""torch_train_step.py - the PyTorch side of bench/bench_train_step.c (issue 3).

Steps per second of one full training step - zero gradients, forward, MSE
loss against a fixed target, backward, torch.optim.AdamW step (defaults:
betas (0.9, 0.999), eps 1e-8, weight decay 1e-2) - for
  mlp : the residual MLP twin of src/nn/mlp.c (MLP in tools/ref/gen_nn.py):
        d_in 2, width 256, 4 blocks, embedding 128 (scale 100), batch 1024;
  unet: the U-Net twin of src/nn/unet.c (UNet in tools/ref/gen_unet.py) in
        sgm_unet_config_default's configuration, batch 64.
Module definitions are imported from tools/ref, so the architecture is the one
the parity tests check against the C code. Float32, eager mode, CPU.
W warm-up steps, then R repetitions of K timed steps; the best repetition is
reported, as on the C side.

Usage: torch_train_step.py [mlp|unet|all] [K] [R] [W] [--threads N]
Output: "RESULT <model> <steps/s> <ms/step>" lines (as bench_train_step).
"""
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "ref"))
import gen_nn  # noqa: E402
import gen_unet  # noqa: E402


class MLP32(gen_nn.MLP):
    """gen_nn.MLP with the sinusoidal embedding cast to float32 (the twin
    computes it in float64 for the fixtures; the C code rounds it to float32)."""

    def forward(self, x, c):
        e = gen_nn.timestep_embedding(c.double(), self.E, *self.emb).float()
        h = self.inp(torch.cat([x, e], dim=-1))
        for blk in self.blocks:
            h = h + blk["fc2"](F.silu(blk["fc1"](F.silu(h))))
        return self.out(F.silu(h))


def time_steps(step, K, R, W):
    for _ in range(W):
        step()
    best = 0.0
    for _ in range(R):
        t0 = time.perf_counter()
        for _ in range(K):
            step()
        best = max(best, K / (time.perf_counter() - t0))
    return best


def make_step(model, inputs, target):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=False)  # as the C side: gradients cleared, not freed
        out = model(*inputs)
        loss = F.mse_loss(out, target)
        loss.backward()
        opt.step()
    return step


def bench_mlp(K, R, W):
    torch.manual_seed(0)
    B, D = 1024, 2
    # sgm_train_config_default: width 256, depth 4, emb 128, emb_scale 100;
    # sinusoidal defaults (flip 0, shift 1, max_period 10^4)
    model = MLP32(D, 128, 256, 4, (0, 1.0, 100.0, 10000.0))
    x, tgt = torch.randn(B, D), torch.randn(B, D)
    c = torch.rand(B) * 3 - 2
    n = sum(p.numel() for p in model.parameters())
    print(f"torch mlp: {n} parameters, batch {B}")
    return time_steps(make_step(model, (x, c), tgt), K, R, W)


def bench_unet(K, R, W):
    torch.manual_seed(0)
    B = 64
    # sgm_unet_config_default: 1x28x28, base 32, mult (1, 2, 2), attention at
    # level 2 and in the middle, 2 res blocks, 8 groups, 1 head, E 128
    model = gen_unet.UNet(1, 1, 32, [1, 2, 2], [0, 0, 1], 1, 2, 8, 1, 128, 0)
    x, tgt = torch.randn(B, 1, 28, 28), torch.randn(B, 1, 28, 28)
    c = torch.rand(B) * 3 - 2
    n = sum(p.numel() for p in model.parameters())
    print(f"torch unet: {n} parameters, batch {B}")
    return time_steps(make_step(model, (x, c, None), tgt), K, R, W)


def main():
    args = [a for a in sys.argv[1:]]
    threads = None
    if "--threads" in args:
        i = args.index("--threads")
        threads = int(args[i + 1])
        del args[i:i + 2]
    which = args[0] if args else "all"
    K = int(args[1]) if len(args) > 1 else 0
    R = int(args[2]) if len(args) > 2 else 3
    W = int(args[3]) if len(args) > 3 else 3
    if which not in ("mlp", "unet", "all"):
        print("usage: torch_train_step.py [mlp|unet|all] [K] [R] [W] [--threads N]",
              file=sys.stderr)
        return 2
    if threads is None:
        threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1))
    torch.set_num_threads(threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if which in ("mlp", "all"):
        sps = bench_mlp(K or 50, R, W)
        print(f"RESULT mlp {sps:.3f} {1e3 / sps:.4f}")
    if which in ("unet", "all"):
        sps = bench_unet(K or 5, R, W or 1)
        print(f"RESULT unet {sps:.3f} {1e3 / sps:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
