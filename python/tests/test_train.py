"""sgm.Trainer / sgm.train: the same trainer as `sgm train` (bitwise equal
checkpoints), its per-network defaults, resume, the U-Net with labels, and
bad input."""
import subprocess

import numpy as np
import pytest

import sgm

SMALL = dict(width=32, depth=1, emb=16, batch=128)
CLI_SMALL = ["--width", "32", "--depth", "1", "--emb", "16", "--batch", "128"]


@pytest.fixture(scope="module")
def x(gmm):
    return gmm.sample(2000, seed=3)


def same_tensors(a, b):
    ta, tb = sgm.load_tensors(a), sgm.load_tensors(b)
    assert ta.keys() == tb.keys()
    for k in ta:
        assert np.array_equal(ta[k], tb[k]), k


@pytest.mark.parametrize("extra", [{}, {"prediction": "eps", "process": "ve", "lr": 3e-3}])
def test_equals_cli(cli, x, tmp_path, extra):
    np.save(tmp_path / "x.npy", x)
    r = sgm.train(x, tmp_path / "py.safetensors", steps=40, seed=5, **SMALL, **extra)
    assert r["steps"] == 40 and np.isfinite(r["loss"]) and np.isfinite(r["ema_loss"])
    flags = []
    for k, v in extra.items():
        flags += ["--" + k, str(v)]
    subprocess.run([cli, "train", "--data", str(tmp_path / "x.npy"),
                    "--out", str(tmp_path / "cli.safetensors"), "--steps", "40", "--seed", "5",
                    *CLI_SMALL, *flags], check=True, capture_output=True)
    same_tensors(tmp_path / "py.safetensors", tmp_path / "cli.safetensors")
    # the checkpoint samples like any other
    m = sgm.Checkpoint(tmp_path / "py.safetensors")
    s = sgm.sample(m, n=50, sampler="dpmpp_2m", steps=10, seed=1)
    assert s.shape == (50, 2) and np.isfinite(s).all()


def test_defaults_follow_the_network(x):
    # sgm train's defaults (sgm_train_config_for): the mlp with EDM at 2e-3,
    # the U-Net and the MR process with eps at the library's 1e-3
    with sgm.Trainer(x, **SMALL) as t:
        c = t.config
        assert (c.param, c.lr, c.net.arch) == (4, 2e-3, 0)
    img = np.zeros((8, 64))
    with sgm.Trainer(img, arch="unet", image_shape=(1, 8, 8), unet_base=8, unet_mult=(1, 2),
                     unet_attn=(0, 0), unet_res=1, unet_groups=4, batch=4) as t:
        c = t.config
        assert (c.param, c.lr, c.net.arch, c.net.unet.n_levels) == (0, 1e-3, 1, 2)
    with sgm.Trainer(x, process="mr", degrade="noise:0.1", **SMALL) as t:
        c = t.config
        assert (c.param, c.lr, c.net.mlp.d_cond) == (0, 1e-3, 2)


def test_resume_is_bitwise(x, tmp_path):
    with sgm.Trainer(x, steps=30, seed=2, **SMALL) as t:
        t.step(30)
        t.save(tmp_path / "straight.safetensors")
    with sgm.Trainer(x, steps=30, seed=2, **SMALL) as t:
        t.step(20)
        t.save(tmp_path / "half.safetensors")
    with sgm.Trainer.resume(tmp_path / "half.safetensors", x) as t:
        assert t.steps_done == 20
        t.step(10)
        t.save(tmp_path / "resumed.safetensors")
    same_tensors(tmp_path / "straight.safetensors", tmp_path / "resumed.safetensors")


def test_unet_with_labels(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.uniform(-1, 1, (16, 64))
    labels = np.arange(16) % 3
    stops = []
    r = sgm.train(img, tmp_path / "u.safetensors", steps=5, arch="unet", image_shape=(1, 8, 8),
                  unet_base=8, unet_mult=(1, 2), unet_attn=(0, 1), unet_res=1, unet_groups=4,
                  classes=3, labels=labels, batch=4,
                  callback=lambda k, loss: stops.append(k) or k == 3)
    assert r["steps"] == 3 and stops == [1, 2, 3]  # the callback stopped it after step 3
    m = sgm.Checkpoint(tmp_path / "u.safetensors")
    assert m.n_classes == 3 and m.image_shape == (1, 8, 8) and m.param == "eps"


@pytest.mark.parametrize("kw, status, text", [
    ({"arch": "cnn"}, "SGM_ERR_UNKNOWN_NAME", "arch"),
    ({"process": "nope"}, "SGM_ERR_UNKNOWN_NAME", "process"),
    ({"prediction": "score"}, "SGM_ERR_UNKNOWN_NAME", "prediction"),
    ({"weighting": "heavy"}, "SGM_ERR_UNKNOWN_NAME", "weighting"),
    ({"learning_rate": 1e-3}, "SGM_ERR_INVALID_ARG", "unknown option 'learning_rate'"),
    ({"lr": float("nan")}, "SGM_ERR_INVALID_ARG", "lr"),
    ({"lr": -1.0}, "SGM_ERR_INVALID_ARG", ""),
    ({"batch": 0}, "SGM_ERR_INVALID_ARG", "batch"),
    ({"steps": 0}, "SGM_ERR_INVALID_ARG", "steps"),
    ({"precision": "fp8"}, "SGM_ERR_UNKNOWN_NAME", "precision"),
    ({"image_shape": (1, 2, 1)}, "SGM_ERR_INVALID_ARG", "image_shape is for arch unet"),
    ({"arch": "unet"}, "SGM_ERR_INVALID_ARG", "image_shape"),
    ({"arch": "unet", "image_shape": (1, 4, 4)}, "SGM_ERR_SHAPE", "needs 16 columns"),
    ({"process": "mr"}, "SGM_ERR_INVALID_ARG", ""),
])
def test_bad_options(x, kw, status, text):
    with pytest.raises(sgm.Error) as e:
        sgm.Trainer(x, **kw)
    assert e.value.status_name == status and text in e.value.message


@pytest.mark.parametrize("data, status", [
    (np.zeros(10), "SGM_ERR_SHAPE"),
    (np.zeros((0, 2)), "SGM_ERR_SHAPE"),
    (np.array([[1.0, np.nan]]), "SGM_ERR_NONFINITE"),
    (np.array([["a", "b"]]), "SGM_ERR_INVALID_ARG"),
])
def test_bad_data(data, status):
    with pytest.raises(sgm.Error) as e:
        sgm.Trainer(data)
    assert e.value.status_name == status


def test_bad_labels_and_closed(x):
    img = np.zeros((8, 64))
    opts = dict(arch="unet", image_shape=(1, 8, 8), unet_base=8, unet_mult=(1, 2),
                unet_attn=(0, 0), unet_res=1, unet_groups=4, batch=4, classes=2)
    with pytest.raises(sgm.Error) as e:
        sgm.Trainer(img, labels=np.array([0, 1, 2, 0, 1, 0, 1, 0]), **opts)  # 2 is out of range
    assert e.value.status_name == "SGM_ERR_INVALID_ARG"
    with pytest.raises(sgm.Error) as e:
        sgm.Trainer(img, labels=np.zeros(3, dtype=int), **opts)  # wrong row count
    assert e.value.status_name == "SGM_ERR_SHAPE"
    with pytest.raises(sgm.ArgumentError):
        sgm.Trainer(img, labels=np.zeros(8), **opts)  # float labels
    t = sgm.Trainer(x, **SMALL)
    t.close()
    with pytest.raises(sgm.ArgumentError, match="closed"):
        t.step()
