"""Helpers of the k-diffusion entry-point tests: where the cases are, how
to load one, the reference criterion, and the `model` fixture (imported by
each test module; no conftest.py here, so that python/tests' own conftest
stays the one `from conftest import` finds). torch is required: CTest runs
these as `python_kdiff`, skipped with exit 77 when torch is missing, never
counted as passed; under a plain `pytest python/tests` they are skipped."""
import glob
import json
import os

import numpy as np
import pytest

pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
REF = os.path.join(ROOT, "tests", "data", "reference")
KD_CASES = os.path.join(REF, "cases", "k-diffusion")
NOISE_CASES = os.path.join(HERE, "data")
GMM2D = os.path.join(REF, "models", "gmm2d.json")


def case_dirs(folder, pattern="gmm2d-*"):
    return sorted(glob.glob(os.path.join(folder, pattern)))


def load_case(d):
    with open(os.path.join(d, "case.json")) as f:
        case = json.load(f)
    arrays = {k: np.load(os.path.join(d, k + ".npy"))
              for k in ("init", "ref", "noise") if os.path.exists(os.path.join(d, k + ".npy"))}
    return case, arrays


def close_to_ref(out, ref):
    """The reference cases' criterion (tests/data/reference/README.md): all
    finite and max|out - ref| <= 1e-4 max|ref| (float64 runs of the same
    formulas differ by rounding only; 1e-4 is the shared parity tolerance)."""
    out = np.asarray(out)
    return bool(np.isfinite(out).all()) and \
        float(np.abs(out - ref).max()) <= 1e-4 * float(np.abs(ref).max())


@pytest.fixture(scope="session")
def model():
    from gmm_torch import GmmDenoiser
    return GmmDenoiser(GMM2D)
