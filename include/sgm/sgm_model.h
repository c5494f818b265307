/* sgm_model.h - models as denoisers (sgm_sampler.h): the exact Gaussian
 * mixture, and trained networks loaded from checkpoints (below).
 *
 * Exact models: a Gaussian mixture with diagonal covariances.
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
#include "sgm_net.h"
#include "sgm_sampler.h"
#include "sgm_train.h"

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
/* A member of the seeded test family of random mixtures (gmm_family.c):
 * 3-8 components of dimension d in [1, 256], unequal weights (>= 0.05),
 * anisotropic and unequal scales, one overlapping pair (K >= 4), on odd
 * seeds a far-out small component. A pure function of (seed, d). */
sgm_status sgm_gmm_family(uint64_t seed, size_t d, sgm_gmm **out, sgm_error *err);
/* Writes g as the JSON that sgm_gmm_load reads (atomically); note: an
 * optional "note" string. */
sgm_status sgm_gmm_save(const sgm_gmm *g, const char *path, const char *note, sgm_error *err);
size_t sgm_gmm_dim(const sgm_gmm *g);
size_t sgm_gmm_components(const sgm_gmm *g);
const double *sgm_gmm_weights(const sgm_gmm *g);
const double *sgm_gmm_means(const sgm_gmm *g);
const double *sgm_gmm_stds(const sgm_gmm *g);

/* D(x, sigma) for n rows (VE form). x, out: [n, d]. NaN rows when out of
 * memory (this and sgm_gmm_logpdf return nothing; the denoiser callback
 * below returns a failure code instead). */
void sgm_gmm_denoise(const sgm_gmm *g, size_t n, const double *x, double sigma,
                     double *out);
/* log p_sigma(x) of the mixture convolved with N(0, sigma^2): [n] values
 * (NaN when out of memory). */
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

/* Closed-form derivatives of the mixture denoiser D(x, sigma) (VE form,
 * sgm_gmm_denoise), for n rows: D itself (out, may be NULL) and
 *   J v   = sum_k r_k c_k . v + sum_k r_k (m_k - D) (g_k . v)
 *   v^T J = sum_k r_k c_k . v + sum_k r_k g_k ((m_k - D) . v)
 *   tr J  = sum_k r_k sum_i c_ki + sum_k r_k (m_k - D) . g_k
 * with c_k = s_k^2 / (s_k^2 + sigma^2), m_k = mu_k + c_k (x - mu_k),
 * g_k = -(x - mu_k) / (s_k^2 + sigma^2) and r_k the responsibilities. */
void sgm_gmm_denoise_jvp(const sgm_gmm *g, size_t n, const double *x, double sigma,
                         const double *v, double *out, double *jv);
void sgm_gmm_denoise_vjp(const sgm_gmm *g, size_t n, const double *x, double sigma,
                         const double *v, double *out, double *vj);
void sgm_gmm_denoise_div(const sgm_gmm *g, size_t n, const double *x, double sigma,
                         double *out, double *div);
/* jvp / vjp / div of sgm_gmm_denoiser(g) (prediction x0, process coordinates:
 * m(x) = D(x / alpha, sigma / alpha), so dm/dx = J_D / alpha). */
sgm_denoiser_grad sgm_gmm_denoiser_grad(const sgm_gmm *g);

/* The exact denoiser of the mean-reverting process (SGM_PROCESS_MR) with
 * x_0 ~ g and a condition mu per row (gmm_mr.c): in the process coordinates
 * y = x - mu it returns E[y_0 | y_t] = E_g[x_0 | y_t + alpha mu] - mu
 * (prediction x0). mu: [rows, d], copied; row r of a run (sgm_eval.row0 + i)
 * uses mu[r % rows]. g is borrowed and must outlive the handle. */
typedef struct sgm_gmm_mr sgm_gmm_mr; /* opaque */
sgm_status sgm_gmm_mr_create(const sgm_gmm *g, const double *mu, size_t rows,
                             sgm_gmm_mr **out, sgm_error *err);
void sgm_gmm_mr_free(sgm_gmm_mr *m);
/* mu of global row `row` (d values). */
const double *sgm_gmm_mr_mu(const sgm_gmm_mr *m, uint64_t row);
sgm_denoiser sgm_gmm_mr_denoiser(const sgm_gmm_mr *m);
int sgm_gmm_mr_denoise_fn(const sgm_eval *q, void *out, void *user_data);

/* ------------------------------------------- trained networks (sgm_ckpt) ---
 * A checkpoint (sgm_ckpt.h) loaded for sampling: its network (sgm_net.h),
 * the process and parameterization it was trained with and its data
 * statistics, as a denoiser. */

