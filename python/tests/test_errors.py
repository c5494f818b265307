"""Bad input raises (sgm.Error, with sgm's status name), never crashes."""
import os
import subprocess
import sys

import numpy as np
import pytest

import sgm

X = np.zeros((4, 2))


def ident(x, t, sigma, alpha):
    return x / alpha


def status(excinfo):
    return excinfo.value.status_name


def test_error_class():
    assert issubclass(sgm.Error, RuntimeError)
    assert issubclass(sgm.ArgumentError, sgm.Error)


@pytest.mark.parametrize("kw,name", [
    ({"sampler": "nope"}, "SGM_ERR_UNKNOWN_NAME"),
    ({"schedule": "nope"}, "SGM_ERR_UNKNOWN_NAME"),
    ({"process": "nope"}, "SGM_ERR_UNKNOWN_NAME"),
    ({"prediction": "nope"}, "SGM_ERR_UNKNOWN_NAME"),
    ({"noise": "nope"}, "SGM_ERR_UNKNOWN_NAME"),
    ({"bogus_option": 1}, "SGM_ERR_INVALID_ARG"),
    ({"steps": 0}, "SGM_ERR_INVALID_ARG"),
    ({"order": 1.5}, "SGM_ERR_INVALID_ARG"),
    ({"sampler": "dpm_solver", "order": 9}, "SGM_ERR_INVALID_ARG"),
])
def test_bad_names_and_options(kw, name):
    with pytest.raises(sgm.Error) as e:
        sgm.sample(ident, X, **kw)
    assert status(e) == name
    assert e.value.message


@pytest.mark.parametrize("x_T", [np.zeros((4, 2), dtype=np.int64), np.zeros((4, 2), np.complex128),
                                 np.zeros((4, 2), np.float16), np.array([["a", "b"]])])
def test_bad_dtype(x_T):
    with pytest.raises(sgm.ArgumentError):
        sgm.sample(ident, x_T)


@pytest.mark.parametrize("x_T", [np.zeros((0, 2)), np.zeros(()), np.full((2, 2), np.nan)])
def test_bad_start(x_T):
    with pytest.raises(sgm.Error):
        sgm.sample(ident, x_T)


def test_shape_against_model(gmm):
    with pytest.raises(sgm.Error) as e:
        sgm.sample(gmm, np.zeros((4, 3)))
    assert status(e) == "SGM_ERR_SHAPE"
    with pytest.raises(sgm.Error):
        sgm.sample(ident, n=4)  # no dimension
    with pytest.raises(sgm.Error):
        sgm.sample(object(), X)  # not callable


def test_non_contiguous_is_copied(gmm):
    """x_T is always copied: a strided view gives the contiguous result and
    is left untouched."""
    x = np.random.default_rng(0).normal(size=(8, 4)) * 80
    view = x[:, ::2]
    before = view.copy()
    a = sgm.sample(gmm, view, steps=5)
    assert np.array_equal(a, sgm.sample(gmm, np.ascontiguousarray(view), steps=5))
    assert np.array_equal(view, before)
    f = np.asfortranarray(x[:, :2])
    assert np.array_equal(sgm.sample(gmm, f, steps=5), sgm.sample(gmm, x[:, :2].copy(), steps=5))


@pytest.mark.parametrize("bad,name", [
    (lambda x, t, s, a: x[:, :1], "SGM_ERR_SHAPE"),
    (lambda x, t, s, a: x.ravel(), "SGM_ERR_SHAPE"),
    (lambda x, t, s, a: None, "SGM_ERR_SHAPE"),
    (lambda x, t, s, a: np.full_like(x, np.nan), "SGM_ERR_NONFINITE"),
    (lambda x, t, s, a: np.full_like(x, np.inf), "SGM_ERR_NONFINITE"),
    (lambda x, t, s, a: np.zeros(x.shape, dtype=np.int32), "SGM_ERR_INVALID_ARG"),
    (lambda x, t, s, a: [["x", "y"]] * len(x), "SGM_ERR_INVALID_ARG"),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bad_denoiser_output(bad, name, dtype):
    with pytest.raises(sgm.Error) as e:
        sgm.sample(bad, X.astype(dtype) + 1, steps=3)
    assert status(e) == name


def test_denoiser_may_not_write_x():
    def writes(x, t, s, a):
        x[0, 0] = 1.0
        return x
    with pytest.raises(ValueError):
        sgm.sample(writes, X + 1, steps=3)


class Boom(Exception):
    pass


def test_denoiser_exception_is_reraised():
    calls = []

    def f(x, t, s, a):
        calls.append(t)
        if len(calls) == 3:
            raise Boom("third call")
        return x / a
    with pytest.raises(Boom, match="third call"):
        sgm.sample(f, X + 1, sampler="euler", steps=10)
    assert len(calls) == 3  # the run stopped at once


def test_callback_exception_and_stop(gmm):
    seen = []

    def cb(info):
        seen.append(info)
        if info.step == 2:
            raise Boom("from the callback")
    with pytest.raises(Boom):
        sgm.sample(gmm, n=4, sampler="euler", steps=10, callback=cb)
    assert [i.step for i in seen] == [0, 1, 2]
    assert seen[0].x.shape == (4, 2) and seen[0].n_steps == 10

    with pytest.raises(sgm.Error) as e:
        sgm.sample(gmm, n=4, sampler="euler", steps=10, callback=lambda info: info.step == 4)
    assert status(e) == "SGM_ERR_ABORTED"
    out = sgm.sample(gmm, n=4, steps=5, callback=lambda info: None)  # None: go on
    assert out.shape == (4, 2)


def test_model_files(tmp_path):
    with pytest.raises(sgm.Error) as e:
        sgm.Gmm(str(tmp_path / "missing.json"))
    assert status(e) == "SGM_ERR_IO"
    with pytest.raises(sgm.Error):
        sgm.Gmm.from_json('{"kind": "gmm", "dim": 2}')
    with pytest.raises(sgm.Error):
        sgm.Checkpoint(str(tmp_path / "missing.safetensors"))
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x05\0\0\0\0\0\0\0{}")
    with pytest.raises(sgm.Error) as e:
        sgm.load_tensors(str(bad))
    assert status(e) == "SGM_ERR_FORMAT"
    with pytest.raises(sgm.Error):
        sgm.Gmm(42)


def test_import_error_names_where_it_looked(tmp_path):
    env = dict(os.environ, SGM_LIBRARY=str(tmp_path / "nowhere.so"))
    r = subprocess.run([sys.executable, "-c", "import sgm"], env=env, capture_output=True,
                       text=True, cwd=os.path.dirname(os.path.dirname(sgm.__file__)))
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "nowhere.so" in r.stderr
