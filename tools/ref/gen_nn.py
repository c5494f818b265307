#!/usr/bin/env python3
"""gen_nn.py - PyTorch reference fixtures for the NN engine (tests/test_nn_parity.c).

For every layer: random float32 inputs, parameters and upstream gradient; the
forward output and the input / parameter gradients computed by PyTorch in
float64 from those float32 values (so the fixture holds the exact answer for
the float32 data the C code sees). Plus optimiser fixtures: a few
torch.optim.Adam / AdamW steps (float32, as the C code) and
torch.nn.utils.clip_grad_norm_.

Usage (regenerate, from the repository root; needs Debian python3-torch):
    /usr/bin/python3 tools/ref/gen_nn.py tests/data/nn

File format (one file per case, <case>.bin, little-endian):
    magic    8 bytes  b"SGMNNFX\\0"
    version  u32      1
    count    u32      number of records
    records:
      name_len u32, name (ASCII, no NUL)
      dtype    u32    0 = float32, 1 = float64, 2 = int32
      ndim     u32, shape u32[ndim]
      data     prod(shape) elements of dtype, C order
    The file ends exactly after the last record (the C loader checks this).
Each case also has a "cfg" float64 record with its integer / scalar settings
(documented per case below).
"""
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

MAGIC = b"SGMNNFX\0"
VERSION = 1


def write_fixture(path, records):
    out = bytearray(MAGIC)
    out += struct.pack("<II", VERSION, len(records))
    for name, arr in records:
        arr = np.ascontiguousarray(arr)
        if arr.dtype == np.float32:
            code = 0
        elif arr.dtype == np.float64:
            code = 1
        elif arr.dtype == np.int32:
            code = 2
        else:
            raise TypeError(f"{name}: unsupported dtype {arr.dtype}")
        nb = name.encode("ascii")
        out += struct.pack("<I", len(nb)) + nb
        out += struct.pack("<II", code, arr.ndim)
        out += struct.pack("<%dI" % arr.ndim, *arr.shape)
        out += arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    with open(path, "wb") as f:
        f.write(out)


g = torch.Generator().manual_seed(20240611)


def rand32(*shape, lo=-1.0, hi=1.0):
    """float32 uniform values (what the C side loads), returned as float64 leaves."""
    x = (torch.rand(*shape, generator=g, dtype=torch.float64) * (hi - lo) + lo).float()
    return x.double().requires_grad_(True)


def randn32(*shape, scale=1.0):
    x = (torch.randn(*shape, generator=g, dtype=torch.float64) * scale).float()
    return x.double().requires_grad_(True)


def f32(t):
    return t.detach().numpy().astype(np.float32)


def f64(t):
    return t.detach().numpy().astype(np.float64)


def cfg(*vals):
    return ("cfg", np.array(vals, dtype=np.float64))


def run_case(outdir, name, fwd, inputs, params, extra=(), cfgvals=()):
    """inputs / params: lists of (record name, float64 leaf holding float32 values)."""
    out = fwd()
    dout = randn32(*out.shape).detach()
    out.backward(dout)
    recs = [cfg(*cfgvals)] if cfgvals else []
    for nm, t in list(inputs) + list(params):
        recs.append((nm, f32(t)))
    recs.append(("dout", f32(dout)))
    recs.append(("out", f64(out)))
    for nm, t in list(inputs) + list(params):
        recs.append(("d" + nm, f64(t.grad)))
    recs += list(extra)
    write_fixture(os.path.join(outdir, name + ".bin"), recs)


# ------------------------------------------------------------------ layers --

def gen_linear(d):
    N, C, OC = 3, 5, 4
    x, w, b = rand32(N, C), rand32(OC, C, lo=-0.5, hi=0.5), rand32(OC, lo=-0.5, hi=0.5)
    run_case(d, "linear", lambda: F.linear(x, w, b), [("inp", x)], [("weight", w), ("bias", b)])


