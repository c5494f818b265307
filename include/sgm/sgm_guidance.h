/* sgm_guidance.h - inverse problems: measurement operators y = A(x) + sigma_y n,
 * the exact posterior of a Gaussian-mixture prior under a linear-Gaussian
 * measurement, and approximate posterior samplers for trained models (DPS,
 * Pi-GDM, replacement / projection, RePaint, RED-Diff). docs/conditioning.md
 * has the formulas, which method composes with which sampler, and the table
 * of measured figures against the exact posterior.
 *
 * All arithmetic is double (the denoiser derivatives of sgm_sampler.h are
 * f64 only). x and y are row-major [n, d] and [m] (one measurement for all
 * rows of a batch), or y [n, m] (one measurement per row, y_rows = 1).
 */
#ifndef SGM_GUIDANCE_H
#define SGM_GUIDANCE_H

#include "sgm_core.h"
#include "sgm_model.h"
#include "sgm_sampler.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --------------------------------------------------- measurement operators --- */

typedef enum sgm_operator_kind {
    SGM_OP_MASK = 0, /* inpainting: y = M . x, M in {0, 1} (1 = observed); y has the
                        shape of x and its unobserved entries are ignored */
    SGM_OP_BLUR,     /* Gaussian blur, separable, zero padding, same size (along h and
                        w, each axis of size > 1); a symmetric matrix */
    SGM_OP_DOWN,     /* average pooling by `factor` along h and w (each axis > 1) */
    SGM_OP_PROJ,     /* compressed sensing: y = P x, P [m, d] with N(0, 1/m) entries
                        drawn from Philox(seed) */
    SGM_OP_TANH,     /* nonlinear: y = tanh(scale x), pointwise */
    SGM_OP_USER      /* the callbacks below */
} sgm_operator_kind;

/* y ([n, m]) = A(x) for x [n, d]. Return 0 on success. */
typedef int (*sgm_op_forward_fn)(size_t n, const double *x, double *y, void *user_data);
/* out ([n, d]) = v^T dA/dx at x, v [n, m] (a linear A: A^T v, x unused). */
typedef int (*sgm_op_vjp_fn)(size_t n, const double *x, const double *v, double *out,
                             void *user_data);

typedef struct sgm_operator_config {
    sgm_operator_kind kind;
    size_t c, h, w;     /* signal shape, in_dim = c h w (a flat vector: c = h = 1, w = d) */
    const double *mask; /* MASK: [c h w] entries 0 or 1; copied */
    double blur_sigma;  /* BLUR: kernel std in pixels (> 0) */
    int blur_radius;    /* BLUR: half width (0: ceil(3 blur_sigma)) */
    int factor;         /* DOWN: pooling factor (>= 1, divides h and w where > 1) */
    size_t proj_dim;    /* PROJ: rows m of P */
    uint64_t seed;      /* PROJ: Philox key of P */
    double tanh_scale;  /* TANH: scale (> 0) */
    /* USER */
    size_t user_out_dim;
    int user_linear;    /* 1: forward is linear (the linear methods and the SVD apply) */
    sgm_op_forward_fn forward;
    sgm_op_vjp_fn vjp;
    void *user_data;
} sgm_operator_config;

typedef struct sgm_operator sgm_operator; /* opaque */

sgm_operator_config sgm_operator_config_default(sgm_operator_kind kind);
sgm_status sgm_operator_kind_from_name(const char *name, sgm_operator_kind *out);
const char *sgm_operator_kind_name(sgm_operator_kind k);
sgm_status sgm_operator_create(const sgm_operator_config *cfg, sgm_operator **out,
                               sgm_error *err);
void sgm_operator_free(sgm_operator *op);
size_t sgm_operator_in_dim(const sgm_operator *op);
size_t sgm_operator_out_dim(const sgm_operator *op);
int sgm_operator_is_linear(const sgm_operator *op);
sgm_status sgm_operator_forward(const sgm_operator *op, size_t n, const double *x, double *y,
                                sgm_error *err);
sgm_status sgm_operator_vjp(const sgm_operator *op, size_t n, const double *x,
                            const double *v, double *out, sgm_error *err);
/* Linear operators (in_dim, out_dim <= 8192): the dense matrix A [m, d], and
 * the SVD computed once and cached in op (not thread-safe):
 * A A^T = U diag(s^2) U^T, U [m, m] row-major with the singular vectors in
 * its columns, s [m] descending. Borrowed pointers, valid while op lives. */
sgm_status sgm_operator_matrix(const sgm_operator *op, double *a, sgm_error *err);
sgm_status sgm_operator_svd(sgm_operator *op, const double **u, const double **s,
                            sgm_error *err);
/* x + A^+ (y - A x) for n rows (the projection onto {A x = y}; A^+ from the
 * SVD, singular values below 1e-10 s_max count as 0). out may alias x. */
sgm_status sgm_operator_project(sgm_operator *op, size_t n, const double *x, const double *y,
                                double *out, sgm_error *err);

/* -------------------------------------- exact posterior of a mixture prior --- */

/* For the prior p(x) = sum_k w_k N(mu_k, diag s_k^2) (sgm_gmm) and
 * y = A x + sigma_y n (A linear, sigma_y > 0), p(x | y) is the mixture
 *   P_k = diag(s_k^-2) + A^T A / sigma_y^2,  C_k = P_k^-1,
 *   m_k = C_k (mu_k / s_k^2 + A^T y / sigma_y^2),
 *   w'_k ~ w_k N(y; A mu_k, A diag(s_k^2) A^T + sigma_y^2 I),
 * and every noisy posterior p(x0 + sigma n | y) the mixture with C_k + sigma^2 I. */
typedef struct sgm_gmm_posterior sgm_gmm_posterior; /* opaque, immutable */

