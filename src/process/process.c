/* process.c - the forward processes of sgm_process.h: VE (EDM form), VP with
 * continuous linear beta (Song et al. 2021, eq. 11) and iDDPM cosine
 * (Nichol & Dhariwal 2021), discrete-beta VP with DPM-Solver's and diffusers'
 * interpolations (Lu et al. 2022, App. D; diffusers schedulers; its tables
 * and their interpolation are in process_discrete.c), sub-VP (Song et al.
 * 2021, eq. 12) and the rectified-flow interpolant (Liu et al. 2022): the
 * configuration, creation and each kind's alpha, sigma, lambda, their
 * inverses and derivatives, and the mean-reverting IR-SDE in y = x - mu
 * (Luo et al. 2023; its theta schedules in process_mr.c): log alpha =
 * -thetabar, sigma = lam sqrt(1 - alpha^2). All quantities in double precision.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "process_internal.h"

sgm_process_config sgm_process_config_default(sgm_process_kind kind) {
    sgm_process_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.sigma_min = 0.002;
    c.sigma_max = 80.0;
    c.beta_0 = 0.1;
    c.beta_1 = 20.0;
    c.cosine_s = 0.008;
    c.betas = SGM_BETAS_LINEAR;
    c.n_train = 1000;
    c.beta_start = 1e-4;
    c.beta_end = 0.02;
    c.interp = SGM_INTERP_LOG_ALPHA;
    c.mr_lambda = 1.0;
    c.mr_alpha_T = 0.005;
    c.mr_theta = SGM_MR_THETA_COSINE;
    switch (kind) {
    case SGM_PROCESS_VE:
        c.t_eps = c.sigma_min;
        c.t_max = c.sigma_max;
        break;
    case SGM_PROCESS_VP_COSINE:
        c.t_eps = 1e-3;
        c.t_max = 0.9946; /* DPM-Solver's cosine T: keeps lambda finite */
        break;
    case SGM_PROCESS_VP_DISCRETE:
        c.t_eps = 0; /* 1 / n_train, resolved at creation */
        c.t_max = 1.0;
        break;
    case SGM_PROCESS_FLOW:
        c.t_eps = 1e-3;
        c.t_max = 1.0;
        break;
    default:
        c.t_eps = 1e-3;
        c.t_max = 1.0;
        break;
    }
    return c;
}


const sgm_process_config *sgm_process_get_config(const sgm_process *p) { return &p->cfg; }

sgm_status sgm_process_create(const sgm_process_config *cfg, sgm_process **out,
                              sgm_error *err) {
    *out = NULL;
    if (!cfg) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "process: no config");
    const sgm_process_config *c = cfg;
    switch (c->kind) {
    case SGM_PROCESS_VE:
        if (!(c->sigma_min > 0 && c->sigma_max > c->sigma_min && isfinite(c->sigma_max)))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "process ve: need 0 < sigma_min < sigma_max < inf "
                                  "(got sigma_min=%g, sigma_max=%g)",
                                  c->sigma_min, c->sigma_max);
        break;
    case SGM_PROCESS_VP_LINEAR:
    case SGM_PROCESS_SUBVP:
        if (!(c->beta_0 > 0 && c->beta_1 > c->beta_0 && isfinite(c->beta_1)))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "process %s: need 0 < beta_0 < beta_1 (got %g, %g)",
                                  sgm_process_kind_name(c->kind), c->beta_0, c->beta_1);
        break;
    case SGM_PROCESS_VP_COSINE:
        if (!(c->cosine_s >= 0 && c->cosine_s < 1))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "process vp-cosine: cosine_s must be in [0, 1)");
        break;
    case SGM_PROCESS_VP_DISCRETE:
        if (c->betas != SGM_BETAS_USER && c->betas != SGM_BETAS_SQUAREDCOS_CAP_V2 &&
            !(c->beta_start > 0 && c->beta_end > c->beta_start && c->beta_end < 1))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "process vp-discrete: need 0 < beta_start < beta_end < 1 "
                                  "(got %g, %g)",
                                  c->beta_start, c->beta_end);
        break;
    case SGM_PROCESS_FLOW:
        break;
    case SGM_PROCESS_MR:
        if (!(c->mr_lambda > 0 && isfinite(c->mr_lambda)))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "process mr: lambda must be finite and > 0 (got %g)",
                                  c->mr_lambda);
        if (!(c->mr_alpha_T > 0 && c->mr_alpha_T < 1))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "process mr: alpha_T must be in (0, 1) (got %g)",
                                  c->mr_alpha_T);
        if (c->mr_theta != SGM_MR_THETA_COSINE && c->mr_theta != SGM_MR_THETA_CONSTANT)
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "process mr: unknown theta schedule %d", (int)c->mr_theta);
        break;
    default:
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "process: unknown kind %d",
                              (int)c->kind);
    }
    sgm_process *p = calloc(1, sizeof *p);
    if (!p) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    p->cfg = *c;
    if (c->kind == SGM_PROCESS_VP_DISCRETE) {
        p->cfg.user_betas = NULL;
        sgm_status st = sgm__process_build_discrete(p, err);
        if (st) {
            sgm_process_free(p);
            return st;
        }
    }
    if (c->kind == SGM_PROCESS_VP_COSINE) {
        double s = c->cosine_s;
        p->cos_la0 = log(cos(PI / 2 * s / (1 + s)));
    }
    if (c->kind == SGM_PROCESS_MR) sgm__process_mr_init(p);
    if (!(p->cfg.t_max > p->cfg.t_eps && p->cfg.t_eps >= 0)) {
        sgm_process_free(p);
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "process: need 0 <= t_eps < t_max (got %g, %g)", c->t_eps,
                              c->t_max);
    }
    *out = p;
    return SGM_OK;
}

