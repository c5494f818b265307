#!/usr/bin/python3
"""fmnist_restore.py - the Python side of bench/fmnist_restore.sh (issue 9,
acceptance 2): Fashion-MNIST test images in, restoration scores out.

  prep N OUT            truth.npy [N,1,28,28] in [-1, 1] (x / 127.5 - 1), labels.npy,
                        mask.npy (1 = observed: the top 14 rows; the bottom half is inpainted)
  score OUT OPS ROWS    the markdown table (PSNR, SSIM, classifier accuracy) of every
                        OUT/r_<op>_<row>.npy found, and OUT/grid_<op>.png
  cfg OUT SCALES        the CFG table: fraction of OUT/cfg_<w>.npy (class i*10//N) that the
                        classifier assigns to the requested class

Metrics, per image against the ground truth, then averaged over images; every
image is clipped to [-1, 1] first:
  PSNR = 10 log10(L^2 / MSE), data range L = 2 ([-1, 1] pixels);
  SSIM (Wang et al. 2004): 11 x 11 Gaussian window, std 1.5, K1 = 0.01,
  K2 = 0.03, the same L = 2, 'valid' windows only (18 x 18 positions on 28 x 28),
  mean over positions;
  accuracy: argmax of the fixed classifier of ../shared/fmnist-eval
  (FMNIST_EVAL, test accuracy 0.9306 on clean images) equals the true label.
Debian python3 with numpy and torch 1.13 only.
"""
import os
import struct
import sys
import zlib

import numpy as np

EVAL = os.environ.get("FMNIST_EVAL", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "fmnist-eval"))
L = 2.0  # data range of [-1, 1] pixels


def fc():
    sys.path.insert(0, EVAL)
    import fmnist_common
    return fmnist_common


def prep(n, out):
    x, y = fc().load_split("test")
    t = (x[:n].astype(np.float64) / 127.5 - 1.0).reshape(-1, 1, 28, 28)
    np.save(os.path.join(out, "truth.npy"), t)
    np.save(os.path.join(out, "labels.npy"), y[:n])
    m = np.zeros((1, 28, 28))
    m[:, :14, :] = 1
    np.save(os.path.join(out, "mask.npy"), m)


def degraded(op, y, mask):
    """The measurement shown as an image: mask -> unobserved pixels 0 (mid grey),
    down -> nearest-neighbour upsampling of the 14 x 14 y, blur -> y itself."""
    n = y.shape[0]
    if op == "mask":
        return y.reshape(n, 28, 28) * mask.reshape(1, 28, 28)
    if op == "down":
        return np.repeat(np.repeat(y.reshape(n, 14, 14), 2, axis=1), 2, axis=2)
    return y.reshape(n, 28, 28)


def gauss_window(size=11, std=1.5):
    g = np.exp(-0.5 * ((np.arange(size) - (size - 1) / 2) / std) ** 2)
    g /= g.sum()
    return np.outer(g, g)


def filt(x, w):
    """'valid' 2-D correlation of [N, H, W] with the window w."""
    k = w.shape[0]
    h, wd = x.shape[1] - k + 1, x.shape[2] - k + 1
    out = np.zeros((x.shape[0], h, wd))
    for i in range(k):
        for j in range(k):
            out += w[i, j] * x[:, i:i + h, j:j + wd]
    return out


def ssim(a, b):
    w = gauss_window()
    c1, c2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    ma, mb = filt(a, w), filt(b, w)
    saa = filt(a * a, w) - ma * ma
    sbb = filt(b * b, w) - mb * mb
    sab = filt(a * b, w) - ma * mb
    s = ((2 * ma * mb + c1) * (2 * sab + c2)) / ((ma * ma + mb * mb + c1) * (saa + sbb + c2))
    return s.reshape(s.shape[0], -1).mean(axis=1)


def psnr(a, b):
    mse = ((a - b) ** 2).reshape(a.shape[0], -1).mean(axis=1)
    return 10 * np.log10(L * L / np.maximum(mse, 1e-12))


def classify(imgs):
    f = fc()
    import torch
    net = f.load_classifier()
    t = torch.from_numpy(np.clip(imgs, -1, 1).astype(np.float32).reshape(-1, 1, 28, 28))
    _, p = f.features_and_probs(net, t)
    return p.argmax(axis=1)


