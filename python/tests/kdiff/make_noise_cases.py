"""Writes the recorded-noise k-diffusion cases of data/ (run once; the
output is committed): k-diffusion's stochastic samplers at eta > 0 on the
exact mixture, with a noise_sampler that draws torch normals and records
each call (sigma, sigma_next) and its noise, in the format of the shared
reference cases (case.json, init.npy, ref.npy, noise.npy [K, 64, D]).

    K_DIFFUSION_DIR=/path/to/k-diffusion@4601bf0 python3 make_noise_cases.py
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..")
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, HERE)
import kdiff_import  # noqa: E402
from gmm_torch import GmmDenoiser  # noqa: E402

CASES = [  # (case id, function, kwargs)
    ("euler_ancestral_eta1", "sample_euler_ancestral", {"eta": 1.0}),
    ("dpm_2_ancestral_eta1", "sample_dpm_2_ancestral", {"eta": 1.0}),
    ("dpmpp_2s_ancestral_eta1", "sample_dpmpp_2s_ancestral", {"eta": 1.0, "s_noise": 0.9}),
    ("dpmpp_sde_eta1", "sample_dpmpp_sde", {"eta": 1.0}),
    ("dpmpp_sde_eta0.5_r0.4", "sample_dpmpp_sde", {"eta": 0.5, "r": 0.4}),
    ("dpmpp_2m_sde_eta1_midpoint", "sample_dpmpp_2m_sde", {"eta": 1.0}),
    ("dpmpp_2m_sde_eta1_heun", "sample_dpmpp_2m_sde", {"eta": 1.0, "solver_type": "heun"}),
    ("dpmpp_3m_sde_eta1", "sample_dpmpp_3m_sde", {"eta": 1.0}),
    ("dpm_fast_eta0.5", "sample_dpm_fast", {"eta": 0.5}),
]


def main():
    kd = kdiff_import.load(sys.argv[1] if len(sys.argv) > 1 else None)
    torch.set_default_dtype(torch.float64)
    model = GmmDenoiser(os.path.join(ROOT, "tests", "data", "reference", "models",
                                     "gmm2d.json"))
    sigmas = kd.get_sigmas_karras(10, 0.002, 80.0)
    for n, (cid, fn, kw) in enumerate(CASES):
        gen = torch.Generator().manual_seed(20261206 + n)
        init = torch.randn([64, 2], generator=gen) * 80.0
        calls, noise = [], []

        def noise_sampler(sigma, sigma_next):
            z = torch.randn([64, 2], generator=gen)
            calls.append([float(sigma), float(sigma_next)])
            noise.append(z.numpy().copy())
            return z

        if fn == "sample_dpm_fast":
            out = kd.sample_dpm_fast(model, init, 0.002, 80.0, 10, disable=True,
                                     noise_sampler=noise_sampler, **kw)
            sched = {"sigma_min": 0.002, "sigma_max": 80.0, "n": 10}
        else:
            out = getattr(kd, fn)(model, init, sigmas, disable=True,
                                  noise_sampler=noise_sampler, **kw)
            sched = {"sigmas": sigmas.tolist()}
        d = os.path.join(HERE, "data", "gmm2d-" + cid + "-karras-n10")
        os.makedirs(d, exist_ok=True)
        np.save(os.path.join(d, "init.npy"), init.numpy())
        np.save(os.path.join(d, "ref.npy"), out.numpy())
        np.save(os.path.join(d, "noise.npy"), np.stack(noise))
        case = {"impl": "k-diffusion", "source": {"repo": "crowsonkb/k-diffusion",
                                                  "commit": kdiff_import.PINNED},
                "model": "tests/data/reference/models/gmm2d.json",
                "torch_default_dtype": "float64",
                "sampler": {"function": fn, "kwargs": kw}, "schedule": sched,
                "noise": {"doc": "the k-th call noise_sampler(sigma, sigma_next) returned "
                                 "noise[k]", "calls": calls}}
        with open(os.path.join(d, "case.json"), "w") as f:
            json.dump(case, f, indent=1)
        print(cid, "noise calls", len(calls))


if __name__ == "__main__":
    main()