def gen_act(d):
    x = rand32(3, 5, 7, lo=-4, hi=4)
    run_case(d, "silu", lambda: torch.nn.SiLU()(x), [("inp", x)], [])
    x = rand32(3, 5, 7, lo=-4, hi=4)
    run_case(d, "gelu_erf", lambda: torch.nn.GELU(approximate="none")(x), [("inp", x)], [])
    x = rand32(3, 5, 7, lo=-4, hi=4)
    run_case(d, "gelu_tanh", lambda: torch.nn.GELU(approximate="tanh")(x), [("inp", x)], [])


def gen_layernorm(d):
    # cfg: eps
    N, C, eps = 3, 7, 1e-5
    x = rand32(N, C, lo=-2, hi=2)
    w, b = rand32(C, lo=0.5, hi=1.5), rand32(C, lo=-0.5, hi=0.5)
    run_case(d, "layernorm", lambda: F.layer_norm(x, (C,), w, b, eps), [("inp", x)],
             [("weight", w), ("bias", b)], cfgvals=(eps,))


def gen_groupnorm(d):
    # cfg: G, eps; inp (N, C, H, W)
    for name, (N, C, H, W, G) in {"groupnorm": (3, 6, 7, 5, 3),
                                  "groupnorm_g1": (2, 5, 3, 3, 1)}.items():
        eps = 1e-5
        x = rand32(N, C, H, W, lo=-2, hi=2)
        w, b = rand32(C, lo=0.5, hi=1.5), rand32(C, lo=-0.5, hi=0.5)
        run_case(d, name, lambda: F.group_norm(x, G, w, b, eps), [("inp", x)],
                 [("weight", w), ("bias", b)], cfgvals=(G, eps))


def gen_conv(d):
    # cfg: K, stride, pad; inp (N, C, H, W), weight (OC, C, K, K)
    cases = {
        "conv3x3": (3, 5, 7, 7, 4, 3, 1, 1),
        "conv1x1": (3, 5, 7, 6, 3, 1, 1, 0),
        "conv3x3_s2": (3, 5, 7, 6, 4, 3, 2, 1),
    }
    for name, (N, C, H, W, OC, K, s, p) in cases.items():
        x = rand32(N, C, H, W)
        bound = 1.0 / math.sqrt(C * K * K)
        w, b = rand32(OC, C, K, K, lo=-bound, hi=bound), rand32(OC, lo=-bound, hi=bound)
        run_case(d, name, lambda: F.conv2d(x, w, b, stride=s, padding=p), [("inp", x)],
                 [("weight", w), ("bias", b)], cfgvals=(K, s, p))


def gen_resample(d):
    x = rand32(3, 5, 7, 6)
    run_case(d, "avgpool2x", lambda: F.avg_pool2d(x, 2), [("inp", x)], [])
    x = rand32(3, 5, 3, 4)
    run_case(d, "upsample2x", lambda: F.interpolate(x, scale_factor=2, mode="nearest"),
             [("inp", x)], [])


def attention_ref(qkv, NH):
    N, T, C3 = qkv.shape
    C = C3 // 3
    hs = C // NH
    q, k, v = qkv.chunk(3, dim=-1)
    q, k, v = (t.reshape(N, T, NH, hs).transpose(1, 2) for t in (q, k, v))
    att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(hs), dim=-1)
    y = (att @ v).transpose(1, 2).reshape(N, T, C)
    return y, att


def gen_attention(d):
    # cfg: NH; qkv (N, T, 3C)
    for name, (N, T, C, NH) in {"attention": (2, 7, 6, 2), "attention_nh1": (3, 5, 4, 1),
                                "attention_16": (2, 16, 8, 4)}.items():
        qkv = rand32(N, T, 3 * C, lo=-1.5, hi=1.5)
        holder = {}

        def fwd():
            y, att = attention_ref(qkv, NH)
            holder["att"] = att
            return y
        out = fwd()
        dout = randn32(*out.shape).detach()
        out.backward(dout)
        recs = [cfg(NH), ("qkv", f32(qkv)), ("dout", f32(dout)), ("out", f64(out)),
                ("att", f64(holder["att"])), ("dqkv", f64(qkv.grad))]
        write_fixture(os.path.join(d, name + ".bin"), recs)