def png_gray(path, img):
    """8-bit greyscale PNG of img in [-1, 1]."""
    a = np.clip((img + 1) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    raw = b"".join(b"\x00" + a[r].tobytes() for r in range(a.shape[0]))

    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    hdr = struct.pack(">IIBBBBB", a.shape[1], a.shape[0], 8, 0, 0, 0, 0)
    with open(path, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", hdr) +
                 chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def load_imgs(path, n):
    return np.clip(np.load(path).reshape(-1, 28, 28)[:n], -1, 1)


def load_parts(out, name, n):
    """OUT/parts/<name>.c0.npy, .c1.npy, ... up to the first missing chunk."""
    xs, k = [], 0
    while os.path.exists(os.path.join(out, "parts", "%s.c%d.npy" % (name, k))):
        xs.append(np.load(os.path.join(out, "parts", "%s.c%d.npy" % (name, k))))
        k += 1
    return np.clip(np.concatenate(xs).reshape(-1, 28, 28)[:n], -1, 1) if xs else None


def score(out, ops, rows):
    truth = np.load(os.path.join(out, "truth.npy")).reshape(-1, 28, 28)
    labels = np.load(os.path.join(out, "labels.npy"))
    mask = np.load(os.path.join(out, "mask.npy"))
    # every row over the same images: the first n that every restoration has
    n = truth.shape[0]
    for name in ["prior"] + ["r_%s_%s" % (op, r) for op in ops for r in rows]:
        x = load_parts(out, name, n)
        if x is not None:
            n = min(n, len(x))
    truth, labels = truth[:n], labels[:n]
    print("| operator | method | N | PSNR (dB) | SSIM | classifier accuracy |")
    print("|---|---|---|---|---|---|")
    acc_t = (classify(truth) == labels).mean()
    print("| - | ground truth | %d | inf | 1.000 | %.3f |" % (n, acc_t))
    p = load_parts(out, "prior", n)
    if p is not None:
        print("| - | prior sample (no measurement) | %d | %.2f | %.3f | %.3f |" % (
            len(p), psnr(p, truth[:len(p)]).mean(), ssim(p, truth[:len(p)]).mean(),
            (classify(p) == labels[:len(p)]).mean()))
    ex = [0, 1, 2, 3, 4, 5]
    for op in ops:
        cols = []
        y = np.load(os.path.join(out, "y_%s.npy" % op))[:n]
        inp = np.clip(degraded(op, y, mask), -1, 1)
        for r in ["input"] + rows:
            x = inp if r == "input" else load_parts(out, "r_%s_%s" % (op, r), n)
            if x is None:
                continue
            k = len(x)
            name = "degraded input" if r == "input" else r
            print("| %s | %s | %d | %.2f | %.3f | %.3f |" % (
                op, name, k, psnr(x, truth[:k]).mean(), ssim(x, truth[:k]).mean(),
                (classify(x) == labels[:k]).mean()), flush=True)
            cols.append(x[ex])
        cols.append(truth[ex])
        # rows: examples; columns: input, each method, truth; 2x pixels, 2 px gaps
        g = np.ones((len(ex) * 30, len(cols) * 30)) * 1.0
        for i in range(len(ex)):
            for j, c in enumerate(cols):
                g[i * 30 + 1:i * 30 + 29, j * 30 + 1:j * 30 + 29] = c[i]
        g = np.repeat(np.repeat(g, 2, axis=0), 2, axis=1)
        png_gray(os.path.join(out, "grid_%s.png" % op), g)


def cfg(out, scales):
    print("| guidance W | N | requested class assigned |")
    print("|---|---|---|")
    for w in scales:
        x = np.load(os.path.join(out, "cfg_%s.npy" % w)).reshape(-1, 28, 28)
        n = len(x)
        want = np.arange(n) * 10 // n  # sgm sample --class rows
        pred = classify(x)
        print("| %s | %d | %.3f |" % (w, n, (pred == want).mean()), flush=True)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "prep":
        prep(int(sys.argv[2]), sys.argv[3])
    elif cmd == "score":
        score(sys.argv[2], sys.argv[3].split(","), sys.argv[4].split(","))
    elif cmd == "cfg":
        cfg(sys.argv[2], sys.argv[3].split(","))
    else:
        sys.exit("usage: fmnist_restore.py prep N OUT | score OUT OPS ROWS | cfg OUT SCALES")
