/* bench.c - the NFE-vs-error benchmark grid (sgm_bench.h): samplers x
 * schedules x NFE budgets on an exact Gaussian mixture.
 *
 * Error against a tight solution of the same ODE from the same x_T, as in
 * the solver comparisons of Lu et al. 2022 (DPM-Solver, arXiv:2206.00927,
 * sec. 6) and Karras et al. 2022 (EDM, arXiv:2206.00364, fig. 2 / sec. 3),
 * which plot error or FID against NFE rather than steps. The reference is
 * the rk45 sampler (Dormand-Prince 5(4), per-sample error norm) at
 * rtol = atol = 1e-9 between the schedule's first and last points.
 * Distribution metrics are those of sgm_eval.h. Conventions (budgets,
 * end points, seeds): include/sgm/sgm_bench.h.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_internal.h"
#include "core/internal.h"
#include "sgm/sgm_bench.h"
#include "sgm/sgm_eval.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_plot.h"

static const sgm_schedule_kind default_schedules[] = {SGM_SCHEDULE_KARRAS};
static const int default_nfe[] = {5, 10, 20, 50};

/* adaptive samplers: rtol = atol ladder, loosest first */
static const double tol_ladder[] = {1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4,
                                    3e-5, 1e-5, 3e-6, 1e-6, 1e-7, 1e-8};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void sgm_bench_config_default(sgm_bench_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->n = 1000;
    cfg->ref_rtol = 1e-9;
    cfg->ref_atol = 1e-9;
    cfg->metrics = 1;
    cfg->n_projections = 256;
    cfg->shard_rank = 0;
    cfg->shard_size = 1;
}

void sgm_bench_result_free(sgm_bench_result *r) {
    if (!r) return;
    free(r->rows);
    r->rows = NULL;
    r->n_rows = 0;
}

/* ------------------------------------------------------------ runs --- */

typedef struct ctx {
    const sgm_bench_config *cfg;
    size_t n, d;
    sgm_denoiser den;
    double ell; /* MMD bandwidth: median heuristic of the exact baseline, then fixed */
    size_t P, me; /* shards (sgm_bench_config.shard_*): 1 and 0 when not sharded */
} ctx;

static sgm_status make_schedule(const ctx *c, sgm_schedule_kind kind, int steps,
                                sgm_schedule **out, sgm_error *err) {
    sgm_schedule_config sc = sgm_schedule_config_default(kind);
    sc.steps = steps;
    sc.final_point = SGM_FINAL_SIGMA_MIN;
    return sgm_schedule_create(&sc, c->cfg->proc, out, err);
}

/* the model of the run (bench_internal.h) */
static sgm__bench_model bench_model(const ctx *c) {
    sgm__bench_model m = {c->cfg->proc, c->den, c->d, c->cfg->den ? NULL : c->cfg->gmm,
                          c->cfg->seed + 1};
    return m;
}

static sgm_status run_sampler(const ctx *c, const sgm_sampler_config *scfg,
                              const sgm_schedule *sch, const double *x_T, size_t n, double *x,
                              sgm_sampler_stats *stats, sgm_error *err) {
    sgm__bench_model m = bench_model(c);
    return sgm__bench_run_sampler(&m, scfg, sch, x_T, n, x, stats, err);
}

typedef struct mk_ud {
    const ctx *c;
    sgm_schedule_kind kind;
} mk_ud;

static sgm_status mk_kind(int steps, void *ud, sgm_schedule **out, sgm_error *err) {
    const mk_ud *u = ud;
    return make_schedule(u->c, u->kind, steps, out, err);
}

/* The largest step count with NFE <= budget (0 if even 1 step exceeds it). */
static sgm_status steps_for_budget(const ctx *c, const sgm_sampler_config *scfg,
                                   sgm_schedule_kind kind, int budget, const double *x_T,
                                   double *scratch, int *steps_out, sgm_error *err) {
    sgm__bench_model m = bench_model(c);
    mk_ud u = {c, kind};
    return sgm__bench_steps_for_budget(&m, scfg, mk_kind, &u, budget, x_T, scratch, steps_out,
                                       err);
}

static void row_init(sgm_bench_row *r, const char *sampler, sgm_schedule_kind kind) {
    memset(r, 0, sizeof *r);
    snprintf(r->sampler, sizeof r->sampler, "%s", sampler);
    snprintf(r->schedule, sizeof r->schedule, "%s", sgm_schedule_kind_name(kind));
    r->tol = r->err_rms = r->err_max = NAN;
    r->sw2 = r->sw2_se = r->mmd2 = r->mmd2_se = r->loglik = r->loglik_se = NAN;
}

