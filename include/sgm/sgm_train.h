/* sgm_train.h - denoising score matching (Vincent 2011; Song et al. 2021,
 * arXiv:2011.13456; Karras et al. 2022, arXiv:2206.00364) on any network of
 * sgm_net.h. Data come from sgm_data.h, checkpoints are described in
 * sgm_ckpt.h, and a trained network is sampled through sgm_model.h.
 *
 * Training works on standardized data z = (x - mean) / std (per column; the
 * statistics are saved in the checkpoint; images for the U-Net are used as
 * given, in [-1, 1], with mean 0 / std 1 recorded). For a batch: t from the noise-level
 * density, x_t = alpha(t) z + sigma(t) eps, the network sees
 *   input   c_in x_t,  c_in = 1 / sqrt(alpha^2 sigma_data^2 + sigma^2)
 *   noise   c_noise = log(sigma / alpha) / 4 = -lambda / 4   (EDM's ln(sigma)/4
 *           in VE coordinates; the same for every process and parameterization)
 * and is trained on  w(t) |F - target|^2 / d  with the target of the
 * parameterization (eps: eps; x0: z; v: alpha eps - sigma z; flow:
 * alpha' z + sigma' eps; edm: (z - c_skip x~) / c_out with x~ = x_t / alpha,
 * c_skip = sd^2 / (s^2 + sd^2), c_out = s sd / sqrt(s^2 + sd^2), s = sigma/alpha,
 * so that D = c_skip x~ + c_out F). Weightings are defined on the x0-space
 * error |D - z|^2 and converted to the parameterization with k = |dx0/dF|:
 *   uniform     w = 1 on the parameterization's own MSE
 *   likelihood  g^2 / sigma^2 on the eps error (Song et al. 2021, thm. 1)
 *   min_snr     min(SNR, gamma) on the x0 error (Hang et al. 2023)
 *   edm         (s^2 + sd^2) / (s sd)^2 on the x0 error (EDM eq. 8 / table 1)
 * Noise-level densities: uniform t on [t_lo, t_hi]; log-normal ln s ~
 * N(P_mean, P_std^2) (EDM; t clamped into [t_lo, t_hi]); importance: t drawn
 * from q(t) ~ g^2/sigma^2 and the loss reweighted by w / (g^2/sigma^2), which
 * makes the likelihood weighting of eps constant (Song et al. 2021, sec. 4 /
 * Huang et al. 2021). Since g^2 = sigma^2 d log(sigma^2/alpha^2)/dt for every
 * process, q(t) ~ -d lambda/dt: lambda is drawn uniformly on
 * [lambda(t_hi), lambda(t_lo)] and mapped back with t_of_lambda (exact).
 * The mean-reverting process (SGM_PROCESS_MR) trains a restoration model on
 * (x0, mu = degrade(x0)) pairs, mu as extra input channels, t uniform by
 * default (sgm_train_config.degrade below; docs/conditioning.md).
 * All randomness is a pure function of (seed, step) through Philox, so a run
 * resumed from a checkpoint continues bit for bit. */
#ifndef SGM_TRAIN_H
#define SGM_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "sgm_core.h"
#include "sgm_net.h"
#include "sgm_process.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ training --- */

typedef enum sgm_param {
    SGM_PARAM_EPS = 0,
    SGM_PARAM_X0,
    SGM_PARAM_V,
    SGM_PARAM_FLOW,
    SGM_PARAM_EDM /* EDM preconditioning (the denoiser reports x0) */
} sgm_param;
typedef enum sgm_weighting {
    SGM_WEIGHT_UNIFORM = 0,
    SGM_WEIGHT_LIKELIHOOD,
    SGM_WEIGHT_MIN_SNR,
    SGM_WEIGHT_EDM
} sgm_weighting;
typedef enum sgm_tsampling {
    SGM_TS_UNIFORM = 0,
    SGM_TS_LOGNORMAL,
    SGM_TS_IMPORTANCE
} sgm_tsampling;

sgm_status sgm_param_from_name(const char *name, sgm_param *out);
const char *sgm_param_name(sgm_param p);
sgm_status sgm_weighting_from_name(const char *name, sgm_weighting *out);
const char *sgm_weighting_name(sgm_weighting w);
sgm_status sgm_tsampling_from_name(const char *name, sgm_tsampling *out);
const char *sgm_tsampling_name(sgm_tsampling t);

