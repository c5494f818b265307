/* schedule_problem.c - the calibration problem of the schedule optimiser
 * (include/sgm/sgm_schedule_opt.h): a batch of x_T with its tight rk45
 * reference solution between two fixed endpoints, the error of a sampler
 * with an explicit sigma list on it, and the standard schedules between the
 * same endpoints (the AYS tables of Sabour, Fidler & Kreis 2024 mapped onto
 * the range). The error is the bench's (bench_internal.h): RMS over rows of
 * ||x - x_ref|| against Dormand-Prince 5(4) at a tight tolerance, as in
 * Lu et al. 2022 (DPM-Solver, sec. 6) and Karras et al. 2022 (EDM, fig. 2). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../schedule/schedule_internal.h"
#include "bench_internal.h"
#include "sgm/sgm_schedule_opt.h"

struct sgm_schedule_problem {
    sgm_schedule_problem_config cfg;
    sgm__bench_model model;
    double smin, smax;  /* VE endpoints */
    double t0, t1;      /* their process times */
    double *x_T, *ref;  /* [n, d] each */
    double *x, *scratch; /* [n, d] run output, [d] NFE probe */
    size_t ref_nfe;
};

void sgm_schedule_problem_config_default(sgm_schedule_problem_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->n = 64;
    cfg->ref_rtol = cfg->ref_atol = 1e-9;
    cfg->ref_norm = SGM_NORM_PER_SAMPLE;
}

void sgm_schedule_problem_free(sgm_schedule_problem *p) {
    if (!p) return;
    free(p->x_T);
    free(p->ref);
    free(p->x);
    free(p->scratch);
    free(p);
}

void sgm_schedule_problem_range(const sgm_schedule_problem *p, double *sigma_min,
                                double *sigma_max) {
    if (sigma_min) *sigma_min = p->smin;
    if (sigma_max) *sigma_max = p->smax;
}

const sgm_process *sgm__schedule_problem_proc(const sgm_schedule_problem *p) {
    return p->cfg.proc;
}

size_t sgm_schedule_problem_ref_nfe(const sgm_schedule_problem *p) { return p->ref_nfe; }

/* a VE sigma list as a schedule of the process (no final 0 added) */
static sgm_status user_schedule(const sgm_process *proc, const double *sigma, size_t n,
                                sgm_schedule **out, sgm_error *err) {
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_USER_SIGMAS);
    sc.user = sigma;
    sc.n_user = n;
    sc.final_point = SGM_FINAL_NONE;
    return sgm_schedule_create(&sc, proc, out, err);
}

/* the process's default range, that of the sigma schedules (schedule.c):
   VE its sigma_min / sigma_max, others sigma_ve at t_min and t_max (flow:
   t = 1 - 1e-3, where its training stops) */
static void default_range(const sgm_process *proc, double *smin, double *smax) {
    const sgm_process_config *c = sgm_process_get_config(proc);
    double t1 = sgm_process_t_max(proc);
    if (c->kind == SGM_PROCESS_FLOW && t1 > 1 - 1e-3) t1 = 1 - 1e-3;
    if (!(*smin > 0))
        *smin = c->kind == SGM_PROCESS_VE ? c->sigma_min
                                          : sgm_process_sigma_ve(proc, sgm_process_t_min(proc));
    if (!(*smax > 0))
        *smax = c->kind == SGM_PROCESS_VE ? c->sigma_max : sgm_process_sigma_ve(proc, t1);
}

static sgm_status check_config(const sgm_schedule_problem_config *c, sgm_error *err) {
    if (!c || !c->proc || !c->den.fn)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "schedule problem: a process and a denoiser are required");
    if (c->d == 0 || c->n == 0)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "schedule problem: d and n must be >= 1 (got %zu, %zu)", c->d,
                              c->n);
    if (c->n > ((size_t)1 << 40) / c->d)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule problem: n x d too large");
    if (!(c->ref_rtol >= 0 && c->ref_atol >= 0) || !(c->ref_rtol + c->ref_atol > 0))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "schedule problem: reference tolerances must be >= 0, not both 0");
    if (c->sigma_min < 0 || c->sigma_max < 0 || !isfinite(c->sigma_min) ||
        !isfinite(c->sigma_max))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "schedule problem: sigma_min / sigma_max must be finite, >= 0");
    if (c->n_threads < 0)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule problem: n_threads < 0");
    return SGM_OK;
}