static void errors(const ctx *c, const double *x, const double *ref, sgm_bench_row *r) {
    r->err_rms = sgm__bench_err_rms(x, ref, c->n, c->d, &r->err_max);
}

static sgm_status metrics_data(ctx *c, const double *x, const double *exact, int shard,
                               sgm_bench_row *r, sgm_error *err);
/* model_units: x comes from the sampler (cfg->to_data applies); shard: every
 * shard computes this row together (the baselines), sharing the metrics'
 * terms (sgm_metric_config.shard_*) */
static sgm_status metrics(ctx *c, const double *x, int model_units, const double *exact,
                          int shard, sgm_bench_row *r, sgm_error *err) {
    if (!c->cfg->metrics || !c->cfg->gmm) return SGM_OK;
    if (!model_units || !c->cfg->to_data) return metrics_data(c, x, exact, shard, r, err);
    double *y = malloc(sizeof(double) * c->n * c->d);
    if (!y) return sgm__set_error(err, SGM_ERR_NOMEM, "bench: out of memory");
    memcpy(y, x, sizeof(double) * c->n * c->d);
    c->cfg->to_data(c->n, y, c->cfg->to_data_user_data);
    sgm_status st = metrics_data(c, y, exact, shard, r, err);
    free(y);
    return st;
}

static sgm_status metrics_data(ctx *c, const double *x, const double *exact, int shard,
                               sgm_bench_row *r, sgm_error *err) {
    sgm_metric_config mc;
    sgm_metric_config_default(&mc);
    mc.seed = c->cfg->seed;
    mc.n_projections = c->cfg->n_projections;
    if (shard && c->P > 1) {
        mc.shard_rank = c->me;
        mc.shard_size = c->P;
        mc.all_gather = c->cfg->all_gather;
        mc.all_gather_user_data = c->cfg->all_gather_user_data;
    }
    sgm_metric_result m;
    sgm_status st;
    if ((st = sgm_metric_sw2(exact, c->n, x, c->n, c->d, &mc, &m, err))) return st;
    r->sw2 = m.value;
    r->sw2_se = m.se;
    mc.bandwidth = c->ell; /* <= 0 on the first call: median heuristic */
    if ((st = sgm_metric_mmd2(exact, c->n, x, c->n, c->d, &mc, &m, err))) return st;
    if (!(c->ell > 0)) c->ell = m.param;
    r->mmd2 = m.value;
    r->mmd2_se = m.se;
    if ((st = sgm_metric_gmm(c->cfg->gmm, x, c->n, &mc, &m, NULL, NULL, err))) return st;
    r->loglik = m.value;
    r->loglik_se = m.se;
    return SGM_OK;
}

/* Tight reference between the schedule's first and last points. */
static sgm_status reference(ctx *c, const sgm_schedule *sch, const double *x_T,
                            double *ref, sgm_bench_row *row, sgm_error *err) {
    sgm__bench_model m = bench_model(c);
    sgm_sampler_stats stats = {0};
    /* sharded: the rows in contiguous blocks (every row is integrated on its
       own, and its evaluations are counted on its own: the per-sample norm) */
    size_t q = c->n / c->P, e = c->n % c->P, lo = c->me * q + (c->me < e ? c->me : e);
    size_t hi = lo + q + (c->me < e ? 1 : 0), d = c->d;
    double t0 = now_s();
    sgm_status st = SGM_OK;
    if (hi > lo)
        st = sgm__bench_reference(&m, sch->t[0], sch->sigma[0], sch->t[sch->n - 1],
                                  sch->sigma[sch->n - 1], c->cfg->ref_rtol, c->cfg->ref_atol,
                                  SGM_NORM_PER_SAMPLE, c->cfg->n_threads, x_T + lo * d, hi - lo,
                                  ref + lo * d, &stats, err);
    row->seconds = now_s() - t0;
    row->nfe = stats.nfe;
    row->tol = c->cfg->ref_rtol;
    if (c->P > 1) { /* every shard's status and evaluations, then the rows */
        double *sh = malloc(c->P * 2 * sizeof *sh);
        if (!sh) return sgm__set_error(err, SGM_ERR_NOMEM, "bench: out of memory");
        sh[c->me * 2] = (double)st;
        sh[c->me * 2 + 1] = (double)stats.nfe;
        int bad = c->cfg->all_gather(sh, c->P, 2, c->cfg->all_gather_user_data);
        row->nfe = 0;
        for (size_t r = 0; !bad && r < c->P; r++) {
            row->nfe += (size_t)sh[r * 2 + 1];
            if (!st && sh[r * 2] != 0)
                st = sgm__set_error(err, (sgm_status)(int)sh[r * 2],
                                    "bench: the reference solution failed on shard %zu", r);
        }
        free(sh);
        if (!bad && !st) bad = c->cfg->all_gather(ref, c->n, d, c->cfg->all_gather_user_data);
        if (bad)
            return sgm__set_error(err, SGM_ERR_CALLBACK, "bench: all_gather of the shards failed");
    }
    return st;
}

