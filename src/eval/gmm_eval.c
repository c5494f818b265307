/* gmm_eval.c - sample quality against an exact Gaussian mixture: the mean
 * exact log-density (sgm_gmm_logpdf at sigma 0) with the standard error of
 * a sample mean (sd with n - 1, over sqrt(n)), and the per-component mass:
 * the fraction of rows whose largest posterior responsibility (sigma 0) is
 * component c, with binomial standard errors sqrt(p (1 - p) / n). A sampler
 * that drops or over-fills modes shows up as masses far from the weights.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_internal.h"

#define ROWS 4096 /* responsibilities are computed in blocks of this many rows */

sgm_status sgm_metric_gmm_loglik(const sgm_gmm *g, const double *x, size_t n,
                                 sgm_metric_result *out, sgm_error *err) {
    if (!g || !out) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "gmm loglik: NULL argument");
    sgm_status st = sgm__ev_check_set("gmm loglik", "x", x, n, sgm_gmm_dim(g), 1, err);
    if (st) return st;
    double *lp = malloc(n * sizeof *lp);
    if (!lp) return sgm__set_error(err, SGM_ERR_NOMEM, "gmm loglik: out of memory");
    for (size_t i = 0; i < n; i++) lp[i] = NAN; /* stays NaN if the model fails */
    sgm_gmm_logpdf(g, n, x, 0.0, lp);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(lp[i])) {
            free(lp);
            return sgm__set_error(err, SGM_ERR_NONFINITE,
                                  "gmm loglik: log-density of row %zu is not finite", i);
        }
    sgm_metric_result r = sgm__ev_result_nan();
    double sd;
    sgm__ev_mean_sd(lp, n, &r.value, &sd);
    r.se = sd / sqrt((double)n);
    free(lp);
    *out = r;
    return SGM_OK;
}

sgm_status sgm_metric_gmm_mass(const sgm_gmm *g, const double *x, size_t n, double *mass,
                               double *se, sgm_error *err) {
    if (!g || !mass) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "gmm mass: NULL argument");
    sgm_status st = sgm__ev_check_set("gmm mass", "x", x, n, sgm_gmm_dim(g), 1, err);
    if (st) return st;
    size_t k = sgm_gmm_components(g), d = sgm_gmm_dim(g);
    size_t rows = n < ROWS ? n : ROWS;
    double *resp = malloc(rows * k * sizeof *resp);
    size_t *cnt = calloc(k, sizeof *cnt);
    if (!resp || !cnt) {
        free(resp);
        free(cnt);
        return sgm__set_error(err, SGM_ERR_NOMEM, "gmm mass: out of memory");
    }
    for (size_t i0 = 0; i0 < n; i0 += rows) {
        size_t m = n - i0 < rows ? n - i0 : rows;
        for (size_t i = 0; i < m * k; i++) resp[i] = NAN;
        sgm_gmm_responsibilities(g, m, x + i0 * d, 0.0, resp);
        for (size_t i = 0; i < m; i++) {
            const double *r = resp + i * k;
            size_t best = 0;
            for (size_t c = 0; c < k; c++) {
                if (!isfinite(r[c])) {
                    free(resp);
                    free(cnt);
                    return sgm__set_error(err, SGM_ERR_NONFINITE,
                                          "gmm mass: responsibility of row %zu is not finite",
                                          i0 + i);
                }
                if (r[c] > r[best]) best = c;
            }
            cnt[best]++;
        }
    }
    for (size_t c = 0; c < k; c++) {
        double p = (double)cnt[c] / (double)n;
        mass[c] = p;
        if (se) se[c] = sqrt(p * (1 - p) / (double)n);
    }
    free(resp);
    free(cnt);
    return SGM_OK;
}
