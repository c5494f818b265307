#!/usr/bin/env python3
"""gen_metrics.py - fixtures for tests/test_metrics.c: small fixed data sets
(.npy) and the metric values computed independently with numpy/scipy
(expected.json). Run from the repository root:

    python3 tools/ref/gen_metrics.py [OUT_DIR]   # default tests/data/metrics

The conventions follow include/sgm/sgm_eval.h. The implementations here
deliberately take other routes than the C code (scipy cdist/pdist, full
matrices, np.searchsorted for quantile functions, scipy.linalg.sqrtm for the
Frechet distance as pytorch-fid does, scipy.stats for the mixture density).
"""
import json
import os
import sys

import numpy as np
from scipy import linalg, stats
from scipy.spatial.distance import cdist, pdist
from scipy.special import logsumexp


def w2sq_1d(x, y):
    """exact W2^2 between two 1-D empirical measures via their quantile
    functions on the union of the breakpoints i/n and j/m."""
    x, y = np.sort(x), np.sort(y)
    n, m = len(x), len(y)
    grid = np.union1d(np.arange(n + 1) / n, np.arange(m + 1) / m)
    mid = 0.5 * (grid[1:] + grid[:-1])
    qx = x[np.minimum(np.searchsorted(np.arange(1, n + 1) / n, mid), n - 1)]
    qy = y[np.minimum(np.searchsorted(np.arange(1, m + 1) / m, mid), m - 1)]
    return float(np.sum(np.diff(grid) * (qx - qy) ** 2))


def sw2(a, b, dirs):
    th = dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
    w = np.array([w2sq_1d(a @ t, b @ t) for t in th])
    m = w.mean()
    se = w.std(ddof=1) / np.sqrt(len(w)) / (2 * np.sqrt(m))
    return {"value": float(np.sqrt(m)), "se": float(se)}


def two_sample(kxx, kyy, kxy):
    """unbiased statistic mean_{i!=j} kxx + mean_{i!=j} kyy - 2 mean kxy and
    its first-order standard error (see sgm_eval.h)."""
    n, m = kxx.shape[0], kyy.shape[0]
    sxx = kxx.sum(1) - np.diag(kxx)
    syy = kyy.sum(1) - np.diag(kyy)
    val = sxx.sum() / (n * (n - 1)) + syy.sum() / (m * (m - 1)) - 2 * kxy.mean()
    ha = sxx / (n - 1) - kxy.mean(1)
    hb = syy / (m - 1) - kxy.mean(0)
    se = np.sqrt(4 * ha.var(ddof=1) / n + 4 * hb.var(ddof=1) / m)
    return float(val), float(se)


def mmd2(a, b, ell=None):
    if ell is None:
        ell = np.sqrt(np.median(pdist(np.vstack([a, b]), "sqeuclidean")))
    k = lambda x, y: np.exp(-cdist(x, y, "sqeuclidean") / (2 * ell**2))
    v, se = two_sample(k(a, a), k(b, b), k(a, b))
    return {"value": v, "se": se, "ell": float(ell)}


def energy(a, b):
    k = lambda x, y: -cdist(x, y)
    v, se = two_sample(k(a, a), k(b, b), k(a, b))
    return {"value": v, "se": se}


def fd(a, b):
    ma, mb = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(ca @ cb).real  # pytorch-fid's formula
    return {"value": float(np.sum((ma - mb) ** 2) + np.trace(ca) + np.trace(cb)
                           - 2 * np.trace(covmean))}


def prdc(real, fake, k):
    rr = np.partition(cdist(real, real), k, axis=1)[:, k]  # k-th NN, self (0) excluded
    rf = np.partition(cdist(fake, fake), k, axis=1)[:, k]
    dmat = cdist(real, fake)
    p = float(np.mean((dmat <= rr[:, None]).any(axis=0)))
    r = float(np.mean((dmat <= rf[None, :]).any(axis=1)))
    return {"precision": p, "precision_se": float(np.sqrt(p * (1 - p) / len(fake))),
            "recall": r, "recall_se": float(np.sqrt(r * (1 - r) / len(real)))}


