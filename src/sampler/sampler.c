/* sampler.c - the sampler object: configuration defaults and validation,
 * scratch allocation, the begin/step/run driver, schedule points, the
 * denoiser call (with the one prediction -> x0 conversion) and noise draws.
 * The update rules live in one file per family (see registry.c).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampler_internal.h"

void sgm__brownian_increment(sgm__s *s, double s_from, double s_to, void *z);

/* ------------------------------------------------------------ config --- */

static void generic_defaults(sgm_sampler_config *c) {
    memset(c, 0, sizeof *c);
    c->order = 0;
    c->eta = 0;
    c->s_noise = 1;
    c->s_churn = 0;
    c->s_tmin = 0;
    c->s_tmax = INFINITY;
    c->multistep = 1;
    c->algorithm = SGM_DPM_DATA;
    c->solver_type = SGM_SOLVER_MIDPOINT;
    c->lower_order_final = SGM_LOF_NONE;
    c->denoise_to_zero = 0;
    c->nfe = 0;
    c->r1 = 0; /* 0: the method's own default */
    c->r2 = 0;
    c->rtol = 0.05;
    c->atol = 0.0078;
    c->h_init = 0.05;
    c->pcoeff = 0;
    c->icoeff = 1;
    c->dcoeff = 0;
    c->accept_safety = 0.81;
    c->error_norm = SGM_NORM_PER_SAMPLE;
    c->max_steps = 100000;
    c->snr = 0.16;
    c->n_corrector = 1;
    c->predictor_order = 2;
    c->corrector_order = 2;
    c->tau = 1;
    c->tau_sigma_min = 0;
    c->tau_sigma_max = INFINITY;
    c->ge_gamma = 2;
    c->er_noise_scaler = 0;
    c->noise = SGM_NOISE_INDEPENDENT;
    c->dtype = SGM_F64;
    c->n_threads = 0;
    c->step_size = 0.1;
    c->friction = 2;
}

sgm_status sgm_sampler_config_default(const char *method, sgm_sampler_config *cfg,
                                      sgm_error *err) {
    const sgm__method *m = sgm__method_lookup(method);
    if (!m)
        return sgm__fail(err, SGM_ERR_UNKNOWN_NAME,
                         "unknown sampler '%s' (run `sgm list` for the names)",
                         method ? method : "(null)");
    generic_defaults(cfg);
    snprintf(cfg->method, sizeof cfg->method, "%s", m->info.name);
    cfg->order = m->info.order;
    if (m->defaults) m->defaults(cfg);
    /* aliases that name a variant of dpm_solver (the algorithm defaults to
     * dpmsolver++, as in DPM-Solver and diffusers; --algorithm changes it) */
    if (sgm__name_eq(method, "dpmsolver_singlestep")) cfg->multistep = 0;
    if (sgm__name_eq(method, "dpmsolver_multistep")) cfg->multistep = 1;
    /* ComfyUI names that carry a variant: uni_pc is variant 'bh1' (unipc
     * defaults to diffusers' bh2), *_2m_sde_heun the heun solver type */
    if (sgm__name_eq(method, "uni_pc")) cfg->solver_type = SGM_SOLVER_BH1;
    if (sgm__name_eq(method, "uni_pc_bh2")) cfg->solver_type = SGM_SOLVER_BH2;
    if (sgm__name_eq(method, "dpmpp_2m_sde_heun") ||
        sgm__name_eq(method, "dpmpp_2m_sde_heun_gpu") ||
        sgm__name_eq(method, "dpm++_2m_sde_heun"))
        cfg->solver_type = SGM_SOLVER_HEUN;
    return SGM_OK;
}

const sgm_sampler_config *sgm_sampler_get_config(const sgm_sampler *s) { return &s->cfg; }

