/* sgm_ckpt.h - sgm checkpoints: safetensors files (sgm_io.h) written by the
 * trainer (sgm_trainer_save) and read by resume, sampling (sgm_model_load)
 * and the likelihood.
 *
 * Tensors: four blocks of the network's named tensors (sgm_net.h),
 * "params.<name>", "ema.<name>", "adam_m.<name>", "adam_v.<name>", float32.
 * Metadata (string values; JSON objects where noted):
 *   format          "sgm-checkpoint-1" (1: the major version)
 *   format_version  "1.1" (major.minor; absent in 1.0 files)
 *   arch            the architecture's name ("mlp", "unet")
 *   arch_config     JSON: {"d_in": d, ...the architecture's keys}
 *   process         JSON: the process kind and its parameters
 *   training        JSON: prediction, weighting, t_sampling, sigma_data, ...
 *   optimizer       JSON: type ("adam" / "adamw"), lr and its schedule, ...
 *   data_stats      JSON: per-column mean and std, training rows
 *   data_source     JSON: the data spec, n and seed (for resume)
 *   rng, step, ema_loss
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
#define SGM_CKPT_VERSION_MINOR 1

typedef struct sgm_ckpt_info {
    sgm_train_config train; /* process, parameterization, network, optimizer, data source */
    size_t d;               /* data width */
    size_t rows;            /* training rows (0 when not recorded) */
    long step;              /* optimisation steps done */
    double ema_loss;
    int version_major, version_minor;
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
