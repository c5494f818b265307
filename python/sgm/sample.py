"""sgm.sample: any sampler of the registry over a Python or native denoiser.

A Python denoiser is a callable f(x, t, sigma, alpha) -> array of x's shape
[n, d]. x is a read-only numpy view of sgm's own buffer (no copy; valid only
during the call: copy it to keep it), float64 or float32 like the run. The
returned array is copied into sgm's output buffer (converted to the run's
dtype); a wrong shape, a non-float result or a non-finite value raises. An
exception raised by the denoiser or the callback stops the run and is
re-raised as it was.

Native denoisers (sgm.Gmm, sgm.Checkpoint) run without Python in the loop.

Seeds and noise are those of `sgm sample`: x_T (when not given) is row r of
Philox draw 0 of `seed` times sigma(t_0), rows numbered from row0; the
sampler's noise uses draws 1, 2, ... so the result does not depend on how
the rows are batched.
"""
import collections
import ctypes
import itertools
import math

import numpy as np

from . import _lib
from .errors import ArgumentError, Error, check, new_err, shape_error
from .process import Process, Schedule, _PROCESS_FLOATS, _PROCESS_INTS
from .registry import find_sampler, parse_enum

lib = _lib.lib

# sampler options given by name (the CLI's choices, value order of the enums)
_SAMPLER_CHOICES = {
    "algorithm": ("dpmsolver++", "dpmsolver"),
    "solver_type": ("midpoint", "heun", "bh1", "bh2", "logrho"),
    "lower_order_final": ("none", "dpmsolver", "diffusers"),
    "singlestep_plan": ("dpmsolver", "fixed", "diffusers", "macro"),
    "error_norm": ("per_sample", "batch"),
    "noise": ("independent", "brownian"),
}
_SAMPLER_FIELDS = {name: typ for name, typ in _lib.SamplerConfig._fields_
                   if name not in ("method", "dtype", "on_step", "on_step_user_data",
                                     "noise_fn", "noise_user_data")}
_SCHEDULE_OPTIONS = ("sigma_min", "sigma_max", "rho", "final", "steps_offset", "grid",
                     "sigmas", "times")


class StepInfo:
    """What the per-step callback receives: step, n_steps (0 when adaptive),
    t, sigma (VE), alpha, nfe, and copies of x (VE coordinates x / alpha) and
    denoised (the latest data prediction, or None)."""

    __slots__ = ("step", "n_steps", "t", "sigma", "alpha", "nfe", "x", "denoised")

    def __repr__(self):
        return "StepInfo(step=%d/%d, sigma=%g, nfe=%d)" % (self.step, self.n_steps,
                                                         self.sigma, self.nfe)


class _Run:
    """State of one sgm_sampler_run seen by the C trampolines."""

    def __init__(self, fn, callback, shape):
        self.fn, self.callback, self.shape, self.exc = fn, callback, shape, None


_runs = {}
_keys = itertools.count(1)
_CTYPE = {_lib.F64: ctypes.c_double, _lib.F32: ctypes.c_float}


def _view(ptr, dtype, n, d):
    return np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(_CTYPE[dtype])), (n, d))


def _copy_finite(r, out, dtype):
    """Copies the float array r into the array out (sgm's buffer, of sgm
    dtype `dtype`, same shape) and returns whether every value is finite:
    one pass in C (sgm_copy_finite) when r already has out's dtype and
    layout, else numpy's cast and check."""
    if (r.dtype == out.dtype and r.flags.c_contiguous and r.size
            and r.ctypes.data != out.ctypes.data):
        return bool(_lib.lib.sgm_copy_finite(dtype, r.ctypes.data, out.ctypes.data, r.size))
    np.copyto(out, r, casting="unsafe")
    return bool(np.isfinite(out).all())