void sgm_process_free(sgm_process *p) {
    if (!p) return;
    free(p->abar);
    free(p->la);
    free(p->ls);
    free(p->sv);
    free(p->user_betas);
    free(p);
}

/* ------------------------------------------------------------- basics --- */

double sgm_process_log_alpha(const sgm_process *p, double t) {
    if (t <= 0) return 0;
    const sgm_process_config *c = &p->cfg;
    switch (c->kind) {
    case SGM_PROCESS_VE:
        return 0;
    case SGM_PROCESS_VP_LINEAR:
    case SGM_PROCESS_SUBVP:
        return -(c->beta_1 - c->beta_0) * t * t / 4 - c->beta_0 * t / 2;
    case SGM_PROCESS_VP_COSINE:
        return log(cos(PI / 2 * (t + c->cosine_s) / (1 + c->cosine_s))) - p->cos_la0;
    case SGM_PROCESS_VP_DISCRETE:
        return sgm__process_disc_la(p, t, NULL);
    case SGM_PROCESS_FLOW:
        return log1p(-t);
    case SGM_PROCESS_MR:
        return -sgm__process_mr_thetabar(p, t, NULL);
    }
    return 0;
}

double sgm_process_alpha(const sgm_process *p, double t) {
    if (t <= 0) return 1;
    if (p->cfg.kind == SGM_PROCESS_FLOW) return 1 - t;
    return exp(sgm_process_log_alpha(p, t));
}

double sgm_process_sigma(const sgm_process *p, double t) {
    if (t <= 0) return 0;
    switch (p->cfg.kind) {
    case SGM_PROCESS_VE:
        return t;
    case SGM_PROCESS_FLOW:
        return t;
    case SGM_PROCESS_SUBVP:
        return -expm1(2 * sgm_process_log_alpha(p, t));
    case SGM_PROCESS_MR:
        return p->cfg.mr_lambda * sqrt(-expm1(2 * sgm_process_log_alpha(p, t)));
    default:
        return sqrt(-expm1(2 * sgm_process_log_alpha(p, t)));
    }
}

double sgm_process_sigma_ve(const sgm_process *p, double t) {
    if (t <= 0) return 0;
    switch (p->cfg.kind) {
    case SGM_PROCESS_VE:
        return t;
    case SGM_PROCESS_FLOW:
        return t >= 1 ? INFINITY : t / (1 - t);
    case SGM_PROCESS_SUBVP: {
        double la = sgm_process_log_alpha(p, t);
        return -expm1(2 * la) / exp(la);
    }
    case SGM_PROCESS_VP_DISCRETE:
        return sgm__process_disc_sigma_ve(p, t);
    case SGM_PROCESS_MR:
        return p->cfg.mr_lambda * sqrt(expm1(-2 * sgm_process_log_alpha(p, t)));
    default:
        return sqrt(expm1(-2 * sgm_process_log_alpha(p, t)));
    }
}

