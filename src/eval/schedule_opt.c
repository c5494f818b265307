/* schedule_opt.c - the schedule optimiser (include/sgm/sgm_schedule_opt.h,
 * docs/schedule-optimizer.md): the K + 1 VE sigmas that minimise a
 * deterministic sampler's RMS error against the tight reference solve of a
 * calibration problem (schedule_problem.c).
 *
 * Search: the best of the standard schedules at the same NFE is the start;
 * then coordinate descent on u_i = log sigma_i, i = 1..K-1, with sigma_0 =
 * sigma_max and sigma_K = sigma_min fixed. One coordinate at a time: a
 * compass step u_i +- h_i (Hooke & Jeeves 1961; Kolda, Lewis & Torczon 2003,
 * "Optimization by direct search", SIAM Review 45) kept inside the open
 * interval of its neighbours (so the list stays strictly decreasing),
 * doubled while it keeps improving; when neither side improves, the vertex
 * of the parabola through the three values (successive parabolic
 * interpolation, Brent 1973 ch. 5) is tried, and h_i halves. The objective
 * is a smooth function of the points (a deterministic solver), so this
 * converges to a local minimum; it needs no gradients of the network.
 * Deterministic: no randomness beyond the problem's fixed batch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "bench_internal.h"
#include "sgm/sgm_schedule_opt.h"

static const sgm_schedule_kind default_starts[] = {SGM_SCHEDULE_KARRAS, SGM_SCHEDULE_EXPONENTIAL,
                                                   SGM_SCHEDULE_LOGSNR, SGM_SCHEDULE_AYS};

sgm_status sgm_schedule_opt_config_default(const char *method, sgm_schedule_opt_config *cfg,
                                           sgm_error *err) {
    if (!cfg) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule optimiser: cfg is NULL");
    memset(cfg, 0, sizeof *cfg);
    cfg->max_evals = 400;
    cfg->max_sweeps = 50;
    cfg->step0 = 0.25;
    cfg->step_min = 1e-3;
    return sgm_sampler_config_default(method, &cfg->sampler, err);
}

void sgm_schedule_opt_result_free(sgm_schedule_opt_result *r) {
    if (!r) return;
    free(r->sigma);
    r->sigma = NULL;
    r->n_points = 0;
}

/* The search state: u[0..K] = log sigma, f = error at u. */
typedef struct search {
    const sgm_schedule_problem *p;
    const sgm_schedule_opt_config *cfg;
    int K;
    double *u, *sig; /* [K + 1] current point, [K + 1] scratch sigmas */
    double f;
    size_t evals;
    sgm_status fail;  /* a failure other than a non-finite sample */
    sgm_error *err;
} search;

static void to_sigma(const search *s, double *sigma) {
    double smin, smax;
    sgm_schedule_problem_range(s->p, &smin, &smax);
    for (int i = 0; i <= s->K; i++) sigma[i] = exp(s->u[i]);
    sigma[0] = smax;
    sigma[s->K] = smin;
}

/* error at u with u[i..j] shifted by d (+inf where the sampler diverges) */
static double eval_at(search *s, int i, int j, double d) {
    to_sigma(s, s->sig);
    for (int k = i; k <= j; k++) s->sig[k] = exp(s->u[k] + d);
    double e = INFINITY;
    sgm_error e1 = {0};
    s->evals++;
    sgm_status st = sgm_schedule_problem_error(s->p, &s->cfg->sampler, s->sig,
                                               (size_t)s->K + 1, &e, NULL, &e1);
    if (st == SGM_ERR_NONFINITE) return INFINITY;
    if (st) {
        s->fail = st;
        if (s->err) *s->err = e1;
        return INFINITY;
    }
    return isfinite(e) ? e : INFINITY;
}

static int budget_left(const search *s) { return !s->fail && s->evals < s->cfg->max_evals; }

/* a shift d of the block u[i..j] clamped so that the points stay strictly
   decreasing, with a margin of 1e-3 of the room between the neighbours */
static double clamp_shift(const search *s, int i, int j, double d) {
    double lo = s->u[j + 1] - s->u[j], hi = s->u[i - 1] - s->u[i];
    double m = 1e-3 * (s->u[i - 1] - s->u[j + 1]);
    lo += m, hi -= m;
    return d < lo ? lo : d > hi ? hi : d;
}

