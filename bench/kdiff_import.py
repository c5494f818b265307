"""Imports k_diffusion/sampling.py from a checkout of crowsonkb/k-diffusion
(none is committed here) without the rest of the package: its __init__ pulls
in torchvision, PIL, safetensors and more that the samplers do not use.

sampling.py needs from its package only utils.append_dims, which is taken
from the checkout's own utils.py (its source, by name); the modules it
imports at the top and the samplers measured here do not call (scipy for
sample_lms, torchdiffeq for log_likelihood, torchsde for the default
Brownian-tree noise, tqdm for progress bars) are stubbed when absent.

    kd = load("/path/to/k-diffusion")      # or $K_DIFFUSION_DIR
    kd.sample_dpmpp_2m(model, x, sigmas, disable=True)

The checkout: `git clone https://github.com/crowsonkb/k-diffusion` and
`git checkout 4601bf085320592473f681a62808ed873d17fad5` (the commit of the
reference cases in tests/data/reference/cases/k-diffusion).
"""
import ast
import importlib.util
import os
import sys
import types

PINNED = "4601bf085320592473f681a62808ed873d17fad5"


def _stub(name, **attrs):
    if name in sys.modules:
        return
    try:
        __import__(name)
        return
    except ImportError:
        pass
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    sys.modules[name] = mod


def _no(*_a, **_k):
    raise RuntimeError("not available in this environment (stubbed by kdiff_import.py)")


class _Bar:  # tqdm stand-in: counts nothing, prints nothing
    def __init__(self, *a, **k):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def update(self, *a):
        pass


def load(path=None):
    path = path or os.environ.get("K_DIFFUSION_DIR")
    if not path:
        raise SystemExit("give the k-diffusion checkout (argument or K_DIFFUSION_DIR)")
    src = os.path.join(path, "k_diffusion", "sampling.py")
    if not os.path.exists(src):
        raise SystemExit("%s: no k_diffusion/sampling.py there" % path)
    import torch  # noqa: F401 - the samplers' own dependency

    try:
        import scipy.integrate  # noqa: F401
    except ImportError:
        integrate = types.ModuleType("scipy.integrate")
        integrate.quad = _no
        sys.modules["scipy"] = types.ModuleType("scipy")
        sys.modules["scipy"].integrate = integrate
        sys.modules["scipy.integrate"] = integrate
    _stub("torchdiffeq", odeint=_no)
    _stub("torchsde", BrownianTree=_no)
    _stub("tqdm")
    _stub("tqdm.auto", trange=lambda n, **k: range(n), tqdm=_Bar)

    # the package k_diffusion with utils.append_dims only, from its own source
    pkg = types.ModuleType("k_diffusion")
    pkg.__path__ = [os.path.join(path, "k_diffusion")]
    utils = types.ModuleType("k_diffusion.utils")
    with open(os.path.join(path, "k_diffusion", "utils.py")) as f:
        tree = ast.parse(f.read())
    fn = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "append_dims"]
    exec(compile(ast.Module(body=fn, type_ignores=[]), "k_diffusion/utils.py", "exec"),
         utils.__dict__)
    pkg.utils = utils
    sys.modules["k_diffusion"], sys.modules["k_diffusion.utils"] = pkg, utils
    spec = importlib.util.spec_from_file_location("k_diffusion.sampling", src)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["k_diffusion.sampling"] = mod
    spec.loader.exec_module(mod)
    return mod
