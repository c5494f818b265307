/* model_internal.h - what the trainer and the trained-model denoiser share:
 * the per-noise-level coefficients of each parameterization (formulas in
 * sgm_train.h; implemented in precond.c). */
#ifndef SGM_MODEL_INTERNAL_H
#define SGM_MODEL_INTERNAL_H

#include "sgm/sgm_model.h"
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

/* The coefficients of parameterization p at a point with signal alpha, noise
 * sigma and their time derivatives (used by flow only), data scale sd. */
sgm__dsm_coef sgm__dsm_coefs(sgm_param p, double alpha, double sigma, double dalpha,
                             double dsigma, double sd);

/* net_model.c: the parts of a loaded trained model that net_model_grad.c uses. */
typedef struct sgm__model_parts {
    sgm_net *net;
    const sgm_train_config *cfg;
    const sgm_process *proc;
    int d, max_batch;
    const double *mean, *std;
    int conditioned;   /* class labels or guidance set (sgm_model_density_check) */
} sgm__model_parts;
sgm__model_parts sgm__model_get_parts(sgm_model *n);

/* net_model.c: what the denoiser's last network call left. rows > 0: the
 * net still holds the activations of its unconditional forward of `rows`
 * rows of input x (c_in x_t as float) at noise input c (one value per row),
 * with output out - the last chunk of the latest sgm_model_denoiser call;
 * 0: nothing usable. scratch: (4 d + 1) max_batch floats for the vjp (NULL when
 * out of memory), the model's own, allocated once. */
typedef struct sgm__model_tape {
    int rows;
    const float *x, *c, *out;
    float *scratch;
} sgm__model_tape;
sgm__model_tape sgm__model_get_tape(sgm_model *n);

#endif
