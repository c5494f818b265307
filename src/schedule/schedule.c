/* schedule.c - noise-level discretizations.
 *
 * Sigma-space kinds (k-diffusion sampling.py): karras (Karras et al. 2022
 * eq. 5), exponential, polyexponential, vp (get_sigmas_vp); they produce
 * `steps` sigmas and append 0 unless final_point says otherwise.
 * Time-space kinds (DPM-Solver skip types, Lu et al. 2022 App. D.1):
 * time_uniform, logSNR, time_quadratic; `steps + 1` times from t_start down
 * to t_end (no final zero unless asked). diffusers timestep spacings live in
 * schedule_diffusers.c. Every point carries t, VE sigma and alpha.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "schedule_internal.h"

sgm_schedule_config sgm_schedule_config_default(sgm_schedule_kind kind) {
    sgm_schedule_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.steps = 20;
    c.rho = kind == SGM_SCHEDULE_POLYEXPONENTIAL ? 1.0 : 7.0;
    c.final_point = SGM_FINAL_DEFAULT;
    c.vp_beta_d = 19.9;
    c.vp_beta_min = 0.1;
    c.vp_eps_s = 1e-3;
    c.steps_offset = 0;
    c.grid = SGM_DGRID_DDIM;
    c.beta_alpha = 0.6;
    c.beta_beta = 0.6;
    c.lq_threshold = 0.025;
    c.laplace_beta = 0.5;
    c.gits_coeff = 1.2;
    c.flow_shift = 1.0;
    return c;
}

void sgm_schedule_free(sgm_schedule *s) {
    if (!s) return;
    free(s->t);
    free(s->sigma);
    free(s->alpha);
    free(s->land_t);
    free(s->land_sigma);
    free(s->land_alpha);
    free(s);
}

sgm_schedule *sgm__schedule_alloc(size_t n) {
    sgm_schedule *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->n = n;
    s->t = calloc(n ? n : 1, sizeof(double));
    s->sigma = calloc(n ? n : 1, sizeof(double));
    s->alpha = calloc(n ? n : 1, sizeof(double));
    if (!s->t || !s->sigma || !s->alpha) {
        sgm_schedule_free(s);
        return NULL;
    }
    return s;
}

double sgm__torch_linspace(double a, double b, size_t n, size_t i) {
    /* torch.linspace: the first half counts up from a, the second down from b */
    if (n == 1) return a;
    double step = (b - a) / (double)(n - 1);
    if (i < n / 2) return a + step * (double)i;
    return b - step * (double)(n - 1 - i);
}

/* point from a VE sigma / from a time */
void sgm__sched_set_sigma(sgm_schedule *s, size_t i, const sgm_process *p, double sigma) {
    s->sigma[i] = sigma;
    s->t[i] = sigma > 0 ? sgm_process_t_of_lambda(p, -log(sigma)) : 0;
    s->alpha[i] = sgm_process_alpha_of_sigma_ve(p, sigma);
}

void sgm__sched_set_t(sgm_schedule *s, size_t i, const sgm_process *p, double t) {
    s->t[i] = t;
    s->sigma[i] = sgm_process_sigma_ve(p, t);
    s->alpha[i] = sgm_process_alpha(p, t);
}

sgm_status sgm__sched_check(const sgm_schedule *s, sgm_error *err) {
    for (size_t i = 0; i < s->n; i++) {
        if (!(s->sigma[i] >= 0) || isnan(s->t[i]) || !(s->alpha[i] >= 0))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "schedule: point %zu is not finite (t=%g, sigma=%g)", i,
                                  s->t[i], s->sigma[i]);
        if (i > 0 && !(s->sigma[i] < s->sigma[i - 1]))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "schedule: sigmas must decrease strictly (point %zu: %g "
                                  "after %g)",
                                  i, s->sigma[i], s->sigma[i - 1]);
    }
    return SGM_OK;
}