static sgm_status grow(sgm_bench_result *out, size_t *cap, sgm_error *err) {
    if (out->n_rows < *cap) return SGM_OK;
    size_t nc = *cap ? 2 * *cap : 64;
    sgm_bench_row *nr = realloc(out->rows, nc * sizeof *nr);
    if (!nr) return sgm__set_error(err, SGM_ERR_NOMEM, "bench: out of memory");
    out->rows = nr;
    *cap = nc;
    return SGM_OK;
}

static sgm_status validate(const sgm_bench_config *cfg, sgm_error *err) {
    if (!cfg || !cfg->proc || !(cfg->gmm || cfg->den))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "bench: process and model are required");
    if (cfg->den && (cfg->d == 0 || (cfg->gmm && sgm_gmm_dim(cfg->gmm) != cfg->d)))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "bench: model dimension %zu, comparison mixture dimension %zu",
                              cfg->d, cfg->gmm ? sgm_gmm_dim(cfg->gmm) : (size_t)0);
    if (cfg->n < 2) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "bench: n must be >= 2");
    if (cfg->n_threads < 0)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "bench: n_threads must be >= 0");
    if (!(cfg->ref_rtol >= 0 && cfg->ref_atol >= 0) || cfg->ref_rtol + cfg->ref_atol <= 0)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "bench: reference tolerances must be >= 0");
    if (cfg->nfe && cfg->n_nfe == 0)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "bench: empty NFE list");
    for (size_t i = 0; cfg->nfe && i < cfg->n_nfe; i++)
        if (cfg->nfe[i] < 1)
            return sgm__set_error(err, SGM_ERR_INVALID_ARG, "bench: NFE budget %d < 1", cfg->nfe[i]);
    if (cfg->samplers && cfg->n_samplers == 0)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "bench: empty sampler list");
    for (size_t i = 0; cfg->samplers && i < cfg->n_samplers; i++)
        if (!cfg->samplers[i] || !sgm_method_find(cfg->samplers[i]))
            return sgm__set_error(err, SGM_ERR_UNKNOWN_NAME, "bench: unknown sampler '%s'",
                             cfg->samplers[i] ? cfg->samplers[i] : "(null)");
    if (cfg->shard_size > 1 && (cfg->shard_rank >= cfg->shard_size || !cfg->all_gather))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "bench: shard_rank %zu of %zu, or no all_gather", cfg->shard_rank,
                              cfg->shard_size);
    if (cfg->schedules && cfg->n_schedules == 0)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "bench: empty schedule list");
    return SGM_OK;
}