double sgm_process_lambda(const sgm_process *p, double t) {
    if (t <= 0) return INFINITY;
    double s = sgm_process_sigma_ve(p, t);
    return -log(s);
}

double sgm_process_alpha_of_sigma_ve(const sgm_process *p, double s) {
    if (s <= 0) return 1;
    switch (p->cfg.kind) {
    case SGM_PROCESS_VE:
        return 1;
    case SGM_PROCESS_FLOW:
        return isinf(s) ? 0 : 1 / (1 + s);
    case SGM_PROCESS_SUBVP:
        return isinf(s) ? 0 : 2 / (s + sqrt(s * s + 4));
    case SGM_PROCESS_MR: {
        double u = s / p->cfg.mr_lambda;
        return isinf(u) ? 0 : 1 / sqrt(1 + u * u);
    }
    default:
        return isinf(s) ? 0 : 1 / sqrt(1 + s * s);
    }
}

/* t from log alpha for the linear-beta family: root of
 * (b1 - b0)/4 t^2 + b0/2 t + la = 0, written without cancellation. */
static double t_of_la_linear(const sgm_process_config *c, double la) {
    double A = (c->beta_1 - c->beta_0);
    return -2 * la / (c->beta_0 / 2 + sqrt(c->beta_0 * c->beta_0 / 4 - A * la));
}

double sgm_process_t_of_lambda(const sgm_process *p, double lambda) {
    if (lambda == INFINITY) return 0;
    const sgm_process_config *c = &p->cfg;
    switch (c->kind) {
    case SGM_PROCESS_VE:
        return exp(-lambda);
    case SGM_PROCESS_FLOW:
        return 1 / (1 + exp(lambda));
    case SGM_PROCESS_VP_LINEAR: {
        /* DPM-Solver closed form */
        double tmp = 2 * (c->beta_1 - c->beta_0) *
                     (lambda > 0 ? log1p(exp(-2 * lambda)) : -2 * lambda + log1p(exp(2 * lambda)));
        double Delta = c->beta_0 * c->beta_0 + tmp;
        return tmp / (sqrt(Delta) + c->beta_0) / (c->beta_1 - c->beta_0);
    }
    case SGM_PROCESS_SUBVP: {
        /* alpha u solves u^2 e^lambda + u - e^lambda = 0 */
        double E = exp(lambda);
        double u = isinf(E) ? 1 : 2 * E / (1 + sqrt(1 + 4 * E * E));
        return t_of_la_linear(c, log(u));
    }
    case SGM_PROCESS_VP_COSINE: {
        double la = lambda > 0 ? -0.5 * log1p(exp(-2 * lambda))
                               : lambda - 0.5 * log1p(exp(2 * lambda));
        double s = c->cosine_s;
        return 2 * (1 + s) / PI * acos(exp(la + p->cos_la0)) - s;
    }
    case SGM_PROCESS_VP_DISCRETE:
        return sgm__process_disc_t_of_lambda(p, lambda);
    case SGM_PROCESS_MR: {
        /* sigma_ve = lam sqrt(e^{2 thetabar} - 1) = e^{-lambda}: with
         * u = log(sigma_ve / lam), thetabar = log1p(e^{2u}) / 2 */
        double u = -lambda - log(c->mr_lambda);
        double tb = u > 0 ? u + 0.5 * log1p(exp(-2 * u)) : 0.5 * log1p(exp(2 * u));
        return sgm__process_mr_t_of_thetabar(p, tb);
    }
    }
    return 0;
}

/* d log alpha / dt */
static double dla_dt(const sgm_process *p, double t) {
    const sgm_process_config *c = &p->cfg;
    switch (c->kind) {
    case SGM_PROCESS_VE:
        return 0;
    case SGM_PROCESS_VP_LINEAR:
    case SGM_PROCESS_SUBVP:
        return -(c->beta_0 + (c->beta_1 - c->beta_0) * t) / 2;
    case SGM_PROCESS_VP_COSINE: {
        double s = c->cosine_s;
        return -PI / (2 * (1 + s)) * tan(PI / 2 * (t + s) / (1 + s));
    }
    case SGM_PROCESS_VP_DISCRETE: {
        double d = 0;
        sgm__process_disc_la(p, t, &d);
        return d;
    }
    case SGM_PROCESS_FLOW:
        return -1 / (1 - t);
    case SGM_PROCESS_MR: {
        double th = 0;
        sgm__process_mr_thetabar(p, t, &th);
        return -th;
    }
    }
    return 0;
}

