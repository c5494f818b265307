"""The ctypes structures of sgm/_lib.py against the C headers: a small C
program prints sizeof and offsetof of every field (needs a C compiler)."""
import os
import shutil
import subprocess

import pytest

from sgm import _lib
from conftest import ROOT

STRUCTS = {
    "sgm_error": _lib.Error_t, "sgm_process_config": _lib.ProcessConfig,
    "sgm_schedule_config": _lib.ScheduleConfig, "sgm_schedule": _lib.Schedule,
    "sgm_eval": _lib.Eval, "sgm_denoiser": _lib.Denoiser,
    "sgm_denoiser_grad": _lib.DenoiserGrad, "sgm_step_info": _lib.StepInfo,
    "sgm_sampler_config": _lib.SamplerConfig, "sgm_sampler_stats": _lib.SamplerStats,
    "sgm_method_info": _lib.MethodInfo, "sgm_nll_config": _lib.NllConfig,
    "sgm_metric_config": _lib.MetricConfig, "sgm_metric_result": _lib.MetricResult,
    "sgm_st_tensor": _lib.StTensor, "sgm_safetensors": _lib.Safetensors,
    "sgm_nn_sinusoidal": _lib.Sinusoidal, "sgm_nn_mlp_config": _lib.MlpConfig,
    "sgm_unet_config": _lib.UnetConfig, "sgm_net_config": _lib.NetConfig,
    "sgm_train_config": _lib.TrainConfig, "sgm_bench_row": _lib.BenchRow,
    "sgm_bench_config": _lib.BenchConfig, "sgm_bench_result": _lib.BenchResult,
}


def test_struct_layout(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler")
    lines = ['#include <stdio.h>', '#include <stddef.h>']
    lines += ['#include "sgm/%s"' % h for h in ("sgm_core.h", "sgm_sampler.h", "sgm_eval.h",
                                                 "sgm_likelihood.h", "sgm_io.h",
                                                 "sgm_train.h", "sgm_bench.h")]
    lines.append("int main(void) {")
    for cname, py in STRUCTS.items():
        lines.append('printf("%s %%zu\\n", sizeof(%s));' % (cname, cname))
        for f, _ in py._fields_:
            lines.append('printf("%s.%s %%zu\\n", offsetof(%s, %s));' % (cname, f, cname, f))
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run([cc, "-I", os.path.join(ROOT, "include"), str(src), "-o", str(exe)],
                   check=True)
    got = dict(line.split() for line in subprocess.run(
        [str(exe)], check=True, capture_output=True, text=True).stdout.splitlines())
    for cname, py in STRUCTS.items():
        assert int(got[cname]) == __import__("ctypes").sizeof(py), cname
        for f, _ in py._fields_:
            assert int(got["%s.%s" % (cname, f)]) == getattr(py, f).offset, (cname, f)