/* One grid cell: sampler m at budget on schedule kind. */
static sgm_status cell(ctx *c, const sgm_method_info *mi, sgm_schedule_kind kind,
                       int budget, const double *x_T, const double *ref, const double *exact,
                       double *x, double *scratch, sgm_bench_row *r, sgm_error *gerr) {
    sgm_error err = {0};
    row_init(r, mi->name, kind);
    r->stochastic = mi->stochastic;
    r->adaptive = mi->adaptive;
    r->nfe_budget = budget;
    sgm_sampler_config sc;
    sgm_status st = sgm_sampler_config_default(mi->name, &sc, &err);
    if (!st) {
        sc.n_threads = c->cfg->n_threads;
        sc.denoise_to_zero = 0;
        double t0 = 0;
        sgm_sampler_stats stats = {0};
        if (mi->adaptive) {
            sgm_schedule *sch = NULL;
            st = make_schedule(c, kind, 1, &sch, &err);
            sc.error_norm = SGM_NORM_BATCH;
            int found = 0;
            for (size_t k = 0; !st && k < sizeof tol_ladder / sizeof tol_ladder[0]; k++) {
                sc.rtol = sc.atol = tol_ladder[k];
                sgm_sampler_stats s1 = {0};
                sgm_error e1 = {0};
                double t1 = now_s();
                sgm_status s_ = run_sampler(c, &sc, sch, x_T, c->n, scratch, &s1, &e1);
                double dt = now_s() - t1;
                if (s_ || s1.nfe > (size_t)budget) break;
                memcpy(x, scratch, sizeof(double) * c->n * c->d);
                stats = s1;
                r->tol = tol_ladder[k];
                r->seconds = dt;
                found = 1;
            }
            sgm_schedule_free(sch);
            if (!st && !found) {
                st = SGM_ERR_UNSUPPORTED;
                snprintf(err.msg, sizeof err.msg,
                         "no tolerance in [1e-8, 0.1] fits %d NFE", budget);
            }
        } else {
            int steps = 0;
            st = steps_for_budget(c, &sc, kind, budget, x_T, scratch, &steps, &err);
            if (!st && steps == 0) {
                st = SGM_ERR_UNSUPPORTED;
                snprintf(err.msg, sizeof err.msg, "one step needs more than %d NFE", budget);
            }
            if (!st) {
                sgm_schedule *sch = NULL;
                st = make_schedule(c, kind, steps, &sch, &err);
                t0 = now_s();
                if (!st) st = run_sampler(c, &sc, sch, x_T, c->n, x, &stats, &err);
                r->seconds = now_s() - t0;
                sgm_schedule_free(sch);
                r->steps = steps;
            }
        }
        r->nfe = stats.nfe;
        if (!st && !mi->stochastic) errors(c, x, ref, r);
        if (!st) st = metrics(c, x, 1, exact, 0, r, &err);
    }
    r->status = st;
    if (st) snprintf(r->msg, sizeof r->msg, "%.159s", err.msg[0] ? err.msg : sgm_status_str(st));
    /* memory failures end the run; anything else is this cell's result */
    if (st == SGM_ERR_NOMEM) return sgm__set_error(gerr, st, "bench: out of memory");
    return SGM_OK;
}