double sgm_process_dalpha(const sgm_process *p, double t) {
    if (p->cfg.kind == SGM_PROCESS_FLOW) return -1;
    if (p->cfg.kind == SGM_PROCESS_VE) return 0;
    return sgm_process_alpha(p, t) * dla_dt(p, t);
}

double sgm_process_dsigma(const sgm_process *p, double t) {
    switch (p->cfg.kind) {
    case SGM_PROCESS_VE:
    case SGM_PROCESS_FLOW:
        return 1;
    case SGM_PROCESS_SUBVP: {
        double a = sgm_process_alpha(p, t);
        return -2 * a * a * dla_dt(p, t);
    }
    case SGM_PROCESS_MR: {
        /* sigma = lam sqrt(1 - alpha^2): dsigma = -lam^2 alpha^2 dla / sigma */
        double a = sgm_process_alpha(p, t), s = sgm_process_sigma(p, t);
        double l2 = p->cfg.mr_lambda * p->cfg.mr_lambda;
        return s > 0 ? -l2 * a * a * dla_dt(p, t) / s : INFINITY;
    }
    default: {
        /* sigma = sqrt(1 - alpha^2): dsigma = -alpha^2 dla / sigma */
        double a = sgm_process_alpha(p, t), s = sgm_process_sigma(p, t);
        return s > 0 ? -a * a * dla_dt(p, t) / s : INFINITY;
    }
    }
}

double sgm_process_f(const sgm_process *p, double t) {
    if (p->cfg.kind == SGM_PROCESS_VE) return 0;
    return dla_dt(p, t);
}

double sgm_process_g2(const sgm_process *p, double t) {
    /* g^2 = d sigma^2/dt - 2 f sigma^2 (from the marginal variance ODE) */
    switch (p->cfg.kind) {
    case SGM_PROCESS_VE:
        return 2 * t;
    case SGM_PROCESS_SUBVP: {
        double beta = -2 * dla_dt(p, t);
        double a2 = sgm_process_alpha(p, t);
        a2 *= a2;
        return beta * (1 - a2 * a2);
    }
    case SGM_PROCESS_FLOW:
        return 2 * t / (1 - t);
    case SGM_PROCESS_MR: /* sigma_t^2 = 2 lam^2 theta_t (IR-SDE) */
        return -2 * p->cfg.mr_lambda * p->cfg.mr_lambda * dla_dt(p, t);
    default:
        return -2 * dla_dt(p, t); /* beta(t) */
    }
}

double sgm_process_t_min(const sgm_process *p) { return p->cfg.t_eps; }
double sgm_process_t_max(const sgm_process *p) { return p->cfg.t_max; }

double sgm_process_prior_std(const sgm_process *p) {
    if (p->cfg.kind == SGM_PROCESS_VE) return p->cfg.sigma_max;
    return sgm_process_sigma(p, p->cfg.t_max);
}

double sgm_process_prior_logp(const sgm_process *p, const double *x, size_t d) {
    double sd = sgm_process_prior_std(p);
    double ss = 0;
    for (size_t i = 0; i < d; i++) ss += x[i] * x[i];
    return -0.5 * (double)d * log(2 * PI * sd * sd) - ss / (2 * sd * sd);
}

const double *sgm_process_alphas_cumprod(const sgm_process *p) { return p->abar; }
int sgm_process_n_train(const sgm_process *p) { return p->N; }

double sgm_process_t_to_timestep(const sgm_process *p, double t) {
    switch (p->cfg.kind) {
    case SGM_PROCESS_VP_DISCRETE:
        return t * p->N - 1;
    case SGM_PROCESS_VE:
        return t;
    case SGM_PROCESS_FLOW:
        return 1000 * t;
    default:
        return 999 * t; /* score_sde continuous VP label */
    }
}

double sgm_process_timestep_to_t(const sgm_process *p, double ts) {
    switch (p->cfg.kind) {
    case SGM_PROCESS_VP_DISCRETE:
        return (ts + 1) / p->N;
    case SGM_PROCESS_VE:
        return ts;
    case SGM_PROCESS_FLOW:
        return ts / 1000;
    default:
        return ts / 999;
    }
}
