#!/usr/bin/env python3
"""gen_unet.py - PyTorch twin of sgm's U-Net (src/nn/unet.c, sgm_unet.h) and
the parity fixture of tests/test_unet_parity.c.

The module tree below gives the state-dict names the C code uses
("down.1.res.0.conv1.weight", ...). Parameters are float32 values drawn
here; the forward output and all gradients are computed by PyTorch in
float64 from those float32 values, so the fixture holds the exact answer for
the data the C code sees.

Usage (from the repository root; needs Debian python3-torch):
    /usr/bin/python3 tools/ref/gen_unet.py tests/data/unet

Fixture file format: the SGMNNFX container of tools/ref/gen_nn.py. Records:
    cfg     float64 [in_ch, out_ch, H, W, base_ch, n_levels, mult0, mult1,
                     attn0, attn1, mid_attn, n_res, groups, heads, emb_dim,
                     n_classes, N]
    x (N, in_ch, H, W) f32, c (N) f32, labels (N) int32 (-1: null class),
    dout (N, out_ch, H, W) f32, out f64, dx f64, dc f64,
    p:<name> f32 parameter, g:<name> f64 gradient of sum(out * dout).
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_nn import write_fixture  # noqa: E402


def timestep_embedding(c, dim):
    # flip_sin_to_cos = 1, downscale_freq_shift = 0: [cos, sin], f_i = 10^4^(-i/half)
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float64) / half)
    a = c[:, None].double() * freqs[None]
    return torch.cat([torch.cos(a), torch.sin(a)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, C, OC, E, G):
        super().__init__()
        self.norm1 = nn.GroupNorm(G, C)
        self.conv1 = nn.Conv2d(C, OC, 3, padding=1)
        self.emb_proj = nn.Linear(E, 2 * OC)
        self.norm2 = nn.GroupNorm(G, OC)
        self.conv2 = nn.Conv2d(OC, OC, 3, padding=1)
        self.skip = nn.Conv2d(C, OC, 1) if C != OC else None

    def forward(self, x, semb):
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb_proj(semb)[:, :, None, None].chunk(2, dim=1)
        h = self.conv2(F.silu(self.norm2(h) * (1 + scale) + shift))
        return (self.skip(x) if self.skip is not None else x) + h


class Attn(nn.Module):
    def __init__(self, C, G, NH):
        super().__init__()
        self.norm = nn.GroupNorm(G, C)
        self.qkv = nn.Linear(C, 3 * C)
        self.proj = nn.Linear(C, C)
        self.NH = NH

    def forward(self, x):
        N, C, H, W = x.shape
        T, NH = H * W, self.NH
        tok = self.norm(x).reshape(N, C, T).transpose(1, 2)
        q, k, v = self.qkv(tok).chunk(3, dim=-1)
        q, k, v = (z.reshape(N, T, NH, C // NH).transpose(1, 2) for z in (q, k, v))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(C // NH), dim=-1)
        o = (att @ v).transpose(1, 2).reshape(N, T, C)
        return x + self.proj(o).transpose(1, 2).reshape(N, C, H, W)


class Level(nn.Module):
    pass


class UNet(nn.Module):
    def __init__(self, in_ch, out_ch, base, mult, attn, mid_attn, n_res, G, NH, E, n_classes):
        super().__init__()
        self.base, self.n_classes = base, n_classes
        self.time_embed = nn.Sequential(nn.Linear(base, E), nn.SiLU(), nn.Linear(E, E))
        if n_classes:
            self.class_embed = nn.Embedding(n_classes + 1, E)
        self.conv_in = nn.Conv2d(in_ch, base, 3, padding=1)
        L = len(mult)
        ch, chans = base, [base]
        self.down = nn.ModuleList()
        for l in range(L):
            lv = Level()
            lv.res = nn.ModuleList()
            if attn[l]:
                lv.attn = nn.ModuleList()
            for j in range(n_res):
                lv.res.append(ResBlock(ch, base * mult[l], E, G))
                ch = base * mult[l]
                if attn[l]:
                    lv.attn.append(Attn(ch, G, NH))
                chans.append(ch)
            if l < L - 1:
                lv.downsample = nn.Conv2d(ch, ch, 3, stride=2, padding=1)
                chans.append(ch)
            self.down.append(lv)
        self.mid = Level()
        self.mid.res1 = ResBlock(ch, ch, E, G)
        if mid_attn:
            self.mid.attn = Attn(ch, G, NH)
        self.mid.res2 = ResBlock(ch, ch, E, G)
        ups = [None] * L
        for l in reversed(range(L)):
            lv = Level()
            lv.res = nn.ModuleList()
            if attn[l]:
                lv.attn = nn.ModuleList()
            for j in range(n_res + 1):
                lv.res.append(ResBlock(ch + chans.pop(), base * mult[l], E, G))
                ch = base * mult[l]
                if attn[l]:
                    lv.attn.append(Attn(ch, G, NH))
            if l > 0:
                lv.upsample = nn.Conv2d(ch, ch, 3, padding=1)
            ups[l] = lv
        self.up = nn.ModuleList(ups)
        self.norm_out = nn.GroupNorm(G, ch)
        self.conv_out = nn.Conv2d(ch, out_ch, 3, padding=1)
        self.attn, self.mid_attn, self.n_res = attn, mid_attn, n_res

    def forward(self, x, c, labels):
        e = self.time_embed(timestep_embedding(c, self.base).to(x.dtype))
        if self.n_classes:
            idx = torch.where((labels < 0) | (labels >= self.n_classes),
                              torch.full_like(labels, self.n_classes), labels)
            e = e + self.class_embed(idx)
        semb = F.silu(e)
        h = self.conv_in(x)
        hs = [h]
        L = len(self.down)
        for l, lv in enumerate(self.down):
            for j in range(self.n_res):
                h = lv.res[j](h, semb)
                if self.attn[l]:
                    h = lv.attn[j](h)
                hs.append(h)
            if l < L - 1:
                h = lv.downsample(h)
                hs.append(h)
        h = self.mid.res1(h, semb)
        if self.mid_attn:
            h = self.mid.attn(h)
        h = self.mid.res2(h, semb)
        for l in reversed(range(L)):
            lv = self.up[l]
            for j in range(self.n_res + 1):
                h = lv.res[j](torch.cat([h, hs.pop()], dim=1), semb)
                if self.attn[l]:
                    h = lv.attn[j](h)
            if l > 0:
                h = lv.upsample(F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "tests/data/unet"
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(3)
    rng = np.random.default_rng(3)
    in_ch, out_ch, H, W, base = 3, 3, 8, 8, 4
    mult, attn, mid_attn, n_res, G, NH, E, n_classes, N = [1, 2], [0, 1], 1, 1, 2, 2, 12, 3, 3
    net = UNet(in_ch, out_ch, base, mult, attn, mid_attn, n_res, G, NH, E, n_classes)
    # float32 parameters: default init plus noise so GroupNorm affines are not trivial
    params = {}
    for name, p in net.state_dict().items():
        v = p.numpy().astype(np.float32)
        v = (v + 0.1 * rng.standard_normal(v.shape)).astype(np.float32)
        params[name] = v
    net = net.double()
    net.load_state_dict({k: torch.from_numpy(v.astype(np.float64)) for k, v in params.items()})
    x = rng.standard_normal((N, in_ch, H, W)).astype(np.float32)
    c = np.array([0.3, 2.5, 17.0], dtype=np.float32)
    labels = np.array([0, 2, -1], dtype=np.int32)
    dout = rng.standard_normal((N, out_ch, H, W)).astype(np.float32)
    xt = torch.from_numpy(x.astype(np.float64)).requires_grad_(True)
    ct = torch.from_numpy(c.astype(np.float64)).requires_grad_(True)
    out = net(xt, ct, torch.from_numpy(labels.astype(np.int64)))
    (out * torch.from_numpy(dout.astype(np.float64))).sum().backward()
    cfg = np.array([in_ch, out_ch, H, W, base, len(mult), *mult, *attn, mid_attn, n_res, G, NH,
                    E, n_classes, N], dtype=np.float64)
    recs = [("cfg", cfg), ("x", x), ("c", c), ("labels", labels), ("dout", dout),
            ("out", out.detach().numpy()), ("dx", xt.grad.numpy()), ("dc", ct.grad.numpy())]
    for name, p in net.named_parameters():
        recs.append(("p:" + name, params[name]))
        recs.append(("g:" + name, p.grad.numpy()))
    write_fixture(os.path.join(out_dir, "unet_tiny.bin"), recs)
    print("wrote", os.path.join(out_dir, "unet_tiny.bin"), "with",
          sum(v.size for v in params.values()), "parameters")


if __name__ == "__main__":
    main()
