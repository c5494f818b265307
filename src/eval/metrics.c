/* metrics.c - shared parts of the sample-quality metrics: configuration
 * defaults and validation, input checks (sizes, finiteness), seeded bootstrap
 * resampling (Efron & Tibshirani 1993, "An Introduction to the Bootstrap",
 * ch. 6 and 13: resampling with replacement, percentile intervals) and the
 * quantile convention of numpy.quantile (linear interpolation, "type 7" of
 * Hyndman & Fan 1996). The metrics themselves live in pairwise.c (MMD^2,
 * energy), sw2.c, frechet.c, prdc.c and gmm_eval.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_internal.h"

void sgm_metric_config_default(sgm_metric_config *cfg) {
    if (!cfg) return;
    memset(cfg, 0, sizeof *cfg);
    cfg->n_projections = 256;
    cfg->directions = NULL;
    cfg->bandwidth = 0;
    cfg->median_max_points = 2000;
    cfg->knn_k = 3;
    cfg->n_bootstrap = 0;
    cfg->level = 0.95;
    cfg->seed = 0;
    cfg->shard_rank = 0;
    cfg->shard_size = 1;
}

sgm_status sgm__ev_config(const sgm_metric_config *cfg, sgm_metric_config *out,
                          sgm_error *err) {
    if (cfg)
        *out = *cfg;
    else
        sgm_metric_config_default(out);
    return sgm_metric_config_check(out, err);
}

sgm_status sgm_metric_config_check(const sgm_metric_config *out, sgm_error *err) {
    if (!out) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "metrics: config is NULL");
    if (out->n_projections < 1)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "metrics: n_projections must be >= 1");
    if (!isfinite(out->bandwidth))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "metrics: bandwidth must be finite");
    if (out->median_max_points < 2)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "metrics: median_max_points must be >= 2");
    if (out->knn_k < 1)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "metrics: knn_k must be >= 1");
    if (!(out->level > 0 && out->level < 1))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "metrics: level must be in (0, 1), got %g", out->level);
    if (out->n_bootstrap == 1)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "metrics: n_bootstrap must be 0 (none) or >= 2");
    if (out->shard_size > 1 && (out->shard_rank >= out->shard_size || !out->all_gather))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "metrics: shard_rank %zu of %zu, or no all_gather",
                              out->shard_rank, out->shard_size);
    if (out->n_bootstrap > 100000)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "metrics: n_bootstrap %zu is too large (max 100000)",
                              out->n_bootstrap);
    return SGM_OK;
}

void sgm__ev_share(const sgm_metric_config *c, size_t m, size_t *lo, size_t *hi) {
    size_t P = c->shard_size > 1 ? c->shard_size : 1, r = P > 1 ? c->shard_rank : 0;
    size_t q = m / P, e = m % P;
    *lo = r * q + (r < e ? r : e);
    *hi = *lo + q + (r < e ? 1 : 0);
}

sgm_status sgm__ev_gather(const sgm_metric_config *c, double *buf, size_t m, size_t width,
                          const char *what, sgm_error *err) {
    if (c->shard_size <= 1) return SGM_OK;
    if (c->all_gather(buf, m, width, c->all_gather_user_data))
        return sgm__set_error(err, SGM_ERR_CALLBACK, "%s: all_gather of the shards failed",
                              what);
    return SGM_OK;
}

sgm_status sgm__ev_check_set(const char *what, const char *name, const double *x, size_t n,
                             size_t d, size_t min_n, sgm_error *err) {
    if (!x)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "%s: set %s is NULL", what, name);
    if (d < 1)
        return sgm__set_error(err, SGM_ERR_SHAPE, "%s: dimension must be >= 1", what);
    if (n < min_n) {
        if (n == 0)
            return sgm__set_error(err, SGM_ERR_SHAPE, "%s: set %s is empty", what, name);
        return sgm__set_error(err, SGM_ERR_SHAPE, "%s: set %s has %zu rows, needs at least %zu",
                              what, name, n, min_n);
    }
    if (n > ((size_t)1 << 40) / d)
        return sgm__set_error(err, SGM_ERR_SHAPE, "%s: set %s is too large (%zu x %zu)", what,
                              name, n, d);
    size_t cnt = n * d;
    for (size_t i = 0; i < cnt; i++)
        if (!isfinite(x[i]))
            return sgm__set_error(err, SGM_ERR_NONFINITE,
                                  "%s: set %s has a non-finite value at row %zu, column %zu",
                                  what, name, i / d, i % d);
    return SGM_OK;
}

sgm_status sgm__ev_check_pair(const char *what, const double *a, size_t na, const double *b,
                              size_t nb, size_t d, size_t min_n, sgm_error *err) {
    sgm_status st = sgm__ev_check_set(what, "a", a, na, d, min_n, err);
    if (st) return st;
    return sgm__ev_check_set(what, "b", b, nb, d, min_n, err);
}

sgm_metric_result sgm__ev_result_nan(void) {
    sgm_metric_result r;
    r.value = r.se = r.lo = r.hi = r.param = NAN;
    r.n_boot = 0;
    return r;
}

void sgm__ev_boot_counts(uint64_t seed, size_t r, int which, size_t n, uint32_t *counts,
                         double *u) {
    uint64_t draw = SGM__EV_DRAW_BOOT + 2u * (uint64_t)r + (uint64_t)which;
    sgm_rng_uniform_rows_f64(seed, draw, 0, n, 1, u);
    memset(counts, 0, n * sizeof *counts);
    for (size_t i = 0; i < n; i++) {
        size_t j = (size_t)(u[i] * (double)n);
        if (j >= n) j = n - 1; /* u < 1, but guard the rounding of u * n */
        counts[j]++;
    }
}

static int cmp_double(const void *p, const void *q) {
    double x = *(const double *)p, y = *(const double *)q;
    return (x > y) - (x < y);
}

static double quantile_sorted(const double *v, size_t n, double q) {
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    if (lo >= n - 1) return v[n - 1];
    double f = h - (double)lo;
    return v[lo] + f * (v[lo + 1] - v[lo]);
}

void sgm__ev_interval(double *v, size_t n, double level, double *lo, double *hi) {
    if (n == 0) {
        *lo = *hi = NAN;
        return;
    }
    qsort(v, n, sizeof *v, cmp_double);
    *lo = quantile_sorted(v, n, 0.5 * (1 - level));
    *hi = quantile_sorted(v, n, 0.5 * (1 + level));
}

void sgm__ev_mean_sd(const double *v, size_t n, double *mean, double *sd) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m += v[i];
    m /= (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (v[i] - m) * (v[i] - m);
    *mean = m;
    *sd = n >= 2 ? sqrt(ss / (double)(n - 1)) : NAN;
}
