/* sw2.c - sliced Wasserstein-2 distance (Rabin, Peyre, Delon & Bernot 2011,
 * "Wasserstein barycenter and its application to texture mixing";
 * Bonneel et al. 2015, "Sliced and Radon Wasserstein barycenters of
 * measures", eq. 4): SW2^2 = mean over unit directions theta_l of
 * W2^2(theta_l # a, theta_l # b).
 *
 * The 1-D W2^2 between empirical measures is exact: the integral over u in
 * (0, 1) of (Fa^-1(u) - Fb^-1(u))^2 with the step quantile functions
 * (Villani 2003, Thm 2.18; the same formula as POT's wasserstein_1d). The
 * quantile breakpoints are merged in integer units of 1 / (na nb), so equal
 * sizes reduce exactly to pairing sorted values. A bootstrap resample is the
 * same measure with integer multiplicities, so each direction is sorted once
 * and replicates only re-weight it.
 * Sharded (sgm_metric_config.shard_*) by directions: a shard computes W2^2
 * of its directions (and of every bootstrap replicate along them), every
 * shard gathers the [L, 1 + B] table, and the means run over the directions
 * in order as in one process.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_internal.h"

typedef struct {
    double v;
    size_t i;
} vi_pair;

static int cmp_vi(const void *p, const void *q) {
    const vi_pair *x = p, *y = q;
    if (x->v < y->v) return -1;
    if (x->v > y->v) return 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* W2^2 between sum_i ca[pa[i]] / na delta(xa[i]) and the same for b; xa, xb
 * ascending; ca / cb NULL means multiplicity 1 (and then pa / pb unused). */
static double w2sq_1d(const double *xa, const size_t *pa, const uint32_t *ca, size_t na,
                      const double *xb, const size_t *pb, const uint32_t *cb, size_t nb) {
    uint64_t ua = nb, ub = na; /* one a atom = nb units, one b atom = na units */
    size_t i = 0, j = 0;
    uint64_t ra = (ca ? ca[pa[0]] : 1) * ua, rb = (cb ? cb[pb[0]] : 1) * ub;
    double acc = 0;
    while (i < na && j < nb) {
        if (ra == 0) {
            if (++i < na) ra = (ca ? ca[pa[i]] : 1) * ua;
            continue;
        }
        if (rb == 0) {
            if (++j < nb) rb = (cb ? cb[pb[j]] : 1) * ub;
            continue;
        }
        uint64_t m = ra < rb ? ra : rb;
        double t = xa[i] - xb[j];
        acc += (double)m * t * t;
        ra -= m;
        rb -= m;
    }
    return acc / ((double)na * (double)nb);
}

