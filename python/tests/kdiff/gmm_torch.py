"""The exact denoiser of a Gaussian mixture with diagonal covariances as a
k-diffusion model in torch (tests/data/reference/README.md):

    D(x, sigma) = sum_k r_k(x) (mu_k + s_k^2 / (s_k^2 + sigma^2) (x - mu_k)),
    r_k(x) proportional to w_k N(x; mu_k, diag(s_k^2 + sigma^2))

(r_k a softmax of log-densities), the model the k-diffusion reference cases
were made with: model(x, sigma) for x [n, D] and sigma [n]."""
import json
import math

import torch


class GmmDenoiser:
    def __init__(self, path, dtype=torch.float64):
        g = json.load(open(path))
        self.w = torch.tensor(g["weights"], dtype=dtype)
        self.mu = torch.tensor(g["means"], dtype=dtype)
        self.sd = torch.tensor(g["stds"], dtype=dtype)
        self.calls = 0

    def __call__(self, x, sigma):
        self.calls += 1
        s2 = self.sd[None] ** 2 + sigma.to(self.sd.dtype)[:, None, None] ** 2  # [n, K, D]
        diff = x.to(self.sd.dtype)[:, None, :] - self.mu[None]
        logp = torch.log(self.w)[None] + (-0.5 * diff ** 2 / s2
                                          - 0.5 * torch.log(2 * math.pi * s2)).sum(-1)
        r = torch.softmax(logp, 1)
        d = (r[..., None] * (self.mu[None] + self.sd[None] ** 2 / s2 * diff)).sum(1)
        return d.to(x.dtype)