def gmm_eval(model, x):
    w = np.array(model["weights"], float)
    w /= w.sum()
    mu, sd = np.array(model["means"]), np.array(model["stds"])
    lp = np.stack([np.log(w[c]) + stats.multivariate_normal(mu[c], np.diag(sd[c] ** 2)).logpdf(x)
                   for c in range(len(w))], axis=1)
    ll = logsumexp(lp, axis=1)
    lab = np.argmax(lp, axis=1)
    mass = np.bincount(lab, minlength=len(w)) / len(x)
    return {"loglik": float(ll.mean()), "loglik_se": float(ll.std(ddof=1) / np.sqrt(len(x))),
            "mass": mass.tolist(), "mass_se": np.sqrt(mass * (1 - mass) / len(x)).tolist()}


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "data", "metrics")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20240611)
    # 3-D sets of different sizes: a ~ N(0, I), b ~ shifted, correlated
    a = rng.standard_normal((60, 3))
    L = np.array([[1.0, 0, 0], [0.6, 0.8, 0], [-0.3, 0.2, 1.4]])
    b = rng.standard_normal((45, 3)) @ L.T + np.array([0.5, -0.25, 0.3])
    dirs = rng.standard_normal((16, 3))
    a1 = rng.standard_normal((37, 1))
    b1 = 1.5 * rng.standard_normal((23, 1)) + 0.4
    with open(os.path.join(root, "tests", "data", "models", "gmm2d.json")) as f:
        model = json.load(f)
    xg = np.vstack([rng.standard_normal((40, 2)) * 0.35 + np.array(model["means"])[rng.integers(0, 8, 40)],
                    rng.uniform(-5, 5, (10, 2))])
    # finite values whose mixture log-density is -inf (bad-input test)
    far = np.array([[1e200, 0.0], [0.0, 0.0]])
    for name, arr in [("a", a), ("b", b), ("dirs", dirs), ("a1", a1), ("b1", b1), ("xg", xg),
                      ("far", far)]:
        np.save(os.path.join(out, name + ".npy"), arr)

    # generator self-check: our U-statistic energy agrees with scipy's
    # V-statistic energy_distance after the n/(n-1) rescaling of E|X-X'|
    ev = stats.energy_distance(a1[:, 0], b1[:, 0]) ** 2
    n, m = len(a1), len(b1)
    exx, eyy = cdist(a1, a1).mean(), cdist(b1, b1).mean()
    assert abs(ev + exx + eyy - exx * n / (n - 1) - eyy * m / (m - 1)
               - energy(a1, b1)["value"]) < 1e-12

    # generator self-check: the quantile-merge W2 equals sorted pairing of
    # the two sets each repeated the other's size times (equal sizes n m)
    xr = np.repeat(np.sort(a1[:, 0]), len(b1))
    yr = np.repeat(np.sort(b1[:, 0]), len(a1))
    assert abs(np.mean((xr - yr) ** 2) - w2sq_1d(a1[:, 0], b1[:, 0])) < 1e-12

    exp = {
        "sw2": sw2(a, b, dirs),
        "sw2_equal": sw2(a[:45], b, dirs),
        "w2_1d": {"value": float(np.sqrt(w2sq_1d(a1[:, 0], b1[:, 0])))},
        "mmd2_median": mmd2(a, b),
        "mmd2_ell1.5": mmd2(a, b, 1.5),
        "energy": energy(a, b),
        "energy_1d": energy(a1, b1),
        "fd": fd(a, b),
        "prdc_k3": prdc(a, b, 3),
        "prdc_k5": prdc(a, b, 5),
        "gmm": gmm_eval(model, xg),
    }
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"generator": "tools/ref/gen_metrics.py", "numpy": np.__version__,
                   "scipy": __import__("scipy").__version__, "expected": exp}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
