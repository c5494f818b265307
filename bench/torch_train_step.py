#!/usr/bin/env python3
"""torch_train_step.py - the PyTorch side of bench/bench_train_step.c (issue 3).

Steps per second of one full training step - zero gradients, forward, MSE
loss against a fixed target, backward, torch.optim.AdamW step (defaults:
betas (0.9, 0.999), eps 1e-8, weight decay 1e-2) - for
  mlp : the residual MLP twin of src/nn/mlp.c (MLP in tools/ref/gen_nn.py):
        d_in 2, width 256, 4 blocks, embedding 128 (scale 100), batch 1024;
  unet: the U-Net twin of src/nn/unet.c (UNet in tools/ref/gen_unet.py) in
        sgm_unet_config_default's configuration, batch 64;
  unet16: the U-Net of issue 12 (base 16, mult 1-2-4, one res block per
        level, 2 heads, embedding 128), batch 64;
  unet-infer, unet16-infer: their forward pass alone (torch.no_grad) at
        batch 250, calls per second.
--precision bf16 runs the forward (and so its backward) under
torch.autocast("cpu", dtype=torch.bfloat16), float32 master weights.
Module definitions are imported from tools/ref, so the architecture is the one
the parity tests check against the C code. Float32, eager mode, CPU.
W warm-up steps, then R repetitions of K timed steps; the best repetition is
reported, as on the C side.

Usage: torch_train_step.py [mlp|unet|unet16|unet-infer|unet16-infer|all] [K] [R] [W]
                           [--threads N] [--precision fp32|bf16]
Output: "RESULT <model> <steps/s> <ms/step> <peak RSS MiB>" lines (as
bench_train_step).
"""
import math
import os
import resource
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


PRECISION = "fp32"


def autocast():
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=PRECISION == "bf16")


def groupnorm_fp32(self, x):
    """GroupNorm in float32 under bf16 autocast: torch 1.13's CPU autocast
    leaves group_norm out of its casting lists and fails on a bfloat16 input
    with float32 weights; this is the usual user-side fix (norms in float32)."""
    return F.group_norm(x.float(), self.num_groups, self.weight, self.bias, self.eps)


def make_step(model, inputs, target):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=False)  # as the C side: gradients cleared, not freed
        with autocast():
            out = model(*inputs)
        loss = F.mse_loss(out.float(), target)
        loss.backward()
        opt.step()
    return step


def make_infer(model, inputs):
    def call():
        with torch.no_grad(), autocast():
            model(*inputs)
    return call


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


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


UNET_CONFIGS = {
    # sgm_unet_config_default: 1x28x28, base 32, mult (1, 2, 2), attention at
    # level 2 and in the middle, 2 res blocks, 8 groups, 1 head, E 128
    "unet": (1, 1, 32, [1, 2, 2], [0, 0, 1], 1, 2, 8, 1, 128, 0),
    # issue 12: base 16, mult (1, 2, 4), attention at level 2 and in the
    # middle, 1 res block, 8 groups, 2 heads, E 128
    "unet16": (1, 1, 16, [1, 2, 4], [0, 0, 1], 1, 1, 8, 2, 128, 0),
}


def bench_unet(name, K, R, W):
    torch.manual_seed(0)
    infer = name.endswith("-infer")
    B = 250 if infer else 64
    model = gen_unet.UNet(*UNET_CONFIGS[name.replace("-infer", "")])
    x, tgt = torch.randn(B, 1, 28, 28), torch.randn(B, 1, 28, 28)
    c = torch.rand(B) * 3 - 2
    n = sum(p.numel() for p in model.parameters())
    print(f"torch {name}: {n} parameters, batch {B}, {PRECISION}")
    if infer:
        model.eval()
        return time_steps(make_infer(model, (x, c, None)), K, R, W)
    return time_steps(make_step(model, (x, c, None), tgt), K, R, W)


MODELS = ("mlp", "unet", "unet16", "unet-infer", "unet16-infer")


def main():
    global PRECISION
    args = [a for a in sys.argv[1:]]
    threads = None
    if "--threads" in args:
        i = args.index("--threads")
        threads = int(args[i + 1])
        del args[i:i + 2]
    if "--precision" in args:
        i = args.index("--precision")
        PRECISION = args[i + 1]
        del args[i:i + 2]
    which = args[0] if args else "all"
    K = int(args[1]) if len(args) > 1 else 0
    R = int(args[2]) if len(args) > 2 else 3
    W = int(args[3]) if len(args) > 3 else 3
    if (which not in MODELS and which != "all") or PRECISION not in ("fp32", "bf16"):
        print("usage: torch_train_step.py [mlp|unet|unet16|unet-infer|unet16-infer|all] "
              "[K] [R] [W] [--threads N] [--precision fp32|bf16]", file=sys.stderr)
        return 2
    if threads is None:
        threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1))
    torch.set_num_threads(threads)
    if PRECISION == "bf16":
        torch.nn.GroupNorm.forward = groupnorm_fp32
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {PRECISION}")
    for m in MODELS:
        if which not in (m, "all"):
            continue
        if m == "mlp":
            sps = bench_mlp(K or 50, R, W)
        else:
            sps = bench_unet(m, K or 5, R, W or 1)
        print(f"RESULT {m} {sps:.3f} {1e3 / sps:.4f} {peak_rss_mib():.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
