/* pairwise.c - kernel two-sample U-statistics: the unbiased MMD^2 with an RBF
 * kernel (Gretton et al. 2012, "A kernel two-sample test", JMLR 13, eq. 3;
 * median heuristic: Gretton et al. sec. 8, Garreau et al. 2017) and the
 * energy distance (Szekely & Rizzo 2013, "Energy statistics", eq. 2.1 with
 * U-statistics for E|X - X'| and E|Y - Y'|), which is the same statistic with
 * the kernel k(x, y) = -|x - y|.
 *
 * One pass over the pooled set z = (a, b): row i computes k(z_i, z_j) for
 * all j (OpenMP over rows, chunks reduced in row order, so the result does
 * not depend on the thread count). The row sums give the statistic and its
 * first-order (Hoeffding projection) standard error; with n_bootstrap > 0
 * the same kernel row is reused for every bootstrap replicate through the
 * resample multiplicities c: sum over distinct resample positions p != q of
 * k = sum_{i,j} c_i c_j k_ij - sum_i c_i k_ii.
 * Sharded (sgm_metric_config.shard_*) by rows of the pooled set: a shard
 * computes the row sums (and the bootstrap row terms) of its rows, every
 * shard gathers all rows, and the sums run over the rows in order as in one
 * process. The median heuristic is computed by every shard.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_internal.h"

typedef enum { KERN_RBF, KERN_NEGDIST } kern_kind;

#define CHUNK 512 /* rows per reduction block */
#define JB 128    /* columns per block of the bootstrap accumulation */
#define TILE 16   /* rows per parallel work item (bootstrap: one pass over the counts) */

static int cmp_double(const void *p, const void *q) {
    double x = *(const double *)p, y = *(const double *)q;
    return (x > y) - (x < y);
}

/* ell^2 = median of the pairwise squared distances of the pooled set (or of
 * a seeded subset of max_pts pooled points). */
static sgm_status median_sq(const double *a, size_t na, const double *b, size_t nb, size_t d,
                            size_t max_pts, uint64_t seed, double *out, sgm_error *err) {
    size_t n = na + nb, m = n < max_pts ? n : max_pts;
    size_t *idx = malloc(n * sizeof *idx);
    double *u = malloc(n * sizeof *u);
    size_t npairs = m * (m - 1) / 2;
    double *dd = malloc((npairs ? npairs : 1) * sizeof *dd);
    if (!idx || !u || !dd) {
        free(idx);
        free(u);
        free(dd);
        return sgm__set_error(err, SGM_ERR_NOMEM, "mmd: out of memory (median heuristic)");
    }
    for (size_t i = 0; i < n; i++) idx[i] = i;
    if (m < n) { /* partial Fisher-Yates shuffle with Philox uniforms */
        sgm_rng_uniform_rows_f64(seed, SGM__EV_DRAW_MEDIAN, 0, m, 1, u);
        for (size_t i = 0; i < m; i++) {
            size_t j = i + (size_t)(u[i] * (double)(n - i));
            if (j >= n) j = n - 1;
            size_t t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
    }
    size_t p = 0;
    for (size_t i = 0; i < m; i++) {
        const double *zi = idx[i] < na ? a + idx[i] * d : b + (idx[i] - na) * d;
        for (size_t j = i + 1; j < m; j++) {
            const double *zj = idx[j] < na ? a + idx[j] * d : b + (idx[j] - na) * d;
            dd[p++] = sgm__ev_sqdist(zi, zj, d);
        }
    }
    qsort(dd, npairs, sizeof *dd, cmp_double);
    double med = npairs % 2 ? dd[npairs / 2] : 0.5 * (dd[npairs / 2 - 1] + dd[npairs / 2]);
    free(idx);
    free(u);
    free(dd);
    if (!(med > 0))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "mmd: median heuristic bandwidth is 0 (more than half of the "
                              "pairs of points coincide); give a bandwidth");
    *out = med;
    return SGM_OK;
}