sgm_status sgm_schedule_problem_create(const sgm_schedule_problem_config *cfg,
                                       sgm_schedule_problem **out, sgm_error *err) {
    if (!out) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule problem: out is NULL");
    *out = NULL;
    sgm_status st = check_config(cfg, err);
    if (st) return st;
    sgm_schedule_problem *p = calloc(1, sizeof *p);
    if (!p) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    p->cfg = *cfg;
    p->smin = cfg->sigma_min;
    p->smax = cfg->sigma_max;
    sgm_schedule *ends = NULL;
    default_range(cfg->proc, &p->smin, &p->smax);
    if (!(p->smin > 0 && p->smin < p->smax && isfinite(p->smax))) {
        st = sgm__set_error(err, SGM_ERR_INVALID_ARG,
                            "schedule problem: need 0 < sigma_min < sigma_max (got %g, %g)",
                            p->smin, p->smax);
        goto fail;
    }
    double e2[2] = {p->smax, p->smin};
    if ((st = user_schedule(cfg->proc, e2, 2, &ends, err))) goto fail;
    p->t0 = ends->t[0];
    p->t1 = ends->t[1];
    size_t cnt = cfg->n * cfg->d;
    p->x_T = malloc(sizeof(double) * cnt);
    p->ref = malloc(sizeof(double) * cnt);
    p->x = malloc(sizeof(double) * cnt);
    p->scratch = malloc(sizeof(double) * cfg->d);
    if (!p->x_T || !p->ref || !p->x || !p->scratch) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    /* x_T = sigma(t_0) z, z from (seed, draw 0): the x_T of `sgm sample` */
    sgm_rng_normal_rows_f64(cfg->seed, 0, 0, cfg->n, cfg->d, p->x_T);
    double sig0 = sgm_process_sigma(cfg->proc, p->t0);
    for (size_t i = 0; i < cnt; i++) p->x_T[i] *= sig0;
    sgm__bench_model m = {cfg->proc, cfg->den, cfg->d, NULL, cfg->seed + 1};
    p->model = m;
    sgm_sampler_stats stats = {0};
    st = sgm__bench_reference(&p->model, p->t0, p->smax, p->t1, p->smin, cfg->ref_rtol,
                              cfg->ref_atol, cfg->ref_norm, cfg->n_threads, p->x_T, cfg->n,
                              p->ref, &stats, err);
    if (st) goto fail;
    p->ref_nfe = stats.nfe;
    sgm_schedule_free(ends);
    *out = p;
    return SGM_OK;
fail:
    sgm_schedule_free(ends);
    sgm_schedule_problem_free(p);
    return st;
}

/* --------------------------------------------------------------- runs --- */

/* the sampler as the problem runs it: no extra final evaluation */
static sgm_sampler_config run_config(const sgm_schedule_problem *p,
                                     const sgm_sampler_config *scfg) {
    sgm_sampler_config c = *scfg;
    c.denoise_to_zero = 0;
    if (c.n_threads == 0) c.n_threads = p->cfg.n_threads;
    return c;
}

typedef struct mk_ud {
    const sgm_schedule_problem *p;
} mk_ud;

/* an exponential schedule between the problem's endpoints (NFE probe) */
static sgm_status mk_probe(int steps, void *ud, sgm_schedule **out, sgm_error *err) {
    const sgm_schedule_problem *p = ((const mk_ud *)ud)->p;
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_EXPONENTIAL);
    sc.steps = steps;
    sc.sigma_min = p->smin;
    sc.sigma_max = p->smax;
    sc.final_point = SGM_FINAL_SIGMA_MIN;
    return sgm_schedule_create(&sc, p->cfg.proc, out, err);
}

sgm_status sgm_schedule_problem_steps(const sgm_schedule_problem *p,
                                      const sgm_sampler_config *scfg, int budget, int *steps,
                                      sgm_error *err) {
    if (!p || !scfg || !steps)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule problem: NULL argument");
    if (budget < 1)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule: NFE must be >= 1 (got %d)",
                              budget);
    sgm_sampler_config c = run_config(p, scfg);
    mk_ud u = {p};
    sgm_status st = sgm__bench_steps_for_budget(&p->model, &c, mk_probe, &u, budget, p->x_T,
                                                p->scratch, steps, err);
    if (!st && *steps == 0)
        st = sgm__set_error(err, SGM_ERR_UNSUPPORTED, "schedule: one step of %s needs more "
                            "than %d NFE", c.method, budget);
    return st;
}

sgm_status sgm_schedule_problem_error(const sgm_schedule_problem *p,
                                      const sgm_sampler_config *scfg, const double *sigma,
                                      size_t n_points, double *err_rms, size_t *nfe,
                                      sgm_error *err) {
    if (!p || !scfg || !sigma || !err_rms)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule problem: NULL argument");
    if (n_points < 2)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "schedule: need at least 2 points (got %zu)", n_points);
    /* the endpoints are those of the reference (relative 1e-9: a sigma list
       written with %.17g and read back is exact; 1e-9 admits %.10g) */
    if (!(fabs(sigma[0] - p->smax) <= 1e-9 * p->smax) ||
        !(fabs(sigma[n_points - 1] - p->smin) <= 1e-9 * p->smin))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "schedule: the list runs from %g to %g, the problem from %g to %g",
                              sigma[0], sigma[n_points - 1], p->smax, p->smin);
    sgm_schedule *sch = NULL;
    sgm_status st = user_schedule(p->cfg.proc, sigma, n_points, &sch, err);
    if (st) return st;
    sgm_sampler_config c = run_config(p, scfg);
    sgm_sampler_stats stats = {0};
    st = sgm__bench_run_sampler(&p->model, &c, sch, p->x_T, p->cfg.n, p->x, &stats, err);
    sgm_schedule_free(sch);
    if (st) return st;
    *err_rms = sgm__bench_err_rms(p->x, p->ref, p->cfg.n, p->cfg.d, NULL);
    if (nfe) *nfe = stats.nfe;
    return SGM_OK;
}

