/* sgm_ckpt.h - sgm checkpoints: safetensors files (sgm_io.h) written by the
 * trainer (sgm_trainer_save) and read by resume, sampling (sgm_model_load)
 * and the likelihood.
 *
 * Tensors: four blocks of the network's named tensors (sgm_net.h),
 * "params.<name>", "ema.<name>", "adam_m.<name>", "adam_v.<name>", float32.
 * Metadata (string values; JSON objects where noted):
 *   format          "sgm-checkpoint-1" (1: the major version)
 *   format_version  "1.2" (major.minor; absent in 1.0 files; 1.2 added
 *                   "sampling" and optimizer "ema_warmup")
 *   arch            the architecture's name ("mlp", "unet")
 *   arch_config     JSON: {"d_in": d, ...the architecture's keys}
 *   process         JSON: the process kind and its parameters
 *   training        JSON: prediction, weighting, t_sampling, sigma_data, ...
 *   optimizer       JSON: type ("adam" / "adamw"), lr and its schedule, ...
 *   data_stats      JSON: per-column mean and std, training rows
 *   data_source     JSON: the data spec, n and seed (for resume)
 *   rng, step, ema_loss
 *   sampling        JSON (1.2): the default sampling path, sgm_ckpt_sampling
 * Every enumerated value is written by name (1.1; 1.0 files wrote the beta
 * table and VP interpolation as numbers, which are still read). Reading is
 * forward compatible within a major version: unknown keys and tensors are
 * ignored, so files from a newer 1.x load here; another major version is
 * refused with a message saying so. */
#ifndef SGM_CKPT_H
#define SGM_CKPT_H

#include <stddef.h>

#include "sgm_core.h"
#include "sgm_train.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SGM_CKPT_FORMAT "sgm-checkpoint-1"
#define SGM_CKPT_VERSION_MAJOR 1
#define SGM_CKPT_VERSION_MINOR 2

/* The default sampling path of a checkpoint (metadata "sampling", format
 * 1.2): sampler, schedule, steps and the VE sigma range (sigma / alpha) the
 * network was trained on. Files before 1.2 get the same rule applied to
 * their training configuration (sgm_ckpt_sampling_default). */
typedef struct sgm_ckpt_sampling {
    char sampler[32];  /* "dpmpp_2m" */
    char schedule[32]; /* "karras" */
    int steps;         /* 20 */
    double sigma_min, sigma_max;
    int order;         /* the sampler's order (key "order", absent in files before
                          it: 0 = the sampler's default); 3 for unipc */
} sgm_ckpt_sampling;

/* The rule: log-normal noise levels ln s ~ N(P_mean, P_std^2) cover
 * [exp(P_mean - 3 P_std), exp(P_mean + 3 P_std)] (99.7%), intersected with
 * the training time range [t_lo, t_hi]; the top is at least 10 (standardized
 * data: the start x_T ~ N(0, sigma^2) then misses the data's unit variance by
 * <= 1%). Other noise-level densities: the whole training range. Steps
 * above the trained range are steps where the network was never trained
 * (VP-linear: 8 of 20 Karras steps lie above sigma 11). */
sgm_status sgm_ckpt_sampling_default(const sgm_train_config *c, sgm_ckpt_sampling *out,
                                     sgm_error *err);

typedef struct sgm_ckpt_info {
    sgm_train_config train; /* process, parameterization, network, optimizer, data source */
    size_t d;               /* data width */
    size_t rows;            /* training rows (0 when not recorded) */
    long step;              /* optimisation steps done */
    double ema_loss;
    int version_major, version_minor;
    sgm_ckpt_sampling sampling; /* recorded (1.2) or the rule's (older files) */
} sgm_ckpt_info;

/* Reads a checkpoint's metadata without building anything. */
sgm_status sgm_ckpt_read_info(const char *path, sgm_ckpt_info *out, sgm_error *err);
/* The same, only the training configuration and the data width. */
sgm_status sgm_ckpt_train_config(const char *path, sgm_train_config *cfg, size_t *d,
                                 sgm_error *err);

#ifdef __cplusplus
}
#endif
#endif
