/* sgm_process.h - forward diffusion processes behind one interface.
 *
 * A process gives the marginal x_t = alpha(t) x0 + sigma(t) n, the half
 * log-SNR lambda(t) = log(alpha/sigma) and its inverse, the SDE coefficients
 * f(t) (drift: dx = f x dt + g dW) and g(t)^2, and the prior at t_max.
 *
 * Kinds (Song et al. 2021, arXiv:2011.13456; Karras et al. 2022, arXiv:2206.00364;
 * Lu et al. 2022, arXiv:2206.00927; Liu et al. 2022, arXiv:2209.03003):
 *   VE          t is sigma itself: alpha = 1, sigma = t  (EDM / k-diffusion form)
 *   VP_LINEAR   log alpha = -(b1 - b0) t^2 / 4 - b0 t / 2, sigma = sqrt(1 - alpha^2)
 *   VP_COSINE   alpha = cos(pi/2 (t+s)/(1+s)) / cos(pi/2 s/(1+s)) (iDDPM, s = 0.008)
 *   VP_DISCRETE a beta table of N train steps; index n sits at t_n = (n+1)/N and
 *               t is interpolated between them (see sgm_vp_interp)
 *   SUBVP       alpha as VP_LINEAR, sigma = 1 - alpha^2
 *   FLOW        alpha = 1 - t, sigma = t (rectified flow / linear interpolant)
 *   MR          mean-reverting IR-SDE (Luo et al. 2023, arXiv:2301.11699):
 *               dx = theta_t (mu - x) dt + sigma_t dW, sigma_t^2 = 2 lam^2 theta_t,
 *               with a condition mu (one vector per row). The process works on
 *               y = x - mu, which is affine-Gaussian: y_t = alpha y_0 + sigma n with
 *               alpha = exp(-thetabar(t)), sigma = lam sqrt(1 - alpha^2) (stationary
 *               std lam = mr_lambda). thetabar(t) = int_0^t theta: IR-SDE's cosine
 *               schedule (mr_theta 0) or a constant theta (1), normalised so that
 *               alpha(1) = mr_alpha_T. f = -theta, g^2 = 2 lam^2 theta. Every
 *               sampler runs on y; the caller adds mu (docs/conditioning.md, MR).
 *
 * Samplers work in "VE coordinates": x~ = x / alpha, s = sigma / alpha
 * = exp(-lambda). t = 0 is always the data end (alpha = 1, sigma = 0).
 */
#ifndef SGM_PROCESS_H
#define SGM_PROCESS_H

#include "sgm_core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sgm_process_kind {
    SGM_PROCESS_VE = 0,
    SGM_PROCESS_VP_LINEAR,
    SGM_PROCESS_VP_COSINE,
    SGM_PROCESS_VP_DISCRETE,
    SGM_PROCESS_SUBVP,
    SGM_PROCESS_FLOW,
    SGM_PROCESS_MR
} sgm_process_kind;

/* MR: theta schedules (thetabar(t) = int_0^t theta(u) du). */
typedef enum sgm_mr_theta {
    SGM_MR_THETA_COSINE = 0, /* IR-SDE's cosine theta (continuous form, see process_mr.c) */
    SGM_MR_THETA_CONSTANT    /* theta constant: thetabar = -log(mr_alpha_T) t */
} sgm_mr_theta;

/* Discrete beta tables (diffusers names). */
typedef enum sgm_beta_schedule {
    SGM_BETAS_LINEAR = 0,        /* linspace(beta_start, beta_end, N) */
    SGM_BETAS_SCALED_LINEAR,     /* linspace(sqrt(start), sqrt(end), N)^2 */
    SGM_BETAS_SQUAREDCOS_CAP_V2, /* GLIDE cosine alpha-bar, max beta 0.999 */
    SGM_BETAS_USER               /* betas given in the config */
} sgm_beta_schedule;

/* How a discrete table is read at fractional t. */
typedef enum sgm_vp_interp {
    SGM_INTERP_LOG_ALPHA = 0, /* DPM-Solver: log alpha piecewise linear in t, linear
                                 extrapolation outside the table */
    SGM_INTERP_LOG_SIGMA,     /* k-diffusion / diffusers _sigma_to_t: log sigma_ve
                                 piecewise linear in the index, clamped */
    SGM_INTERP_SIGMA          /* diffusers set_timesteps: sigma_ve piecewise linear
                                 in the index, clamped */
} sgm_vp_interp;

