"""Shared fixtures: the repository root, the CLI and the test mixture."""
import os
import shutil

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GMM_JSON = os.path.join(ROOT, "tests", "data", "models", "gmm2d.json")


def _cli():
    """The sgm CLI beside the library in use (SGM_CLI overrides)."""
    import sgm
    env = os.environ.get("SGM_CLI")
    if env:
        return env
    cand = os.path.join(os.path.dirname(os.path.abspath(sgm.library_path)), "sgm")
    return cand if os.path.exists(cand) else shutil.which("sgm")


@pytest.fixture(scope="session")
def cli():
    path = _cli()
    if not path:
        pytest.skip("no sgm CLI found (set SGM_CLI)")
    return path


@pytest.fixture(scope="session")
def gmm():
    import sgm
    return sgm.Gmm(GMM_JSON)
