"""Finding libsgm.so, the C structures sgm's public headers declare, and the
prototypes of the functions this package calls.

The library is looked for, in order: the environment variable SGM_LIBRARY
(a path to the .so), a copy next to this package (an installed package), the
in-tree build (../build/libsgm.so relative to python/), then
ctypes.util.find_library("sgm") (an installed library: `make install`).

Every structure here mirrors one of include/sgm/*.h field by field; the test
python/tests/test_layout.py compiles a small C program against the headers and
compares sizes and offsets, so a header change that is not repeated here
fails a test instead of corrupting memory.
"""
import ctypes
import ctypes.util
import os

c_int, c_double, c_size_t, c_uint64 = ctypes.c_int, ctypes.c_double, ctypes.c_size_t, ctypes.c_uint64
c_char_p, c_void_p = ctypes.c_char_p, ctypes.c_void_p
P = ctypes.POINTER


def _candidates():
    env = os.environ.get("SGM_LIBRARY")
    if env:
        yield "SGM_LIBRARY=" + env, env
        return  # an explicit choice is never second-guessed
    here = os.path.dirname(os.path.abspath(__file__))
    yield "next to the package", os.path.join(here, "libsgm.so")
    yield "the in-tree build", os.path.normpath(os.path.join(here, "..", "..", "build", "libsgm.so"))
    found = ctypes.util.find_library("sgm")
    yield 'ctypes.util.find_library("sgm")', found


def _load():
    tried = []
    for where, path in _candidates():
        if not path:
            tried.append(where + ": not found")
            continue
        if os.sep in path and not os.path.exists(path):
            tried.append("%s: %s does not exist" % (where, path))
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s: %s" % (where, e))
    raise ImportError("sgm: cannot load libsgm.so; build it (make build), install it "
                      "(make install) or set SGM_LIBRARY to its path. Looked at: "
                      + "; ".join(tried))


lib, path = _load()

# ------------------------------------------------------------- structures ---


class Error_t(ctypes.Structure):
    _fields_ = [("status", c_int), ("msg", ctypes.c_char * 256)]


class ProcessConfig(ctypes.Structure):
    _fields_ = [("kind", c_int), ("sigma_min", c_double), ("sigma_max", c_double),
                ("beta_0", c_double), ("beta_1", c_double), ("cosine_s", c_double),
                ("t_eps", c_double), ("t_max", c_double), ("betas", c_int),
                ("n_train", c_int), ("beta_start", c_double), ("beta_end", c_double),
                ("user_betas", P(c_double)), ("interp", c_int),
                ("rescale_zero_snr", c_int), ("clip_lambda", c_int),
                ("mr_lambda", c_double), ("mr_alpha_T", c_double), ("mr_theta", c_int)]


class ScheduleConfig(ctypes.Structure):
    _fields_ = [("kind", c_int), ("steps", c_int), ("sigma_min", c_double),
                ("sigma_max", c_double), ("rho", c_double), ("t_start", c_double),
                ("t_end", c_double), ("final_point", c_int), ("vp_beta_d", c_double),
                ("vp_beta_min", c_double), ("vp_eps_s", c_double), ("steps_offset", c_int),
                ("grid", c_int), ("beta_alpha", c_double), ("beta_beta", c_double),
                ("lq_threshold", c_double), ("lq_linear_steps", c_int),
                ("laplace_mu", c_double), ("laplace_beta", c_double),
                ("table", ctypes.c_char * 16), ("gits_coeff", c_double),
                ("flow_shift", c_double), ("flow_shift_seq_len", c_int),
                ("user", P(c_double)), ("n_user", c_size_t)]


class Schedule(ctypes.Structure):
    _fields_ = [("n", c_size_t), ("t", P(c_double)), ("sigma", P(c_double)),
                ("alpha", P(c_double)), ("land_t", P(c_double)),
                ("land_sigma", P(c_double)), ("land_alpha", P(c_double))]


class Eval(ctypes.Structure):
    _fields_ = [("n", c_size_t), ("d", c_size_t), ("row0", c_uint64), ("dtype", c_int),
                ("x", c_void_p), ("t", c_double), ("alpha", c_double), ("sigma", c_double)]


DENOISE_FN = ctypes.CFUNCTYPE(c_int, P(Eval), c_void_p, c_void_p)


class Denoiser(ctypes.Structure):
    _fields_ = [("fn", DENOISE_FN), ("user_data", c_void_p), ("prediction", c_int)]