static sgm_status two_sample(const char *what, kern_kind kind, const double *a, size_t na,
                             const double *b, size_t nb, size_t d, const sgm_metric_config *c,
                             double inv2l2, sgm_metric_result *res, sgm_error *err) {
    size_t n = na + nb, B = c->n_bootstrap, lo, hi;
    sgm__ev_share(c, n, &lo, &hi);
    /* sharded: the bootstrap row terms of every row, gathered before the sums;
       else those of one chunk of CHUNK rows at a time */
    int sharded = c->shard_size > 1;
    double kdiag = kind == KERN_RBF ? 1.0 : 0.0;
    double *s_same = malloc(n * sizeof *s_same), *s_cross = malloc(n * sizeof *s_cross);
    uint32_t *ci = NULL;
    double *cnt = NULL, *u = NULL, *part = NULL, *tot = NULL;
    sgm_status st = SGM_OK;
    if (B) {
        cnt = malloc(B * n * sizeof *cnt); /* [n][B]: multiplicity of row j in replicate r */
        ci = malloc(n * sizeof *ci);
        u = malloc(n * sizeof *u);
        part = malloc((sharded ? n : (size_t)CHUNK) * B * 2 * sizeof *part);
        tot = calloc(B * 3, sizeof *tot);
    }
    if (!s_same || !s_cross || (B && (!cnt || !ci || !u || !part || !tot))) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "%s: out of memory", what);
        goto done;
    }
    for (size_t r = 0; r < B; r++) {
        sgm__ev_boot_counts(c->seed, r, 0, na, ci, u);
        sgm__ev_boot_counts(c->seed, r, 1, nb, ci + na, u);
        for (size_t j = 0; j < n; j++) cnt[j * B + r] = (double)ci[j];
    }
    int failed = 0;
    for (size_t c0 = lo; c0 < hi && !failed; c0 += CHUNK) {
        size_t c1 = c0 + CHUNK < hi ? c0 + CHUNK : hi;
        size_t pbase = sharded ? 0 : c0; /* row of part[0] */
        SGM__EV_PRAGMA("omp parallel")
        {
            double *kt = malloc(TILE * n * sizeof *kt);
            double *acc = B ? malloc(TILE * 2 * B * sizeof *acc) : NULL;
            int ok = kt && (!B || acc);
            if (!ok) {
                SGM__EV_PRAGMA("omp atomic write")
                failed = 1;
            }
            /* tiles of TILE rows; tile bounds do not depend on the threads */
            SGM__EV_PRAGMA("omp for schedule(dynamic, 1)")
            for (size_t t0 = c0; t0 < c1; t0 += TILE) {
                if (!ok) continue;
                size_t t1 = t0 + TILE < c1 ? t0 + TILE : c1;
                for (size_t i = t0; i < t1; i++) {
                    double *krow = kt + (i - t0) * n;
                    const double *zi = i < na ? a + i * d : b + (i - na) * d;
                    for (size_t j = 0; j < n; j++) {
                        const double *zj = j < na ? a + j * d : b + (j - na) * d;
                        double q = sgm__ev_sqdist(zi, zj, d);
                        krow[j] = kind == KERN_RBF ? exp(-q * inv2l2) : -sqrt(q);
                    }
                    double sa = 0, sb = 0;
                    for (size_t j = 0; j < na; j++) sa += krow[j];
                    for (size_t j = na; j < n; j++) sb += krow[j];
                    int in_a = i < na;
                    s_same[i] = (in_a ? sa : sb) - kdiag;
                    s_cross[i] = in_a ? sb : sa;
                }
                if (!B) continue;
                /* acc[row][side][r] = sum_{j in side} c_r[j] k(z_row, z_j), j in order */
                memset(acc, 0, (t1 - t0) * 2 * B * sizeof *acc);
                for (size_t j0 = 0; j0 < n; j0 += JB) { /* j blocks: counts stay in cache */
                    size_t j1 = j0 + JB < n ? j0 + JB : n;
                    for (size_t i = t0; i < t1; i++)
                        for (size_t j = j0; j < j1; j++) {
                            double kv = kt[(i - t0) * n + j];
                            const double *restrict cj = cnt + j * B;
                            double *restrict ac = acc + ((i - t0) * 2 + (j < na ? 0 : 1)) * B;
                            for (size_t r = 0; r < B; r++) ac[r] += kv * cj[r];
                        }
                }
                for (size_t i = t0; i < t1; i++) {
                    int in_a = i < na;
                    const double *same = acc + ((i - t0) * 2 + (in_a ? 0 : 1)) * B;
                    const double *other = acc + ((i - t0) * 2 + 1) * B;
                    for (size_t r = 0; r < B; r++) {
                        double mi = cnt[i * B + r];
                        double *pr = part + ((i - pbase) * B + r) * 2;
                        pr[0] = mi * same[r];             /* same-set sum, diagonal included */
                        pr[1] = in_a ? mi * other[r] : 0; /* cross sum, from the a rows */
                    }
                }
            }
            free(kt);
            free(acc);
        }
        for (size_t i = c0; i < c1 && B && !sharded; i++)
            for (size_t r = 0; r < B; r++) {
                const double *pr = part + ((i - c0) * B + r) * 2;
                tot[r * 3 + (i < na ? 0 : 1)] += pr[0];
                tot[r * 3 + 2] += pr[1];
            }
    }
    if (failed) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "%s: out of memory", what);
        goto done;
    }
    if ((st = sgm__ev_gather(c, s_same, n, 1, what, err)) ||
        (st = sgm__ev_gather(c, s_cross, n, 1, what, err)) ||
        (B && (st = sgm__ev_gather(c, part, n, 2 * B, what, err))))
        goto done;
    for (size_t i = 0; i < n && B && sharded; i++) /* the same order as the chunks' sums */
        for (size_t r = 0; r < B; r++) {
            const double *pr = part + (i * B + r) * 2;
            tot[r * 3 + (i < na ? 0 : 1)] += pr[0];
            tot[r * 3 + 2] += pr[1];
        }
    double fa = (double)na, fb = (double)nb;
    double sxx = 0, syy = 0, sxy = 0;
    for (size_t i = 0; i < na; i++) {
        sxx += s_same[i];
        sxy += s_cross[i];
    }
    for (size_t i = na; i < n; i++) syy += s_same[i];
    double value = sxx / (fa * (fa - 1)) + syy / (fb * (fb - 1)) - 2 * sxy / (fa * fb);
    /* first-order standard error: h_a(a_i) = mean_{j != i} k(a_i, a_j) -
     * mean_j k(a_i, b_j), likewise for b; reuse s_same as scratch */
    for (size_t i = 0; i < na; i++) s_same[i] = s_same[i] / (fa - 1) - s_cross[i] / fb;
    for (size_t i = na; i < n; i++) s_same[i] = s_same[i] / (fb - 1) - s_cross[i] / fa;
    double ma, sda, mb, sdb;
    sgm__ev_mean_sd(s_same, na, &ma, &sda);
    sgm__ev_mean_sd(s_same + na, nb, &mb, &sdb);
    sgm_metric_result out = sgm__ev_result_nan();
    out.value = value;
    out.se = sqrt(4 * sda * sda / fa + 4 * sdb * sdb / fb);
    if (B) {
        double *rep = malloc(B * sizeof *rep);
        if (!rep) {
            st = sgm__set_error(err, SGM_ERR_NOMEM, "%s: out of memory", what);
            goto done;
        }
        for (size_t r = 0; r < B; r++)
            rep[r] = (tot[r * 3] - fa * kdiag) / (fa * (fa - 1)) +
                     (tot[r * 3 + 1] - fb * kdiag) / (fb * (fb - 1)) -
                     2 * tot[r * 3 + 2] / (fa * fb);
        sgm__ev_interval(rep, B, c->level, &out.lo, &out.hi);
        out.n_boot = B;
        free(rep);
    }
    *res = out;
