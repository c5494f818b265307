"""Bad input through sgm.k_diffusion (issue 11, acceptance 4): wrong dtypes,
non-contiguous tensors, wrong shapes, a model / noise sampler / callback
returning the wrong shape or NaN or raising. Each is a Python exception
(sgm.Error with sgm's status and one-line message, or the caller's own
exception re-raised), never a crash; the process goes on sampling after."""
import os

import numpy as np
import pytest
import torch

import sgm
from sgm import k_diffusion as K
from kdiff_util import KD_CASES, close_to_ref, load_case, model  # noqa: F401 - fixture

CASE = os.path.join(KD_CASES, "gmm2d-dpmpp_2m-karras-n10")


@pytest.fixture
def setup(model):
    case, a = load_case(CASE)
    return model, torch.from_numpy(a["init"]), torch.tensor(case["sigmas"],
                                                             dtype=torch.float64), a["ref"]


def expect(exc_type, status, fn, *args, **kw):
    with pytest.raises(exc_type) as e:
        fn(*args, **kw)
    if status is not None:
        assert e.value.status_name == status, e.value
        assert e.value.message and "\n" not in e.value.message
    return e.value


@pytest.mark.parametrize("dtype", [torch.int64, torch.float16, torch.bfloat16,
                                   torch.complex64, torch.bool])
def test_x_dtype(setup, dtype):
    model, x, sig, _ = setup
    e = expect(sgm.ArgumentError, "SGM_ERR_INVALID_ARG", K.sample_euler, model,
               x.to(dtype), sig)
    assert "dtype" in e.message


def test_numpy_x_dtype(setup):
    model, x, sig, _ = setup
    expect(sgm.ArgumentError, "SGM_ERR_INVALID_ARG", K.sample_euler, model,
           x.numpy().astype(np.int32), sig)


def test_non_contiguous_x_is_copied(setup):
    model, x, sig, ref = setup
    wide = torch.zeros(64, 4, dtype=torch.float64)
    wide[:, ::2] = x
    xs = wide[:, ::2]  # strided view
    assert not xs.is_contiguous()
    out = K.sample_dpmpp_2m(model, xs, sig)
    assert out.is_contiguous() and close_to_ref(out.numpy(), ref)
    xt = x.t().contiguous().t()  # column-major
    assert torch.equal(K.sample_dpmpp_2m(model, xt, sig), out)


@pytest.mark.parametrize("shape", [(0, 2), (), (64, 0)])
def test_x_shape(setup, shape):
    model, _, sig, _ = setup
    expect(sgm.ArgumentError, "SGM_ERR_SHAPE", K.sample_euler, model,
           torch.ones(shape, dtype=torch.float64), sig)


def test_x_not_finite(setup):
    model, x, sig, _ = setup
    x = x.clone()
    x[3, 1] = float("nan")
    expect(sgm.ArgumentError, "SGM_ERR_NONFINITE", K.sample_euler, model, x, sig)


def test_sigmas(setup):
    model, x, sig, _ = setup
    expect(sgm.ArgumentError, "SGM_ERR_SHAPE", K.sample_euler, model, x, sig[None])
    expect(sgm.ArgumentError, "SGM_ERR_SHAPE", K.sample_euler, model, x, sig[:1])
    e = expect(sgm.Error, "SGM_ERR_INVALID_ARG", K.sample_euler, model, x, sig.flip(0))
    assert "decrease" in e.message
    bad = sig.clone()
    bad[2] = float("nan")
    expect(sgm.Error, "SGM_ERR_INVALID_ARG", K.sample_euler, model, x, bad)
    expect(sgm.ArgumentError, None, K.sample_dpm_fast, model, x, 0.0, 80.0, 10)
    expect(sgm.Error, "SGM_ERR_INVALID_ARG", K.sample_dpm_adaptive, model, x, 0.002, 80.0,
           order=4)


def test_model_wrong_shape(setup):
    model, x, sig, _ = setup
    e = expect(sgm.Error, "SGM_ERR_SHAPE", K.sample_dpmpp_2m,
               lambda x, s: model(x, s)[:10], x, sig)
    assert "model returned shape" in e.message