static double default_sigma_min(const sgm_process *p) {
    const sgm_process_config *c = sgm_process_get_config(p);
    if (c->kind == SGM_PROCESS_VE) return c->sigma_min;
    return sgm_process_sigma_ve(p, sgm_process_t_min(p));
}

/* the flow process reaches pure noise at t = 1, where sigma and the log-SNR
   are infinite: schedules in sigma or log-SNR start by default where its
   training stops (t = 1 - 1e-3, sgm_train.h; sigma 999) */
static double default_t_max(const sgm_process *p) {
    double t = sgm_process_t_max(p);
    if (sgm_process_get_config(p)->kind == SGM_PROCESS_FLOW && t > 1 - 1e-3) t = 1 - 1e-3;
    return t;
}

static double default_sigma_max(const sgm_process *p) {
    const sgm_process_config *c = sgm_process_get_config(p);
    if (c->kind == SGM_PROCESS_VE) return c->sigma_max;
    return sgm_process_sigma_ve(p, default_t_max(p));
}

static sgm_status sigma_kind(const sgm_schedule_config *c, const sgm_process *p,
                             sgm_schedule **out, sgm_error *err) {
    double smin = c->sigma_min > 0 ? c->sigma_min : default_sigma_min(p);
    double smax = c->sigma_max > 0 ? c->sigma_max : default_sigma_max(p);
    if (c->kind == SGM_SCHEDULE_VP) {
        /* sigma(t) = sqrt(exp(beta_d t^2/2 + beta_min t) - 1), t = linspace(1, eps_s) */
        if (!(c->vp_beta_d > 0 && c->vp_beta_min >= 0 && c->vp_eps_s > 0 && c->vp_eps_s < 1))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "schedule vp: need beta_d > 0, beta_min >= 0, 0 < eps_s < 1");
    } else {
        if (!(smin > 0 && isfinite(smax)))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "schedule %s: need 0 < sigma_min and finite sigma_max "
                                  "(got %g, %g)",
                                  sgm_schedule_kind_name(c->kind), smin, smax);
        if (!(smin < smax))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "schedule %s: sigma_min (%g) must be < sigma_max (%g)",
                                  sgm_schedule_kind_name(c->kind), smin, smax);
        if (c->kind == SGM_SCHEDULE_KARRAS && !(c->rho > 0))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule karras: rho must be > 0");
    }
    int zero = c->final_point == SGM_FINAL_DEFAULT || c->final_point == SGM_FINAL_ZERO;
    size_t m = zero ? (size_t)c->steps : (size_t)c->steps + 1; /* generated sigmas */
    if (m < 2 && !zero)
        m = 2;
    sgm_schedule *s = sgm__schedule_alloc(zero ? m + 1 : m);
    if (!s) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < m; i++) {
        double sigma = 0;
        switch (c->kind) {
        case SGM_SCHEDULE_KARRAS: {
            double ramp = sgm__torch_linspace(0, 1, m, i);
            double a = pow(smax, 1 / c->rho), b = pow(smin, 1 / c->rho);
            sigma = pow(a + ramp * (b - a), c->rho);
            break;
        }
        case SGM_SCHEDULE_EXPONENTIAL:
            sigma = exp(sgm__torch_linspace(log(smax), log(smin), m, i));
            break;
        case SGM_SCHEDULE_POLYEXPONENTIAL: {
            double ramp = pow(sgm__torch_linspace(1, 0, m, i), c->rho);
            sigma = exp(ramp * (log(smax) - log(smin)) + log(smin));
            break;
        }
        case SGM_SCHEDULE_VP: {
            double t = sgm__torch_linspace(1, c->vp_eps_s, m, i);
            sigma = sqrt(expm1(c->vp_beta_d * t * t / 2 + c->vp_beta_min * t));
            break;
        }
        default:
            break;
        }
        sgm__sched_set_sigma(s, i, p, sigma);
    }
    if (zero) sgm__sched_set_sigma(s, m, p, 0);
    *out = s;
    return SGM_OK;
}