done:
    free(s_same);
    free(s_cross);
    free(cnt);
    free(ci);
    free(u);
    free(part);
    free(tot);
    return st;
}

sgm_status sgm_metric_mmd2(const double *a, size_t na, const double *b, size_t nb, size_t d,
                           const sgm_metric_config *cfg, sgm_metric_result *out,
                           sgm_error *err) {
    sgm_metric_config c;
    sgm_status st = sgm__ev_config(cfg, &c, err);
    if (st) return st;
    if (!out) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "mmd: out is NULL");
    st = sgm__ev_check_pair("mmd", a, na, b, nb, d, 2, err);
    if (st) return st;
    double ell2 = c.bandwidth * c.bandwidth;
    if (!(c.bandwidth > 0)) {
        st = median_sq(a, na, b, nb, d, c.median_max_points, c.seed, &ell2, err);
        if (st) return st;
    }
    if (!(ell2 > 0) || !isfinite(1 / (2 * ell2)))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "mmd: bandwidth %g is too small",
                              sqrt(ell2));
    sgm_metric_result r;
    st = two_sample("mmd", KERN_RBF, a, na, b, nb, d, &c, 1 / (2 * ell2), &r, err);
    if (st) return st;
    r.param = sqrt(ell2);
    *out = r;
    return SGM_OK;
}

sgm_status sgm_metric_energy(const double *a, size_t na, const double *b, size_t nb,
                             size_t d, const sgm_metric_config *cfg, sgm_metric_result *out,
                             sgm_error *err) {
    sgm_metric_config c;
    sgm_status st = sgm__ev_config(cfg, &c, err);
    if (st) return st;
    if (!out) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "energy: out is NULL");
    st = sgm__ev_check_pair("energy", a, na, b, nb, d, 2, err);
    if (st) return st;
    return two_sample("energy", KERN_NEGDIST, a, na, b, nb, d, &c, 0, out, err);
}
