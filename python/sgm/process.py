"""Processes (sgm_process.h) and schedules (sgm_schedule.h)."""
import ctypes

import numpy as np

from . import _lib
from .errors import ArgumentError, check, new_err
from .registry import parse_enum

lib = _lib.lib

# process options settable by keyword (sgm_process_config fields)
_PROCESS_FLOATS = ("sigma_min", "sigma_max", "beta_0", "beta_1", "cosine_s", "t_eps",
                   "t_max", "beta_start", "beta_end")
_PROCESS_INTS = ("n_train", "rescale_zero_snr", "clip_lambda")


class Process:
    """A forward process: Process("ve"), Process("vp", beta_1=20), ...

    kind: a name or alias of sgm.list()["processes"]. Options are the fields
    of sgm_process_config: sigma_min, sigma_max, beta_0, beta_1, cosine_s,
    t_eps, t_max, beta_start, beta_end, n_train, rescale_zero_snr,
    clip_lambda, betas (a name), interp (a name). For "ve", as in the CLI,
    t_eps and t_max default to sigma_min and sigma_max."""

    def __init__(self, kind="ve", **options):
        self._p = None
        k = parse_enum(_lib.ENUM_PROCESS, kind, "process")
        cfg = lib.sgm_process_config_default(k)
        for key, val in options.items():
            if key in _PROCESS_FLOATS:
                setattr(cfg, key, float(val))
            elif key in _PROCESS_INTS:
                setattr(cfg, key, int(val))
            elif key == "betas":
                cfg.betas = parse_enum(_lib.ENUM_BETAS, val, "beta schedule")
            elif key == "interp":
                cfg.interp = parse_enum(_lib.ENUM_INTERP, val, "interpolation")
            else:
                raise ArgumentError("unknown process option '%s'" % key)
        if k == 0:  # VE: the time is sigma (the CLI's convention)
            if "t_eps" not in options:
                cfg.t_eps = cfg.sigma_min
            if "t_max" not in options:
                cfg.t_max = cfg.sigma_max
        self._init_from_config(cfg)

    def _init_from_config(self, cfg):
        p, err = ctypes.c_void_p(), new_err()
        check(lib.sgm_process_create(ctypes.byref(cfg), ctypes.byref(p), ctypes.byref(err)),
              err)
        self._p = p

    @classmethod
    def from_config(cls, cfg):
        """A process from an sgm_process_config (e.g. a checkpoint's)."""
        self = cls.__new__(cls)
        self._p = None
        self._init_from_config(cfg)
        return self

    def __del__(self):
        if getattr(self, "_p", None):
            lib.sgm_process_free(self._p)
            self._p = None

    @property
    def kind(self):
        return lib.sgm_enum_name(_lib.ENUM_PROCESS,
                                 lib.sgm_process_get_config(self._p).contents.kind).decode()

    def _vec(self, fn, t):
        t = np.asarray(t, dtype=np.float64)
        out = np.array([fn(self._p, float(v)) for v in t.ravel()]).reshape(t.shape)
        return out if t.ndim else float(out)

    def alpha(self, t):
        """alpha(t) (scalar or array)."""
        return self._vec(lib.sgm_process_alpha, t)

    def sigma(self, t):
        """sigma(t) (scalar or array)."""
        return self._vec(lib.sgm_process_sigma, t)

    def log_snr(self, t):
        """lambda(t) = log(alpha / sigma)."""
        return self._vec(lib.sgm_process_lambda, t)

    @property
    def t_range(self):
        """(t_min, t_max) used by default schedules."""
        return lib.sgm_process_t_min(self._p), lib.sgm_process_t_max(self._p)

    def __repr__(self):
        return "sgm.Process(%r)" % self.kind


_FINALS = {"default": 0, "zero": 1, "sigma_min": 2, "none": 3}
_GRIDS = {"ddim": 0, "dpmsolver": 1, "euler": 2}
# diffusers classes on the DPMSolver-style grid (the CLI's --grid auto)
_DPMSOLVER_GRID = ("dpm_solver", "dpmpp_2m", "dpmpp_2m_sde", "dpmpp_3m_sde", "unipc", "deis",
                   "sa_solver")


def _choice(table, val, what):
    if val not in table:
        raise ArgumentError("%s: '%s' is not one of %s" % (what, val, "|".join(table)))
    return table[val]


class Schedule:
    """The points a sampler walks: numpy arrays t, sigma (VE sigma) and alpha,
    from the noisy end to the data end (copies; the C schedule is kept for
    sampling)."""

    def __init__(self, process, kind="karras", steps=20, sampler=None, *, sigmas=None,
                 times=None, sigma_min=None, sigma_max=None, rho=None, final="default",
                 steps_offset=0, grid="auto", beta_d=None, beta_min=None, eps_s=None):
        self._s = None
        if not isinstance(process, Process):
            process = Process(process)
        self.process = process
        user = None
        if sigmas is not None or times is not None:
            if sigmas is not None and times is not None:
                raise ArgumentError("give sigmas or times, not both")
            k = 10 if sigmas is not None else 11
            user = np.ascontiguousarray(sigmas if sigmas is not None else times,
                                        dtype=np.float64)
            if user.ndim != 1:
                raise ArgumentError("sigmas / times: expected a 1-D list")
        else:
            k = parse_enum(_lib.ENUM_SCHEDULE, kind, "schedule")
            if k >= 10:
                raise ArgumentError("schedule '%s': give the values with sigmas= / times="
                                    % kind)
        cfg = lib.sgm_schedule_config_default(k)
        if user is not None:
            cfg.user = user.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
            cfg.n_user = user.size
        else:
            if int(steps) < 1:
                raise ArgumentError("steps must be >= 1 (got %s)" % steps)
            cfg.steps = int(steps)
        if sigma_min is not None:
            cfg.sigma_min = float(sigma_min)
        if sigma_max is not None:
            cfg.sigma_max = float(sigma_max)
        if rho is not None:
            cfg.rho = float(rho)
        # k-diffusion's get_sigmas_vp(n, beta_d, beta_min, eps_s)
        for field, val in (("vp_beta_d", beta_d), ("vp_beta_min", beta_min),
                           ("vp_eps_s", eps_s)):
            if val is not None:
                setattr(cfg, field, float(val))
        cfg.final_point = _choice(_FINALS, final, "final")
        cfg.steps_offset = int(steps_offset)
        if grid == "auto":
            cfg.grid = 1 if sampler in _DPMSOLVER_GRID else 0
        else:
            cfg.grid = _choice(_GRIDS, grid, "grid")
        s, err = ctypes.POINTER(_lib.Schedule)(), new_err()
        check(lib.sgm_schedule_create(ctypes.byref(cfg), process._p, ctypes.byref(s),
                                      ctypes.byref(err)), err)
        self._s = s
        n = s.contents.n
        self.t = np.ctypeslib.as_array(s.contents.t, (n,)).copy()
        self.sigma = np.ctypeslib.as_array(s.contents.sigma, (n,)).copy()
        self.alpha = np.ctypeslib.as_array(s.contents.alpha, (n,)).copy()

    def __len__(self):
        return len(self.t)

    def __del__(self):
        if getattr(self, "_s", None):
            lib.sgm_schedule_free(self._s)
            self._s = None

    def __repr__(self):
        return "sgm.Schedule(%d points, sigma %g -> %g)" % (len(self), self.sigma[0],
                                                            self.sigma[-1])


def schedule(process="ve", kind="karras", steps=20, **options):
    """sgm.Schedule for a process (a Process or a name); see Schedule."""
    return Schedule(process, kind, steps, **options)