typedef struct sgm_model sgm_model; /* opaque */

/* Loads a checkpoint for sampling (EMA weights when use_ema, else the raw
 * parameters). max_batch: rows per network call (0: 4096; larger queries
 * are cut into chunks). */
sgm_status sgm_model_load(const char *path, int use_ema, int max_batch, sgm_model **out,
                        sgm_error *err);
void sgm_model_free(sgm_model *n);
/* The denoiser: maps a query (x_t in standardized units, t, alpha, sigma) to
 * (c_in x_t, c_noise), runs the network and returns its output with the
 * matching sgm_prediction (eps, x0, v, flow; x0 for EDM preconditioning). At
 * sigma = 0 it returns the exact limit. Not reentrant (one net per thread). */
sgm_denoiser sgm_model_denoiser(sgm_model *n);
/* Class labels for the next queries of a class-conditional U-Net: the row
 * with global index r (sgm_eval.row0 + i) gets labels[r % n] (n = 1: one
 * class for all; label -1 = the null
 * class, the default). Copied. guidance w: classifier-free guidance,
 * output = (1 + w) F(x, label) - w F(x, null) (Ho & Salimans 2022; w = 0:
 * plain conditional). Ignored for unconditional networks. */
sgm_status sgm_model_set_labels(sgm_model *n, const int *labels, size_t count, double guidance,
                              sgm_error *err);
/* Classes of the network (0: unconditional or an mlp), and the image shape
 * (1 for a U-Net, 0 for an mlp: c, h, w untouched). */
int sgm_model_n_classes(const sgm_model *n);
/* A network with a condition input (an MR restoration model of sgm_train.h,
 * trained with a degradation: the condition is the degraded image mu):
 * cond_dim is its width (0: none); set_cond copies `rows` condition rows
 * [rows, cond_dim] in the model's (standardized) units, and query row r
 * (sgm_eval.row0 + i) uses row r % rows. Such a model's denoiser fails
 * until they are set; its input derivatives are not available. */
size_t sgm_model_cond_dim(const sgm_model *n);
sgm_status sgm_model_set_cond(sgm_model *n, const double *cond, size_t rows, sgm_error *err);
int sgm_model_image_shape(const sgm_model *n, int *c, int *h, int *w);
/* The process the network was trained with (create it with sgm_process_create). */
const sgm_process_config *sgm_model_process_config(const sgm_model *n);
size_t sgm_model_dim(const sgm_model *n);
sgm_param sgm_model_param(const sgm_model *n);
/* Samples from the sampler are in standardized units; this maps n rows to
 * data units in place: x = mean + std z. */
void sgm_model_unstandardize(const sgm_model *n, size_t rows, sgm_dtype dt, void *x);
/* net_grad.c: the inverse map z = (x - mean) / std in place, and
 * sum_j log std_j, the log-determinant of x -> z: densities in data units are
 * log p_data(x) = log p_std(z) - sgm_model_log_std_sum(n). */
void sgm_model_standardize(const sgm_model *n, size_t rows, sgm_dtype dt, void *x);
double sgm_model_log_std_sum(const sgm_model *n);
/* net_grad.c: input derivatives of sgm_model_denoiser(n) for sgm_nll
 * (sgm_likelihood.h): a vjp through the network's backward pass (mlp or
 * U-Net), in the same standardized process coordinates as the denoiser.
 * A class-conditional U-Net is differentiated as its unconditional
 * (null-class) model, the density its label dropout trained; with class
 * labels or classifier-free guidance set (sgm_model_set_labels) the vjp
 * fails with code 4 (SGM_ERR_CALLBACK from sgm_nll): check first with
 * sgm_model_density_check. Shares the net's buffers: not reentrant. Called
 * right after sgm_model_denoiser(n) at the same query (DPS, Pi-GDM), the vjp
 * reuses the activations that call left for its last chunk of rows and runs
 * only the backward pass there (same bits as a recomputed forward). */
sgm_denoiser_grad sgm_model_denoiser_grad(sgm_model *n);
/* SGM_OK when sgm_model_denoiser(n) is the score model of a density (no
 * class labels other than the null class, no guidance on a class-conditional
 * network); SGM_ERR_UNSUPPORTED with the reason otherwise. */
sgm_status sgm_model_density_check(const sgm_model *n, sgm_error *err);
/* The network itself (owned by the model; its parameters are the loaded
 * block, EMA or raw). */
sgm_net *sgm_model_net(sgm_model *m);

#ifdef __cplusplus
}
#endif
#endif
