"""sgm from Python: a ctypes binding of libsgm.so (score-based diffusion
models). See python/README.md.

    import sgm
    gmm = sgm.Gmm("tests/data/models/gmm2d.json")
    x = sgm.sample(gmm, n=1000, sampler="dpmpp_2m", schedule="karras", steps=20)
"""
from . import _lib
from .bench import bench
from .checkpoint import checkpoint_info, load_tensors
from .errors import ArgumentError, Error
from .likelihood import nll
from .metrics import energy, frechet, gmm_loglik, mmd2, sw2
from .models import Checkpoint, Gmm
from .process import Process, Schedule, schedule
from .registry import list, samplers  # noqa: A004 - sgm.list() is the API
from .sample import StepInfo, noise, sample, sampler_config
from .train import Trainer, train

__version__ = "0.1.0"
library_path = _lib.path

__all__ = ["ArgumentError", "Checkpoint", "Error", "Gmm", "Process", "Schedule", "StepInfo",
           "checkpoint_info", "energy", "frechet", "gmm_loglik", "list", "load_tensors",
           "mmd2", "nll", "noise", "sample", "sampler_config", "samplers", "schedule", "sw2",
           "Trainer", "train", "bench"]