def test_model_wrong_dtype(setup):
    model, x, sig, _ = setup
    expect(sgm.ArgumentError, "SGM_ERR_INVALID_ARG", K.sample_dpmpp_2m,
           lambda x, s: model(x, s).long(), x, sig)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_model_not_finite(setup, bad):
    model, x, sig, _ = setup

    def m(x, s):
        d = model(x, s)
        if float(s[0]) < 1:
            d[5, 0] = bad
        return d

    e = expect(sgm.Error, "SGM_ERR_NONFINITE", K.sample_dpmpp_2m, m, x, sig)
    assert "model returned a non-finite value" in e.message


@pytest.mark.parametrize("bad", [float("nan"), float("-inf")])
def test_model_not_finite_non_contiguous(setup, bad):
    """The same check on the path for outputs that sgm_copy_finite does not
    take (a transposed, non-contiguous tensor)."""
    model, x, sig, _ = setup

    def m(x, s):
        d = model(x, s).t().contiguous().t()
        assert not d.is_contiguous()
        if float(s[0]) < 1:
            d[5, 0] = bad
        return d

    e = expect(sgm.Error, "SGM_ERR_NONFINITE", K.sample_dpmpp_2m, m, x, sig)
    assert "model returned a non-finite value" in e.message


def test_model_non_contiguous_output(setup):
    model, x, sig, ref = setup
    out = K.sample_dpmpp_2m(lambda x, s: model(x, s).t().contiguous().t(), x, sig)
    assert close_to_ref(out.numpy(), ref)


def test_model_float32_output_of_float64_run(setup):
    model, x, sig, ref = setup
    out = K.sample_dpmpp_2m(lambda x, s: model(x, s).float(), x, sig)  # converted, as a copy
    # float32 model values: ~1e-7 relative per call, far below 1e-4
    assert out.dtype == torch.float64 and close_to_ref(out.numpy(), ref)


def test_exceptions_reraised(setup):
    model, x, sig, _ = setup

    class Boom(Exception):
        pass

    def m(x, s):
        raise Boom("model")

    with pytest.raises(Boom):
        K.sample_heun(m, x, sig)

    def cb(info):
        if info["i"] == 3:
            raise Boom("callback")

    with pytest.raises(Boom, match="callback"):
        K.sample_dpmpp_2m(model, x, sig, callback=cb)

    def ns(sigma, sigma_next):
        raise Boom("noise")

    with pytest.raises(Boom, match="noise"):
        K.sample_euler_ancestral(model, x, sig, noise_sampler=ns)
    with pytest.raises(KeyboardInterrupt):
        K.sample_euler(lambda x, s: (_ for _ in ()).throw(KeyboardInterrupt()), x, sig)


def test_noise_sampler_bad_output(setup):
    model, x, sig, _ = setup
    e = expect(sgm.Error, "SGM_ERR_SHAPE", K.sample_euler_ancestral, model, x, sig,
               noise_sampler=lambda s, t: torch.zeros(3))
    assert "noise_sampler returned shape" in e.message
    expect(sgm.Error, "SGM_ERR_NONFINITE", K.sample_dpmpp_2m_sde, model, x, sig,
           noise_sampler=lambda s, t: torch.full((64, 2), float("nan"), dtype=torch.float64))


def test_not_callable(setup):
    model, x, sig, _ = setup
    expect(sgm.ArgumentError, "SGM_ERR_INVALID_ARG", K.sample_euler, "model", x, sig)
    expect(sgm.ArgumentError, "SGM_ERR_INVALID_ARG", K.sample_euler, model, x, sig,
           callback=3)
    expect(sgm.ArgumentError, "SGM_ERR_INVALID_ARG", K.sample_euler_ancestral, model, x, sig,
           noise_sampler=3)
    expect(sgm.ArgumentError, "SGM_ERR_INVALID_ARG", K.sample_dpmpp_2m_sde, model, x, sig,
           solver_type="rk4")


def test_still_works_after_errors(setup):
    model, x, sig, ref = setup
    assert not sgm.sample.__globals__["_runs"]  # nothing left registered
    assert close_to_ref(K.sample_dpmpp_2m(model, x, sig).numpy(), ref)
