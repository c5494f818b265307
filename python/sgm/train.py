"""Training in-process (sgm_train.h): denoising score matching on a numpy
array, the same trainer as `sgm train` with the same defaults and results.

    t = sgm.Trainer(x, steps=3000)           # x: [rows, d] data (float)
    for _ in range(3000):
        loss = t.step()
    t.save("m.safetensors")                  # then sgm.Checkpoint("m.safetensors")

or in one call: sgm.train(x, "m.safetensors", steps=3000).
"""
import ctypes
import math
import os

import numpy as np

from . import _lib
from .errors import ArgumentError, Error, check, new_err, shape_error
from .models import _path
from .registry import parse_enum

lib = _lib.lib
_ARCH = {"mlp": 0, "unet": 1}


# option -> (where in sgm_train_config, kind); kind: float, int, name
# (an sgm_enum), "levels" (a per-level list of the U-Net), "str" (a char array)
_OPTIONS = {
    "batch": ("batch", int), "lr": ("lr", float), "lr_min": ("lr_min", float),
    "warmup": ("warmup", int), "ema": ("ema", float), "ema_warmup": ("ema_warmup", int),
    "seed": ("seed", int), "sigma_data": ("sigma_data", float),
    "min_snr_gamma": ("min_snr_gamma", float), "p_mean": ("p_mean", float),
    "p_std": ("p_std", float), "t_lo": ("t_lo", float), "t_hi": ("t_hi", float),
    "beta1": ("beta1", float), "beta2": ("beta2", float), "adam_eps": ("adam_eps", float),
    "weight_decay": ("weight_decay", float), "decoupled": ("decoupled", int),
    "clip": ("clip", float), "label_dropout": ("label_dropout", float),
    "weighting": ("weighting", _lib.ENUM_WEIGHTING), "t_sampling": ("tsampling", _lib.ENUM_TSAMPLING),
    "degrade": ("degrade", "str"), "degrade_seed": ("degrade_seed", int),
    # the mlp
    "width": ("net.mlp.width", int), "depth": ("net.mlp.n_blocks", int),
    "emb": ("net.mlp.d_emb", int),
    # the U-Net
    "unet_base": ("net.unet.base_ch", int), "unet_mult": ("net.unet.mult", "levels"),
    "unet_attn": ("net.unet.attn", "levels"), "unet_mid_attn": ("net.unet.mid_attn", int),
    "unet_res": ("net.unet.n_res", int), "unet_groups": ("net.unet.groups", int),
    "unet_heads": ("net.unet.heads", int), "unet_emb": ("net.unet.emb_dim", int),
    "classes": ("net.unet.n_classes", int),
}


def _set(cfg, path, value):
    *parents, leaf = path.split(".")
    obj = cfg
    for p in parents:
        obj = getattr(obj, p)
    setattr(obj, leaf, value)


def _data(x, what="data"):
    x = np.asarray(x)
    if x.dtype.kind not in "fiu":
        raise ArgumentError("%s: dtype %s is not supported (a float array)" % (what, x.dtype))
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise shape_error("%s: expected a non-empty [rows, d] array, got shape %s"
                          % (what, x.shape))
    x = np.ascontiguousarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise Error(-8, "%s: contains NaN or inf" % what)
    return x