sgm_status sgm_bench_run(const sgm_bench_config *cfg, sgm_bench_result *out, sgm_error *err) {
    sgm_status st = validate(cfg, err);
    if (st) return st;
    if (!out) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "bench: out is NULL");
    memset(out, 0, sizeof *out);
    double t_all = now_s();
    size_t P = cfg->shard_size > 1 ? cfg->shard_size : 1, me = P > 1 ? cfg->shard_rank : 0;
    ctx c = {cfg, cfg->n, cfg->den ? cfg->d : sgm_gmm_dim(cfg->gmm),
             cfg->den ? *cfg->den : sgm_gmm_denoiser(cfg->gmm), 0, P, me};
    const sgm_schedule_kind *kinds = cfg->schedules ? cfg->schedules : default_schedules;
    size_t n_kinds = cfg->schedules ? cfg->n_schedules : 1;
    const int *budgets = cfg->nfe ? cfg->nfe : default_nfe;
    size_t n_budgets = cfg->nfe ? cfg->n_nfe : sizeof default_nfe / sizeof default_nfe[0];
    size_t n_methods = cfg->samplers ? cfg->n_samplers : sgm_method_count();
    size_t g = 0; /* grid cell index over all schedules (sharding) */

    size_t cnt = c.n * c.d;
    double *z = malloc(sizeof(double) * cnt), *x_T = malloc(sizeof(double) * cnt);
    double *ref = malloc(sizeof(double) * cnt), *x = malloc(sizeof(double) * cnt);
    double *scratch = malloc(sizeof(double) * cnt), *exact = malloc(sizeof(double) * cnt);
    double *exact2 = malloc(sizeof(double) * cnt);
    size_t cap = 0;
    if (!z || !x_T || !ref || !x || !scratch || !exact || !exact2) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "bench: out of memory");
        goto done;
    }
    sgm_rng_normal_rows_f64(cfg->seed, 0, 0, c.n, c.d, z);
    if (cfg->gmm) {
        sgm_gmm_sample(cfg->gmm, cfg->seed, 1, 0, c.n, exact);
        sgm_gmm_sample(cfg->gmm, cfg->seed, 2, 0, c.n, exact2);
    } else {
        memset(exact, 0, sizeof(double) * cnt), memset(exact2, 0, sizeof(double) * cnt);
    }

    for (size_t k = 0; k < n_kinds; k++) {
        /* x_T = sigma(t_0) z at this schedule's first point */
        sgm_schedule *s0 = NULL;
        if ((st = make_schedule(&c, kinds[k], budgets[0], &s0, err))) goto done;
        double sig0 = sgm_process_sigma(cfg->proc, s0->t[0]);
        for (size_t i = 0; i < cnt; i++) x_T[i] = sig0 * z[i];
        /* baselines */
        if ((st = grow(out, &cap, err))) {
            sgm_schedule_free(s0);
            goto done;
        }
        sgm_bench_row *r = &out->rows[out->n_rows++];
        row_init(r, "exact", kinds[k]);
        r->stochastic = 1;
        if ((st = metrics(&c, exact2, 0, exact, 1, r, err))) {
            sgm_schedule_free(s0);
            goto done;
        }
        if (cfg->on_row) cfg->on_row(r, cfg->on_row_user_data);
        if ((st = grow(out, &cap, err))) {
            sgm_schedule_free(s0);
            goto done;
        }
        r = &out->rows[out->n_rows++];
        row_init(r, "reference", kinds[k]);
        r->adaptive = 1;
        st = reference(&c, s0, x_T, ref, r, err);
        sgm_schedule_free(s0);
        if (st) goto done;
        r->err_rms = r->err_max = 0;
        if ((st = metrics(&c, ref, 1, exact, 1, r, err))) goto done;
        if (cfg->on_row) cfg->on_row(r, cfg->on_row_user_data);

        for (size_t mi = 0; mi < n_methods; mi++) {
            const sgm_method_info *info =
                cfg->samplers ? sgm_method_find(cfg->samplers[mi]) : sgm_method_at(mi);
            for (size_t b = 0; b < n_budgets; b++) {
                if ((st = grow(out, &cap, err))) goto done;
                r = &out->rows[out->n_rows];
                size_t owner = g++ % P;
                if (owner != me) { /* another shard's cell */
                    row_init(r, info->name, kinds[k]);
                    r->stochastic = info->stochastic;
                    r->adaptive = info->adaptive;
                    r->nfe_budget = budgets[b];
                    r->status = SGM_ERR_UNSUPPORTED;
                    r->shard = (int)owner;
                    snprintf(r->msg, sizeof r->msg, "run by shard %zu", owner);
                    out->n_rows++;
                    continue;
                }
                if ((st = cell(&c, info, kinds[k], budgets[b], x_T, ref, exact, x, scratch, r,
                               err)))
                    goto done;
                r->shard = (int)me;
                out->n_rows++;
                if (cfg->on_row) cfg->on_row(r, cfg->on_row_user_data);
            }
        }
    }
    out->n = c.n;
    out->d = c.d;
    out->seconds = now_s() - t_all;
done:
    free(z);
    free(x_T);
    free(ref);
    free(x);
    free(scratch);
    free(exact);
    free(exact2);
    if (st) sgm_bench_result_free(out);
    return st;
}

/* ------------------------------------------------------------- best --- */

static long best_by(const sgm_bench_result *r, int budget, int want_err) {
    long best = -1;
    double bv = INFINITY;
    for (size_t i = 0; i < r->n_rows; i++) {
        const sgm_bench_row *w = &r->rows[i];
        if (w->status || w->nfe_budget != budget) continue;
        double v = want_err ? w->err_rms : w->sw2;
        if (isfinite(v) && v < bv) {
            bv = v;
            best = (long)i;
        }
    }
    return best;
}

long sgm_bench_best_error(const sgm_bench_result *r, int nfe_budget) {
    return r ? best_by(r, nfe_budget, 1) : -1;
}
long sgm_bench_best_sw2(const sgm_bench_result *r, int nfe_budget) {
    return r ? best_by(r, nfe_budget, 0) : -1;
}

/* -------------------------------------------------------------- CSV --- */

static void put_num(FILE *f, double v) {
    if (isfinite(v))
        fprintf(f, ",%.9g", v);
    else
        fputs(",", f); /* empty field: not computed */
}