def _denoise_tramp(q_p, out_p, key):
    run = _runs[key]
    try:
        q = q_p.contents
        n, d = q.n, q.d
        x = _view(q.x, q.dtype, n, d)
        x.flags.writeable = False
        r = np.asarray(run.fn(x, q.t, q.sigma, q.alpha))
        if r.shape != (n, d):
            raise shape_error("denoiser returned shape %s, expected %s" % (r.shape, (n, d)))
        if r.dtype.kind != "f":
            raise ArgumentError("denoiser returned dtype %s, expected a float array" % r.dtype)
        if not _copy_finite(r, _view(out_p, q.dtype, n, d), q.dtype):
            raise Error(-8, "denoiser returned a non-finite value at t = %g" % q.t)
        return 0
    except BaseException as e:  # noqa: B902 - stops the run, re-raised by sample()
        run.exc = e
        return 1


def _step_tramp(info_p, key):
    run = _runs[key]
    try:
        i = info_p.contents
        s = StepInfo()
        s.step, s.n_steps, s.t, s.sigma, s.alpha, s.nfe = (i.step, i.n_steps, i.t, i.sigma,
                                                           i.alpha, i.nfe)
        s.x = _view(i.x, i.dtype, i.n, i.d).reshape(run.shape).copy()
        s.denoised = (_view(i.denoised, i.dtype, i.n, i.d).reshape(run.shape).copy()
                      if i.denoised else None)
        return 1 if run.callback(s) is True else 0
    except BaseException as e:  # noqa: B902
        run.exc = e
        return 1


_DENOISE_C = _lib.DENOISE_FN(_denoise_tramp)
_STEP_C = _lib.STEP_FN(_step_tramp)


class _Sampler:
    """An sgm_sampler and the key its trampolines find their run under
    (the key is copied into the sampler's config when it is created)."""

    def __init__(self, cfg, proc, rows, d):
        self.key, self.h, self.proc = next(_keys), ctypes.c_void_p(), proc
        cfg.on_step_user_data = self.key if cfg.on_step else None
        cfg.noise_user_data = self.key if cfg.noise_fn else None
        err = new_err()
        check(lib.sgm_sampler_create(ctypes.byref(cfg), proc._p, rows, d, ctypes.byref(self.h),
                                     ctypes.byref(err)), err)

    def free(self):
        if self.h:
            lib.sgm_sampler_free(self.h)
            self.h = ctypes.c_void_p()

    __del__ = free


class SamplerCache:
    """sgm_sampler objects kept from one call to the next (their scratch, a
    few [rows, d] buffers, is allocated and first touched once instead of on
    every call), by configuration, process and shape; at most `size`, least
    recently used dropped. An entry is taken out while it runs, so two
    threads never share one."""

    def __init__(self, size=4):
        self.size, self.items = size, collections.OrderedDict()

    def take(self, cfg, proc, rows, d):
        on_step, noise = cfg.on_step_user_data, cfg.noise_user_data
        cfg.on_step_user_data = cfg.noise_user_data = None
        key = (bytes(cfg), id(proc), rows, d)
        cfg.on_step_user_data, cfg.noise_user_data = on_step, noise
        smp = self.items.pop(key, None)
        return key, (smp if smp is not None else _Sampler(cfg, proc, rows, d))

    def give(self, key, smp):
        self.items[key] = smp
        while len(self.items) > self.size:
            self.items.popitem(last=False)[1].free()


def execute(cfg, proc, sch, den, x, seed, row0, run, python_denoiser=True, cache=None):
    """Runs the sampler of cfg over schedule sch in place on x ([rows, d],
    C-contiguous, the dtype of cfg.dtype) with `run` registered for the C
    trampolines (den.user_data, cfg.on_step_user_data and
    cfg.noise_user_data are pointed at it). Philox draw 0 of seed is x_T's,
    the sampler's noise starts at draw 1. An exception raised in a trampoline
    (run.exc) is re-raised as it was. cache: a SamplerCache to take the
    sampler from and return it to (else one is created and freed). Returns
    the run's sgm_sampler_stats."""
    rows, d = x.shape
    if cache is not None:
        ckey, smp = cache.take(cfg, proc, rows, d)
    else:
        smp = _Sampler(cfg, proc, rows, d)
    if python_denoiser:
        den.user_data = smp.key
    err, stats = new_err(), _lib.SamplerStats()
    _runs[smp.key] = run
    try:
        rng = (ctypes.c_uint64 * 2)(int(seed), 1)  # draw 0 is x_T
        st = lib.sgm_sampler_run(smp.h, sch._s, ctypes.byref(den), ctypes.byref(rng),
                                 int(row0), rows, x.ctypes.data_as(ctypes.c_void_p),
                                 ctypes.byref(err))
        if run.exc is not None:
            raise run.exc
        check(st, err)
        lib.sgm_sampler_get_stats(smp.h, ctypes.byref(stats))
    finally:
        del _runs[smp.key]
        run.exc = None  # no cycle through the traceback
        if cache is not None:
            cache.give(ckey, smp)
        else:
            smp.free()
    return stats