/* Shifts the block u[i..j] (one point: i == j) if a better shift is found;
   returns 1 if it moved. *h: the block's step. */
static int descend_block(search *s, int i, int j, double *h) {
    double f0 = s->f;
    double fs[2] = {INFINITY, INFINITY}, ds[2] = {0, 0};
    for (int side = 0; side < 2 && budget_left(s); side++) {
        double d = clamp_shift(s, i, j, side ? -*h : *h);
        if (fabs(d) < 1e-12) continue;
        ds[side] = d;
        fs[side] = eval_at(s, i, j, d);
        if (fs[side] < f0) {
            /* improvement: keep going that way with doubled steps */
            double best_d = d, best_f = fs[side], step = d;
            while (budget_left(s)) {
                step *= 2;
                double w = clamp_shift(s, i, j, step);
                if (fabs(w - best_d) < 1e-12) break;
                double fw = eval_at(s, i, j, w);
                if (!(fw < best_f)) break;
                best_d = w, best_f = fw;
            }
            for (int k = i; k <= j; k++) s->u[k] += best_d;
            s->f = best_f;
            *h = fabs(best_d);
            return 1;
        }
    }
    *h *= 0.5;
    /* neither side better: the vertex of the parabola through the three */
    if (!(isfinite(fs[0]) && isfinite(fs[1])) || !budget_left(s)) return 0;
    double a = ds[1], c = ds[0], fa = fs[1], fb = f0, fc = fs[0];
    double num = a * a * (fb - fc) - c * c * (fb - fa);
    double den = -a * (fb - fc) + c * (fb - fa);
    if (!(fabs(den) > 0)) return 0;
    double v = clamp_shift(s, i, j, -0.5 * num / den);
    if (!(v > a && v < c) || fabs(v) < 1e-12) return 0;
    double fv = eval_at(s, i, j, v);
    if (fv < s->f) {
        for (int k = i; k <= j; k++) s->u[k] += v;
        s->f = fv;
        return 1;
    }
    return 0;
}

static int report(const sgm_schedule_opt_config *cfg, const char *phase, const char *start,
                  int sweep, size_t evals, double err, const double *sigma, size_t n) {
    if (!cfg->on_progress) return 0;
    sgm_schedule_opt_progress pr = {phase, start, sweep, evals, err, sigma, n};
    return cfg->on_progress(&pr, cfg->user_data);
}

static sgm_status check(const sgm_schedule_problem *p, const sgm_schedule_opt_config *cfg,
                        sgm_schedule_opt_result *out, sgm_error *err) {
    if (!p || !cfg || !out)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule optimiser: NULL argument");
    if (cfg->nfe < 1)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "schedule optimiser: nfe must be >= 1 (got %d)", cfg->nfe);
    const sgm_method_info *mi = sgm_method_find(cfg->sampler.method);
    if (!mi)
        return sgm__set_error(err, SGM_ERR_UNKNOWN_NAME, "schedule optimiser: unknown sampler "
                              "'%s'", cfg->sampler.method);
    if (mi->adaptive || mi->stochastic)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "schedule optimiser: %s is %s; the error against the ODE "
                              "solution needs a deterministic fixed-step sampler", mi->name,
                              mi->adaptive ? "adaptive (it chooses its own steps)"
                                           : "stochastic");
    if (cfg->starts && cfg->n_starts == 0)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule optimiser: empty start list");
    if (!(cfg->step0 > 0) || !(cfg->step_min > 0) || cfg->max_sweeps < 0)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "schedule optimiser: step0, step_min must be > 0, max_sweeps >= 0");
    return SGM_OK;
}