static sgm_status time_kind(const sgm_schedule_config *c, const sgm_process *p,
                            sgm_schedule **out, sgm_error *err) {
    int logsnr = c->kind == SGM_SCHEDULE_LOGSNR;
    double tT = c->t_start > 0 ? c->t_start : logsnr ? default_t_max(p) : sgm_process_t_max(p);
    double t0 = c->t_end > 0 ? c->t_end : sgm_process_t_min(p);
    if (!(t0 > 0 && t0 < tT))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "schedule %s: need 0 < t_end < t_start (got t_end=%g, "
                              "t_start=%g)",
                              sgm_schedule_kind_name(c->kind), t0, tT);
    if (logsnr && !(isfinite(sgm_process_lambda(p, tT)) && isfinite(sgm_process_lambda(p, t0))))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "schedule logsnr: the log-SNR is not finite on [%g, %g]; start "
                              "below the pure-noise end (t_max < 1 for flow)",
                              t0, tT);
    int zero = c->final_point == SGM_FINAL_ZERO;
    size_t m = (size_t)c->steps + 1;
    sgm_schedule *s = sgm__schedule_alloc(zero ? m + 1 : m);
    if (!s) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    double lT = sgm_process_lambda(p, tT), l0 = sgm_process_lambda(p, t0);
    for (size_t i = 0; i < m; i++) {
        double t = 0;
        switch (c->kind) {
        case SGM_SCHEDULE_TIME_UNIFORM:
            t = sgm__torch_linspace(tT, t0, m, i);
            break;
        case SGM_SCHEDULE_LOGSNR:
            t = sgm_process_t_of_lambda(p, sgm__torch_linspace(lT, l0, m, i));
            break;
        case SGM_SCHEDULE_TIME_QUADRATIC: {
            double r = sgm__torch_linspace(sqrt(tT), sqrt(t0), m, i);
            t = r * r;
            break;
        }
        default:
            break;
        }
        sgm__sched_set_t(s, i, p, t);
    }
    if (zero) sgm__sched_set_t(s, m, p, 0);
    *out = s;
    return SGM_OK;
}

static sgm_status user_kind(const sgm_schedule_config *c, const sgm_process *p,
                            sgm_schedule **out, sgm_error *err) {
    if (!c->user || c->n_user < 2)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "schedule: an explicit list needs at least 2 values");
    int add_zero = c->final_point == SGM_FINAL_ZERO && c->user[c->n_user - 1] != 0;
    sgm_schedule *s = sgm__schedule_alloc(c->n_user + (add_zero ? 1 : 0));
    if (!s) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < c->n_user; i++) {
        double v = c->user[i];
        if (!isfinite(v) || v < 0) {
            sgm_schedule_free(s);
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "schedule: value %zu of the list is %g (need finite, >= 0)", i,
                                  v);
        }
        if (i > 0 && !(v < c->user[i - 1])) {
            sgm_schedule_free(s);
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "schedule: the list must decrease strictly (value %zu: %g "
                                  "after %g)",
                                  i, v, c->user[i - 1]);
        }
        if (c->kind == SGM_SCHEDULE_USER_SIGMAS)
            sgm__sched_set_sigma(s, i, p, v);
        else
            sgm__sched_set_t(s, i, p, v);
    }
    if (add_zero) sgm__sched_set_sigma(s, c->n_user, p, 0);
    *out = s;
    return SGM_OK;
}

/* SD3's static shift t' = a t / (1 + (a - 1) t) (ComfyUI time_snr_shift) or,
 * with a sequence length, Flux's t' = e^mu / (e^mu + 1/t - 1) with mu linear
 * in the image sequence length (0.5 at 256 tokens, 1.15 at 4096) */
void sgm__sched_flow_shift(const sgm_schedule_config *c, const sgm_process *p, sgm_schedule *s) {
    if (sgm_process_get_config(p)->kind != SGM_PROCESS_FLOW) return;
    if (c->flow_shift == 1.0 && c->flow_shift_seq_len == 0) return;
    double mu = 0.5 + (1.15 - 0.5) * ((double)c->flow_shift_seq_len - 256.0) / (4096.0 - 256.0);
    for (size_t i = 0; i < s->n; i++) {
        double t = s->t[i], u;
        if (t <= 0) continue;
        if (c->flow_shift_seq_len > 0) u = exp(mu) / (exp(mu) + (1 / t - 1));
        else u = c->flow_shift * t / (1 + (c->flow_shift - 1) * t);
        sgm__sched_set_t(s, i, p, u);
    }
}