def sampler_config(sampler="dpmpp_2m", **options):
    """An sgm_sampler_config: the method's defaults, then options (fields of
    sgm_sampler_config; algorithm, solver_type, lower_order_final,
    singlestep_plan, error_norm and noise by name)."""
    find_sampler(sampler)
    cfg, err = _lib.SamplerConfig(), new_err()
    check(lib.sgm_sampler_config_default(sampler.encode(), ctypes.byref(cfg),
                                         ctypes.byref(err)), err)
    for key, val in options.items():
        if key in _SAMPLER_CHOICES:
            names = _SAMPLER_CHOICES[key]
            if val not in names:
                raise ArgumentError("%s: '%s' is not one of %s" % (key, val, "|".join(names)),
                                    status=-11)
            setattr(cfg, key, names.index(val))
        elif key in _SAMPLER_FIELDS:
            typ = _SAMPLER_FIELDS[key]
            if typ is ctypes.c_double:
                setattr(cfg, key, float(val))
            else:
                if isinstance(val, float) or int(val) < 0:
                    raise ArgumentError("%s: expected a non-negative integer, got %r"
                                        % (key, val))
                setattr(cfg, key, int(val))
        else:
            raise ArgumentError("unknown option '%s'" % key)
    return cfg


def _native(denoiser):
    """(sgm_denoiser, owner) for native models, None for Python callables."""
    get = getattr(denoiser, "_sgm_denoiser", None)
    return get() if get is not None else None


def _float_dtype(dtype, what):
    dt = np.dtype(dtype)
    if dt not in (np.float64, np.float32):
        raise ArgumentError("%s: dtype %s is not supported (float64 or float32)" % (what, dt))
    return dt