static sgm_status validate_generic(const sgm_sampler_config *c, sgm_error *err) {
    if (!(c->eta >= 0 && isfinite(c->eta)))
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "eta must be finite and >= 0 (got %g)",
                         c->eta);
    if (!(c->s_noise >= 0 && isfinite(c->s_noise)))
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "s_noise must be finite and >= 0");
    if (!(c->s_churn >= 0 && isfinite(c->s_churn)))
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "s_churn must be finite and >= 0");
    if (c->order < 0 || c->order > 4)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "order must be in 1..4 (got %d)",
                         c->order);
    if (!(c->rtol >= 0 && c->atol >= 0) || (c->rtol == 0 && c->atol == 0))
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "rtol/atol must be >= 0, not both 0");
    if (c->dtype != SGM_F64 && c->dtype != SGM_F32)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "unknown dtype %d", (int)c->dtype);
    if (c->n_threads < 0)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "n_threads must be >= 0");
    if ((int)c->noise < 0 || c->noise > SGM_NOISE_TORCH)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "unknown noise source %d", (int)c->noise);
    return SGM_OK;
}

/* ------------------------------------------------------ create / free --- */

sgm_status sgm_sampler_create(const sgm_sampler_config *cfg, const sgm_process *proc,
                              size_t n_max, size_t d, sgm_sampler **out, sgm_error *err) {
    *out = NULL;
    if (!cfg || !proc) return sgm__fail(err, SGM_ERR_INVALID_ARG, "sampler: no config/process");
    const sgm__method *m = sgm__method_lookup(cfg->method);
    if (!m)
        return sgm__fail(err, SGM_ERR_UNKNOWN_NAME,
                         "unknown sampler '%s' (run `sgm list` for the names)", cfg->method);
    if (n_max == 0 || d == 0)
        return sgm__fail(err, SGM_ERR_SHAPE, "sampler: need n >= 1 and d >= 1");
    if (n_max > ((size_t)-1 / 16) / d)
        return sgm__fail(err, SGM_ERR_SHAPE, "sampler: n * d too large");
    sgm_status st = validate_generic(cfg, err);
    if (st) return st;
    if (m->validate && (st = m->validate(cfg, err))) return st;

    sgm_sampler *s = calloc(1, sizeof *s);
    if (!s) return sgm__fail(err, SGM_ERR_NOMEM, "out of memory");
    s->cfg = *cfg;
    snprintf(s->cfg.method, sizeof s->cfg.method, "%s", m->info.name);
    if (s->cfg.order == 0) s->cfg.order = m->info.order;
    s->m = m;
    s->proc = proc;
    s->n_max = n_max;
    s->d = d;
    s->dt = cfg->dtype;
    s->esz = sgm_dtype_size(s->dt);
    s->n_buf = m->n_buffers ? m->n_buffers(&s->cfg) : 0;
    if (s->n_buf > SGM__MAX_BUF) {
        free(s);
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "sampler %s: too many buffers", m->info.name);
    }
    size_t bytes = n_max * d * s->esz;
    for (int i = 0; i < s->n_buf; i++)
        if (!(s->buf[i] = malloc(bytes))) goto oom;
    if (!(s->xt = malloc(bytes)) || !(s->noise = malloc(bytes))) goto oom;
    *out = s;
    return SGM_OK;
oom:
    sgm_sampler_free(s);
    return sgm__fail(err, SGM_ERR_NOMEM, "sampler: out of memory for %zu x %zu", n_max, d);
}

void sgm_sampler_free(sgm_sampler *s) {
    if (!s) return;
    for (int i = 0; i < SGM__MAX_BUF; i++) free(s->buf[i]);
    free(s->xt);
    free(s->noise);
    free(s->pts);
    free(s->mstate);
    free(s->ems);
    free(s);
}

void sgm_sampler_get_stats(const sgm_sampler *s, sgm_sampler_stats *out) { *out = s->stats; }

/* ------------------------------------------------------------- points --- */

sgm__pt sgm__pt_from_s(const sgm__s *s, double sv) {
    sgm__pt p;
    p.s = sv;
    p.lambda = sv > 0 ? -log(sv) : INFINITY;
    p.t = sv > 0 ? sgm_process_t_of_lambda(s->proc, p.lambda) : 0;
    p.alpha = sgm_process_alpha_of_sigma_ve(s->proc, sv);
    return p;
}

sgm__pt sgm__pt_from_lambda(const sgm__s *s, double lambda) {
    sgm__pt p;
    p.lambda = lambda;
    p.s = exp(-lambda);
    p.t = sgm_process_t_of_lambda(s->proc, lambda);
    p.alpha = sgm_process_alpha_of_sigma_ve(s->proc, p.s);
    return p;
}