sgm_status sgm_schedule_create(const sgm_schedule_config *cfg, const sgm_process *proc,
                               sgm_schedule **out, sgm_error *err) {
    *out = NULL;
    if (!cfg || !proc) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule: no config");
    if (cfg->kind != SGM_SCHEDULE_USER_SIGMAS && cfg->kind != SGM_SCHEDULE_USER_TIMES &&
        cfg->steps < 1)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule: steps must be >= 1 (got %d)",
                              cfg->steps);
    if (cfg->steps > 10000000)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule: steps too large (%d)",
                              cfg->steps);
    sgm_status st;
    switch (cfg->kind) {
    case SGM_SCHEDULE_KARRAS:
    case SGM_SCHEDULE_EXPONENTIAL:
    case SGM_SCHEDULE_POLYEXPONENTIAL:
    case SGM_SCHEDULE_VP:
        st = sigma_kind(cfg, proc, out, err);
        break;
    case SGM_SCHEDULE_TIME_UNIFORM:
    case SGM_SCHEDULE_LOGSNR:
    case SGM_SCHEDULE_TIME_QUADRATIC:
        st = time_kind(cfg, proc, out, err);
        break;
    case SGM_SCHEDULE_LEADING:
    case SGM_SCHEDULE_TRAILING:
    case SGM_SCHEDULE_LINSPACE:
        st = sgm__schedule_diffusers(cfg, proc, out, err);
        break;
    case SGM_SCHEDULE_USER_SIGMAS:
    case SGM_SCHEDULE_USER_TIMES:
        st = user_kind(cfg, proc, out, err);
        break;
    case SGM_SCHEDULE_SIMPLE:
    case SGM_SCHEDULE_SGM_UNIFORM:
    case SGM_SCHEDULE_DDIM_UNIFORM:
    case SGM_SCHEDULE_NORMAL:
    case SGM_SCHEDULE_BETA:
    case SGM_SCHEDULE_LINEAR_QUADRATIC:
    case SGM_SCHEDULE_KL_OPTIMAL:
    case SGM_SCHEDULE_AYS:
    case SGM_SCHEDULE_GITS:
    case SGM_SCHEDULE_LAPLACE:
    case SGM_SCHEDULE_OPTIMAL_STEPS:
        st = sgm__schedule_comfy(cfg, proc, out, err);
        break;
    default:
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule: unknown kind %d",
                              (int)cfg->kind);
    }
    if (st) return st;
    if (!(cfg->flow_shift > 0) || cfg->flow_shift_seq_len < 0) {
        sgm_schedule_free(*out);
        *out = NULL;
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "schedule: flow shift must be > 0 and the sequence length >= 0");
    }
    sgm__sched_flow_shift(cfg, proc, *out);
    if ((st = sgm__sched_check(*out, err))) {
        sgm_schedule_free(*out);
        *out = NULL;
    }
    return st;
}

sgm_status sgm_schedule_from_arrays(const sgm_process *proc, size_t n, const double *t,
                                    const double *sigma, sgm_schedule **out, sgm_error *err) {
    *out = NULL;
    if (n < 2 || !t || !sigma)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule: need >= 2 points");
    sgm_schedule *s = sgm__schedule_alloc(n);
    if (!s) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        s->t[i] = t[i];
        s->sigma[i] = sigma[i];
        s->alpha[i] = sgm_process_alpha_of_sigma_ve(proc, sigma[i]);
    }
    sgm_status st = sgm__sched_check(s, err);
    if (st) {
        sgm_schedule_free(s);
        return st;
    }
    *out = s;
    return SGM_OK;
}
