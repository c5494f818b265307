"""Native models (sgm_model.h): the exact Gaussian mixture and trained
checkpoints. Both are denoisers for sgm.sample (run in C, no Python in the
loop) and plain callables f(x, t, sigma, alpha) -> prediction."""
import ctypes
import os

import numpy as np

from . import _lib
from .errors import ArgumentError, check, new_err, shape_error
from .process import Process

lib = _lib.lib
_PD = ctypes.POINTER(ctypes.c_double)


def _path(path):
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise ArgumentError("expected a path, got %r" % type(path).__name__)
    return os.fsencode(path)


def _call(den, d, x, t, sigma, alpha, what):
    """Evaluates a native sgm_denoiser on x [n, d] (copied if needed)."""
    x = np.asarray(x)
    if x.dtype not in (np.float64, np.float32):
        raise ArgumentError("%s: dtype %s is not supported (float64 or float32)"
                            % (what, x.dtype))
    if x.ndim != 2 or x.shape[1] != d or x.shape[0] == 0:
        raise shape_error("%s: expected x of shape [n, %d], got %s" % (what, d, x.shape))
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    q = _lib.Eval(x.shape[0], d, 0, _lib.F32 if x.dtype == np.float32 else _lib.F64,
                  x.ctypes.data, float(t), float(alpha), float(sigma))
    rc = den.fn(ctypes.byref(q), out.ctypes.data, den.user_data)
    if rc != 0:
        check(-7, None, "%s: the denoiser failed (code %d)" % (what, rc))
    return out


class Gmm:
    """The exact Gaussian mixture of sgm_model.h (prediction x0).

    Gmm(path) loads the JSON file; Gmm.from_json(text) parses a string."""

    prediction = "x0"

    def __init__(self, path=None, *, _handle=None):
        self._g = None
        if _handle is None:
            g, err = ctypes.c_void_p(), new_err()
            check(lib.sgm_gmm_load(_path(path), ctypes.byref(g), ctypes.byref(err)), err)
            _handle = g
        self._g = _handle
        self.dim = int(lib.sgm_gmm_dim(self._g))
        self.components = int(lib.sgm_gmm_components(self._g))

    @classmethod
    def from_json(cls, text):
        g, err = ctypes.c_void_p(), new_err()
        check(lib.sgm_gmm_from_json(text.encode(), ctypes.byref(g), ctypes.byref(err)), err)
        return cls(_handle=g)

    def __del__(self):
        if getattr(self, "_g", None):
            lib.sgm_gmm_free(self._g)
            self._g = None

    def _arr(self, fn, shape):
        return np.ctypeslib.as_array(fn(self._g), shape).copy()

    @property
    def weights(self):
        return self._arr(lib.sgm_gmm_weights, (self.components,))

    @property
    def means(self):
        return self._arr(lib.sgm_gmm_means, (self.components, self.dim))

    @property
    def stds(self):
        return self._arr(lib.sgm_gmm_stds, (self.components, self.dim))

    def _sgm_denoiser(self):
        return lib.sgm_gmm_denoiser(self._g), self

    def _sgm_grad(self):
        return lib.sgm_gmm_denoiser_grad(self._g)

    def __call__(self, x, t, sigma, alpha):
        """The x0 prediction at (x_t, t, sigma, alpha) in process coordinates
        (sgm_gmm_denoise_fn: D(x / alpha, sigma / alpha))."""
        return _call(lib.sgm_gmm_denoiser(self._g), self.dim, x, t, sigma, alpha, "Gmm")

    def logpdf(self, x, sigma=0.0):
        """log p_sigma(x) of the mixture convolved with N(0, sigma^2): [n]."""
        x = _rows(x, self.dim, "Gmm.logpdf")
        out = np.empty(x.shape[0])
        lib.sgm_gmm_logpdf(self._g, x.shape[0], x.ctypes.data_as(_PD), float(sigma),
                           out.ctypes.data_as(_PD))
        return out

    def sample(self, n, seed=0, draw=0, row0=0):
        """Exact samples [n, dim] (rows row0.. of Philox draw `draw` of seed)."""
        out = np.empty((int(n), self.dim))
        lib.sgm_gmm_sample(self._g, int(seed), int(draw), int(row0), int(n),
                           out.ctypes.data_as(_PD))
        return out

    def __repr__(self):
        return "sgm.Gmm(dim=%d, components=%d)" % (self.dim, self.components)


