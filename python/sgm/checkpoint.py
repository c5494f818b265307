"""A checkpoint's tensors and metadata (sgm_io.h safetensors reader)."""
import ctypes
import json

import numpy as np

from . import _lib
from .errors import check, new_err
from .models import _path

lib = _lib.lib
_NP = {0: np.float32, 1: np.float64, 2: np.int64, 3: np.uint8}  # sgm_st_dtype


class _Loaded:
    """sgm_st_load / sgm_st_free around a with-block."""

    def __init__(self, path):
        self.st, err = _lib.Safetensors(), new_err()
        check(lib.sgm_st_load(_path(path), ctypes.byref(self.st), ctypes.byref(err)), err)

    def __enter__(self):
        return self.st

    def __exit__(self, *exc):
        lib.sgm_st_free(ctypes.byref(self.st))


def _tensor(t):
    shape = tuple(t.shape[i] for i in range(t.ndim))
    dt = np.dtype(_NP[t.dtype])
    count = int(np.prod(shape, dtype=np.int64))
    buf = (ctypes.c_char * (count * dt.itemsize)).from_address(t.data) if count else b""
    return np.frombuffer(buf, dtype=dt, count=count).reshape(shape).copy()


def load_tensors(path, names=None):
    """The tensors of a safetensors file (an sgm checkpoint: "params.<name>",
    "ema.<name>", ...) as a dict of numpy arrays (copies). names: only these
    (sgm_st_find; KeyError for a missing one)."""
    with _Loaded(path) as st:
        if names is None:
            return {st.tensors[i].name.decode(): _tensor(st.tensors[i])
                    for i in range(st.n_tensors)}
        out = {}
        for name in names:
            t = lib.sgm_st_find(ctypes.byref(st), name.encode())
            if not t:
                raise KeyError("%s: no tensor '%s'" % (path, name))
            out[name] = _tensor(t.contents)
        return out


def checkpoint_info(path):
    """A checkpoint's metadata (sgm_ckpt.h): format, arch, arch_config,
    process, training, optimizer, data_stats, ... with the JSON values parsed."""
    with _Loaded(path) as st:
        info = {}
        for i in range(st.n_meta):
            k, v = st.meta_keys[i].decode(), st.meta_vals[i].decode()
            try:
                info[k] = json.loads(v) if v[:1] in "{[" else v
            except ValueError:
                info[k] = v
        return info