typedef struct sgm_train_config {
    sgm_process_config process; /* user betas are not supported */
    sgm_param param;            /* default eps */
    double sigma_data;          /* default 1 (the data are standardized) */
    sgm_weighting weighting;    /* default uniform */
    double min_snr_gamma;       /* default 5 */
    sgm_tsampling tsampling;    /* default log-normal (all processes) */
    double p_mean, p_std;       /* -1.2, 1.2 */
    double t_lo, t_hi;          /* 0: process t_min (1e-3 if 0) / t_max (1 - 1e-3 for flow) */
    /* the network (sgm_net.h): architecture and its configuration; default
       the mlp of sgm_net_config_default. For the U-Net (net.arch
       SGM_ARCH_UNET) the data rows are images flattened in (C, H, W) order
       with in_ch * height * width columns; image data are NOT standardized
       per column: pixels are expected in [-1, 1] and the saved statistics
       are mean 0, std 1 (per-pixel statistics would blow up the
       near-constant border pixels). net.unet.n_classes > 0: the network is
       class-conditional; labels come from sgm_trainer_set_labels and each is
       replaced by the null class with probability label_dropout
       (classifier-free guidance, Ho & Salimans 2022). */
    sgm_net_config net;
    /* optimisation */
    int batch;                  /* 1024 */
    double lr, lr_min;          /* 1e-3, 1e-5: cosine decay from lr to lr_min over
                                   lr_total steps (docs/training-defaults.md);
                                   lr_min < 0: = lr (constant after warmup) */
    long warmup;                /* 100 */
    long lr_total;              /* cosine end step; 0: no decay (constant lr after the
                                   warmup) until sgm_trainer_set_total; sgm train sets
                                   it to --steps */
    double beta1, beta2, adam_eps, weight_decay;
    int decoupled;              /* AdamW */
    double clip;                /* global-norm clip, 0 = off; default 1 */
    double ema;                 /* 0.999 */
    int ema_warmup;             /* 1 (default): the decay of update k is min(ema,
                                   (1 + k) / (10 + k)); 0: ema from the start
                                   (what files before format 1.2 did) */
    uint64_t seed;              /* init and noise streams */
    /* where the data came from (recorded in the checkpoint as "data_source",
       so that a resume can rebuild the same rows): the spec given to
       sgm_data_load, its n and seed; empty spec: not recorded */
    char data_spec[512];
    size_t data_n;
    uint64_t data_seed;
    double label_dropout;       /* class-conditional networks; default 0.1 */
    /* mixed precision of the network's products (sgm_net_set_precision):
       SGM_NN_FP32 (default) or SGM_NN_BF16 (U-Net convolutions in bf16,
       fp32 master weights, accumulation, norms, loss and Adam); BF16 falls
       back to FP32 where the CPU lacks bf16 (sgm_trainer_precision tells
       which ran). Not recorded in checkpoints: a resume runs FP32 unless
       the caller sets it on sgm_trainer_net. */
    sgm_nn_precision precision;
    int no_bf16;                /* nonzero: act as on a CPU without bf16 (tests) */
    /* Mean-reverting restoration (process.kind SGM_PROCESS_MR, appended):
       the degradation (sgm_degrade_apply spec, e.g. "blur:1.5,noise:0.05")
       that makes the condition mu of each training image; required with MR
       and refused otherwise. The network must take the condition as input
       (sgm_net_cond_dim = the data width): a U-Net with extra channels,
       in_ch = 2 out_ch, out_ch * H * W = the data width; an mlp with
       d_cond = the data width (rows that are not images are degraded as
       1 x 1 x d images). mu is degrade(x0) with Philox seed
       degrade_seed at the row index, fixed for the run (rebuilt on resume);
       a step trains on y0 = x0 - mu, y_t = alpha y0 + sigma eps (the MR
       process's coordinates, docs/conditioning.md) with the network input
       [c_in y_t, mu] and the parameterization's target on y0. */
    char degrade[128];
    uint64_t degrade_seed;
} sgm_train_config;

sgm_train_config sgm_train_config_default(sgm_process_kind kind, sgm_param param);

/* The parameterization `sgm train` and python's sgm.Trainer use when none is
 * given: EDM preconditioning for the mlp (on the ten-member mixture family
 * it cut the 16-D model error by two thirds, docs/training-defaults.md), eps
 * for the U-Net and for the mean-reverting process (where the change was
 * not measured). */
sgm_param sgm_train_param_default(sgm_arch arch, sgm_process_kind kind);
/* sgm_train_config_default(kind, param) with net = sgm_net_config_default(arch)
 * and the learning rate measured for the combination: 2e-3 for the mlp with
 * EDM preconditioning on a process other than MR (docs/training-defaults.md),
 * the library's 1e-3 otherwise. What `sgm train` and sgm.Trainer start from. */
sgm_train_config sgm_train_config_for(sgm_arch arch, sgm_process_kind kind, sgm_param param);

typedef struct sgm_trainer sgm_trainer;