/* The best standard schedule into s->u (log sigma) and out->start. */
static sgm_status best_start(search *s, sgm_schedule_opt_result *out, sgm_error *err) {
    const sgm_schedule_opt_config *cfg = s->cfg;
    const sgm_schedule_kind *kinds = cfg->starts ? cfg->starts : default_starts;
    size_t nk = cfg->starts ? cfg->n_starts : sizeof default_starts / sizeof default_starts[0];
    double smin, smax;
    sgm_schedule_problem_range(s->p, &smin, &smax);
    sgm_status last = SGM_OK;
    s->f = INFINITY;
    for (size_t k = 0; k < nk; k++) {
        sgm_status st = sgm_schedule_standard_sigmas(sgm__schedule_problem_proc(s->p), kinds[k],
                                                     cfg->ays_table, s->K, smin, smax, s->sig,
                                                     err);
        if (st) return st; /* an unusable start kind is bad input */
        double e = INFINITY;
        s->evals++;
        st = sgm_schedule_problem_error(s->p, &cfg->sampler, s->sig, (size_t)s->K + 1, &e, NULL,
                                        err);
        if (st && st != SGM_ERR_NONFINITE) return st;
        if (st) last = st;
        const char *name = sgm_schedule_kind_name(kinds[k]);
        if (!st && e < s->f) {
            s->f = e;
            for (int i = 0; i <= s->K; i++) s->u[i] = log(s->sig[i]);
            snprintf(out->start, sizeof out->start, "%s", name);
        }
        if (report(cfg, "start", name, 0, s->evals, st ? INFINITY : e, s->sig,
                   (size_t)s->K + 1))
            break;
    }
    if (!isfinite(s->f))
        return sgm__set_error(err, last ? last : SGM_ERR_NONFINITE,
                              "schedule optimiser: %s diverges on every start schedule",
                              cfg->sampler.method);
    /* the exact endpoints (log/exp would round them) */
    s->u[0] = log(smax);
    s->u[s->K] = log(smin);
    return SGM_OK;
}

sgm_status sgm_schedule_optimize(const sgm_schedule_problem *p,
                                 const sgm_schedule_opt_config *cfg,
                                 sgm_schedule_opt_result *out, sgm_error *err) {
    sgm_status st = check(p, cfg, out, err);
    if (st) return st;
    memset(out, 0, sizeof *out);
    int K = 0;
    if ((st = sgm_schedule_problem_steps(p, &cfg->sampler, cfg->nfe, &K, err))) return st;
    search s = {p, cfg, K, NULL, NULL, INFINITY, 0, SGM_OK, err};
    s.u = malloc(sizeof(double) * ((size_t)K + 1));
    s.sig = malloc(sizeof(double) * ((size_t)K + 1));
    double *h = malloc(sizeof(double) * (2 * (size_t)K + 1)); /* singles, then pairs */
    if (!s.u || !s.sig || !h) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((st = best_start(&s, out, err))) goto done;
    out->err_start = s.f;
    for (int i = 1; i < K; i++) {
        double g = fmin(s.u[i - 1] - s.u[i], s.u[i] - s.u[i + 1]);
        h[i] = h[K + i] = cfg->step0 * g;
    }
    int sweep = 0;
    while (K > 1 && sweep < cfg->max_sweeps && budget_left(&s)) {
        for (int i = 1; i < K && budget_left(&s); i++) descend_block(&s, i, i, &h[i]);
        for (int i = 1; i + 1 < K && budget_left(&s); i++) descend_block(&s, i, i + 1, &h[K + i]);
        if (s.fail) break;
        sweep++;
        to_sigma(&s, s.sig);
        if (report(cfg, "sweep", out->start, sweep, s.evals, s.f, s.sig, (size_t)K + 1)) break;
        double hmax = 0;
        for (int i = 1; i < K; i++) hmax = fmax(hmax, fmax(h[i], i + 1 < K ? h[K + i] : 0));
        if (hmax < cfg->step_min) break;
    }
    if (s.fail) {
        st = s.fail;
        goto done;
    }
    out->sigma = malloc(sizeof(double) * ((size_t)K + 1));
    if (!out->sigma) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
        goto done;
    }
    to_sigma(&s, out->sigma);
    out->n_points = (size_t)K + 1;
    out->steps = K;
    out->err = s.f;
    out->sweeps = sweep;
    /* the NFE of the result (and its error, recomputed from the exact list) */
    st = sgm_schedule_problem_error(p, &cfg->sampler, out->sigma, out->n_points, &out->err,
                                    &out->nfe, err);
    out->evals = s.evals + 1;
done:
    free(s.u);
    free(s.sig);
    free(h);
    if (st) sgm_schedule_opt_result_free(out);
    return st;
}