class Trainer:
    """A trainer (sgm_trainer) on `data` [rows, d] (copied; standardized per
    column for the mlp, images in [-1, 1] as given for the U-Net).

    arch: "mlp" or "unet" (then image_shape=(C, H, W) with C H W = d);
    process: a process name ("vp", "ve", "edm", "flow", ..., "mr" with
    degrade="blur:1.5" etc.); prediction: the training parameterization
    ("eps", "x0", "v", "flow", "edm"; default as `sgm train`: edm for the
    mlp, eps for the U-Net and for mr, with sgm's measured learning rate for
    each: sgm_train_config_for); steps: the run's length, which ends the
    cosine decay of the learning rate (as `sgm train --steps`; None: the
    rate stays constant after the warm-up unless lr_min < 0).
    labels: class labels (ints in [0, classes)) for a class-conditional
    U-Net (classes=K). Other options by name, as `sgm train`'s flags with _
    for -: batch, lr, lr_min, warmup, ema, ema_warmup, seed, sigma_data,
    weighting, t_sampling, p_mean, p_std, clip, weight_decay, label_dropout,
    precision ("fp32" / "bf16"), width, depth, emb (mlp), unet_base,
    unet_mult, unet_attn, unet_mid_attn, unet_res, unet_groups, unet_heads,
    unet_emb, classes (U-Net), degrade, degrade_seed (mr).
    """

    def __init__(self, data, *, arch="mlp", process="vp", prediction=None, steps=None,
                 image_shape=None, labels=None, precision="fp32", **options):
        self._t = None
        x = _data(data)
        if arch not in _ARCH:
            raise ArgumentError("arch: '%s' is not one of mlp|unet" % arch, status=-11)
        a = _ARCH[arch]
        kind = parse_enum(_lib.ENUM_PROCESS, process, "process")
        mr = kind == parse_enum(_lib.ENUM_PROCESS, "mr", "process")
        par = (lib.sgm_train_param_default(a, kind) if prediction is None
               else parse_enum(_lib.ENUM_PARAM, prediction, "prediction"))
        cfg = lib.sgm_train_config_for(a, kind, par)
        if a == _ARCH["unet"]:
            if image_shape is None or len(image_shape) != 3:
                raise ArgumentError("arch unet: give image_shape=(C, H, W)")
            c, h, w = (int(v) for v in image_shape)
            need = c * h * w
            if need != x.shape[1]:
                raise shape_error("image_shape %s needs %d columns, data have %d"
                                  % (tuple(image_shape), need, x.shape[1]))
            cfg.net.unet.in_ch = c * (2 if mr else 1)
            cfg.net.unet.out_ch = c
            cfg.net.unet.height, cfg.net.unet.width = h, w
        elif image_shape is not None:
            raise ArgumentError("image_shape is for arch unet")
        for k, v in options.items():
            if k not in _OPTIONS:
                raise ArgumentError("unknown option '%s' (expected one of %s)"
                                    % (k, ", ".join(sorted(_OPTIONS) + ["precision"])))
            where, kind_ = _OPTIONS[k]
            if kind_ is float:
                v = float(v)
                if math.isnan(v):
                    raise ArgumentError("%s: NaN" % k)
                _set(cfg, where, v)
            elif kind_ is int:
                if isinstance(v, float) and not v.is_integer():
                    raise ArgumentError("%s: expected an integer, got %r" % (k, v))
                _set(cfg, where, int(v))
            elif kind_ == "str":
                b = str(v).encode()
                if len(b) >= 128:
                    raise ArgumentError("%s: longer than 127 bytes" % k)
                _set(cfg, where, b)
            elif kind_ == "levels":
                lv = [int(u) for u in v]
                if not 1 <= len(lv) <= _lib.UNET_MAX_LEVELS:
                    raise ArgumentError("%s: 1 to %d levels" % (k, _lib.UNET_MAX_LEVELS))
                arr = getattr(cfg.net.unet, where.split(".")[-1])
                for i, u in enumerate(lv):
                    arr[i] = u
                if k == "unet_mult":
                    cfg.net.unet.n_levels = len(lv)
            else:
                _set(cfg, where, parse_enum(kind_, v, k.replace("_", "-")))
        pv = ctypes.c_int(0)
        if lib.sgm_nn_precision_from_name(str(precision).encode(), ctypes.byref(pv)) != 0:
            raise ArgumentError("precision: '%s' is not one of fp32|bf16" % precision,
                                status=-11)
        cfg.precision = pv.value
        if mr and a == _ARCH["mlp"]:
            cfg.net.mlp.d_cond = x.shape[1]
        if steps is not None:
            steps = int(steps)
            if steps < 1:
                raise ArgumentError("steps: expected >= 1, got %d" % steps)
            if cfg.lr_min >= 0:
                cfg.lr_total = steps
        t, err = ctypes.c_void_p(), new_err()
        check(lib.sgm_trainer_create(ctypes.byref(cfg), x.ctypes.data_as(_lib.P(ctypes.c_double)),
                                     x.shape[0], x.shape[1], ctypes.byref(t), ctypes.byref(err)),
              err)
        self._t = t
        self.d = x.shape[1]
        if labels is not None:
            self.set_labels(labels, x.shape[0])

    @classmethod
    def resume(cls, path, data, labels=None):
        """The trainer saved at `path` (sgm_trainer_resume) on the same data:
        it continues bit for bit."""
        x = _data(data)
        self = cls.__new__(cls)
        self._t = None
        t, err = ctypes.c_void_p(), new_err()
        check(lib.sgm_trainer_resume(_path(path), x.ctypes.data_as(_lib.P(ctypes.c_double)),
                                     x.shape[0], x.shape[1], ctypes.byref(t),
                                     ctypes.byref(err)), err)
        self._t, self.d = t, x.shape[1]
        if labels is not None:
            self.set_labels(labels, x.shape[0])
        return self

    def _h(self):
        if not self._t:
            raise ArgumentError("the trainer is closed")
        return self._t

    def set_labels(self, labels, rows=None):
        lab = np.asarray(labels)
        if lab.dtype.kind not in "iu" or lab.ndim != 1:
            raise ArgumentError("labels: expected a 1-D integer array, got %s %s"
                                % (lab.dtype, lab.shape))
        lab = np.ascontiguousarray(lab, dtype=np.intc)
        err = new_err()
        check(lib.sgm_trainer_set_labels(self._h(), lab.ctypes.data_as(_lib.P(ctypes.c_int)),
                                         lab.shape[0], ctypes.byref(err)), err)

    def step(self, n=1):
        """n optimisation steps; returns the last batch loss."""
        h, loss, err = self._h(), ctypes.c_double(0), new_err()
        for _ in range(int(n)):
            check(lib.sgm_trainer_step(h, ctypes.byref(loss), ctypes.byref(err)), err)
        return loss.value

    @property
    def steps_done(self):
        return int(lib.sgm_trainer_steps_done(self._h()))

    @property
    def ema_loss(self):
        return float(lib.sgm_trainer_ema_loss(self._h()))

    @property
    def precision(self):
        """The precision that runs ("fp32", or "bf16" where the CPU has it)."""
        return lib.sgm_nn_precision_name(lib.sgm_trainer_precision(self._h())).decode()

    @property
    def config(self):
        """A copy of the trainer's sgm_train_config (ctypes structure)."""
        c = _lib.TrainConfig()
        ctypes.pointer(c)[0] = lib.sgm_trainer_config(self._h())[0]
        return c

    def save(self, path):
        """Writes a checkpoint atomically (sgm_trainer_save)."""
        err = new_err()
        check(lib.sgm_trainer_save(self._h(), os.fsencode(path), ctypes.byref(err)), err)

    def close(self):
        if getattr(self, "_t", None):
            lib.sgm_trainer_free(self._t)
            self._t = None

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def train(data, out, steps, callback=None, **options):
    """Trains for `steps` steps (sgm.Trainer options) and saves the checkpoint
    to `out`; callback(step, loss) after each step may return True to stop
    early (the checkpoint is still written). Returns {"steps", "loss",
    "ema_loss"}."""
    with Trainer(data, steps=steps, **options) as t:
        loss = float("nan")
        for k in range(int(steps)):
            loss = t.step()
            if callback is not None and callback(k + 1, loss):
                break
        t.save(out)
        return {"steps": t.steps_done, "loss": loss, "ema_loss": t.ema_loss}
