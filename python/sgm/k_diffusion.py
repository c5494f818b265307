"""sgm.k_diffusion: k-diffusion's sampler entry points over sgm's samplers.

The functions of crowsonkb/k-diffusion k_diffusion/sampling.py (commit
4601bf0, the one the reference cases were made with) with their signatures:

    from sgm import k_diffusion as K      # instead of: import k_diffusion as K
    sigmas = K.get_sigmas_karras(20, 0.002, 80.0)
    x = K.sample_dpmpp_2m(model, torch.randn(64, 2) * sigmas[0], sigmas)

`model(x, sigma * s_in, **extra_args)` is a denoiser in sigma space
(x = x0 + sigma * eps; it returns the data prediction D(x, sigma)), called
with tensors of x's shape and a [batch] tensor of sigma, as k-diffusion
calls it. x is a torch tensor (CPU, float32 or float64) or a numpy array; the
result has x's type, shape and dtype. torch is imported only when given a
torch tensor (or by get_sigmas_*, which return tensors when torch is
installed). The update itself runs in C (libsgm): the model's input is a
zero-copy tensor over sgm's buffer, valid only during the call (clone it to
keep it), and its output is copied into sgm's buffer.

Differences from k-diffusion, by design:
- randomness: the default noise is sgm's Philox (Brownian tree over sigma
  for dpmpp_sde, dpmpp_2m_sde and dpmpp_3m_sde, as k-diffusion's
  BrownianTreeNoiseSampler), from `seed` (an extra keyword; None: drawn from
  torch's global generator for tensors, numpy's for arrays, so
  torch.manual_seed makes runs repeatable). A `noise_sampler(sigma,
  sigma_next)` given by the caller replaces it (sgm_sampler_config.noise_fn);
  it is asked only where noise is added (not on a step with zero noise).
  EDM churn (s_churn) always uses Philox, as k-diffusion uses randn_like.
- `disable` is accepted and ignored (no progress bar).
- callback: called after the first model call of each step with k-diffusion's
  dict {'x', 'i', 'sigma', 'sigma_hat', 'denoised'} (copies); for dpm_fast
  and dpm_adaptive also 't' and 't_up' (t = -log sigma); dpm_adaptive calls
  it once per accepted step (k-diffusion: per attempt, rejected ones too).
Errors are sgm.Error (bad input: sgm.ArgumentError, a ValueError) with
sgm's one-line message; an exception raised by the model, the callback or
the noise sampler stops the run and is re-raised as it was.
"""
import ctypes
import math

import numpy as np

from . import _lib
from .errors import ArgumentError, Error, shape_error
from .process import Process, Schedule
from .sample import _CTYPE, _copy_finite, _Run, _runs, SamplerCache, execute, sampler_config

__all__ = ["get_sigmas_karras", "get_sigmas_exponential", "get_sigmas_polyexponential",
           "get_sigmas_vp", "sample_euler", "sample_euler_ancestral", "sample_heun",
           "sample_dpm_2", "sample_dpm_2_ancestral", "sample_lms", "sample_dpm_fast",
           "sample_dpm_adaptive", "sample_dpmpp_2s_ancestral", "sample_dpmpp_sde",
           "sample_dpmpp_2m", "sample_dpmpp_2m_sde", "sample_dpmpp_3m_sde"]

_torch = None


def _is_tensor(a):
    t = type(a)
    return t.__module__.split(".")[0] == "torch" and hasattr(a, "detach")


def _get_torch():
    global _torch
    if _torch is None:
        import torch
        _torch = torch
    return _torch


def _torch_if_installed():
    """torch when it is importable (schedules are tensors then), else None."""
    try:
        return _get_torch()
    except ImportError:
        return None


# ------------------------------------------------------------ schedules ---

_VE = []
# samplers kept between calls: repeated calls of one shape allocate nothing
_CACHE = SamplerCache()


def _ve():
    # k-diffusion works in sigma alone: a VE process whose range covers any
    # schedule the functions below or a caller hand over (as sgm-refcase);
    # one for the module (it is never changed)
    if not _VE:
        _VE.append(Process("ve", sigma_min=1e-6, sigma_max=1e6))
    return _VE[0]


def _schedule_out(kind, n, device, **kw):
    """The schedule's n + 1 sigmas as k-diffusion returns them: a tensor of
    torch's default dtype on `device` (a float64 numpy array when torch is
    not installed)."""
    if int(n) < 1:
        raise ArgumentError("n must be >= 1 (got %s)" % n)
    sig = Schedule(_ve(), kind, int(n), final="zero", **kw).sigma
    torch = _torch_if_installed()
    if torch is None:
        return sig
    return torch.from_numpy(sig).to(dtype=torch.get_default_dtype(), device=device)