DIR_DERIV_FN = ctypes.CFUNCTYPE(c_int, P(Eval), P(c_double), P(c_double), P(c_double),
                                c_void_p)
TRACE_FN = ctypes.CFUNCTYPE(c_int, P(Eval), P(c_double), P(c_double), c_void_p)


class DenoiserGrad(ctypes.Structure):
    _fields_ = [("jvp", DIR_DERIV_FN), ("vjp", DIR_DERIV_FN), ("div", TRACE_FN),
                ("user_data", c_void_p)]


class StepInfo(ctypes.Structure):
    _fields_ = [("step", c_size_t), ("n_steps", c_size_t), ("t", c_double),
                ("sigma", c_double), ("alpha", c_double), ("nfe", c_size_t),
                ("n", c_size_t), ("d", c_size_t), ("dtype", c_int), ("x", c_void_p),
                ("denoised", c_void_p)]


STEP_FN = ctypes.CFUNCTYPE(c_int, P(StepInfo), c_void_p)
NOISE_FN = ctypes.CFUNCTYPE(c_int, c_double, c_double, c_size_t, c_size_t, c_uint64, c_int,
                            c_void_p, c_void_p)


class RestartSegment(ctypes.Structure):
    _fields_ = [("n", c_int), ("k", c_int), ("t_min", c_double), ("t_max", c_double)]


class SamplerConfig(ctypes.Structure):
    _fields_ = [("method", ctypes.c_char * 32), ("order", c_int), ("eta", c_double),
                ("s_noise", c_double), ("s_churn", c_double), ("s_tmin", c_double),
                ("s_tmax", c_double), ("multistep", c_int), ("algorithm", c_int),
                ("solver_type", c_int), ("lower_order_final", c_int),
                ("denoise_to_zero", c_int), ("nfe", c_int), ("r1", c_double),
                ("r2", c_double), ("singlestep_plan", c_int), ("rtol", c_double),
                ("atol", c_double), ("h_init", c_double), ("pcoeff", c_double),
                ("icoeff", c_double), ("dcoeff", c_double), ("accept_safety", c_double),
                ("error_norm", c_int), ("max_steps", c_size_t), ("snr", c_double),
                ("n_corrector", c_int), ("predictor_order", c_int),
                ("corrector_order", c_int), ("tau", c_double), ("tau_sigma_min", c_double),
                ("tau_sigma_max", c_double), ("skip_prk", c_int), ("noise", c_int),
                ("dtype", c_int), ("n_threads", c_int), ("on_step", STEP_FN),
                ("on_step_user_data", c_void_p), ("noise_fn", NOISE_FN),
                ("noise_user_data", c_void_p),
                ("step_size", c_double), ("friction", c_double),
                ("ge_gamma", c_double), ("er_noise_scaler", c_int),
                ("n_restart", c_int), ("restart", RestartSegment * 8),
                ("corrector", ctypes.c_char * 16), ("v3_predictor_pseudo", c_int),
                ("v3_corrector", c_int), ("v3_corrector_pseudo", c_int)]


class SamplerStats(ctypes.Structure):
    _fields_ = [("nfe", c_size_t), ("steps", c_size_t), ("n_reject", c_size_t),
                ("last_h", c_double)]


class MethodInfo(ctypes.Structure):
    _fields_ = [("name", c_char_p), ("aliases", c_char_p), ("summary", c_char_p),
                ("order", c_int), ("stochastic", c_int), ("adaptive", c_int)]


class NllConfig(ctypes.Structure):
    _fields_ = [("divergence", c_int), ("probe", c_int), ("n_probes", c_int),
                ("seed", c_uint64), ("rtol", c_double), ("atol", c_double),
                ("t_eps", c_double), ("t_end", c_double), ("h_init", c_double),
                ("max_steps", c_size_t)]


class MetricConfig(ctypes.Structure):
    _fields_ = [("n_projections", c_size_t), ("directions", P(c_double)),
                ("bandwidth", c_double), ("median_max_points", c_size_t),
                ("knn_k", c_size_t), ("n_bootstrap", c_size_t), ("level", c_double),
                ("seed", c_uint64), ("shard_rank", c_size_t), ("shard_size", c_size_t),
                ("all_gather", c_void_p), ("all_gather_user_data", c_void_p)]


class MetricResult(ctypes.Structure):
    _fields_ = [("value", c_double), ("se", c_double), ("lo", c_double), ("hi", c_double),
                ("param", c_double), ("n_boot", c_size_t)]


ST_MAX_DIMS = 8