/* Creates a trainer on `data` (rows x cols, data units; copied and
 * standardized). */
sgm_status sgm_trainer_create(const sgm_train_config *cfg, const double *data, size_t rows,
                              size_t cols, sgm_trainer **out, sgm_error *err);
/* Class labels of the training rows (rows ints in [0, unet.n_classes)),
 * copied; needed for a class-conditional U-Net (without them every row gets
 * the null class). Call after create / resume, before the next step.
 * SGM_ERR_SHAPE on a row count mismatch, SGM_ERR_INVALID_ARG on a label
 * out of range or a network without classes. */
sgm_status sgm_trainer_set_labels(sgm_trainer *t, const int *labels, size_t rows,
                                  sgm_error *err);
/* Restores a trainer from a checkpoint written by sgm_trainer_save, on the
 * same data (the saved statistics are used). SGM_ERR_SHAPE when the data
 * width differs from the network's. */
sgm_status sgm_trainer_resume(const char *ckpt, const double *data, size_t rows, size_t cols,
                              sgm_trainer **out, sgm_error *err);
/* One optimisation step; *loss receives the batch loss. SGM_ERR_NONFINITE
 * (parameters untouched) when the loss or the gradient is not finite. */
sgm_status sgm_trainer_step(sgm_trainer *t, double *loss, sgm_error *err);
long sgm_trainer_steps_done(const sgm_trainer *t);
double sgm_trainer_ema_loss(const sgm_trainer *t);
const sgm_train_config *sgm_trainer_config(const sgm_trainer *t);
/* The network being trained (owned by the trainer): its parameter and
 * gradient blocks are the ones the optimizer steps. */
sgm_net *sgm_trainer_net(sgm_trainer *t);
/* The precision the network runs (cfg.precision after the fallback). */
sgm_nn_precision sgm_trainer_precision(const sgm_trainer *t);
/* Sets the end step of the cosine decay when it was 0 (before the first step). */
void sgm_trainer_set_total(sgm_trainer *t, long total);
/* Data parallelism (the CLI drives it over MPI, docs/scaling.md): this
 * process computes only rows [row0, row0 + rows) of the global batch of
 * cfg.batch rows. Every row's data index, noise level and noise are drawn
 * from Philox at its global row index, and the loss is normalized by the
 * global batch, so the sum of the shards' gradients is the gradient of the
 * whole batch whatever the number of processes. After the backward pass
 * `reduce` must sum grad[0..n) and *loss over the processes in place (an
 * all-reduce) and return 0, or nonzero on failure (the step then fails with
 * SGM_ERR_CALLBACK and the parameters are untouched); every process then takes the
 * same optimizer step. Not recorded in checkpoints (a run may resume with
 * another number of processes). SGM_ERR_INVALID_ARG when the rows fall
 * outside [0, batch) or are empty, or reduce is NULL. */
typedef int (*sgm_grad_reduce_fn)(float *grad, size_t n, double *loss, void *user_data);
typedef struct sgm_train_shard {
    int row0, rows;
    sgm_grad_reduce_fn reduce;
    void *user_data;
} sgm_train_shard;
sgm_status sgm_trainer_set_shard(sgm_trainer *t, const sgm_train_shard *shard, sgm_error *err);
/* Writes a checkpoint atomically. */
sgm_status sgm_trainer_save(const sgm_trainer *t, const char *path, sgm_error *err);
void sgm_trainer_free(sgm_trainer *t);

/* ------------------------------- degradations for MR restoration (degrade.c) --- */

/* A built-in degradation of images (C, H, W) rows, the stages of `spec`
 * ("stage,stage,...", at most 8) applied in order:
 *   blur:S    Gaussian blur with std S pixels (SGM_OP_BLUR of sgm_guidance.h)
 *   down:F    F x F average pooling then nearest upsampling (F divides H, W)
 *   mask:P    each pixel (every channel) set to 0 with probability P in [0, 1)
 *   noise:S   + S n, n standard normal
 * y may alias x. Random stages draw from Philox (seed, stage index, global
 * row row0 + i): a row's output does not depend on n. check: the syntax
 * and ranges (and, with h, w > 0, that down:F divides them).
 * SGM_ERR_UNKNOWN_NAME for an unknown stage, SGM_ERR_INVALID_ARG otherwise. */
sgm_status sgm_degrade_check(const char *spec, size_t c, size_t h, size_t w, sgm_error *err);
sgm_status sgm_degrade_apply(const char *spec, size_t c, size_t h, size_t w, size_t n,
                             const double *x, double *y, uint64_t seed, uint64_t row0,
                             sgm_error *err);

#ifdef __cplusplus
}
#endif
#endif
