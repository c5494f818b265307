#!/usr/bin/env python3
"""gmm_kdiff_sample.py - the PyTorch side of bench/gmm_sample_vs_kdiff.sh
(issue 12): k-diffusion's sample_dpmpp_2m on the exact denoiser of a
Gaussian mixture written as a PyTorch user would (float32, batched over rows
and components, no Python loop over rows), Karras sigmas (sigma_min 0.002,
sigma_max 80, rho 7, final 0) as `sgm sample --process ve --schedule karras`
uses, x_T = sigma_max * torch.randn, output written as .npy like sgm's.

Usage: gmm_kdiff_sample.py GMM.json N STEPS OUT.npy [--threads T]
(K_DIFFUSION_DIR: a checkout of crowsonkb/k-diffusion, see kdiff_import.py)
"""
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kdiff_import  # noqa: E402


def main():
    args = sys.argv[1:]
    threads = None
    if "--threads" in args:
        i = args.index("--threads")
        threads = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    path, n, steps, out = args[0], int(args[1]), int(args[2]), args[3]
    if threads:
        torch.set_num_threads(threads)
    kd = kdiff_import.load(os.environ.get("K_DIFFUSION_DIR"))
    with open(path) as f:
        g = json.load(f)
    w = torch.tensor(g["weights"], dtype=torch.float32)
    mu = torch.tensor(g["means"], dtype=torch.float32)        # [k, d]
    sd2 = torch.tensor(g["stds"], dtype=torch.float32) ** 2   # [k, d]
    d = mu.shape[1]
    logw = torch.log(w / w.sum())
    c0 = 0.5 * d * math.log(2 * math.pi)

    def denoiser(x, sigma):
        v = sd2[None] + (sigma ** 2)[:, None, None]            # [n, k, d]
        r = x[:, None, :] - mu[None]
        lp = logw[None] - 0.5 * (r * r / v + torch.log(v)).sum(-1) - c0
        resp = torch.softmax(lp, dim=1)                         # [n, k]
        return (resp[:, :, None] * (mu[None] + sd2[None] / v * r)).sum(1)

    sigmas = kd.get_sigmas_karras(steps, 0.002, 80.0, 7.0)
    torch.manual_seed(0)
    x = torch.randn(n, d) * sigmas[0]
    with torch.no_grad():
        y = kd.sample_dpmpp_2m(denoiser, x, sigmas, disable=True)
    np.save(out, y.double().numpy())
    return 0


if __name__ == "__main__":
    sys.exit(main())