class StTensor(ctypes.Structure):
    _fields_ = [("name", c_char_p), ("dtype", c_int), ("ndim", c_int),
                ("shape", c_size_t * ST_MAX_DIMS), ("data", c_void_p)]


class Safetensors(ctypes.Structure):
    _fields_ = [("n_tensors", c_size_t), ("tensors", P(StTensor)), ("n_meta", c_size_t),
                ("meta_keys", P(c_char_p)), ("meta_vals", P(c_char_p)), ("blob_", c_void_p)]


class Sinusoidal(ctypes.Structure):
    _fields_ = [("flip_sin_to_cos", c_int), ("downscale_freq_shift", c_double),
                ("scale", c_double), ("max_period", c_double)]


class MlpConfig(ctypes.Structure):
    _fields_ = [("d_in", c_int), ("d_emb", c_int), ("width", c_int), ("n_blocks", c_int),
                ("emb", Sinusoidal), ("d_cond", c_int)]


UNET_MAX_LEVELS = 6


class UnetConfig(ctypes.Structure):
    _fields_ = [("in_ch", c_int), ("out_ch", c_int), ("height", c_int), ("width", c_int),
                ("base_ch", c_int), ("n_levels", c_int), ("mult", c_int * UNET_MAX_LEVELS),
                ("attn", c_int * UNET_MAX_LEVELS), ("mid_attn", c_int), ("n_res", c_int),
                ("groups", c_int), ("heads", c_int), ("emb_dim", c_int), ("n_classes", c_int),
                ("emb", Sinusoidal)]


class NetConfig(ctypes.Structure):
    _fields_ = [("arch", c_int), ("mlp", MlpConfig), ("unet", UnetConfig)]


class TrainConfig(ctypes.Structure):
    _fields_ = [("process", ProcessConfig), ("param", c_int), ("sigma_data", c_double),
                ("weighting", c_int), ("min_snr_gamma", c_double), ("tsampling", c_int),
                ("p_mean", c_double), ("p_std", c_double), ("t_lo", c_double),
                ("t_hi", c_double), ("net", NetConfig), ("batch", c_int), ("lr", c_double),
                ("lr_min", c_double), ("warmup", ctypes.c_long), ("lr_total", ctypes.c_long),
                ("beta1", c_double), ("beta2", c_double), ("adam_eps", c_double),
                ("weight_decay", c_double), ("decoupled", c_int), ("clip", c_double),
                ("ema", c_double), ("ema_warmup", c_int), ("seed", c_uint64),
                ("data_spec", ctypes.c_char * 512), ("data_n", c_size_t),
                ("data_seed", c_uint64), ("label_dropout", c_double), ("precision", c_int),
                ("no_bf16", c_int), ("degrade", ctypes.c_char * 128),
                ("degrade_seed", c_uint64)]


class BenchRow(ctypes.Structure):
    _fields_ = [("sampler", ctypes.c_char * 32), ("schedule", ctypes.c_char * 24),
                ("stochastic", c_int), ("adaptive", c_int), ("nfe_budget", c_int),
                ("steps", c_int), ("tol", c_double), ("nfe", c_size_t), ("err_rms", c_double),
                ("err_max", c_double), ("sw2", c_double), ("sw2_se", c_double),
                ("mmd2", c_double), ("mmd2_se", c_double), ("loglik", c_double),
                ("loglik_se", c_double), ("seconds", c_double), ("status", c_int),
                ("msg", ctypes.c_char * 160), ("shard", c_int)]


TO_DATA_FN = ctypes.CFUNCTYPE(None, c_size_t, P(c_double), c_void_p)
BENCH_ROW_FN = ctypes.CFUNCTYPE(None, P(BenchRow), c_void_p)
ALL_GATHER_FN = ctypes.CFUNCTYPE(c_int, P(c_double), c_size_t, c_size_t, c_void_p)


class BenchConfig(ctypes.Structure):
    _fields_ = [("proc", c_void_p), ("gmm", c_void_p), ("samplers", P(c_char_p)),
                ("n_samplers", c_size_t), ("schedules", P(c_int)), ("n_schedules", c_size_t),
                ("nfe", P(c_int)), ("n_nfe", c_size_t), ("n", c_size_t), ("seed", c_uint64),
                ("ref_rtol", c_double), ("ref_atol", c_double), ("metrics", c_int),
                ("n_projections", c_size_t), ("n_threads", c_int), ("den", P(Denoiser)),
                ("d", c_size_t), ("to_data", TO_DATA_FN), ("to_data_user_data", c_void_p),
                ("on_row", BENCH_ROW_FN), ("on_row_user_data", c_void_p),
                ("shard_rank", c_size_t), ("shard_size", c_size_t),
                ("all_gather", ALL_GATHER_FN), ("all_gather_user_data", c_void_p)]