typedef struct sgm_process_config {
    sgm_process_kind kind;
    /* VE */
    double sigma_min, sigma_max;   /* default 0.002, 80 */
    /* VP_LINEAR / SUBVP */
    double beta_0, beta_1;         /* default 0.1, 20 */
    /* VP_COSINE */
    double cosine_s;               /* default 0.008 */
    /* time range used by default schedules: t in [t_eps, t_max] */
    double t_eps;                  /* default 1e-3 (VP/subVP), 1/N (discrete), 0 flow */
    double t_max;                  /* default 1 (VE: sigma_max) */
    /* VP_DISCRETE */
    sgm_beta_schedule betas;       /* default LINEAR */
    int n_train;                   /* default 1000 */
    double beta_start, beta_end;   /* default 1e-4, 0.02 */
    const double *user_betas;      /* SGM_BETAS_USER: n_train values (copied) */
    sgm_vp_interp interp;          /* default LOG_ALPHA */
    int rescale_zero_snr;          /* Lin et al. 2023 zero-terminal-SNR rescale */
    int clip_lambda;               /* DPM-Solver numerical_clip_alpha: drop trailing
                                      steps with lambda < -5.1 (default 0) */
    /* MR (appended) */
    double mr_lambda;              /* stationary std lam (default 1; > 0) */
    double mr_alpha_T;             /* exp(-thetabar(1)) (default 0.005, IR-SDE's eps) */
    sgm_mr_theta mr_theta;         /* default COSINE */
} sgm_process_config;

typedef struct sgm_process sgm_process; /* opaque, immutable after creation */

sgm_process_config sgm_process_config_default(sgm_process_kind kind);
sgm_status sgm_process_create(const sgm_process_config *cfg, sgm_process **out,
                              sgm_error *err);
void sgm_process_free(sgm_process *p);
/* Parses "ve", "vp", "vp-cosine", "vp-discrete", "subvp", "flow", "mr". */
sgm_status sgm_process_kind_from_name(const char *name, sgm_process_kind *out);
const char *sgm_process_kind_name(sgm_process_kind k);
/* Names of the discrete beta tables ("linear", "scaled_linear",
 * "squaredcos_cap_v2"; SGM_BETAS_USER has none) and interpolations
 * ("log_alpha", "log_sigma", "sigma"): the tables of SGM_ENUM_BETAS /
 * SGM_ENUM_INTERP (sgm_core.h). */
sgm_status sgm_beta_schedule_from_name(const char *name, sgm_beta_schedule *out);
const char *sgm_beta_schedule_name(sgm_beta_schedule b);
sgm_status sgm_vp_interp_from_name(const char *name, sgm_vp_interp *out);
const char *sgm_vp_interp_name(sgm_vp_interp i);
const sgm_process_config *sgm_process_get_config(const sgm_process *p);

double sgm_process_alpha(const sgm_process *p, double t);
double sgm_process_sigma(const sgm_process *p, double t);
double sgm_process_log_alpha(const sgm_process *p, double t);
/* lambda = log(alpha / sigma); +inf at t = 0. */
double sgm_process_lambda(const sgm_process *p, double t);
/* Inverse of lambda (t for a given half log-SNR); lambda = +inf gives 0. */
double sgm_process_t_of_lambda(const sgm_process *p, double lambda);
/* sigma_ve = sigma/alpha at t, and alpha as a function of sigma_ve. */
double sgm_process_sigma_ve(const sgm_process *p, double t);
double sgm_process_alpha_of_sigma_ve(const sgm_process *p, double s);
/* d alpha/dt and d sigma/dt (used for flow-velocity conversion). */
double sgm_process_dalpha(const sgm_process *p, double t);
double sgm_process_dsigma(const sgm_process *p, double t);
/* SDE coefficients: f(t) (dx = f x dt + g dW) and g(t)^2. */
double sgm_process_f(const sgm_process *p, double t);
double sgm_process_g2(const sgm_process *p, double t);
/* Default time range. */
double sgm_process_t_min(const sgm_process *p);
double sgm_process_t_max(const sgm_process *p);
/* Prior N(0, prior_std^2 I) at t_max: std, and log-density of one row. */
double sgm_process_prior_std(const sgm_process *p);
double sgm_process_prior_logp(const sgm_process *p, const double *x, size_t d);

/* Discrete tables (VP_DISCRETE only; NULL otherwise): n_train entries. */
const double *sgm_process_alphas_cumprod(const sgm_process *p);
int sgm_process_n_train(const sgm_process *p);
/* Model-facing discrete timestep label (0..N-1, fractional) <-> t. */
double sgm_process_t_to_timestep(const sgm_process *p, double t);
double sgm_process_timestep_to_t(const sgm_process *p, double timestep);

#ifdef __cplusplus
}
#endif
#endif