def get_sigmas_karras(n, sigma_min, sigma_max, rho=7., device='cpu'):
    """The noise schedule of Karras et al. (2022), eq. 5, then 0."""
    return _schedule_out("karras", n, device, sigma_min=sigma_min, sigma_max=sigma_max,
                         rho=rho)


def get_sigmas_exponential(n, sigma_min, sigma_max, device='cpu'):
    """n sigmas evenly spaced in log sigma, then 0."""
    return _schedule_out("exponential", n, device, sigma_min=sigma_min, sigma_max=sigma_max)


def get_sigmas_polyexponential(n, sigma_min, sigma_max, rho=1., device='cpu'):
    """A polynomial (ramp ** rho) in log sigma, then 0."""
    return _schedule_out("polyexponential", n, device, sigma_min=sigma_min,
                         sigma_max=sigma_max, rho=rho)


def get_sigmas_vp(n, beta_d=19.9, beta_min=0.1, eps_s=1e-3, device='cpu'):
    """The continuous VP schedule as VE sigmas (Song et al. 2021), then 0."""
    return _schedule_out("vp", n, device, beta_d=beta_d, beta_min=beta_min, eps_s=eps_s)


# ---------------------------------------------------------- the C side ---

class _KRun(_Run):
    """One k-diffusion call seen by the trampolines: the model, the tensor
    views of sgm's buffers (by address), the callback and noise sampler."""

    def __init__(self, model, shape, np_dtype, use_torch, extra_args, callback, noise_sampler,
                 sigmas):
        super().__init__(model, callback, shape)
        self.np_dtype, self.torch, self.extra_args = np_dtype, use_torch, extra_args
        self.noise_sampler, self.sigmas = noise_sampler, sigmas
        self.views, self.step, self.first = {}, 0, True
        self.tdtype = None
        if use_torch:
            self.tdtype = _torch.float32 if np_dtype == np.float32 else _torch.float64

    def view(self, addr, n):
        """x's shape over n rows of sgm's buffer at addr (a tensor or array)."""
        key = (addr, n)
        v = self.views.get(key)
        if v is None:
            a = np.ctypeslib.as_array(ctypes.cast(addr, ctypes.POINTER(_CTYPE[
                _lib.F32 if self.np_dtype == np.float32 else _lib.F64])),
                (n,) + tuple(self.shape[1:]))
            v = _torch.from_numpy(a) if self.torch else a
            self.views[key] = v
        return v

    def sgm_dtype(self):
        return _lib.F32 if self.np_dtype == np.float32 else _lib.F64

    def scalar(self, v):
        return _torch.tensor(v, dtype=self.tdtype) if self.torch else v

    def store(self, r, out, what, where):
        """Copies the model's (or noise sampler's) result r into out with
        the checks of sgm.sample: shape, a float dtype, finite values."""
        if self.torch and _is_tensor(r):
            if tuple(r.shape) != tuple(out.shape):
                raise shape_error("%s returned shape %s, expected %s"
                                  % (what, tuple(r.shape), tuple(out.shape)))
            if not r.is_floating_point():
                raise ArgumentError("%s returned dtype %s, expected a float tensor"
                                    % (what, r.dtype))
            if (r.dtype == out.dtype and r.device.type == "cpu" and r.is_contiguous()
                    and r.data_ptr() != out.data_ptr()):
                # copy and finiteness check in one pass (sgm_copy_finite)
                finite = bool(_lib.lib.sgm_copy_finite(self.sgm_dtype(), r.data_ptr(),
                                                       out.data_ptr(), out.numel()))
            else:
                out.copy_(r)
                # a sum is NaN/inf when a value is (one fast pass;
                # isfinite().all() is ~20x slower in torch 1.13); the exact
                # test only if it says no
                finite = math.isfinite(float(out.sum())) or bool(np.isfinite(out.numpy()).all())
        else:
            r = np.asarray(r.cpu().numpy() if _is_tensor(r) else r)
            if r.shape != tuple(out.shape):
                raise shape_error("%s returned shape %s, expected %s"
                                  % (what, r.shape, tuple(out.shape)))
            if r.dtype.kind != "f":
                raise ArgumentError("%s returned dtype %s, expected a float array"
                                    % (what, r.dtype))
            finite = _copy_finite(r, out.numpy() if self.torch else out, self.sgm_dtype())
        if not finite:
            raise Error(-8, "%s returned a non-finite value at %s" % (what, where))


