"""sgm.k_diffusion reproduces k-diffusion (crowsonkb/k-diffusion @4601bf0):
every sampler and schedule case of tests/data/reference/cases/k-diffusion
through a torch model wrapping the exact mixture, and the recorded-noise
cases of data/ (stochastic samplers at eta > 0, made by make_noise_cases.py)
with their noise replayed through noise_sampler."""
import os

import numpy as np
import pytest
import torch

from sgm import k_diffusion as K
from kdiff_util import (KD_CASES, NOISE_CASES, case_dirs, close_to_ref, load_case,  # noqa: F401
                        model)  # the fixture

SAMPLER_CASES = case_dirs(KD_CASES)
SCHEDULE_CASES = case_dirs(KD_CASES, "schedule-*")


def run_case(case, init, model, **extra):
    fn = getattr(K, case["sampler"]["function"])
    kw = dict(case["sampler"]["kwargs"])
    x = torch.from_numpy(init)
    if "sigma_min" in kw:  # dpm_fast / dpm_adaptive: a range, not a list
        smin, smax = kw.pop("sigma_min"), kw.pop("sigma_max")
        if "n" in kw:
            return fn(model, x, smin, smax, kw.pop("n"), disable=True, **kw, **extra)
        return fn(model, x, smin, smax, disable=True, **kw, **extra)
    sig = case.get("sigmas") or case["schedule"]["sigmas"]
    return fn(model, x, torch.tensor(sig, dtype=torch.float64), disable=True, **kw, **extra)


@pytest.mark.parametrize("d", SAMPLER_CASES, ids=os.path.basename)
def test_sampler_case(d, model):
    case, a = load_case(d)
    model.calls = 0
    out = run_case(case, a["init"], model)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
    assert out.shape == a["init"].shape
    assert close_to_ref(out.numpy(), a["ref"])
    # the number of model calls is the reference's too
    want = case.get("adaptive_info", {}).get("nfe", case.get("nfe"))
    assert model.calls == want


def test_case_count():
    # every case copied from the shared reference is run (a lost folder fails)
    assert len(SAMPLER_CASES) == 168
    assert len(SCHEDULE_CASES) == 56
    fns = {load_case(d)[0]["sampler"]["function"] for d in SAMPLER_CASES}
    assert len(fns) == 11 and all(hasattr(K, f) for f in fns)
    # with the recorded-noise cases, all 13 samplers of k-diffusion are covered
    fns |= {load_case(d)[0]["sampler"]["function"] for d in case_dirs(NOISE_CASES)}
    assert sorted(fns) == sorted(f for f in K.__all__ if f.startswith("sample_"))


@pytest.mark.parametrize("d", SCHEDULE_CASES, ids=os.path.basename)
def test_schedule_case(d):
    case, _ = load_case(d)
    torch.set_default_dtype(torch.float64)  # the cases' own default dtype
    try:
        fn = getattr(K, case["function"])
        got = fn(*case["args"].values(), **case["kwargs"])
    finally:
        torch.set_default_dtype(torch.float32)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    ref = np.array(case["sigmas"])
    assert got.shape == ref.shape
    assert close_to_ref(got.numpy(), ref)


NOISE = case_dirs(NOISE_CASES)


@pytest.mark.parametrize("d", NOISE, ids=os.path.basename)
def test_recorded_noise_case(d, model):
    case, a = load_case(d)
    calls = []

    def noise_sampler(sigma, sigma_next):
        k = len(calls)
        calls.append((float(sigma), float(sigma_next)))
        return torch.from_numpy(a["noise"][k])

    kw = dict(case["sampler"]["kwargs"])
    x = torch.from_numpy(a["init"])
    fn = getattr(K, case["sampler"]["function"])
    s = case["schedule"]
    if "sigmas" in s:
        out = fn(model, x, torch.tensor(s["sigmas"], dtype=torch.float64),
                 noise_sampler=noise_sampler, **kw)
    else:
        out = fn(model, x, s["sigma_min"], s["sigma_max"], s["n"],
                 noise_sampler=noise_sampler, **kw)
    # asked as often, in the same order and at the same sigmas as k-diffusion
    want = case["noise"]["calls"]
    # ... except where k-diffusion draws noise it scales by 0: the last macro
    # step of dpm_fast lands on sigma_min exactly (su = 0), and sgm does not ask
    skipped = want[len(calls):]
    assert len(skipped) == (1 if "dpm_fast" in d else 0)
    # 1e-12: sigmas from exp(-t) in double on both sides, rounding only
    np.testing.assert_allclose(np.array(calls), np.array(want[:len(calls)]), rtol=1e-12)
    assert close_to_ref(out.numpy(), a["ref"])


def test_noise_cases_present():
    assert len(NOISE) == 9