def _rows(x, d, what):
    """x as a C-contiguous float64 [n, d] (copied when needed)."""
    x = np.asarray(x)
    if x.dtype not in (np.float64, np.float32):
        raise ArgumentError("%s: dtype %s is not supported (float64 or float32)"
                            % (what, x.dtype))
    if x.ndim == 1 and d is not None and x.size == d:
        x = x.reshape(1, d)
    if x.ndim < 2 or x.shape[0] == 0 or (d is not None and x.size // x.shape[0] != d):
        raise shape_error("%s: expected [n, %s] rows, got shape %s"
                          % (what, d if d is not None else "d", x.shape))
    return np.ascontiguousarray(x.reshape(x.shape[0], -1), dtype=np.float64)


class Checkpoint:
    """A trained network loaded for sampling (sgm_model_load): its process,
    prediction and data statistics. sgm.sample with a Checkpoint uses the
    checkpoint's process, starts in standardized units and returns data
    units (as `sgm sample --model ckpt:...`)."""

    def __init__(self, path, use_ema=True, max_batch=0):
        self._m = None
        m, err = ctypes.c_void_p(), new_err()
        check(lib.sgm_model_load(_path(path), int(bool(use_ema)), int(max_batch),
                                 ctypes.byref(m), ctypes.byref(err)), err)
        self._m = m
        self.path = os.fspath(path)
        self.dim = int(lib.sgm_model_dim(m))
        pred = lib.sgm_model_denoiser(m).prediction
        self.prediction = lib.sgm_enum_name(_lib.ENUM_PREDICTION, pred).decode()
        self.param = lib.sgm_param_name(lib.sgm_model_param(m)).decode()
        self.n_classes = int(lib.sgm_model_n_classes(m))
        c, h, w = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        self.image_shape = ((c.value, h.value, w.value)
                            if lib.sgm_model_image_shape(m, ctypes.byref(c), ctypes.byref(h),
                                                         ctypes.byref(w)) else None)

    def __del__(self):
        if getattr(self, "_m", None):
            lib.sgm_model_free(self._m)
            self._m = None

    @property
    def process_config(self):
        """A copy of the sgm_process_config the network was trained with."""
        cfg = _lib.ProcessConfig()
        ctypes.pointer(cfg)[0] = lib.sgm_model_process_config(self._m).contents
        return cfg

    @property
    def process(self):
        return Process.from_config(self.process_config)

    def sample_shape(self, n):
        """The shape sgm.sample returns for n drawn rows ([n, C, H, W] for images)."""
        return (n,) + self.image_shape if self.image_shape else (n, self.dim)

    def _sgm_denoiser(self):
        return lib.sgm_model_denoiser(self._m), self

    def _sgm_grad(self):
        err = new_err()
        check(lib.sgm_model_density_check(self._m, ctypes.byref(err)), err)
        return lib.sgm_model_denoiser_grad(self._m)

    def __call__(self, x, t, sigma, alpha):
        """The network's prediction (self.prediction) at x_t in standardized units."""
        return _call(lib.sgm_model_denoiser(self._m), self.dim, x, t, sigma, alpha,
                     "Checkpoint")

    def _map(self, fn, x):
        x = np.array(x, dtype=np.float64, order="C")  # a copy: mapped in place
        rows = _rows(x, self.dim, "Checkpoint")
        fn(self._m, rows.shape[0], _lib.F64, rows.ctypes.data)
        return rows.reshape(x.shape)

    def unstandardize(self, x):
        """Standardized units -> data units (x = mean + std z), a new array."""
        return self._map(lib.sgm_model_unstandardize, x)

    def standardize(self, x):
        """Data units -> standardized units, a new array."""
        return self._map(lib.sgm_model_standardize, x)

    @property
    def log_std_sum(self):
        """sum_j log std_j: log p_data(x) = log p_std(z) - log_std_sum."""
        return float(lib.sgm_model_log_std_sum(self._m))

    def __repr__(self):
        return "sgm.Checkpoint(%r, dim=%d, prediction=%s)" % (self.path, self.dim,
                                                              self.prediction)