def _denoise_tramp(q_p, out_p, key):
    run = _runs[key]
    try:
        q = q_p.contents
        n, sigma = q.n, q.sigma
        x = run.view(q.x, n)
        if run.torch:
            s = _torch.full((n,), sigma, dtype=run.tdtype)
        else:
            s = np.full((n,), sigma, dtype=run.np_dtype)
        out = run.view(out_p, n)
        run.store(run.fn(x, s, **run.extra_args), out, "model", "sigma = %g" % sigma)
        if run.callback is not None and run.first:
            run.first = False
            _report(run, x, sigma, out)
        return 0
    except BaseException as e:  # noqa: B902 - stops the run, re-raised by execute()
        run.exc = e
        return 1


def _report(run, x, sigma, den):
    i = run.step
    copy = (lambda a: a.clone()) if run.torch else (lambda a: a.copy())
    info = {'x': copy(x), 'i': i, 'denoised': copy(den), 'sigma_hat': run.scalar(sigma)}
    sig = run.sigmas
    if sig is not None and i < len(sig):
        info['sigma'] = sig[i]
    else:  # dpm_fast / dpm_adaptive: no list of sigmas
        info['sigma'] = info['sigma_hat']
        t = run.scalar(-math.log(sigma))
        info['t'] = info['t_up'] = t
    run.callback(info)


def _step_tramp(info_p, key):
    run = _runs[key]
    run.step += 1
    run.first = True
    return 0


def _noise_tramp(s_from, s_to, n, d, row0, dtype, z_p, key):
    run = _runs[key]
    try:
        r = run.noise_sampler(run.scalar(s_from), run.scalar(s_to))
        run.store(r, run.view(z_p, n), "noise_sampler",
                  "sigma %g -> %g" % (s_from, s_to))
        return 0
    except BaseException as e:  # noqa: B902
        run.exc = e
        return 1


_DENOISE_C = _lib.DENOISE_FN(_denoise_tramp)
_STEP_C = _lib.STEP_FN(_step_tramp)
_NOISE_C = _lib.NOISE_FN(_noise_tramp)


# ---------------------------------------------------------- the driver ---