class BenchResult(ctypes.Structure):
    _fields_ = [("rows", P(BenchRow)), ("n_rows", c_size_t), ("n", c_size_t), ("d", c_size_t),
                ("seconds", c_double)]


# ------------------------------------------------------------- prototypes ---

_E = P(Error_t)
_D = P(c_double)
_PROTOS = {
    # core
    "sgm_status_str": (c_char_p, [c_int]),
    "sgm_enum_count": (c_int, [c_int]),
    "sgm_enum_name": (c_char_p, [c_int, c_int]),
    "sgm_enum_parse": (c_int, [c_int, c_char_p, P(c_int)]),
    "sgm_rng_normal_rows_f64": (None, [c_uint64, c_uint64, c_uint64, c_size_t, c_size_t, _D]),
    "sgm_copy_finite": (c_int, [c_int, c_void_p, c_void_p, c_size_t]),
    # process
    "sgm_process_config_default": (ProcessConfig, [c_int]),
    "sgm_process_create": (c_int, [P(ProcessConfig), P(c_void_p), _E]),
    "sgm_process_free": (None, [c_void_p]),
    "sgm_process_get_config": (P(ProcessConfig), [c_void_p]),
    "sgm_process_alpha": (c_double, [c_void_p, c_double]),
    "sgm_process_sigma": (c_double, [c_void_p, c_double]),
    "sgm_process_lambda": (c_double, [c_void_p, c_double]),
    "sgm_process_t_min": (c_double, [c_void_p]),
    "sgm_process_t_max": (c_double, [c_void_p]),
    # schedule
    "sgm_schedule_config_default": (ScheduleConfig, [c_int]),
    "sgm_schedule_create": (c_int, [P(ScheduleConfig), c_void_p, P(P(Schedule)), _E]),
    "sgm_schedule_free": (None, [P(Schedule)]),
    # sampler
    "sgm_method_count": (c_size_t, []),
    "sgm_method_at": (P(MethodInfo), [c_size_t]),
    "sgm_method_find": (P(MethodInfo), [c_char_p]),
    "sgm_sampler_config_default": (c_int, [c_char_p, P(SamplerConfig), _E]),
    "sgm_sampler_create": (c_int, [P(SamplerConfig), c_void_p, c_size_t, c_size_t,
                                   P(c_void_p), _E]),
    "sgm_sampler_free": (None, [c_void_p]),
    "sgm_sampler_run": (c_int, [c_void_p, P(Schedule), P(Denoiser), P(c_uint64 * 2),
                                c_uint64, c_size_t, c_void_p, _E]),
    "sgm_sampler_get_stats": (None, [c_void_p, P(SamplerStats)]),
    # models
    "sgm_gmm_load": (c_int, [c_char_p, P(c_void_p), _E]),
    "sgm_gmm_from_json": (c_int, [c_char_p, P(c_void_p), _E]),
    "sgm_gmm_free": (None, [c_void_p]),
    "sgm_gmm_dim": (c_size_t, [c_void_p]),
    "sgm_gmm_components": (c_size_t, [c_void_p]),
    "sgm_gmm_weights": (_D, [c_void_p]),
    "sgm_gmm_means": (_D, [c_void_p]),
    "sgm_gmm_stds": (_D, [c_void_p]),
    "sgm_gmm_denoiser": (Denoiser, [c_void_p]),
    "sgm_gmm_denoiser_grad": (DenoiserGrad, [c_void_p]),
    "sgm_gmm_logpdf": (None, [c_void_p, c_size_t, _D, c_double, _D]),
    "sgm_gmm_sample": (None, [c_void_p, c_uint64, c_uint64, c_uint64, c_size_t, _D]),
    "sgm_model_load": (c_int, [c_char_p, c_int, c_int, P(c_void_p), _E]),
    "sgm_model_free": (None, [c_void_p]),
    "sgm_model_denoiser": (Denoiser, [c_void_p]),
    "sgm_model_denoiser_grad": (DenoiserGrad, [c_void_p]),
    "sgm_model_density_check": (c_int, [c_void_p, _E]),
    "sgm_model_process_config": (P(ProcessConfig), [c_void_p]),
    "sgm_model_dim": (c_size_t, [c_void_p]),
    "sgm_model_param": (c_int, [c_void_p]),
    "sgm_model_n_classes": (c_int, [c_void_p]),
    "sgm_model_image_shape": (c_int, [c_void_p, P(c_int), P(c_int), P(c_int)]),
    "sgm_model_unstandardize": (None, [c_void_p, c_size_t, c_int, c_void_p]),
    "sgm_model_standardize": (None, [c_void_p, c_size_t, c_int, c_void_p]),
    "sgm_model_log_std_sum": (c_double, [c_void_p]),
    # likelihood
    "sgm_nll_config_default": (NllConfig, []),
    "sgm_nll": (c_int, [P(NllConfig), c_void_p, P(Denoiser), P(DenoiserGrad), c_uint64,
                        c_size_t, c_size_t, _D, _D, _D, P(c_size_t), _E]),
    # metrics
    "sgm_metric_config_default": (None, [P(MetricConfig)]),
    "sgm_metric_sw2": (c_int, [_D, c_size_t, _D, c_size_t, c_size_t, P(MetricConfig),
                               P(MetricResult), _E]),
    "sgm_metric_mmd2": (c_int, [_D, c_size_t, _D, c_size_t, c_size_t, P(MetricConfig),
                                P(MetricResult), _E]),
    "sgm_metric_energy": (c_int, [_D, c_size_t, _D, c_size_t, c_size_t, P(MetricConfig),
                                  P(MetricResult), _E]),
    "sgm_metric_fd": (c_int, [_D, c_size_t, _D, c_size_t, c_size_t, P(MetricConfig),
                              P(MetricResult), _E]),
    "sgm_metric_gmm_loglik": (c_int, [c_void_p, _D, c_size_t, P(MetricResult), _E]),
    # checkpoints
    "sgm_st_load": (c_int, [c_char_p, P(Safetensors), _E]),
    "sgm_st_free": (None, [P(Safetensors)]),
    "sgm_st_find": (P(StTensor), [P(Safetensors), c_char_p]),
    "sgm_st_meta": (c_char_p, [P(Safetensors), c_char_p]),
    "sgm_param_name": (c_char_p, [c_int]),
    # training
    "sgm_train_param_default": (c_int, [c_int, c_int]),
    "sgm_train_config_for": (TrainConfig, [c_int, c_int, c_int]),
    "sgm_trainer_create": (c_int, [P(TrainConfig), _D, c_size_t, c_size_t, P(c_void_p), _E]),
    "sgm_trainer_resume": (c_int, [c_char_p, _D, c_size_t, c_size_t, P(c_void_p), _E]),
    "sgm_trainer_set_labels": (c_int, [c_void_p, P(c_int), c_size_t, _E]),
    "sgm_trainer_set_total": (None, [c_void_p, ctypes.c_long]),
    "sgm_trainer_step": (c_int, [c_void_p, _D, _E]),
    "sgm_trainer_steps_done": (ctypes.c_long, [c_void_p]),
    "sgm_trainer_ema_loss": (c_double, [c_void_p]),
    "sgm_trainer_config": (P(TrainConfig), [c_void_p]),
    "sgm_trainer_precision": (c_int, [c_void_p]),
    "sgm_trainer_save": (c_int, [c_void_p, c_char_p, _E]),
    "sgm_trainer_free": (None, [c_void_p]),
    "sgm_nn_precision_from_name": (c_int, [c_char_p, P(c_int)]),
    "sgm_nn_precision_name": (c_char_p, [c_int]),
    # the NFE-vs-error benchmark
    "sgm_bench_config_default": (None, [P(BenchConfig)]),
    "sgm_bench_run": (c_int, [P(BenchConfig), P(BenchResult), _E]),
    "sgm_bench_result_free": (None, [P(BenchResult)]),
    "sgm_bench_write_csv": (c_int, [P(BenchResult), c_char_p, _E]),
    "sgm_bench_plot": (c_int, [P(BenchResult), c_char_p, c_char_p, _E]),
}

for _name, (_res, _args) in _PROTOS.items():
    _f = getattr(lib, _name)
    _f.restype, _f.argtypes = _res, _args

# sgm_enum values (sgm_core.h)
ENUM_PROCESS, ENUM_BETAS, ENUM_INTERP, ENUM_SCHEDULE, ENUM_PREDICTION = 0, 1, 2, 3, 4
ENUM_PARAM, ENUM_WEIGHTING, ENUM_TSAMPLING = 5, 6, 7
F64, F32 = 0, 1
