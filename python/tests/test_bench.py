"""sgm.bench: the same rows as `sgm bench` (its CSV, timings aside), a
trained checkpoint with the mixture's metrics, and bad input."""
import csv
import subprocess

import numpy as np
import pytest

import sgm
from conftest import GMM_JSON


def rows_without_time(path):
    with open(path) as f:
        r = list(csv.DictReader(f))
    for row in r:
        row.pop("seconds")
    return r


def test_equals_cli(cli, gmm, tmp_path):
    out = sgm.bench(gmm, ["euler", "dpmpp_2m", "euler_a"], nfe=[5, 10], n=200,
                    projections=32, csv=tmp_path / "py.csv", plot=tmp_path / "py.png")
    subprocess.run([cli, "bench", "--model", "gmm:" + GMM_JSON, "--samplers",
                    "euler,dpmpp_2m,euler_a", "--nfe", "5,10", "--n", "200", "--projections",
                    "32", "--csv", str(tmp_path / "cli.csv"), "--quiet"], check=True,
                   capture_output=True)
    assert rows_without_time(tmp_path / "py.csv") == rows_without_time(tmp_path / "cli.csv")
    assert (tmp_path / "py.png").stat().st_size > 0
    # the returned rows: per schedule the baselines, then sampler x budget
    assert [r["sampler"] for r in out[:2]] == ["exact", "reference"]
    grid = [r for r in out if r["sampler"] not in ("exact", "reference")]
    assert len(grid) == 3 * 2 * 2 and all(r["status"] == 0 for r in grid)
    dp = {(r["schedule"], r["nfe_budget"]): r for r in grid if r["sampler"] == "dpmpp_2m"}
    for sch in ("karras", "logsnr"):  # more evaluations, smaller error
        assert dp[(sch, 10)]["err_rms"] < dp[(sch, 5)]["err_rms"]
    ea = [r for r in grid if r["sampler"] == "euler_a"]
    assert ea and all(r["stochastic"] and np.isnan(r["err_rms"]) and np.isfinite(r["sw2"])
                      for r in ea)


def test_checkpoint_with_mixture(gmm, tmp_path):
    x = gmm.sample(4000, seed=2)
    sgm.train(x, tmp_path / "m.safetensors", steps=30, width=32, depth=1, emb=16, batch=128)
    m = sgm.Checkpoint(tmp_path / "m.safetensors")
    seen = []
    out = sgm.bench(m, ["dpmpp_2m"], "karras", [5, 10], n=100, projections=16, gmm=gmm,
                    callback=seen.append)
    grid = [r for r in out if r["sampler"] == "dpmpp_2m"]
    assert [r["nfe_budget"] for r in grid] == [5, 10]
    assert [r["sampler"] for r in seen] == ["exact", "reference", "dpmpp_2m", "dpmpp_2m"]
    assert all(np.isfinite(r["err_rms"]) and np.isfinite(r["sw2"]) for r in grid)
    # without the mixture: errors only
    out = sgm.bench(m, ["dpmpp_2m"], "karras", 5, n=100)
    r = [r for r in out if r["sampler"] == "dpmpp_2m"][0]
    assert np.isfinite(r["err_rms"]) and np.isnan(r["sw2"])


def test_bad_input(gmm, tmp_path):
    with pytest.raises(sgm.Error) as e:
        sgm.bench(gmm, ["no_such_sampler"], nfe=[5], n=50)
    assert "no_such_sampler" in e.value.message
    with pytest.raises(sgm.Error) as e:
        sgm.bench(gmm, ["euler"], "no_such_schedule", [5], n=50)
    assert e.value.status_name == "SGM_ERR_UNKNOWN_NAME"
    for kw in ({"nfe": [0]}, {"nfe": []}, {"n": 1}, {"ref_rtol": 2.0}, {"samplers": []},
               {"gmm": gmm}):
        with pytest.raises(sgm.ArgumentError):
            sgm.bench(gmm, **{"samplers": ["euler"], "nfe": [5], "n": 50, **kw})
    with pytest.raises(sgm.ArgumentError):
        sgm.bench("gmm.json")

    class Boom(Exception):
        pass

    def cb(row):
        raise Boom()
    with pytest.raises(Boom):
        sgm.bench(gmm, ["euler"], "karras", [5], n=50, metrics=False, callback=cb)
    with pytest.raises(sgm.Error) as e:
        sgm.bench(gmm, ["euler"], "karras", [5], n=50, csv=tmp_path / "no" / "x.csv")
    assert e.value.status_name == "SGM_ERR_IO"