def _as_numpy_x(x):
    """(numpy [rows, d] copy in C order, numpy dtype, is torch) for x."""
    if _is_tensor(x):
        torch = _get_torch()
        if x.device.type != "cpu":
            raise ArgumentError("x: sgm samples on the CPU; got a tensor on %s (move it with "
                                ".cpu())" % x.device)
        if x.dtype not in (torch.float32, torch.float64):
            raise ArgumentError("x: dtype %s is not supported (torch.float32 or "
                                "torch.float64)" % x.dtype)
        a, use_torch = x.detach().numpy(), True
    else:
        a, use_torch = np.asarray(x), False
        if a.dtype not in (np.float32, np.float64):
            raise ArgumentError("x: dtype %s is not supported (float32 or float64)" % a.dtype)
    if a.ndim < 1 or a.shape[0] == 0 or a.size == 0:
        raise shape_error("x: expected [batch, ...] with batch >= 1, got shape %s"
                          % (a.shape,))
    if not np.isfinite(a).all():
        raise ArgumentError("x: not finite", status=-8)
    rows = a.shape[0]
    # always a copy: sgm works in place and k-diffusion leaves x alone
    return np.array(a, order="C").reshape(rows, a.size // rows), a.dtype, use_torch


def _sigmas_numpy(sigmas):
    if _is_tensor(sigmas):
        s = sigmas.detach().cpu().double().numpy()
    else:
        s = np.asarray(sigmas, dtype=np.float64)
    if s.ndim != 1 or s.size < 2:
        raise shape_error("sigmas: expected a 1-D list of at least 2 values, got shape %s"
                          % (s.shape,))
    return np.ascontiguousarray(s)


def _seed(seed, use_torch):
    if seed is not None:
        return int(seed)
    if use_torch:
        return int(_torch.randint(0, 2 ** 62, ()).item())
    return int(np.random.randint(0, 2 ** 62, dtype=np.int64))


def _sample(method, model, x, sched, sigmas, extra_args, callback, options, noise_sampler=None,
            seed=None):
    if not callable(model):
        raise ArgumentError("model: expected a callable model(x, sigma, **extra_args), got %r"
                            % type(model).__name__)
    if callback is not None and not callable(callback):
        raise ArgumentError("callback: expected a callable")
    if noise_sampler is not None and not callable(noise_sampler):
        raise ArgumentError("noise_sampler: expected a callable noise_sampler(sigma, "
                            "sigma_next)")
    if extra_args is None:
        extra_args = {}
    xs, dt, use_torch = _as_numpy_x(x)
    shape = tuple(x.shape)
    cfg = sampler_config(method, **options)
    cfg.dtype = _lib.F32 if dt == np.float32 else _lib.F64
    den = _lib.Denoiser()
    den.fn = _DENOISE_C
    den.prediction = 1  # SGM_PRED_X0: k-diffusion models return D(x, sigma)
    run = _KRun(model, shape, dt, use_torch, extra_args, callback, noise_sampler, sigmas)
    if callback is not None:
        cfg.on_step = _STEP_C
    if noise_sampler is not None:
        cfg.noise_fn = _NOISE_C
    seed = _seed(seed, use_torch)
    if use_torch:
        with _torch.no_grad():  # as k-diffusion's @torch.no_grad() samplers
            stats = execute(cfg, sched.process, sched, den, xs, seed, 0, run, cache=_CACHE)
    else:
        stats = execute(cfg, sched.process, sched, den, xs, seed, 0, run, cache=_CACHE)
    out = xs.reshape(shape)
    return (_torch.from_numpy(out) if use_torch else out), stats


def _list_schedule(sigmas):
    s = _sigmas_numpy(sigmas)
    return Schedule(_ve(), sigmas=s), sigmas


def _run_list(method, model, x, sigmas, extra_args, callback, options, noise_sampler=None,
              seed=None):
    sched, sig = _list_schedule(sigmas)
    return _sample(method, model, x, sched, sig, extra_args, callback, options, noise_sampler,
                   seed)[0]


def _churn(s_churn, s_tmin, s_tmax, s_noise):
    return dict(s_churn=s_churn, s_tmin=s_tmin, s_tmax=s_tmax, s_noise=s_noise)


# ------------------------------------------------------------- samplers ---

def sample_euler(model, x, sigmas, extra_args=None, callback=None, disable=None, s_churn=0.,
                 s_tmin=0., s_tmax=float('inf'), s_noise=1., *, seed=None):
    """Euler steps, Algorithm 2 of Karras et al. (2022) (sgm: euler)."""
    return _run_list("euler", model, x, sigmas, extra_args, callback,
                     _churn(s_churn, s_tmin, s_tmax, s_noise), seed=seed)


def sample_euler_ancestral(model, x, sigmas, extra_args=None, callback=None, disable=None,
                           eta=1., s_noise=1., noise_sampler=None, *, seed=None):
    """Ancestral sampling with Euler steps (sgm: euler_a)."""
    return _run_list("euler_a", model, x, sigmas, extra_args, callback,
                     dict(eta=eta, s_noise=s_noise), noise_sampler, seed)


def sample_heun(model, x, sigmas, extra_args=None, callback=None, disable=None, s_churn=0.,
                s_tmin=0., s_tmax=float('inf'), s_noise=1., *, seed=None):
    """Heun steps, Algorithm 2 of Karras et al. (2022) (sgm: heun)."""
    return _run_list("heun", model, x, sigmas, extra_args, callback,
                     _churn(s_churn, s_tmin, s_tmax, s_noise), seed=seed)


def sample_dpm_2(model, x, sigmas, extra_args=None, callback=None, disable=None, s_churn=0.,
                 s_tmin=0., s_tmax=float('inf'), s_noise=1., *, seed=None):
    """DPM-Solver-2 midpoint steps in log sigma with EDM churn (sgm: dpm2)."""
    return _run_list("dpm2", model, x, sigmas, extra_args, callback,
                     _churn(s_churn, s_tmin, s_tmax, s_noise), seed=seed)


def sample_dpm_2_ancestral(model, x, sigmas, extra_args=None, callback=None, disable=None,
                           eta=1., s_noise=1., noise_sampler=None, *, seed=None):
    """Ancestral sampling with DPM-Solver-2 steps (sgm: dpm2_a)."""
    return _run_list("dpm2_a", model, x, sigmas, extra_args, callback,
                     dict(eta=eta, s_noise=s_noise), noise_sampler, seed)


def sample_lms(model, x, sigmas, extra_args=None, callback=None, disable=None, order=4):
    """Linear multistep in sigma (sgm: lms)."""
    return _run_list("lms", model, x, sigmas, extra_args, callback, dict(order=order))


def sample_dpmpp_2s_ancestral(model, x, sigmas, extra_args=None, callback=None, disable=None,
                              eta=1., s_noise=1., noise_sampler=None, *, seed=None):
    """Ancestral DPM-Solver++(2S) (Lu et al. 2022b) (sgm: dpmpp_2s_a)."""
    return _run_list("dpmpp_2s_a", model, x, sigmas, extra_args, callback,
                     dict(eta=eta, s_noise=s_noise), noise_sampler, seed)


def sample_dpmpp_sde(model, x, sigmas, extra_args=None, callback=None, disable=None, eta=1.,
                     s_noise=1., noise_sampler=None, r=1 / 2, *, seed=None):
    """DPM-Solver++ (stochastic), Brownian-tree noise by default (sgm: dpmpp_sde)."""
    return _run_list("dpmpp_sde", model, x, sigmas, extra_args, callback,
                     dict(eta=eta, s_noise=s_noise, r1=r, noise="brownian"), noise_sampler,
                     seed)


def sample_dpmpp_2m(model, x, sigmas, extra_args=None, callback=None, disable=None):
    """DPM-Solver++(2M) (Lu et al. 2022b) (sgm: dpmpp_2m)."""
    return _run_list("dpmpp_2m", model, x, sigmas, extra_args, callback, {})


def sample_dpmpp_2m_sde(model, x, sigmas, extra_args=None, callback=None, disable=None, eta=1.,
                        s_noise=1., noise_sampler=None, solver_type='midpoint', *, seed=None):
    """DPM-Solver++(2M) SDE, Brownian-tree noise by default (sgm: dpmpp_2m_sde)."""
    if solver_type not in ('heun', 'midpoint'):
        raise ArgumentError("solver_type must be 'heun' or 'midpoint' (got %r)"
                            % (solver_type,))
    return _run_list("dpmpp_2m_sde", model, x, sigmas, extra_args, callback,
                     dict(eta=eta, s_noise=s_noise, solver_type=solver_type,
                          noise="brownian"), noise_sampler, seed)


def sample_dpmpp_3m_sde(model, x, sigmas, extra_args=None, callback=None, disable=None, eta=1.,
                        s_noise=1., noise_sampler=None, *, seed=None):
    """DPM-Solver++(3M) SDE, Brownian-tree noise by default (sgm: dpmpp_3m_sde)."""
    return _run_list("dpmpp_3m_sde", model, x, sigmas, extra_args, callback,
                     dict(eta=eta, s_noise=s_noise, noise="brownian"), noise_sampler, seed)


def _range_schedule(sigma_min, sigma_max):
    smin, smax = float(sigma_min), float(sigma_max)
    if smin <= 0 or smax <= 0:
        raise ArgumentError('sigma_min and sigma_max must not be 0')
    return Schedule(_ve(), sigmas=np.array([smax, smin]), final="none")


def sample_dpm_fast(model, x, sigma_min, sigma_max, n, extra_args=None, callback=None,
                    disable=None, eta=0., s_noise=1., noise_sampler=None, *, seed=None):
    """DPM-Solver-Fast: n model calls in steps of order 3 (Lu et al. 2022a) (sgm: dpm_fast)."""
    if int(n) < 1:
        raise ArgumentError("n must be >= 1 (got %s)" % n)
    sched = _range_schedule(sigma_min, sigma_max)
    return _sample("dpm_fast", model, x, sched, None, extra_args, callback,
                   dict(eta=eta, s_noise=s_noise, nfe=int(n)), noise_sampler, seed)[0]


def sample_dpm_adaptive(model, x, sigma_min, sigma_max, extra_args=None, callback=None,
                        disable=None, order=3, rtol=0.05, atol=0.0078, h_init=0.05, pcoeff=0.,
                        icoeff=1., dcoeff=0., accept_safety=0.81, eta=0., s_noise=1.,
                        noise_sampler=None, return_info=False, *, seed=None):
    """DPM-Solver-12 / 23 with a PID step controller over the batch's error
    (Lu et al. 2022a) (sgm: dpm_adaptive, error_norm batch). return_info adds
    {'steps', 'nfe', 'n_accept', 'n_reject'}."""
    sched = _range_schedule(sigma_min, sigma_max)
    x, st = _sample("dpm_adaptive", model, x, sched, None, extra_args, callback,
                    dict(order=order, rtol=rtol, atol=atol, h_init=h_init, pcoeff=pcoeff,
                         icoeff=icoeff, dcoeff=dcoeff, accept_safety=accept_safety, eta=eta,
                         s_noise=s_noise, error_norm="batch"), noise_sampler, seed)
    if return_info:
        return x, {'steps': st.steps + st.n_reject, 'nfe': st.nfe, 'n_accept': st.steps,
                   'n_reject': st.n_reject}
    return x