sgm__pt sgm__pt_from_t(const sgm__s *s, double t) {
    sgm__pt p;
    p.t = t;
    p.s = sgm_process_sigma_ve(s->proc, t);
    p.lambda = p.s > 0 ? -log(p.s) : INFINITY;
    p.alpha = sgm_process_alpha(s->proc, t);
    return p;
}

/* ----------------------------------------------------------- denoiser --- */

void sgm_prediction_to_x0(sgm_prediction pred, sgm_dtype dt, size_t count, const void *x,
                          const void *m, double alpha, double sigma, double dalpha,
                          double dsigma, void *out) {
    double cx, cm; /* x0 = cx * x + cm * m */
    switch (pred) {
    case SGM_PRED_X0:
        if (out != m) memcpy(out, m, count * sgm_dtype_size(dt));
        return;
    case SGM_PRED_EPS:
        cx = 1 / alpha;
        cm = -sigma / alpha;
        break;
    case SGM_PRED_V: {
        double den = alpha * alpha + sigma * sigma;
        cx = alpha / den;
        cm = -sigma / den;
        break;
    }
    case SGM_PRED_SCORE:
        cx = 1 / alpha;
        cm = sigma * sigma / alpha;
        break;
    case SGM_PRED_FLOW: {
        double den = alpha * dsigma - sigma * dalpha;
        cx = dsigma / den;
        cm = -sigma / den;
        break;
    }
    default:
        return;
    }
    if (dt == SGM_F64) {
        const double *a = x, *b = m;
        double *o = out;
        for (size_t i = 0; i < count; i++) o[i] = cx * a[i] + cm * b[i];
    } else {
        const float *a = x, *b = m;
        float *o = out;
        for (size_t i = 0; i < count; i++) o[i] = (float)(cx * a[i] + cm * b[i]);
    }
}

sgm_status sgm__denoise(sgm__s *s, const void *x, sgm__pt p, void *D) {
    const void *xin = x;
    if (p.alpha != 1) {
        double a = p.alpha;
        sgm__lc(s, s->xt, 1, &a, &x);
        xin = s->xt;
    }
    sgm_eval q;
    q.n = s->n;
    q.d = s->d;
    q.row0 = s->row0;
    q.dtype = s->dt;
    q.x = xin;
    q.t = p.t;
    q.alpha = p.alpha;
    q.sigma = p.s * p.alpha;
    int rc = s->den->fn(&q, D, s->den->user_data);
    s->stats.nfe++;
    if (rc != 0)
        return sgm__fail(s->err, SGM_ERR_CALLBACK,
                         "denoiser returned %d at t=%g (sigma=%g)", rc, p.t, q.sigma);
    if (s->den->prediction != SGM_PRED_X0) {
        double da = 0, ds = 0;
        if (s->den->prediction == SGM_PRED_FLOW) {
            da = sgm_process_dalpha(s->proc, p.t);
            ds = sgm_process_dsigma(s->proc, p.t);
        }
        sgm_prediction_to_x0(s->den->prediction, s->dt, s->count, xin, D, p.alpha, q.sigma,
                             da, ds, D);
    }
    s->last_D = D;
    return SGM_OK;
}

sgm_status sgm__denoise_unguided(sgm__s *s, const void *x, sgm__pt p, const void *D,
                                 void *U) {
    if (!s->unguided.fn) {
        sgm__copy(s, U, D);
        return SGM_OK;
    }
    const void *xin = x;
    if (p.alpha != 1) xin = s->xt; /* still alpha x from sgm__denoise */
    sgm_eval q = {s->n, s->d, s->row0, s->dt, xin, p.t, p.alpha, p.s * p.alpha};
    if (s->unguided.fn(&q, U, s->unguided.user_data) != 0)
        return sgm__fail(s->err, SGM_ERR_CALLBACK, "unguided prediction unavailable at t=%g",
                         p.t);
    if (s->unguided.prediction != SGM_PRED_X0) {
        double da = 0, ds = 0;
        if (s->unguided.prediction == SGM_PRED_FLOW) {
            da = sgm_process_dalpha(s->proc, p.t);
            ds = sgm_process_dsigma(s->proc, p.t);
        }
        sgm_prediction_to_x0(s->unguided.prediction, s->dt, s->count, xin, U, p.alpha, q.sigma,
                             da, ds, U);
    }
    return SGM_OK;
}

