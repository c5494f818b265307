/* prdc.c - k-NN precision and recall (Kynkaanniemi, Karras, Laine, Lehtinen
 * & Aila 2019, "Improved precision and recall metric for assessing
 * generative models", sec. 2, eq. 1-3; default k = 3 as in the paper).
 * The manifold of a set is the union of balls around its points with radius
 * the distance to the k-th nearest neighbour within the set (the point
 * itself excluded). precision = fraction of generated points (b) inside the
 * manifold of the reference set (a); recall = fraction of reference points
 * inside the manifold of b. Membership uses <= as the NVlabs reference code.
 * Standard errors are binomial, conditional on the radii.
 * Squared distances throughout; O((na + nb)^2 d), OpenMP over rows (integer
 * counts, so the result does not depend on the thread count). Sharded
 * (sgm_metric_config.shard_*) by rows: radii and memberships of a shard's
 * rows, gathered by every shard.
 */
#include <math.h>
#include <stdlib.h>

#include "eval_internal.h"

/* r2[i] = squared distance from x_i to its k-th nearest neighbour in x, for
 * the rows i in [lo, hi). */
static int knn_radii(const double *x, size_t n, size_t d, size_t k, size_t lo, size_t hi,
                     double *r2) {
    int failed = 0;
    SGM__EV_PRAGMA("omp parallel")
    {
        double *best = malloc(k * sizeof *best); /* k smallest, ascending */
        if (!best) {
            SGM__EV_PRAGMA("omp atomic write")
            failed = 1;
        }
        SGM__EV_PRAGMA("omp for schedule(dynamic, 16)")
        for (size_t i = lo; i < hi; i++) {
            if (!best) continue;
            size_t nb = 0;
            for (size_t j = 0; j < n; j++) {
                if (j == i) continue;
                double q = sgm__ev_sqdist(x + i * d, x + j * d, d);
                if (nb == k && q >= best[k - 1]) continue;
                size_t p = nb < k ? nb++ : k - 1;
                while (p > 0 && best[p - 1] > q) {
                    best[p] = best[p - 1];
                    p--;
                }
                best[p] = q;
            }
            r2[i] = best[k - 1];
        }
        free(best);
    }
    return failed;
}

/* in[j] = 1 if row j of y, j in [lo, hi), is within the k-NN ball of some
 * row of x, else 0 */
static void inside(const double *x, const double *r2, size_t nx, const double *y, size_t lo,
                   size_t hi, size_t d, double *in) {
    SGM__EV_PRAGMA("omp parallel for schedule(dynamic, 16)")
    for (size_t j = lo; j < hi; j++) {
        in[j] = 0;
        for (size_t i = 0; i < nx; i++)
            if (sgm__ev_sqdist(y + j * d, x + i * d, d) <= r2[i]) {
                in[j] = 1;
                break;
            }
    }
}

static size_t count(const double *in, size_t n) {
    size_t hits = 0;
    for (size_t j = 0; j < n; j++) hits += in[j] > 0;
    return hits;
}

static sgm_metric_result binom(size_t hits, size_t n) {
    sgm_metric_result r = sgm__ev_result_nan();
    double p = (double)hits / (double)n;
    r.value = p;
    r.se = sqrt(p * (1 - p) / (double)n);
    return r;
}

sgm_status sgm_metric_prdc(const double *a, size_t na, const double *b, size_t nb, size_t d,
                           const sgm_metric_config *cfg, sgm_metric_result *precision,
                           sgm_metric_result *recall, sgm_error *err) {
    sgm_metric_config c;
    sgm_status st = sgm__ev_config(cfg, &c, err);
    if (st) return st;
    if (!precision || !recall)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "prdc: output is NULL");
    st = sgm__ev_check_pair("prdc", a, na, b, nb, d, c.knn_k + 1, err);
    if (st) return st;
    size_t alo, ahi, blo, bhi;
    sgm__ev_share(&c, na, &alo, &ahi);
    sgm__ev_share(&c, nb, &blo, &bhi);
    double *ra = malloc(na * sizeof *ra), *rb = malloc(nb * sizeof *rb);
    double *ia = malloc(na * sizeof *ia), *ib = malloc(nb * sizeof *ib);
    if (!ra || !rb || !ia || !ib || knn_radii(a, na, d, c.knn_k, alo, ahi, ra) ||
        knn_radii(b, nb, d, c.knn_k, blo, bhi, rb)) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "prdc: out of memory");
        goto done;
    }
    if ((st = sgm__ev_gather(&c, ra, na, 1, "prdc", err)) ||
        (st = sgm__ev_gather(&c, rb, nb, 1, "prdc", err)))
        goto done;
    inside(a, ra, na, b, blo, bhi, d, ib);
    inside(b, rb, nb, a, alo, ahi, d, ia);
    if ((st = sgm__ev_gather(&c, ib, nb, 1, "prdc", err)) ||
        (st = sgm__ev_gather(&c, ia, na, 1, "prdc", err)))
        goto done;
    size_t hp = count(ib, nb), hr = count(ia, na);
    *precision = binom(hp, nb);
    precision->param = (double)c.knn_k;
    *recall = binom(hr, na);
    recall->param = (double)c.knn_k;
done:
    free(ra);
    free(rb);
    free(ia);
    free(ib);
    return st;
}
