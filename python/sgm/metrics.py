"""Sample-quality metrics (sgm_eval.h). Each returns a dict: value, se, lo,
hi (bootstrap interval, NaN unless n_bootstrap > 0), param (MMD: the
bandwidth used). Inputs: [n, d] arrays (float32/float64; copied to
C-contiguous float64 when needed)."""
import ctypes

import numpy as np

from . import _lib
from .errors import ArgumentError, check, new_err, shape_error
from .models import _rows

lib = _lib.lib
_PD = ctypes.POINTER(ctypes.c_double)
_CFG_FIELDS = ("n_projections", "bandwidth", "median_max_points", "knn_k", "n_bootstrap",
               "level", "seed")


def _result(r):
    return {"value": r.value, "se": r.se, "lo": r.lo, "hi": r.hi, "param": r.param,
            "n_boot": int(r.n_boot)}


def _pair(fn, a, b, options):
    cfg = _lib.MetricConfig()
    lib.sgm_metric_config_default(ctypes.byref(cfg))
    for k, v in options.items():
        if k not in _CFG_FIELDS:
            raise ArgumentError("unknown metric option '%s'" % k)
        setattr(cfg, k, float(v) if k in ("bandwidth", "level") else int(v))
    a = _rows(a, None, "a")
    b = _rows(b, None, "b")
    if a.shape[1] != b.shape[1]:
        raise shape_error("a and b have %d and %d columns" % (a.shape[1], b.shape[1]))
    out, err = _lib.MetricResult(), new_err()
    check(fn(a.ctypes.data_as(_PD), a.shape[0], b.ctypes.data_as(_PD), b.shape[0], a.shape[1],
             ctypes.byref(cfg), ctypes.byref(out), ctypes.byref(err)), err)
    return _result(out)


def sw2(a, b, **options):
    """Sliced Wasserstein-2 distance (n_projections directions from seed)."""
    return _pair(lib.sgm_metric_sw2, a, b, options)


def mmd2(a, b, **options):
    """Unbiased MMD^2 with an RBF kernel (bandwidth <= 0: median heuristic)."""
    return _pair(lib.sgm_metric_mmd2, a, b, options)


def energy(a, b, **options):
    """Energy distance 2 E|X - Y| - E|X - X'| - E|Y - Y'|."""
    return _pair(lib.sgm_metric_energy, a, b, options)


def frechet(a, b, **options):
    """Frechet distance between the fitted Gaussians."""
    return _pair(lib.sgm_metric_fd, a, b, options)


def gmm_loglik(gmm, x):
    """Mean exact log-density of x under an sgm.Gmm, with its standard error."""
    x = _rows(x, gmm.dim, "x")
    out, err = _lib.MetricResult(), new_err()
    check(lib.sgm_metric_gmm_loglik(gmm._g, x.ctypes.data_as(_PD), x.shape[0],
                                    ctypes.byref(out), ctypes.byref(err)), err)
    return _result(out)