sgm_status sgm_gmm_posterior_create(const sgm_gmm *prior, const sgm_operator *op,
                                    const double *y, double sigma_y,
                                    sgm_gmm_posterior **out, sgm_error *err);
void sgm_gmm_posterior_free(sgm_gmm_posterior *p);
size_t sgm_gmm_posterior_dim(const sgm_gmm_posterior *p);
size_t sgm_gmm_posterior_components(const sgm_gmm_posterior *p);
const double *sgm_gmm_posterior_weights(const sgm_gmm_posterior *p); /* [k] w'_k */
const double *sgm_gmm_posterior_means(const sgm_gmm_posterior *p);   /* [k, d] m_k */
const double *sgm_gmm_posterior_covs(const sgm_gmm_posterior *p);    /* [k, d, d] C_k */
/* Mean [d] and covariance [d, d] of the whole posterior mixture. */
void sgm_gmm_posterior_moments(const sgm_gmm_posterior *p, double *mean, double *cov);
/* E[x0 | x0 + sigma n = x, y] (VE form), log p_sigma(x | y) and the
 * responsibilities [n, k], for n rows. */
void sgm_gmm_posterior_denoise(const sgm_gmm_posterior *p, size_t n, const double *x,
                               double sigma, double *out);
void sgm_gmm_posterior_logpdf(const sgm_gmm_posterior *p, size_t n, const double *x,
                              double sigma, double *out);
void sgm_gmm_posterior_responsibilities(const sgm_gmm_posterior *p, size_t n,
                                        const double *x, double sigma, double *out);
/* Exact samples: rows [row0, row0 + n) of draw `draw` of seed. */
void sgm_gmm_posterior_sample(const sgm_gmm_posterior *p, uint64_t seed, uint64_t draw,
                              uint64_t row0, size_t n, double *out);
/* The exact noisy-posterior denoiser (prediction x0, process coordinates:
 * D(x / alpha, sigma / alpha)); usable with every sampler. */
sgm_denoiser sgm_gmm_posterior_denoiser(const sgm_gmm_posterior *p);

/* --------------------------------------------------- posterior samplers --- */

typedef enum sgm_posterior_method {
    SGM_POST_DPS = 0, /* Chung et al. 2023: after each sampler step,
                         x -= zeta / ||y - A(x0)|| grad_x ||y - A(x0(x))||^2;
                         any fixed-step sampler; (non)linear A */
    SGM_POST_PIGDM,   /* Song et al. 2023 (Pi-GDM): a denoiser wrapper adding
                         sigma^2 / alpha times the guidance score
                         J^T A^T (r^2 A A^T + sigma_y^2 I)^-1 (y - A x0); any
                         sampler, adaptive ones included; linear A (SVD) */
    SGM_POST_REPLACE, /* score_sde replacement / projection: after each step,
                         x <- x + A^+ (y_t - A x), y_t = alpha y + sigma A z,
                         A^+ damped to A^T (A A^T + sigma_y^2 / data_var I)^-1 when
                         sigma_y > 0; any fixed-step sampler; linear A */
    SGM_POST_REPAINT, /* Lugmayr et al. 2022: replacement with resampling (jump
                         length, resample count); its own loop, each descent step
                         one step of the sampler (history restarts each step) */
    SGM_POST_REDDIFF  /* Mardani et al. 2023: Adam on the mean mu over the schedule
                         (noisy to clean), its own loop (no sampler); (non)linear A */
} sgm_posterior_method;

sgm_status sgm_posterior_method_from_name(const char *name, sgm_posterior_method *out);
const char *sgm_posterior_method_name(sgm_posterior_method m);

typedef struct sgm_posterior_config {
    sgm_posterior_method method;
    double sigma_y;       /* measurement noise std (>= 0) */
    double zeta;          /* DPS: step scale zeta' (1) */
    double data_var;      /* prior variance v (1): Pi-GDM's r^2 = s^2 v / (s^2 + v); the
                             damping sigma_y^2 / v of replace, repaint, reddiff's start */
    int jump_length;      /* RePaint: j (10) */
    int resample;         /* RePaint: r, passes over each jump (10; 1 = replacement) */
    double lambda;        /* RED-Diff: regularisation weight (0.25) */
    double lr;            /* RED-Diff: Adam step (0.1) */
    double beta1, beta2;  /* RED-Diff: Adam moments (0.9, 0.99) */
    int y_rows;           /* 0: y is [m], one measurement for every row (default);
                             1: y is [n, m], row i of y is the measurement of row i of x */
} sgm_posterior_config;

sgm_posterior_config sgm_posterior_config_default(sgm_posterior_method m);

typedef struct sgm_posterior_stats {
    size_t nfe;  /* denoiser calls */
    size_t nvjp; /* vector-Jacobian products */
} sgm_posterior_stats;

/* Draws n posterior samples in place: x ([n, d], process coordinates at
 * sched->t[0] on entry (the sampler's starting noise; RED-Diff ignores it),
 * the samples on exit). scfg: the sampler (dtype must be f64; RED-Diff does
 * not use it), grad: the denoiser's derivatives (DPS and Pi-GDM need vjp).
 * row0 selects the noise streams as in sgm_sampler_run. stats may be NULL. */
sgm_status sgm_posterior_run(const sgm_posterior_config *pc, const sgm_sampler_config *scfg,
                             const sgm_process *proc, const sgm_schedule *sched,
                             const sgm_denoiser *den, const sgm_denoiser_grad *grad,
                             sgm_operator *op, const double *y, sgm_rng *rng, uint64_t row0,
                             size_t n, double *x, sgm_posterior_stats *stats, sgm_error *err);

#ifdef __cplusplus
}
#endif
#endif