sgm_status sgm_sampler_set_unguided(sgm_sampler *s, const sgm_denoiser *unguided,
                                    sgm_error *err) {
    if (!s) return sgm__fail(err, SGM_ERR_INVALID_ARG, "NULL sampler");
    if (unguided && !unguided->fn)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "unguided denoiser has no function");
    if (unguided) s->unguided = *unguided;
    else memset(&s->unguided, 0, sizeof s->unguided);
    return SGM_OK;
}

/* --------------------------------------------------------------- noise --- */

void sgm_sampler_set_torch_rng(sgm_sampler *s, sgm_torch_rng *g) { s->torch = g; }

void sgm_sampler_set_log_density(sgm_sampler *s, sgm_log_density_fn fn, void *user_data) {
    s->logp_fn = fn;
    s->logp_user = user_data;
}

void sgm__randn(sgm__s *s, void *z) {
    if (s->cfg.noise == SGM_NOISE_TORCH)
        sgm_torch_randn(s->torch, s->count, s->dt, z); /* one tensor for the batch */
    else
        sgm_rng_normal(s->rng, s->row0, s->n, s->d, s->dt, z);
}

void sgm__noise_interval(sgm__s *s, double s_from, double s_to, void *z) {
    if (s->cfg.noise_fn) {
        int rc = s->cfg.noise_fn(s_from, s_to, s->n, s->d, s->row0, s->dt, z,
                                 s->cfg.noise_user_data);
        if (rc != 0) {
            /* the step finishes on zeros; sgm_sampler_step then fails the run */
            memset(z, 0, s->count * s->esz);
            if (!s->noise_rc) s->noise_rc = rc;
        }
    } else if (s->cfg.noise == SGM_NOISE_BROWNIAN)
        sgm__brownian_increment(s, s_from, s_to, z);
    else
        sgm__randn(s, z);
}

/* ------------------------------------------------------------- history --- */

void sgm__hist_reset(sgm__s *s) {
    s->hn = 0;
    for (int i = 0; i < SGM__MAX_HIST; i++) {
        s->hs[i] = 0;
        s->ibuf[i] = -1;
    }
}

int sgm__hist_slot(sgm__s *s, int first, int depth) {
    if (s->hn < depth) {
        /* a buffer of the ring not in use */
        for (int b = first; b < first + depth; b++) {
            int used = 0;
            for (int j = 0; j < s->hn; j++)
                if (s->ibuf[j] == b) used = 1;
            if (!used) return b;
        }
    }
    return s->ibuf[depth - 1];
}

void sgm__hist_push(sgm__s *s, int buf_index, double scalar, int depth) {
    int n = s->hn < depth ? s->hn + 1 : depth;
    for (int j = n - 1; j > 0; j--) {
        s->ibuf[j] = s->ibuf[j - 1];
        s->hs[j] = s->hs[j - 1];
    }
    s->ibuf[0] = buf_index;
    s->hs[0] = scalar;
    s->hn = n;
}

/* -------------------------------------------------------------- driver --- */

static void to_process_coords(sgm__s *s, void *x, double alpha) {
    if (alpha != 1) sgm__lc(s, x, 1, &alpha, (const void *const *)&x);
}

static sgm_status first_step_from_pure_noise(sgm__s *s, void *x) {
    sgm__pt p = s->pts[0], q = s->pts[1];
    double sigma0 = sgm_process_sigma(s->proc, p.t);
    if (!(sigma0 > 0))
        return sgm__fail(s->err, SGM_ERR_INVALID_ARG, "schedule: first point has sigma = 0");
    sgm_eval ev;
    ev.n = s->n;
    ev.d = s->d;
    ev.row0 = s->row0;
    ev.dtype = s->dt;
    ev.x = x;
    ev.t = p.t;
    ev.alpha = 0;
    ev.sigma = sigma0;
    void *D = s->noise;
    int rc = s->den->fn(&ev, D, s->den->user_data);
    s->stats.nfe++;
    if (rc != 0)
        return sgm__fail(s->err, SGM_ERR_CALLBACK, "denoiser returned %d at t=%g", rc, p.t);
    if (s->den->prediction != SGM_PRED_X0)
        sgm_prediction_to_x0(s->den->prediction, s->dt, s->count, x, D, 0, sigma0,
                             sgm_process_dalpha(s->proc, p.t), sgm_process_dsigma(s->proc, p.t),
                             D);
    double c = isfinite(q.s) ? q.s / sigma0 : 0;
    sgm__lc2(s, x, c, x, 1, D);
    s->i = 1;
    s->k = 1;
    return SGM_OK;
}

