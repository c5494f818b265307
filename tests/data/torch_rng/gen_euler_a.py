"""Reference for tests/test_torch_rng.c: k-diffusion's sample_euler_ancestral
(crowsonkb/k-diffusion k_diffusion/sampling.py, written out below) run as a
PyTorch user runs it on CPU: torch.manual_seed(seed); x = torch.randn([N, 2])
* sigmas[0] (float32, torch's default dtype); per step torch.randn_like(x).
Model: the exact denoiser of tests/data/models/gmm2d.json, evaluated in
float64 and returned as float32. Schedule: get_sigmas_karras(20, 0.002, 80, 7)
in float64. Writes euler_a_N{64,3}_seed{S}.npy (float64 copies of the float32
outputs). Run: /usr/bin/python3 gen_euler_a.py (Debian python3-torch 1.13)."""
import json
import numpy as np
import torch

m = json.load(open("../models/gmm2d.json"))
W = np.array(m["weights"]); MU = np.array(m["means"]); SD = np.array(m["stds"])


def denoise(x, sigma):
    xd = x.double().numpy()
    var = SD[None] ** 2 + sigma ** 2                      # [1, K, D]
    diff = xd[:, None, :] - MU[None]                      # [N, K, D]
    logp = np.log(W)[None] - 0.5 * np.sum(diff ** 2 / var + np.log(2 * np.pi * var), axis=2)
    logp -= logp.max(axis=1, keepdims=True)
    r = np.exp(logp); r /= r.sum(axis=1, keepdims=True)
    comp = MU[None] + SD[None] ** 2 / var * diff
    return torch.from_numpy(np.sum(r[:, :, None] * comp, axis=1)).to(x.dtype)


def get_sigmas_karras(n, sigma_min, sigma_max, rho=7.):
    ramp = torch.linspace(0, 1, n, dtype=torch.float64)
    min_inv_rho = sigma_min ** (1 / rho)
    max_inv_rho = sigma_max ** (1 / rho)
    sigmas = (max_inv_rho + ramp * (min_inv_rho - max_inv_rho)) ** rho
    return torch.cat([sigmas, sigmas.new_zeros([1])])


def get_ancestral_step(sigma_from, sigma_to, eta=1.):
    if not eta:
        return sigma_to, 0.
    sigma_up = min(sigma_to, eta * (sigma_to ** 2 * (sigma_from ** 2 - sigma_to ** 2) / sigma_from ** 2) ** 0.5)
    sigma_down = (sigma_to ** 2 - sigma_up ** 2) ** 0.5
    return sigma_down, sigma_up


def sample_euler_ancestral(model, x, sigmas, eta=1., s_noise=1.):
    noise_sampler = lambda sigma, sigma_next: torch.randn_like(x)
    for i in range(len(sigmas) - 1):
        denoised = model(x, float(sigmas[i]))
        sigma_down, sigma_up = get_ancestral_step(float(sigmas[i]), float(sigmas[i + 1]), eta=eta)
        d = (x - denoised) / float(sigmas[i])
        dt = sigma_down - float(sigmas[i])
        x = x + d * dt
        if sigmas[i + 1] > 0:
            x = x + noise_sampler(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
    return x


sigmas = get_sigmas_karras(20, 0.002, 80.0, 7.0)
for n in (64, 3):
    for seed in (0, 1234, 2**32 + 7):
        torch.manual_seed(seed)
        x = torch.randn([n, 2]) * float(sigmas[0])
        out = sample_euler_ancestral(denoise, x, sigmas)
        assert out.dtype == torch.float32
        np.save("euler_a_N%d_seed%d.npy" % (n, seed), out.double().numpy())