def timestep_embedding(t, D, flip, shift, scale, max_period):
    """diffusers get_timestep_embedding (embeddings.py), in float64."""
    half = D // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float64)
    exponent = exponent / (half - shift)
    emb = t[:, None] * torch.exp(exponent)[None, :]
    emb = scale * emb
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
    if flip:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if D % 2 == 1:
        emb = F.pad(emb, (0, 1, 0, 0))
    return emb


def gen_embed(d):
    # sinusoidal cfg: D, flip_sin_to_cos, downscale_freq_shift, scale, max_period
    for name, (D, flip, shift, scale) in {"sinusoidal": (9, 0, 1.0, 1.0),
                                          "sinusoidal_flip": (16, 1, 0.0, 1.0)}.items():
        t = rand32(4, lo=0.0, hi=999.0)  # DDPM-like time steps (not integers on purpose)
        run_case(d, name, lambda: timestep_embedding(t, D, flip, shift, scale, 10000.0),
                 [("t", t)], [], cfgvals=(D, flip, shift, scale, 10000.0))
    # Gaussian Fourier (score_sde GaussianFourierProjection): x = log sigma, W ~ 16 N(0, 1)
    x = rand32(4, lo=math.log(0.01), hi=math.log(50.0))
    W = randn32(6, scale=16.0)
    run_case(d, "fourier", lambda: torch.cat(
        [torch.sin(x[:, None] * W[None, :] * 2 * math.pi),
         torch.cos(x[:, None] * W[None, :] * 2 * math.pi)], dim=-1), [("x", x)], [("W", W)])
    # class embedding: n_classes = 4 plus the null row; cfg: n_classes
    K, D = 4, 3
    table = rand32(K + 1, D)
    labels = torch.tensor([2, -1, 0, 2, 4, 1], dtype=torch.int64)
    rows = torch.where((labels < 0) | (labels >= K), torch.full_like(labels, K), labels)
    out = torch.nn.functional.embedding(rows, table)
    dout = randn32(*out.shape).detach()
    out.backward(dout)
    write_fixture(os.path.join(d, "class_embed.bin"),
                  [cfg(K), ("labels", labels.numpy().astype(np.int32)), ("table", f32(table)),
                   ("dout", f32(dout)), ("out", f64(out)), ("dtable", f64(table.grad))])


# ------------------------------------------------------------ residual MLP --

class MLP(torch.nn.Module):
    """PyTorch twin of src/nn/mlp.c: e = sinusoidal(c); h = in([x, e]);
    h = h + fc2(SiLU(fc1(SiLU(h)))) per block; out = out(SiLU(h))."""

    def __init__(self, D, E, H, L, emb):
        super().__init__()
        self.E, self.emb = E, emb
        self.inp = torch.nn.Linear(D + E, H)
        self.blocks = torch.nn.ModuleList(
            torch.nn.ModuleDict({"fc1": torch.nn.Linear(H, H), "fc2": torch.nn.Linear(H, H)})
            for _ in range(L))
        self.out = torch.nn.Linear(H, D)

    def named_tensors(self):
        """(C-side name, parameter) in the C tensor order"""
        yield "in.weight", self.inp.weight
        yield "in.bias", self.inp.bias
        for b, blk in enumerate(self.blocks):
            for fc in ("fc1", "fc2"):
                yield f"blocks.{b}.{fc}.weight", blk[fc].weight
                yield f"blocks.{b}.{fc}.bias", blk[fc].bias
        yield "out.weight", self.out.weight
        yield "out.bias", self.out.bias

    def forward(self, x, c):
        e = timestep_embedding(c, self.E, *self.emb)
        h = self.inp(torch.cat([x, e], dim=-1))
        for blk in self.blocks:
            h = h + blk["fc2"](F.silu(blk["fc1"](F.silu(h))))
        return self.out(F.silu(h))


