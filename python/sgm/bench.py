"""The NFE-vs-error benchmark in-process (sgm_bench.h), as `sgm bench`: a
grid of samplers x schedules x NFE budgets on one model, each row's error
against a tight rk45 solve from the same x_T and, with an exact mixture,
distribution metrics (sliced W2, MMD^2, log-likelihood)."""
import ctypes
import math
import os

from . import _lib
from .errors import ArgumentError, check, new_err
from .models import Checkpoint, Gmm
from .process import Process
from .registry import parse_enum

lib = _lib.lib
_ROW_FIELDS = ("stochastic", "adaptive", "nfe_budget", "steps", "tol", "nfe", "err_rms",
               "err_max", "sw2", "sw2_se", "mmd2", "mmd2_se", "loglik", "loglik_se",
               "seconds", "status")


def _row(r):
    d = {"sampler": r.sampler.decode(), "schedule": r.schedule.decode()}
    for f in _ROW_FIELDS:
        d[f] = getattr(r, f)
    d["message"] = r.msg.decode("utf-8", "replace")
    return d


def bench(model, samplers=None, schedules=("karras", "logsnr"), nfe=(5, 10, 20, 50), *, n=1000,
          seed=0, ref_rtol=1e-9, metrics=True, projections=256, threads=0, process=None,
          gmm=None, csv=None, plot=None, title=None, callback=None):
    """Runs the grid; returns a list of dicts, one per row (sampler,
    schedule, nfe_budget, steps, nfe, err_rms, err_max, sw2, mmd2, loglik
    and their standard errors, seconds, status, message; NaN where a value
    does not apply): for each schedule the baseline rows "exact" and
    "reference", then each sampler at each budget (as the CSV of `sgm bench`).

    model: an sgm.Gmm (then process: a name or sgm.Process, default "ve"
    as `sgm bench --model gmm:`) or an sgm.Checkpoint (sampled in its own
    process; gmm=: the mixture its data came from, for the metrics).
    samplers: names (None: every registered sampler); schedules: names;
    nfe: budgets. csv / plot: also write the CSV and the log-log PNG
    (atomically). callback(row) after each row (a dict as returned);
    an exception it raises stops nothing but is raised after the run."""
    cfg = _lib.BenchConfig()
    lib.sgm_bench_config_default(ctypes.byref(cfg))
    keep = []  # every ctypes object the C side points into, alive for the run
    if isinstance(model, Gmm):
        if gmm is not None:
            raise ArgumentError("gmm= applies to a Checkpoint (the mixture is the model here)")
        proc = process if isinstance(process, Process) else Process(process or "ve")
        cfg.gmm = model._g
    elif isinstance(model, Checkpoint):
        if process is not None:
            raise ArgumentError("process=: a Checkpoint is sampled in its own process")
        proc = model.process
        den = lib.sgm_model_denoiser(model._m)
        keep.append(den)
        cfg.den = ctypes.pointer(den)
        cfg.d = model.dim
        if gmm is not None:
            if not isinstance(gmm, Gmm):
                raise ArgumentError("gmm=: expected an sgm.Gmm")
            if gmm.dim != model.dim:
                raise ArgumentError("gmm=: the mixture has dimension %d, the checkpoint %d"
                                    % (gmm.dim, model.dim))
            cfg.gmm = gmm._g

            def to_data(rows, x, _user):
                lib.sgm_model_unstandardize(model._m, rows, _lib.F64,
                                            ctypes.cast(x, ctypes.c_void_p))
            cfg.to_data = _lib.TO_DATA_FN(to_data)
            keep.append(cfg.to_data)
    else:
        raise ArgumentError("model: expected an sgm.Gmm or an sgm.Checkpoint, got %s"
                            % type(model).__name__)
    cfg.proc = proc._p
    if samplers is not None:
        if isinstance(samplers, str):
            samplers = [samplers]
        names = [str(s).encode() for s in samplers]
        if not names:
            raise ArgumentError("samplers: an empty list (None: every sampler)")
        arr = (ctypes.c_char_p * len(names))(*names)
        keep.append(arr)
        cfg.samplers, cfg.n_samplers = arr, len(names)
    if isinstance(schedules, str):
        schedules = [schedules]
    kinds = [parse_enum(_lib.ENUM_SCHEDULE, s, "schedule") for s in schedules]
    if not kinds:
        raise ArgumentError("schedules: an empty list")
    karr = (ctypes.c_int * len(kinds))(*kinds)
    budgets = [int(b) for b in ([nfe] if isinstance(nfe, int) else nfe)]
    if not budgets or min(budgets) < 1:
        raise ArgumentError("nfe: budgets >= 1, got %s" % budgets)
    barr = (ctypes.c_int * len(budgets))(*budgets)
    keep += [karr, barr]
    cfg.schedules, cfg.n_schedules = karr, len(kinds)
    cfg.nfe, cfg.n_nfe = barr, len(budgets)
    if int(n) < 2:
        raise ArgumentError("n: expected >= 2, got %d" % int(n))
    rtol = float(ref_rtol)
    if not (0 < rtol < 1) or math.isnan(rtol):
        raise ArgumentError("ref_rtol must be in (0, 1)")
    cfg.n, cfg.seed = int(n), int(seed)
    cfg.ref_rtol = cfg.ref_atol = rtol
    cfg.metrics, cfg.n_projections, cfg.n_threads = int(bool(metrics)), int(projections), \
        int(threads)
    exc = []
    if callback is not None:
        def on_row(r, _user):
            if exc:
                return
            try:
                callback(_row(r.contents))
            except BaseException as e:  # noqa: B902 - re-raised after the run
                exc.append(e)
        cfg.on_row = _lib.BENCH_ROW_FN(on_row)
        keep.append(cfg.on_row)
    res, err = _lib.BenchResult(), new_err()
    check(lib.sgm_bench_run(ctypes.byref(cfg), ctypes.byref(res), ctypes.byref(err)), err)
    try:
        if exc:
            raise exc[0]
        rows = [_row(res.rows[i]) for i in range(res.n_rows)]
        if csv is not None:
            check(lib.sgm_bench_write_csv(ctypes.byref(res), os.fsencode(csv),
                                          ctypes.byref(err)), err)
        if plot is not None:
            t = (title or "sgm bench").encode()
            check(lib.sgm_bench_plot(ctypes.byref(res), os.fsencode(plot), t,
                                     ctypes.byref(err)), err)
        return rows
    finally:
        lib.sgm_bench_result_free(ctypes.byref(res))