sgm_status sgm_sampler_begin(sgm_sampler *s, const sgm_schedule *sched,
                             const sgm_denoiser *den, sgm_rng *rng, uint64_t row0, size_t n,
                             void *x, sgm_error *err) {
    s->err = err;
    if (!sched || !den || !den->fn || !x || !rng)
        return sgm__fail(err, SGM_ERR_INVALID_ARG,
                         "sampler: schedule, denoiser, rng and x are required");
    if (n == 0 || n > s->n_max)
        return sgm__fail(err, SGM_ERR_SHAPE,
                         "sampler: batch of %zu rows, but it was created for at most %zu", n,
                         s->n_max);
    if (sched->n < 2)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "schedule: need at least 2 points (1 step)");
    if (s->cfg.noise == SGM_NOISE_TORCH && !s->torch)
        return sgm__fail(err, SGM_ERR_INVALID_ARG,
                         "noise source 'torch' needs a generator (sgm_sampler_set_torch_rng)");
    if (s->pts_cap < sched->n) {
        free(s->pts);
        s->pts = malloc(2 * sched->n * sizeof *s->pts); /* points, then landing points */
        if (!s->pts) {
            s->pts_cap = 0;
            return sgm__fail(err, SGM_ERR_NOMEM, "out of memory");
        }
        s->pts_cap = sched->n;
    }
    for (size_t i = 0; i < sched->n; i++) {
        sgm__pt p;
        p.t = sched->t[i];
        p.s = sched->sigma[i];
        p.alpha = sched->alpha[i];
        p.lambda = p.s > 0 ? -log(p.s) : INFINITY;
        if (!(p.s >= 0) || isnan(p.t) || !(p.alpha >= 0) || !isfinite(p.alpha))
            return sgm__fail(err, SGM_ERR_INVALID_ARG,
                             "schedule: point %zu is not valid (t=%g sigma=%g alpha=%g)", i,
                             p.t, p.s, p.alpha);
        if (i > 0 && !(p.s < s->pts[i - 1].s))
            return sgm__fail(err, SGM_ERR_INVALID_ARG,
                             "schedule: sigmas must decrease strictly (point %zu: %g after %g)",
                             i, p.s, s->pts[i - 1].s);
        s->pts[i] = p;
    }
    s->land = NULL;
    if (sched->land_t && sched->land_sigma && sched->land_alpha) {
        s->land = s->pts + s->pts_cap;
        for (size_t i = 0; i + 1 < sched->n; i++) {
            sgm__pt p;
            p.t = sched->land_t[i];
            p.s = sched->land_sigma[i];
            p.alpha = sched->land_alpha[i];
            p.lambda = p.s > 0 ? -log(p.s) : INFINITY;
            if (!(p.s >= 0) || isnan(p.t) || !(p.alpha > 0) || !isfinite(p.alpha))
                return sgm__fail(err, SGM_ERR_INVALID_ARG,
                                 "schedule: landing point %zu is not valid (t=%g sigma=%g)", i,
                                 p.t, p.s);
            s->land[i] = p;
        }
    }
    int pure_noise = !(s->pts[0].alpha > 0) || !isfinite(s->pts[0].s);
    if (pure_noise && (den->prediction == SGM_PRED_EPS || den->prediction == SGM_PRED_SCORE))
        return sgm__fail(err, SGM_ERR_UNSUPPORTED,
                         "the schedule starts at pure noise (alpha = 0, zero terminal SNR), "
                         "where an eps or score prediction does not determine x0; use a v, "
                         "x0 or flow model, or start below t_max");
    s->n_pts = sched->n;
    s->n = n;
    s->count = n * s->d;
    s->i = 0;
    s->done = 0;
    s->k = 0;
    s->den = den;
    s->rng = rng;
    s->row0 = row0;
    s->last_D = NULL;
    s->noise_rc = 0;
    memset(&s->stats, 0, sizeof s->stats);
    sgm__hist_reset(s);
    free(s->mstate);
    s->mstate = NULL;
    /* Brownian tree range: smallest positive and largest sigma of the schedule */
    s->bt_smax = 0;
    s->bt_smin = INFINITY;
    for (size_t i = 0; i < s->n_pts; i++) {
        double v = s->pts[i].s;
        if (v > 0 && isfinite(v)) {
            if (v < s->bt_smin) s->bt_smin = v;
            if (v > s->bt_smax) s->bt_smax = v;
        }
    }
    if (!(s->bt_smax > 0)) s->bt_smin = s->bt_smax = 1;
    if (pure_noise) {
        /* First step from alpha = 0: the limit of every sampler's first-order update
         * (DDIM / Euler / DPM-Solver-1) is x~_1 = D + s_1 x_0 / sigma_0; the method
         * proper then starts at point 1 with an empty history. */
        sgm_status st = first_step_from_pure_noise(s, x);
        if (st) return st;
    } else if (s->pts[0].alpha != 1) {
        /* into VE coordinates */
        double a = 1 / s->pts[0].alpha;
        sgm__lc(s, x, 1, &a, (const void *const *)&x);
    }
    if (s->m->begin) {
        sgm_status st = s->m->begin(s, x);
        if (st) return st;
    }
    return SGM_OK;
}