def gen_mlp(d):
    """cfg: D, E, Hd, L, flip_sin_to_cos, downscale_freq_shift, scale, max_period;
    records x, c, dout, out, dx, dc, and p:<name> / g:<name> per tensor."""
    N, D, E, H, L = 5, 3, 6, 16, 2
    emb = (1, 0.0, 1.0, 10000.0)  # diffusers UNet2DModel convention
    torch.manual_seed(7)  # nn.Linear init draws from the global generator
    model = MLP(D, E, H, L, emb).double()
    with torch.no_grad():  # float32-exact parameters
        for _, p in model.named_tensors():
            p.copy_(p.float().double())
    x = randn32(N, D)
    c = rand32(N, lo=0.0, hi=5.0)
    out = model(x, c)
    dout = randn32(N, D).detach()
    out.backward(dout)
    recs = [cfg(D, E, H, L, *emb), ("x", f32(x)), ("c", f32(c)), ("dout", f32(dout)),
            ("out", f64(out)), ("dx", f64(x.grad)), ("dc", f64(c.grad))]
    for name, p in model.named_tensors():
        recs += [("p:" + name, f32(p)), ("g:" + name, f64(p.grad))]
    write_fixture(os.path.join(d, "mlp.bin"), recs)


# -------------------------------------------------------------- optimisers --

def gen_optim(d):
    """Adam / AdamW steps in float32 as torch.optim runs them.
    cfg: lr0, beta1, beta2, eps, weight_decay, n_steps; per-step lr = lr0 * (k+1) / n_steps.
    records: p0 (n), grads (n_steps, n), p_adam, m_adam, v_adam, p_adamw, m_adamw, v_adamw."""
    n, steps = 37, 5
    lr0, b1, b2, eps, wd = 1e-2, 0.9, 0.999, 1e-8, 0.1
    p0 = (torch.randn(n, generator=g, dtype=torch.float64)).float()
    grads = (torch.randn(steps, n, generator=g, dtype=torch.float64) * 0.5).float()
    recs = [cfg(lr0, b1, b2, eps, wd, steps), ("p0", p0.numpy()), ("grads", grads.numpy())]
    for tag, cls in (("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW)):
        p = torch.nn.Parameter(p0.clone())
        opt = cls([p], lr=lr0, betas=(b1, b2), eps=eps, weight_decay=wd, foreach=False)
        for k in range(steps):
            for group in opt.param_groups:
                group["lr"] = lr0 * (k + 1) / steps
            p.grad = grads[k].clone()
            opt.step()
        st = opt.state[p]
        recs += [("p_" + tag, p.detach().numpy()), ("m_" + tag, st["exp_avg"].numpy()),
                 ("v_" + tag, st["exp_avg_sq"].numpy())]
    write_fixture(os.path.join(d, "adam.bin"), recs)

    # clip_grad_norm_ over two tensors (the C side sees them as one flat block)
    # cfg: max_norm; records: g_in (n), g_out (n), norm (1)
    for name, max_norm in (("clip", 1.0), ("clip_noop", 100.0)):
        a = torch.randn(20, generator=g, dtype=torch.float64).float()
        b = torch.randn(9, generator=g, dtype=torch.float64).float()
        pa, pb = torch.nn.Parameter(torch.zeros(20, dtype=torch.float32)), torch.nn.Parameter(torch.zeros(9, dtype=torch.float32))
        pa.grad, pb.grad = a.clone(), b.clone()
        norm = torch.nn.utils.clip_grad_norm_([pa, pb], max_norm)
        write_fixture(os.path.join(d, name + ".bin"),
                      [cfg(max_norm), ("g_in", torch.cat([a, b]).numpy()),
                       ("g_out", torch.cat([pa.grad, pb.grad]).numpy()),
                       ("norm", np.array([float(norm)], dtype=np.float64))])


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "tests/data/nn"
    os.makedirs(d, exist_ok=True)
    torch.set_default_dtype(torch.float64)
    gen_linear(d)
    gen_act(d)
    gen_layernorm(d)
    gen_groupnorm(d)
    gen_conv(d)
    gen_resample(d)
    gen_attention(d)
    gen_embed(d)
    gen_mlp(d)
    gen_optim(d)
    total = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.endswith(".bin"))
    print(f"wrote fixtures to {d} ({total} bytes)")


if __name__ == "__main__":
    main()
