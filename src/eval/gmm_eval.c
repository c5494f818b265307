/* gmm_eval.c - sample quality against an exact Gaussian mixture: the mean
 * exact log-density (sgm_gmm_logpdf at sigma 0) with the standard error of
 * a sample mean (sd with n - 1, over sqrt(n)), and the per-component mass:
 * the fraction of rows whose largest posterior responsibility (sigma 0) is
 * component c, with binomial standard errors sqrt(p (1 - p) / n). A sampler
 * that drops or over-fills modes shows up as masses far from the weights.
 * Sharded by rows (sgm_metric_config.shard_*): each shard computes the
 * log-density and best component of its rows, all shards gather them, and
 * the sums run over all rows in order.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_internal.h"

#define ROWS 4096 /* responsibilities are computed in blocks of this many rows */

sgm_status sgm_metric_gmm(const sgm_gmm *g, const double *x, size_t n,
                          const sgm_metric_config *cfg, sgm_metric_result *loglik,
                          double *mass, double *se, sgm_error *err) {
    sgm_metric_config c;
    sgm_status st = sgm__ev_config(cfg, &c, err);
    if (st) return st;
    if (!g || (!loglik && !mass))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "gmm metrics: NULL argument");
    const char *what = loglik ? "gmm loglik" : "gmm mass";
    st = sgm__ev_check_set(what, "x", x, n, sgm_gmm_dim(g), 1, err);
    if (st) return st;
    size_t k = sgm_gmm_components(g), d = sgm_gmm_dim(g), lo, hi;
    sgm__ev_share(&c, n, &lo, &hi);
    size_t rows = hi - lo < ROWS ? hi - lo : ROWS;
    /* per row: [log-density, index of the largest responsibility (NaN: not finite)] */
    double *pr = malloc(n * 2 * sizeof *pr);
    double *lp = malloc((rows ? rows : 1) * sizeof *lp);
    double *resp = mass ? malloc((rows ? rows : 1) * k * sizeof *resp) : NULL;
    size_t *cnt = mass ? calloc(k, sizeof *cnt) : NULL;
    if (!pr || !lp || (mass && (!resp || !cnt))) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "%s: out of memory", what);
        goto done;
    }
    for (size_t i = 0; i < n * 2; i++) pr[i] = NAN;
    for (size_t i0 = lo; i0 < hi; i0 += rows) {
        size_t m = hi - i0 < rows ? hi - i0 : rows;
        if (loglik) {
            for (size_t i = 0; i < m; i++) lp[i] = NAN; /* stays NaN if the model fails */
            sgm_gmm_logpdf(g, m, x + i0 * d, 0.0, lp);
            for (size_t i = 0; i < m; i++) pr[(i0 + i) * 2] = lp[i];
        }
        if (!mass) continue;
        for (size_t i = 0; i < m * k; i++) resp[i] = NAN;
        sgm_gmm_responsibilities(g, m, x + i0 * d, 0.0, resp);
        for (size_t i = 0; i < m; i++) {
            const double *r = resp + i * k;
            size_t best = 0;
            int finite = 1;
            for (size_t cc = 0; cc < k; cc++) {
                finite &= isfinite(r[cc]) != 0;
                if (finite && r[cc] > r[best]) best = cc;
            }
            pr[(i0 + i) * 2 + 1] = finite ? (double)best : NAN;
        }
    }
    if ((st = sgm__ev_gather(&c, pr, n, 2, what, err))) goto done;
    for (size_t i = 0; loglik && i < n; i++)
        if (!isfinite(pr[i * 2])) {
            st = sgm__set_error(err, SGM_ERR_NONFINITE,
                                "gmm loglik: log-density of row %zu is not finite", i);
            goto done;
        }
    for (size_t i = 0; mass && i < n; i++) {
        if (!isfinite(pr[i * 2 + 1])) {
            st = sgm__set_error(err, SGM_ERR_NONFINITE,
                                "gmm mass: responsibility of row %zu is not finite", i);
            goto done;
        }
        cnt[(size_t)pr[i * 2 + 1]]++;
    }
    if (loglik) {
        /* the log-densities, contiguous */
        for (size_t i = 0; i < n; i++) pr[i] = pr[i * 2];
        sgm_metric_result r = sgm__ev_result_nan();
        double sd;
        sgm__ev_mean_sd(pr, n, &r.value, &sd);
        r.se = sd / sqrt((double)n);
        *loglik = r;
    }
    for (size_t cc = 0; mass && cc < k; cc++) {
        double p = (double)cnt[cc] / (double)n;
        mass[cc] = p;
        if (se) se[cc] = sqrt(p * (1 - p) / (double)n);
    }
done:
    free(pr);
    free(lp);
    free(resp);
    free(cnt);
    return st;
}

sgm_status sgm_metric_gmm_loglik(const sgm_gmm *g, const double *x, size_t n,
                                 sgm_metric_result *out, sgm_error *err) {
    if (!g || !out) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "gmm loglik: NULL argument");
    return sgm_metric_gmm(g, x, n, NULL, out, NULL, NULL, err);
}

sgm_status sgm_metric_gmm_mass(const sgm_gmm *g, const double *x, size_t n, double *mass,
                               double *se, sgm_error *err) {
    if (!g || !mass) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "gmm mass: NULL argument");
    return sgm_metric_gmm(g, x, n, NULL, NULL, mass, se, err);
}
