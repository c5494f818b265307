/* sgm_likelihood.h - log-likelihood through the probability-flow ODE, the
 * PF-ODE encoding x_0 -> x_T, and bits/dim.
 *
 * Instantaneous change of variables (Chen et al. 2018, arXiv:1806.07366,
 * thm. 1; Song et al. 2021, arXiv:2011.13456, app. D.2): for dx/dtau =
 * f(x, tau), d log p(x(tau)) / dtau = -div f. We integrate in VE coordinates
 * x~ = x / alpha with the half log-SNR lambda as the variable, where the
 * PF-ODE is dx~/dlambda = D(x~, s) - x~ (s = sigma/alpha = e^-lambda) and
 * div f = tr(dD/dx~) - d. From lambda_0 = lambda(t_eps) down to
 * lambda_T = lambda(t_end):
 *   log p_{t_eps}(x) = prior_logp(alpha_T x~_T) + d log alpha_T
 *                      + int_{lambda_0}^{lambda_T} div f dlambda - d log alpha_eps,
 * with x~_0 = x / alpha_eps; the d log alpha terms are the exact Jacobians of
 * x = alpha x~ at both ends. The prior is sgm_process_prior_logp
 * (N(0, prior_std^2 I)).
 *
 * Divergence: SGM_DIV_EXACT uses the model's closed-form trace when the
 * gradient callbacks provide one (the exact mixture does), otherwise d
 * Jacobian-vector (or vector-Jacobian) products in one batched call;
 * SGM_DIV_HUTCHINSON is the Hutchinson-Skilling estimator eps^T J eps averaged
 * over n_probes probes (Rademacher or Gaussian) fixed per sample for the
 * whole solve and drawn from Philox: probe k of global row r is draw k of
 * (seed, r), so results do not depend on batch size.
 *
 * Integration: adaptive Dormand-Prince 5(4) (the tableau of the sampler's
 * rk45) on the augmented state [x~, delta logp], every row on its own
 * (per-sample steps: results do not depend on the batch), error = RMS over
 * the d + 1 components of (y5 - y4) / (atol + rtol max(|y|, |y5|)), the
 * standard controller h <- h clamp(0.9 err^-1/5, 0.2, 5) (Hairer, Norsett &
 * Wanner, Solving ODEs I, II.4). score_sde uses scipy RK45 with rtol = atol
 * = 1e-5 and eps = 1e-5: these are the defaults.
 *
 * Bits/dim (score_sde likelihood.py): bpd = -log p / (D ln 2) + offset, for
 * 8-bit data dequantized as y = (k + u) / 256, u ~ U[0, 1): offset 8 when the
 * model sees y in [0, 1], 7 when it sees 2y - 1 in [-1, 1] (the factor 2 of
 * the scaling is one bit per dimension).
 */
#ifndef SGM_LIKELIHOOD_H
#define SGM_LIKELIHOOD_H

#include "sgm_core.h"
#include "sgm_process.h"
#include "sgm_sampler.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ config --- */

typedef enum sgm_divergence { SGM_DIV_EXACT = 0, SGM_DIV_HUTCHINSON } sgm_divergence;
typedef enum sgm_probe { SGM_PROBE_RADEMACHER = 0, SGM_PROBE_GAUSSIAN } sgm_probe;

typedef struct sgm_nll_config {
    sgm_divergence divergence; /* EXACT */
    sgm_probe probe;           /* RADEMACHER (score_sde's default) */
    int n_probes;              /* Hutchinson probes averaged per evaluation (1) */
    uint64_t seed;             /* probe streams (0) */
    double rtol, atol;         /* 1e-5, 1e-5 */
    double t_eps;              /* start time of the solve (1e-5; VP_DISCRETE: its t_min) */
    double t_end;              /* end time: 0 = process t_max, or just below it
                                  (t_max (1 - 1e-5)) when alpha(t_max) = 0 (flow) */
    double h_init;             /* first step in lambda (0.05) */
    size_t max_steps;          /* step attempts per sample (100000) */
} sgm_nll_config;

sgm_nll_config sgm_nll_config_default(void);

/* ------------------------------------------------------------- solves --- */

/* Log-likelihood in nats of n rows x ([n, d], data at t_eps, process
 * coordinates). logp: [n] out. Optional outputs (NULL to skip): z [n, d] the
 * encoding x_T (process coordinates at t_end), nfe [n] model evaluations per
 * row (one per ODE right-hand side: a batched call of d or n_probes
 * directions counts once, as one network forward/backward pass). row0 is the
 * global index of row 0 (selects the probes). Fails with SGM_ERR_NONFINITE
 * on non-finite input or a non-finite result, SGM_ERR_UNSUPPORTED when grad
 * lacks what the divergence needs. Outputs are written only on success. */
sgm_status sgm_nll(const sgm_nll_config *cfg, const sgm_process *proc,
                   const sgm_denoiser *den, const sgm_denoiser_grad *grad, uint64_t row0,
                   size_t n, size_t d, const double *x, double *logp, double *z,
                   size_t *nfe, sgm_error *err);

/* The PF-ODE encoding x_0 (at t_eps) -> x_T (at t_end) of n rows with the
 * same integrator and no divergence (the inverse of a deterministic sampler
 * run from t_end to t_eps). z [n, d]; nfe [n] optional. Decoding is well
 * conditioned for points where the data density is not negligible; a point
 * in a near-empty region (e.g. the middle of a ring of modes) is squeezed
 * exponentially towards a single x_T and cannot be recovered in double
 * precision. */
sgm_status sgm_encode(const sgm_nll_config *cfg, const sgm_process *proc,
                      const sgm_denoiser *den, size_t n, size_t d, const double *x,
                      double *z, size_t *nfe, sgm_error *err);

/* The times the solves use for cfg and proc (t_eps, t_end after defaults). */
void sgm_nll_times(const sgm_nll_config *cfg, const sgm_process *proc, double *t_eps,
                   double *t_end);

/* ---------------------------------------------------------- bits/dim --- */

/* Uniform dequantization of 8-bit values k in {0..255} ([n, d] doubles):
 * y = (k + u) / 256 with u ~ U[0, 1) from Philox (seed, draw 2^40 - apart
 * from the probe draws 0, 1, ... - global row), then
 * out = y (centered = 0) or 2y - 1 (centered = 1). Fails on values outside
 * 0..255 or not integers. */
sgm_status sgm_dequantize_uniform(uint64_t seed, uint64_t row0, size_t n, size_t d,
                                  const double *k, int centered, double *out,
                                  sgm_error *err);
/* -logp / (d ln 2) + offset, offset = 7 (centered) or 8 (data in [0, 1]). */
double sgm_bits_per_dim(double logp, size_t d, int centered);

#ifdef __cplusplus
}
#endif
#endif