/* ---------------------------------------------------------- standard --- */

/* ays: the table's log-linear interpolation (the library's ays kind, whose
   last point is 0 and whose first is the table's top), mapped affinely in
   log sigma so that the top goes to sigma_max and the table's bottom
   (tab[len - 1], the value the 0 replaces) to sigma_min */
static sgm_status ays_sigmas(const sgm_process *proc, const char *table, int steps,
                             double smin, double smax, double *out, sgm_error *err) {
    const char *name = table ? table : "sd1";
    size_t len = 0;
    const double *tab = sgm__named_table(1, name, &len);
    if (!tab || len < 2)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "schedule ays: unknown model table '%s' (sd1, sdxl, svd)", name);
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_AYS);
    sc.steps = steps;
    sc.final_point = SGM_FINAL_ZERO;
    snprintf(sc.table, sizeof sc.table, "%s", name);
    sgm_schedule *s = NULL;
    sgm_status st = sgm_schedule_create(&sc, proc, &s, err);
    if (st) return st;
    if (s->n != (size_t)steps + 1) {
        sgm_schedule_free(s);
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED, "schedule ays: %zu points for %d steps",
                              s->n, steps);
    }
    double top = log(s->sigma[0]), bot = log((float)tab[len - 1]);
    double a = (log(smax) - log(smin)) / (top - bot);
    for (int i = 1; i < steps; i++) out[i] = exp(log(smin) + a * (log(s->sigma[i]) - bot));
    sgm_schedule_free(s);
    return SGM_OK;
}

sgm_status sgm_schedule_standard_sigmas(const sgm_process *proc, sgm_schedule_kind kind,
                                        const char *ays_table, int steps, double sigma_min,
                                        double sigma_max, double *out, sgm_error *err) {
    if (!proc || !out)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule: NULL argument");
    if (steps < 1)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule: steps must be >= 1 (got %d)",
                              steps);
    if (!(sigma_min > 0 && sigma_min < sigma_max && isfinite(sigma_max)))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "schedule: need 0 < sigma_min < sigma_max (got %g, %g)", sigma_min,
                              sigma_max);
    sgm_status st = SGM_OK;
    if (kind == SGM_SCHEDULE_AYS) {
        st = ays_sigmas(proc, ays_table, steps, sigma_min, sigma_max, out, err);
    } else {
        sgm_schedule_config sc = sgm_schedule_config_default(kind);
        sc.steps = steps;
        sc.final_point = SGM_FINAL_SIGMA_MIN;
        switch (kind) {
        case SGM_SCHEDULE_KARRAS:
        case SGM_SCHEDULE_EXPONENTIAL:
        case SGM_SCHEDULE_POLYEXPONENTIAL:
        case SGM_SCHEDULE_KL_OPTIMAL:
            sc.sigma_min = sigma_min;
            sc.sigma_max = sigma_max;
            break;
        case SGM_SCHEDULE_LOGSNR:
        case SGM_SCHEDULE_TIME_UNIFORM:
        case SGM_SCHEDULE_TIME_QUADRATIC:
            sc.t_start = sgm_process_t_of_lambda(proc, -log(sigma_max));
            sc.t_end = sgm_process_t_of_lambda(proc, -log(sigma_min));
            break;
        default:
            return sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                                  "schedule %s: not a schedule between two sigmas",
                                  sgm_schedule_kind_name(kind));
        }
        sgm_schedule *s = NULL;
        if ((st = sgm_schedule_create(&sc, proc, &s, err))) return st;
        if (s->n != (size_t)steps + 1) {
            st = sgm__set_error(err, SGM_ERR_UNSUPPORTED, "schedule %s: %zu points for %d steps",
                                sgm_schedule_kind_name(kind), s->n, steps);
        } else {
            for (int i = 1; i < steps; i++) out[i] = s->sigma[i];
        }
        sgm_schedule_free(s);
    }
    if (st) return st;
    /* the endpoints exactly (the kinds' own arithmetic rounds them) */
    out[0] = sigma_max;
    out[steps] = sigma_min;
    for (int i = 1; i <= steps; i++)
        if (!(out[i] < out[i - 1]))
            return sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                                  "schedule %s: not strictly decreasing at point %d between "
                                  "%g and %g", sgm_schedule_kind_name(kind), i, sigma_max,
                                  sigma_min);
    return SGM_OK;
}