sgm_status sgm_bench_write_csv(const sgm_bench_result *r, const char *path, sgm_error *err) {
    if (!r || !path || !*path) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "csv: no path");
    sgm_atomic_file *af = NULL;
    sgm_status st = sgm_atomic_open(path, &af, err);
    if (st != SGM_OK) return st;
    FILE *f = sgm_atomic_stream(af);
    fprintf(f, "sampler,schedule,stochastic,adaptive,nfe_budget,steps,tol,nfe,err_rms,err_max,"
               "sw2,sw2_se,mmd2,mmd2_se,loglik,loglik_se,seconds,status\n");
    for (size_t i = 0; i < r->n_rows; i++) {
        const sgm_bench_row *w = &r->rows[i];
        fprintf(f, "%s,%s,%d,%d,%d,%d", w->sampler, w->schedule, w->stochastic, w->adaptive,
                w->nfe_budget, w->steps);
        put_num(f, w->tol);
        fprintf(f, ",%zu", w->nfe);
        put_num(f, w->err_rms);
        put_num(f, w->err_max);
        put_num(f, w->sw2);
        put_num(f, w->sw2_se);
        put_num(f, w->mmd2);
        put_num(f, w->mmd2_se);
        put_num(f, w->loglik);
        put_num(f, w->loglik_se);
        put_num(f, w->seconds);
        /* status: "ok" or the message, quoted (CSV: "" escapes a quote) */
        if (!w->status) {
            fputs(",ok\n", f);
        } else {
            fputs(",\"", f);
            for (const char *p = w->msg; *p; p++) {
                if (*p == '"') fputc('"', f);
                fputc(*p == '\n' ? ' ' : *p, f);
            }
            fputs("\"\n", f);
        }
    }
    return sgm_atomic_commit(af, err); /* a failed write is in the stream's error flag */
}

/* ------------------------------------------------------------- plot --- */

sgm_status sgm_bench_plot(const sgm_bench_result *r, const char *path, const char *title,
                          sgm_error *err) {
    if (!r || !path) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "plot: no result or path");
    /* panels: schedules in order of appearance; series: deterministic samplers */
    const char *sched[16], *names[128];
    size_t n_sched = 0, n_names = 0;
    for (size_t i = 0; i < r->n_rows; i++) {
        const sgm_bench_row *w = &r->rows[i];
        if (w->nfe_budget == 0 || w->stochastic) continue;
        size_t k;
        for (k = 0; k < n_sched && strcmp(sched[k], w->schedule); k++) {
        }
        if (k == n_sched && n_sched < 16) sched[n_sched++] = w->schedule;
        for (k = 0; k < n_names && strcmp(names[k], w->sampler); k++) {
        }
        if (k == n_names && n_names < 128) names[n_names++] = w->sampler;
    }
    int empty = n_sched == 0;
    if (empty) n_sched = 1; /* an empty frame */
    size_t ns = n_sched * n_names;
    sgm_plot_series *ser = calloc(ns ? ns : 1, sizeof *ser);
    double *buf = malloc(sizeof(double) * 2 * (r->n_rows + 1));
    if (!ser || !buf) {
        free(ser);
        free(buf);
        return sgm__set_error(err, SGM_ERR_NOMEM, "plot: out of memory");
    }
    double *xs = buf, *ys = buf + r->n_rows + 1;
    size_t used = 0;
    for (size_t p = 0; p < n_sched && n_names; p++)
        for (size_t j = 0; j < n_names; j++) {
            sgm_plot_series *s = &ser[p * n_names + j];
            s->x = xs + used;
            s->y = ys + used;
            for (size_t i = 0; i < r->n_rows; i++) {
                const sgm_bench_row *w = &r->rows[i];
                if (w->status || w->nfe_budget == 0 || strcmp(w->schedule, sched[p]) ||
                    strcmp(w->sampler, names[j]) || !isfinite(w->err_rms))
                    continue;
                /* insertion by actual NFE (budgets may map to equal NFE) */
                size_t k = s->n;
                while (k > 0 && xs[used + k - 1] > (double)w->nfe) {
                    xs[used + k] = xs[used + k - 1];
                    ys[used + k] = ys[used + k - 1];
                    k--;
                }
                xs[used + k] = (double)w->nfe;
                ys[used + k] = w->err_rms;
                s->n++;
            }
            used += s->n;
        }
    char ptitle[16][64];
    const char *pt[16];
    for (size_t p = 0; p < n_sched; p++) {
        snprintf(ptitle[p], sizeof ptitle[p], "schedule: %s", empty ? "-" : sched[p]);
        pt[p] = ptitle[p];
    }
    sgm_plot_config pc = {0};
    pc.title = title;
    pc.xlabel = "NFE (denoiser evaluations actually used)";
    pc.ylabel = "RMS error vs rk45 (rtol 1e-9)";
    pc.labels = names;
    pc.n_series = n_names;
    pc.panel_titles = pt;
    pc.n_panels = n_sched;
    sgm_status st = sgm_plot_loglog_png(path, &pc, ser, err);
    free(ser);
    free(buf);
    return st;
}
