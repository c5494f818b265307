"""The registry, processes and schedules, checkpoints, nll and metrics."""
import os
import subprocess

import numpy as np
import pytest

import sgm
from conftest import GMM_JSON, ROOT

CKPT = os.path.join(ROOT, "tests", "data", "ckpt", "mlp_v1_0.safetensors")


def test_list():
    L = sgm.list()
    names = [s["name"] for s in L["samplers"]]
    assert "dpmpp_2m" in names and "euler_a" in names
    euler_a = L["samplers"][names.index("euler_a")]
    assert euler_a["stochastic"] and "euler_ancestral" in euler_a["aliases"]
    assert "karras" in L["schedules"] and "ve" in L["processes"] and "eps" in L["predictions"]
    # aliases sample like the canonical name
    g = sgm.Gmm(GMM_JSON)
    assert np.array_equal(sgm.sample(g, n=4, sampler="k_euler_a", steps=4),
                          sgm.sample(g, n=4, sampler="euler_a", steps=4))


def test_schedule_matches_cli(cli, tmp_path):
    s = sgm.schedule("ve", "karras", 10)
    assert len(s) == 11 and s.sigma[0] == pytest.approx(80) and s.sigma[-1] == 0
    assert np.all(np.diff(s.t) < 0) and np.all(s.alpha == 1)
    vp = sgm.schedule(sgm.Process("vp"), "logsnr", 5)
    p = vp.process
    assert np.allclose(vp.alpha, p.alpha(vp.t))
    assert np.allclose(vp.sigma[:-1], p.sigma(vp.t[:-1]) / p.alpha(vp.t[:-1]))


def test_prediction_types(gmm):
    """A Python eps / v denoiser built from the mixture samples like x0."""
    ref = sgm.sample(gmm, n=16, sampler="heun", steps=6)

    def eps(x, t, s, a):
        return (x - a * gmm(x, t, s, a)) / s

    def v(x, t, s, a):
        x0 = gmm(x, t, s, a)
        return a * (x - a * x0) / s - s * x0

    for f, pred in ((eps, "eps"), (v, "v")):
        got = sgm.sample(f, n=16, d=2, sampler="heun", steps=6, prediction=pred)
        assert np.allclose(got, ref, atol=1e-8)


def test_checkpoint_equals_cli(cli, tmp_path):
    m = sgm.Checkpoint(CKPT)
    assert m.dim == 2 and m.image_shape is None
    out = str(tmp_path / "c.npy")
    subprocess.run([cli, "sample", "--model", "ckpt:" + CKPT, "--sampler", "dpmpp_2m",
                    "--schedule", "karras", "--steps", "6", "--n", "16", "--seed", "5",
                    "--out", out, "--quiet"], check=True, capture_output=True)
    got = sgm.sample(m, n=16, sampler="dpmpp_2m", steps=6, seed=5)
    assert np.array_equal(got, np.load(out))
    z = m.standardize(got)
    assert np.allclose(m.unstandardize(z), got)
    with pytest.raises(sgm.Error):
        sgm.sample(m, n=4, process="flow" if m.process.kind != "flow" else "ve")


def test_checkpoint_tensors_and_info():
    t = sgm.load_tensors(CKPT)
    assert any(k.startswith("params.") for k in t) and any(k.startswith("ema.") for k in t)
    name = next(k for k in t if k.startswith("params."))
    one = sgm.load_tensors(CKPT, [name])
    assert np.array_equal(one[name], t[name]) and one[name].dtype == np.float32
    with pytest.raises(KeyError):
        sgm.load_tensors(CKPT, ["nope"])
    info = sgm.checkpoint_info(CKPT)
    assert info["format"].startswith("sgm-checkpoint-1") and info["arch"] == "mlp"
    assert isinstance(info["process"], dict)


def test_nll_gmm(gmm):
    x = gmm.sample(8, seed=3)
    lp = sgm.nll(gmm, x)
    # the ODE density at t_eps is the mixture convolved with a tiny noise
    assert np.allclose(lp, gmm.logpdf(x, 0.002), atol=2e-2)
    lp2, nfe = sgm.nll(gmm, x, return_nfe=True)
    assert np.array_equal(lp, lp2) and np.all(nfe > 0)
    with pytest.raises(sgm.Error):
        sgm.nll(gmm, np.zeros((3, 5)))


def test_nll_checkpoint():
    m = sgm.Checkpoint(CKPT)
    lp = sgm.nll(m, np.zeros((2, 2)), rtol=1e-3, atol=1e-3)
    assert lp.shape == (2,) and np.all(np.isfinite(lp))


def test_metrics(gmm):
    a, b = gmm.sample(300, seed=1), gmm.sample(300, seed=2)
    assert sgm.sw2(a, a)["value"] == pytest.approx(0, abs=1e-12)
    assert sgm.frechet(a, a + 1.0)["value"] == pytest.approx(2.0, rel=1e-9)
    assert abs(sgm.mmd2(a, b)["value"]) < 0.05
    assert sgm.energy(a, b + 10)["value"] > 1
    ll = sgm.gmm_loglik(gmm, a)
    assert np.isfinite(ll["value"]) and ll["se"] > 0
    with pytest.raises(sgm.Error):
        sgm.sw2(a, np.zeros((10, 3)))
    with pytest.raises(sgm.Error):
        sgm.sw2(a, b, n_projections=0)
    with pytest.raises(sgm.Error):
        sgm.mmd2(a, np.full((3, 2), np.nan))