sgm_status sgm_sampler_step(sgm_sampler *s, void *x, int *done, sgm_error *err) {
    s->err = err;
    if (s->done) {
        if (done) *done = 1;
        return SGM_OK;
    }
    if (!s->m->step)
        return sgm__fail(err, SGM_ERR_UNSUPPORTED, "sampler %s is not implemented",
                         s->m->info.name);
    if (s->i < s->n_pts - 1) { /* (begin may already have reached the end) */
        size_t i0 = s->i;
        sgm_status st = s->m->step(s, x);
        if (st) return st;
        if (s->noise_rc)
            return sgm__fail(err, SGM_ERR_CALLBACK, "noise callback returned %d in step %zu",
                             s->noise_rc, s->k + 1);
        if (s->land && s->i == i0 + 1 && s->land[i0].alpha != s->pts[i0 + 1].alpha) {
            /* landed off the schedule: same process coordinates, now at pts[i0 + 1] */
            double r = s->land[i0].alpha / s->pts[i0 + 1].alpha;
            sgm__lc(s, x, 1, &r, (const void *const *)&x);
        }
        s->k++;
    }
    s->stats.steps = s->k;
    if (s->i >= s->n_pts - 1) s->done = 1;
    if (s->cfg.on_step) {
        sgm_step_info info;
        info.step = s->k ? s->k - 1 : 0;
        info.n_steps = s->m->info.adaptive ? 0 : s->n_pts - 1;
        sgm__pt p = s->pts[s->i < s->n_pts ? s->i : s->n_pts - 1];
        info.t = p.t;
        info.sigma = p.s;
        info.alpha = p.alpha;
        info.nfe = s->stats.nfe;
        info.n = s->n;
        info.d = s->d;
        info.dtype = s->dt;
        info.x = x;
        info.denoised = s->last_D;
        if (s->cfg.on_step(&info, s->cfg.on_step_user_data))
            return sgm__fail(err, SGM_ERR_ABORTED, "stopped by the step callback at step %zu",
                             s->k);
    }
    if (s->done) {
        if (!sgm__all_finite(s, x))
            return sgm__fail(err, SGM_ERR_NONFINITE,
                             "sampler %s produced a non-finite value (NaN or Inf)",
                             s->m->info.name);
        to_process_coords(s, x, s->pts[s->n_pts - 1].alpha);
    }
    if (done) *done = s->done;
    return SGM_OK;
}

sgm_status sgm_sampler_run(sgm_sampler *s, const sgm_schedule *sched, const sgm_denoiser *den,
                           sgm_rng *rng, uint64_t row0, size_t n, void *x, sgm_error *err) {
    sgm_status st = sgm_sampler_begin(s, sched, den, rng, row0, n, x, err);
    if (st) return st;
    int done = 0;
    size_t guard = 0;
    while (!done) {
        st = sgm_sampler_step(s, x, &done, err);
        if (st) return st;
        if (++guard > s->cfg.max_steps + s->n_pts + 16)
            return sgm__fail(err, SGM_ERR_NO_CONVERGENCE, "sampler %s: step budget exhausted",
                             s->m->info.name);
    }
    return SGM_OK;
}