def sample(denoiser, x_T=None, process=None, sampler="dpmpp_2m", schedule="karras", steps=20,
           prediction="x0", seed=0, *, n=None, d=None, dtype=None, row0=0, callback=None,
           data_units=True, **options):
    """Samples by running `sampler` over `schedule` from x_T.

    denoiser: a callable f(x, t, sigma, alpha) -> prediction (numpy arrays,
        see the module doc) whose kind is `prediction` (a name of
        sgm.list()["predictions"]), or a native model (sgm.Gmm,
        sgm.Checkpoint, which carry their own prediction).
    x_T: the start [n, ...] in process coordinates (any shape with n rows;
        copied, never modified; float64 or float32, which picks the
        arithmetic unless dtype is given). None: n rows drawn from seed like
        `sgm sample --n` (the dimension from the model).
    process: an sgm.Process or a name ("ve" by default; a checkpoint's own).
    schedule: a schedule name (or an sgm.Schedule built for this process).
    seed, row0: the noise streams (row i of x is global row row0 + i).
    callback: f(sgm.StepInfo) after every step; returning True stops the run
        (sgm.Error with status SGM_ERR_ABORTED).
    data_units: for a checkpoint, map the samples to data units (as the CLI).
    options: sampler options (order, eta, s_noise, ...; see sampler_config),
        schedule options (rho, final, sigma_min, sigma_max, steps_offset,
        grid, sigmas, times) and process options (see sgm.Process; with a
        process name only). sigma_min / sigma_max go to both, as in the CLI.
    Returns the samples, an array of x_T's shape and the run's dtype.
    """
    native = _native(denoiser)
    model_proc = getattr(denoiser, "process_config", None)
    sched_opts = {k: options.pop(k) for k in list(options) if k in _SCHEDULE_OPTIONS}
    proc_opts = {k: options.pop(k) for k in list(options)
                 if k in _PROCESS_FLOATS + _PROCESS_INTS + ("betas", "interp")}
    for k in ("sigma_min", "sigma_max"):
        if k in sched_opts:
            proc_opts[k] = sched_opts[k]
    cfg = sampler_config(sampler, **options)
    if isinstance(process, Process):
        proc = process
    elif model_proc is not None:
        if process is not None and parse_enum(_lib.ENUM_PROCESS, process, "process") != \
                model_proc.kind:
            raise ArgumentError("process '%s' contradicts the checkpoint" % process)
        proc = Process.from_config(model_proc)
    else:
        proc = Process(process or "ve", **proc_opts)
    if native is not None:
        den, owner = native
    else:
        if not callable(denoiser):
            raise ArgumentError("denoiser: expected a callable f(x, t, sigma, alpha) or an "
                                "sgm model, got %r" % type(denoiser).__name__)
        den, owner = _lib.Denoiser(), None
        den.fn = _DENOISE_C
        den.prediction = parse_enum(_lib.ENUM_PREDICTION, prediction, "prediction")
    sch = schedule if isinstance(schedule, Schedule) else Schedule(
        proc, schedule, steps, cfg.method.decode(), **sched_opts)

    # the start x_T, copied into the buffer the sampler works on
    if x_T is None:
        d = getattr(denoiser, "dim", None) if d is None else int(d)
        if n is None or d is None or d < 1:
            raise ArgumentError("give x_T, or n (and d for a Python denoiser)")
        if int(n) < 1:
            raise ArgumentError("n must be >= 1 (got %s)" % n)
        n = int(n)
        std0 = proc.sigma(sch.t[0])
        if not (math.isfinite(std0) and std0 > 0):
            raise ArgumentError("the schedule starts at sigma = %g; choose a finite start" % std0)
        x64 = np.empty((n, d))
        lib.sgm_rng_normal_rows_f64(int(seed), 0, int(row0), n, d,
                                    x64.ctypes.data_as(ctypes.POINTER(ctypes.c_double)))
        x64 *= std0
        shape = getattr(denoiser, "sample_shape", lambda m: (m, d))(n)
        x_T = x64
    else:
        if not isinstance(x_T, np.ndarray):
            x_T = np.asarray(x_T)
        _float_dtype(x_T.dtype, "x_T")
        if x_T.ndim < 1 or x_T.shape[0] == 0 or x_T.size == 0:
            raise shape_error("x_T: expected [n, ...] with n >= 1, got shape %s" % (x_T.shape,))
        shape = x_T.shape
        d_model = getattr(denoiser, "dim", None)
        if d_model is not None and x_T.size // shape[0] != d_model:
            raise shape_error("x_T: %d values per row, the model has dimension %d"
                              % (x_T.size // shape[0], d_model))
        if not np.isfinite(x_T).all():
            raise ArgumentError("x_T: not finite", status=-8)
    dt = _float_dtype(dtype if dtype is not None else x_T.dtype, "dtype")
    cfg.dtype = _lib.F32 if dt == np.float32 else _lib.F64
    rows = shape[0]
    d = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
    x = np.array(x_T, dtype=dt, order="C").reshape(rows, d)

    run = _Run(denoiser, callback, shape)
    if callback is not None:
        if not callable(callback):
            raise ArgumentError("callback: expected a callable")
        cfg.on_step = _STEP_C
    execute(cfg, proc, sch, den, x, seed, row0, run, python_denoiser=native is None)
    del owner
    if data_units and hasattr(denoiser, "unstandardize"):
        x = denoiser.unstandardize(x)
    return x.reshape(shape)


def noise(n, d, seed=0, draw=0, row0=0):
    """Standard normals [n, d] of Philox draw `draw` of seed, rows from row0
    (sgm_rng_normal_rows_f64: the x_T of `sgm sample` is draw 0 times sigma)."""
    out = np.empty((int(n), int(d)))
    lib.sgm_rng_normal_rows_f64(int(seed), int(draw), int(row0), int(n), int(d),
                                out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)))
    return out
