"""sgm.k_diffusion beyond the reference numbers: numpy in and out without
torch, float32, shapes [batch, ...], extra_args, k-diffusion's callback dict,
seeds, return_info, and inputs left alone."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import sgm
from sgm import k_diffusion as K
from kdiff_util import KD_CASES, ROOT, close_to_ref, load_case, model  # noqa: F401 - fixture

CASE = os.path.join(KD_CASES, "gmm2d-dpmpp_2m-karras-n10")


def sigmas64(case):
    return torch.tensor(case["sigmas"], dtype=torch.float64)


def test_numpy_in_numpy_out(model):
    case, a = load_case(CASE)
    ref = K.sample_dpmpp_2m(model, torch.from_numpy(a["init"]), sigmas64(case))

    def np_model(x, sigma):
        assert isinstance(x, np.ndarray) and isinstance(sigma, np.ndarray)
        return model(torch.from_numpy(x), torch.from_numpy(sigma)).numpy()

    out = K.sample_dpmpp_2m(np_model, a["init"], np.array(case["sigmas"]))
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    # the same C arithmetic on the same model values: bit for bit
    assert np.array_equal(out, ref.numpy())


def test_numpy_path_does_not_import_torch():
    code = ("import sys, numpy as np; from sgm import k_diffusion as K; "
            "s = K.get_sigmas_karras(5, 0.1, 10.0) if 'torch' in sys.modules else None; "
            "x = np.ones((4, 3)) * 10.0; sig = np.array([10.0, 1.0, 0.1, 0.0]); "
            "out = K.sample_euler(lambda x, s: x / (1 + s[:, None] ** 2), x, sig); "
            "assert isinstance(out, np.ndarray) and out.shape == (4, 3); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_float32(model):
    case, a = load_case(CASE)
    out = K.sample_dpmpp_2m(model, torch.from_numpy(a["init"]).float(),
                            torch.tensor(case["sigmas"]))
    assert out.dtype == torch.float32
    # float32 storage over 10 steps of values up to ~80: ~1e-6 relative per
    # step; 1e-4 (the parity tolerance) leaves a wide margin and still fails
    # on any wrong step
    assert close_to_ref(out.double().numpy(), a["ref"])


def test_extra_dims_and_extra_args(model):
    case, a = load_case(CASE)
    seen = []

    def m(x, sigma, scale=None):
        seen.append((tuple(x.shape), tuple(sigma.shape), scale))
        return model(x.reshape(-1, 2), sigma).reshape(x.shape)

    x = torch.from_numpy(a["init"]).reshape(64, 1, 2)
    out = K.sample_dpmpp_2m(m, x, sigmas64(case), extra_args={"scale": 3})
    assert out.shape == (64, 1, 2)
    assert seen[0] == ((64, 1, 2), (64,), 3) and len(seen) == 10
    assert close_to_ref(out.reshape(64, 2).numpy(), a["ref"])


def test_inputs_untouched(model):
    case, a = load_case(CASE)
    x = torch.from_numpy(a["init"].copy())
    sig = sigmas64(case)
    out = K.sample_dpmpp_2m(model, x, sig)
    assert torch.equal(x, torch.from_numpy(a["init"])) and out.data_ptr() != x.data_ptr()
    assert torch.equal(sig, sigmas64(case))


@pytest.mark.parametrize("name", ["sample_euler", "sample_heun", "sample_dpmpp_2m",
                                  "sample_lms", "sample_dpmpp_2s_ancestral"])
def test_callback_dict(model, name):
    case, a = load_case(CASE)
    sig = sigmas64(case)
    got = []
    kw = {"eta": 0.0} if "ancestral" in name else {}
    getattr(K, name)(model, torch.from_numpy(a["init"]), sig, callback=got.append, **kw)
    assert [g["i"] for g in got] == list(range(len(sig) - 1))
    for g in got:
        assert set(g) == {"x", "i", "sigma", "sigma_hat", "denoised"}
        assert float(g["sigma"]) == float(sig[g["i"]]) == float(g["sigma_hat"])
        # denoised is the model at (x, sigma) of that step (same values: 0 tolerance)
        s = torch.full((64,), float(g["sigma"]), dtype=torch.float64)
        assert torch.equal(g["denoised"], model(g["x"], s))
    assert torch.equal(got[0]["x"], torch.from_numpy(a["init"]))


def test_callback_adaptive(model):
    case, a = load_case(os.path.join(KD_CASES, "gmm2d-dpm_adaptive-o3_default"))
    kw = dict(case["sampler"]["kwargs"])
    got = []
    x, info = K.sample_dpm_adaptive(model, torch.from_numpy(a["init"]), kw.pop("sigma_min"),
                                    kw.pop("sigma_max"), callback=got.append,
                                    return_info=True, **kw)
    assert info == case["adaptive_info"]  # steps, nfe, n_accept, n_reject
    # once per accepted step (k-diffusion: per attempt; documented in the module)
    assert len(got) == info["n_accept"] and {"t", "t_up", "sigma", "denoised"} <= set(got[0])
    assert close_to_ref(x.numpy(), a["ref"])


@pytest.mark.parametrize("name", ["sample_euler_ancestral", "sample_dpm_2_ancestral",
                                  "sample_dpmpp_2s_ancestral", "sample_dpmpp_sde",
                                  "sample_dpmpp_2m_sde", "sample_dpmpp_3m_sde"])
def test_seeds(model, name):
    case, a = load_case(CASE)
    x, sig, fn = torch.from_numpy(a["init"]), sigmas64(case), getattr(K, name)
    torch.manual_seed(7)
    r1 = fn(model, x, sig)
    torch.manual_seed(7)
    r2 = fn(model, x, sig)
    r3 = fn(model, x, sig)
    assert torch.equal(r1, r2) and not torch.equal(r1, r3)  # torch's seed decides
    assert torch.equal(fn(model, x, sig, seed=3), fn(model, x, sig, seed=3))
    assert torch.isfinite(r1).all()


def test_sgm_noise_is_philox(model):
    """With eta = 1 and no noise_sampler, euler_ancestral's noise is sgm's
    Philox draw 1, 2, ... of the seed: a noise_sampler handing over exactly
    those normals gives the same result bit for bit."""
    case, a = load_case(CASE)
    x, sig = torch.from_numpy(a["init"]), sigmas64(case)
    draws = iter(range(1, 100))

    def philox(sigma, sigma_next):
        return torch.from_numpy(sgm.noise(64, 2, seed=11, draw=next(draws)))

    ref = K.sample_euler_ancestral(model, x, sig, seed=11)
    assert torch.equal(K.sample_euler_ancestral(model, x, sig, noise_sampler=philox), ref)


def test_threads_and_sampler_cache(model):
    """Samplers are kept between calls (sgm.sample.SamplerCache); threads
    running the same configuration at once each get their own: 4 threads x
    5 runs all give the single-thread result bit for bit."""
    import threading
    case, a = load_case(CASE)
    x, sig = torch.from_numpy(a["init"]), sigmas64(case)
    ref = K.sample_dpmpp_2m(model, x, sig)
    bad = []

    def work():
        for _ in range(5):
            if not torch.equal(K.sample_dpmpp_2m(model, x, sig), ref):
                bad.append(1)

    th = [threading.Thread(target=work) for _ in range(4)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    assert not bad and len(K._CACHE.items) <= K._CACHE.size


def test_module_with_parameters_runs_without_grad():
    """An nn.Module model with trainable parameters: calls run under
    torch.no_grad() as k-diffusion's samplers do (no graph is built, the
    result needs no grad)."""
    net = torch.nn.Linear(2, 2).double()
    grad_modes = []

    def m(x, sigma):
        grad_modes.append(torch.is_grad_enabled())
        return x - net(x) / (1 + sigma[:, None])

    x = torch.randn(8, 2, dtype=torch.float64)
    out = K.sample_euler(m, x, torch.tensor([5.0, 1.0, 0.0], dtype=torch.float64))
    assert grad_modes == [False, False] and not out.requires_grad
    assert torch.is_grad_enabled()
