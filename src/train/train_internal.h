/* train_internal.h - what training and the network denoiser share: the
 * per-noise-level coefficients of each parameterization and the checkpoint
 * reader (see sgm_train.h for the formulas). */
#ifndef SGM_TRAIN_INTERNAL_H
#define SGM_TRAIN_INTERNAL_H

#include "sgm/sgm_ckpt.h"
#include "sgm/sgm_train.h"

typedef struct sgm__dsm_coef {
    double c_in;     /* network input scale on x_t */
    double c_noise;  /* network noise-level input */
    double a_x0;     /* target = a_x0 x0 + a_eps eps */
    double a_eps;
    double k;        /* |d x0 / d F| (x0-space error per unit output error) */
    double c_skip;   /* EDM only: D = c_skip x_t / alpha + c_out F */
    double c_out;
} sgm__dsm_coef;

sgm__dsm_coef sgm__dsm_coefs(sgm_param p, double alpha, double sigma, double dalpha,
                             double dsigma, double sigma_data);
sgm_nn_mlp_config sgm__mlp_config(const sgm_train_config *cfg, int d);

/* Reads the configuration, data statistics and counters of a checkpoint
 * (st stays loaded for sgm__ckpt_tensors). mean/std are malloc'd [d]. */
sgm_status sgm__ckpt_read(const char *path, sgm_safetensors *st, sgm_train_config *cfg, int *d,
                          double **mean, double **std, long *step, double *ema_loss,
                          sgm_error *err);
/* Copies the tensors "<prefix>.<name>" of the mlp into dst (n_params floats,
 * the mlp's layout), checking dtype and size. */
sgm_status sgm__ckpt_tensors(const sgm_safetensors *st, const char *path, const char *prefix,
                             const sgm_nn_mlp *m, float *dst, sgm_error *err);

/* The same for the U-Net's named tensors. */
sgm_status sgm__ckpt_tensors_unet(const sgm_safetensors *st, const char *path, const char *prefix,
                                  const sgm_unet *u, float *dst, sgm_error *err);

/* net_denoiser.c: the parts of a loaded network that net_grad.c uses. */
typedef struct sgm__net_parts {
    sgm_nn_mlp *mlp;   /* NULL for a U-Net */
    const sgm_train_config *cfg;
    const sgm_process *proc;
    int d, max_batch;
    const double *mean, *std;
    sgm_unet *unet;    /* NULL for an mlp */
    int conditioned;   /* class labels or guidance set (sgm_net_density_check) */
} sgm__net_parts;
sgm__net_parts sgm__net_get_parts(sgm_net *n);

#endif
