/* sgm_model.h - exact models: a Gaussian mixture with diagonal covariances.
 *
 * For x = x0 + sigma n the posterior mean is closed form (Tweedie):
 *   D(x, sigma) = sum_k r_k(x) (mu_k + s_k^2 / (s_k^2 + sigma^2) (x - mu_k)),
 *   r_k(x) = softmax_k(log w_k + log N(x; mu_k, diag(s_k^2 + sigma^2))).
 * For a process x_t = alpha x0 + sigma n the denoiser evaluates
 * D(x_t / alpha, sigma / alpha) and returns x0 (SGM_PRED_X0).
 * File format (JSON): {"kind": "gmm", "dim": D, "weights": [K],
 *                      "means": [[D] x K], "stds": [[D] x K]}.
 */
#ifndef SGM_MODEL_H
#define SGM_MODEL_H

#include "sgm_core.h"
#include "sgm_sampler.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sgm_gmm sgm_gmm; /* opaque, immutable after load */

sgm_status sgm_gmm_load(const char *path, sgm_gmm **out, sgm_error *err);
sgm_status sgm_gmm_from_json(const char *text, sgm_gmm **out, sgm_error *err);
/* weights [k], means [k, d], stds [k, d]; copied. Weights are normalised. */
sgm_status sgm_gmm_create(size_t k, size_t d, const double *weights, const double *means,
                          const double *stds, sgm_gmm **out, sgm_error *err);
void sgm_gmm_free(sgm_gmm *g);
size_t sgm_gmm_dim(const sgm_gmm *g);
size_t sgm_gmm_components(const sgm_gmm *g);
const double *sgm_gmm_weights(const sgm_gmm *g);
const double *sgm_gmm_means(const sgm_gmm *g);
const double *sgm_gmm_stds(const sgm_gmm *g);

/* D(x, sigma) for n rows (VE form). x, out: [n, d]. */
void sgm_gmm_denoise(const sgm_gmm *g, size_t n, const double *x, double sigma,
                     double *out);
/* log p_sigma(x) of the mixture convolved with N(0, sigma^2): [n] values. */
void sgm_gmm_logpdf(const sgm_gmm *g, size_t n, const double *x, double sigma,
                    double *out);
/* Posterior component responsibilities r_k(x) at sigma: out [n, k]. */
void sgm_gmm_responsibilities(const sgm_gmm *g, size_t n, const double *x, double sigma,
                              double *out);
/* Exact samples: rows [row0, row0 + n) of draw `draw` of seed. */
void sgm_gmm_sample(const sgm_gmm *g, uint64_t seed, uint64_t draw, uint64_t row0,
                    size_t n, double *out);

/* A denoiser (prediction x0) backed by the mixture; user_data is the gmm. */
sgm_denoiser sgm_gmm_denoiser(const sgm_gmm *g);
int sgm_gmm_denoise_fn(const sgm_eval *q, void *out, void *user_data);

#ifdef __cplusplus
}
#endif
#endif
