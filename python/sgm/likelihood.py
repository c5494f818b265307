"""Log-likelihood through the probability-flow ODE (sgm_likelihood.h)."""
import ctypes

import numpy as np

from . import _lib
from .errors import ArgumentError, check, new_err
from .models import _rows
from .process import Process

lib = _lib.lib
_PD = ctypes.POINTER(ctypes.c_double)
_NLL_FIELDS = dict(_lib.NllConfig._fields_)
_CHOICES = {"divergence": ("exact", "hutchinson"), "probe": ("rademacher", "gaussian")}


def nll(model, x, process=None, *, row0=0, return_nfe=False, **options):
    """Log-likelihood in nats of the rows of x under a native model (sgm.Gmm
    or sgm.Checkpoint, in data units: a checkpoint standardizes x and adds
    the Jacobian, as `sgm nll`). process: the gmm's (default "ve"); a
    checkpoint uses its own. options: fields of sgm_nll_config (divergence
    and probe by name, n_probes, seed, rtol, atol, t_eps, t_end, h_init,
    max_steps). Returns logp [n] (and nfe [n] with return_nfe)."""
    get = getattr(model, "_sgm_denoiser", None)
    if get is None:
        raise ArgumentError("nll: expected an sgm.Gmm or sgm.Checkpoint")
    cfg = lib.sgm_nll_config_default()
    for k, v in options.items():
        if k in _CHOICES:
            if v not in _CHOICES[k]:
                raise ArgumentError("%s: '%s' is not one of %s" % (k, v, "|".join(_CHOICES[k])))
            setattr(cfg, k, _CHOICES[k].index(v))
        elif k in _NLL_FIELDS:
            setattr(cfg, k, float(v) if _NLL_FIELDS[k] is ctypes.c_double else int(v))
        else:
            raise ArgumentError("unknown nll option '%s'" % k)
    x = _rows(x, model.dim, "nll")
    is_ckpt = hasattr(model, "standardize")
    if is_ckpt:
        x = model.standardize(x)
        proc = model.process
    else:
        proc = process if isinstance(process, Process) else Process(process or "ve")
    den, owner = get()
    grad = model._sgm_grad()
    n, d = x.shape
    logp, nfe, err = np.empty(n), np.zeros(n, dtype=np.uintp), new_err()
    check(lib.sgm_nll(ctypes.byref(cfg), proc._p, ctypes.byref(den), ctypes.byref(grad),
                      int(row0), n, d, x.ctypes.data_as(_PD), logp.ctypes.data_as(_PD), None,
                      nfe.ctypes.data_as(ctypes.POINTER(ctypes.c_size_t)), ctypes.byref(err)),
          err)
    del owner
    if is_ckpt:
        logp -= model.log_std_sum
    return (logp, nfe.astype(np.int64)) if return_nfe else logp