sgm_status sgm_metric_sw2(const double *a, size_t na, const double *b, size_t nb, size_t d,
                          const sgm_metric_config *cfg, sgm_metric_result *out,
                          sgm_error *err) {
    sgm_metric_config c;
    sgm_status st = sgm__ev_config(cfg, &c, err);
    if (st) return st;
    if (!out) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "sw2: out is NULL");
    st = sgm__ev_check_pair("sw2", a, na, b, nb, d, 1, err);
    if (st) return st;
    size_t L = c.n_projections, B = c.n_bootstrap, n = na + nb;
    if (L > ((size_t)1 << 32) / d || L > ((size_t)1 << 34) / n)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "sw2: n_projections %zu is too large",
                              L);
    double *dir = malloc(L * d * sizeof *dir);
    double *xs = malloc(L * n * sizeof *xs);     /* sorted projections, a then b */
    size_t *perm = NULL; /* original row of each sorted value (bootstrap only) */
    /* wt[l][0]: W2^2 along direction l; wt[l][1 + r]: bootstrap replicate r */
    double *w = malloc(L * sizeof *w), *wt = malloc(L * (1 + B) * sizeof *wt);
    size_t lo, hi;
    sgm__ev_share(&c, L, &lo, &hi);
    uint32_t *cnt = NULL;
    double *u = NULL, *rep = NULL;
    if (B) {
        perm = malloc(L * n * sizeof *perm);
        cnt = malloc(n * sizeof *cnt);
        u = malloc(n * sizeof *u);
        rep = malloc(B * sizeof *rep);
    }
    if (!dir || !xs || !w || !wt || (B && (!perm || !cnt || !u || !rep))) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "sw2: out of memory");
        goto done;
    }
    if (c.directions)
        memcpy(dir, c.directions, L * d * sizeof *dir);
    else
        sgm_rng_normal_rows_f64(c.seed, SGM__EV_DRAW_DIRS, 0, L, d, dir);
    for (size_t l = 0; l < L; l++) {
        double nrm = 0;
        for (size_t j = 0; j < d; j++) nrm += dir[l * d + j] * dir[l * d + j];
        nrm = sqrt(nrm);
        if (!(nrm > 0) || !isfinite(nrm)) {
            st = sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                "sw2: direction %zu is zero or not finite", l);
            goto done;
        }
        for (size_t j = 0; j < d; j++) dir[l * d + j] /= nrm;
    }
    int failed = 0;
    SGM__EV_PRAGMA("omp parallel")
    {
        vi_pair *t = malloc(n * sizeof *t);
        if (!t) {
            SGM__EV_PRAGMA("omp atomic write")
            failed = 1;
        }
        SGM__EV_PRAGMA("omp for schedule(dynamic, 1)")
        for (size_t l = lo; l < hi; l++) {
            if (!t) continue;
            const double *th = dir + l * d;
            for (size_t i = 0; i < n; i++) {
                const double *z = i < na ? a + i * d : b + (i - na) * d;
                double s = 0;
                for (size_t j = 0; j < d; j++) s += th[j] * z[j];
                t[i].v = s;
                t[i].i = i < na ? i : i - na;
            }
            qsort(t, na, sizeof *t, cmp_vi);
            qsort(t + na, nb, sizeof *t, cmp_vi);
            for (size_t i = 0; i < n; i++) {
                xs[l * n + i] = t[i].v;
                if (perm) perm[l * n + i] = t[i].i;
            }
            wt[l * (1 + B)] = w2sq_1d(xs + l * n, NULL, NULL, na, xs + l * n + na, NULL, NULL, nb);
        }
        free(t);
    }
    if (failed) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "sw2: out of memory");
        goto done;
    }
    for (size_t rr = 0; rr < B; rr++) {
        sgm__ev_boot_counts(c.seed, rr, 0, na, cnt, u);
        sgm__ev_boot_counts(c.seed, rr, 1, nb, cnt + na, u);
        SGM__EV_PRAGMA("omp parallel for schedule(static)")
        for (size_t l = lo; l < hi; l++)
            wt[l * (1 + B) + 1 + rr] = w2sq_1d(xs + l * n, perm + l * n, cnt, na,
                                               xs + l * n + na, perm + l * n + na, cnt + na, nb);
    }
    if ((st = sgm__ev_gather(&c, wt, L, 1 + B, "sw2", err))) goto done;
    for (size_t l = 0; l < L; l++) w[l] = wt[l * (1 + B)];
    double mean, sd;
    sgm__ev_mean_sd(w, L, &mean, &sd);
    sgm_metric_result r = sgm__ev_result_nan();
    r.value = sqrt(mean);
    /* delta method: se(sqrt(m)) = se(m) / (2 sqrt(m)); over the directions */
    if (L >= 2) r.se = mean > 0 ? sd / sqrt((double)L) / (2 * sqrt(mean)) : 0;
    for (size_t rr = 0; rr < B; rr++) {
        double s = 0;
        for (size_t l = 0; l < L; l++) s += wt[l * (1 + B) + 1 + rr];
        rep[rr] = sqrt(s / (double)L);
    }
    if (B) {
        sgm__ev_interval(rep, B, c.level, &r.lo, &r.hi);
        r.n_boot = B;
    }
    *out = r;
done:
    free(dir);
    free(xs);
    free(perm);
    free(w);
    free(wt);
    free(cnt);
    free(u);
    free(rep);
    return st;
}
