/* test_metrics.c - the sample-quality metrics (sgm_eval.h) against closed
 * forms (MMD^2 and energy distance between Gaussians, Frechet distance of
 * 2x2 Gaussians, sliced W2 of a translation), against numpy/scipy values on
 * fixed data (tests/data/metrics, written by tools/ref/gen_metrics.py), the
 * bootstrap against explicit resampling, thread-count independence, and bad
 * input (empty sets, NaN, bad options, non-finite likelihood).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "eval/eval_internal.h"
#include "sgm.h"
#include "test_util.h"

static const double PI = 3.14159265358979323846;

/* ------------------------------------------------------------ fixtures --- */

static cJSON *g_exp; /* the "expected" object */

static double expv(const char *metric, const char *field) {
    cJSON *m = cJSON_GetObjectItemCaseSensitive(g_exp, metric);
    cJSON *v = cJSON_GetObjectItemCaseSensitive(m, field);
    if (!cJSON_IsNumber(v)) {
        fprintf(stderr, "fixture lacks %s.%s\n", metric, field);
        return NAN;
    }
    return v->valuedouble;
}

static int load(const char *name, sgm_array *a) {
    char rel[256], buf[1024];
    snprintf(rel, sizeof rel, "tests/data/metrics/%s.npy", name);
    sgm_error err = {0};
    if (sgm_npy_load(tu_src(rel, buf, sizeof buf), a, &err)) {
        fprintf(stderr, "cannot load %s: %s\n", buf, err.msg);
        return 1;
    }
    return 0;
}

static void test_fixtures(void) {
    char buf[1024], *text = NULL;
    size_t len;
    sgm_error err = {0};
    if (sgm_read_file(tu_src("tests/data/metrics/expected.json", buf, sizeof buf), &text, &len,
                      &err)) {
        CHECK(0, "expected.json: %s", err.msg);
        return;
    }
    cJSON *root = cJSON_Parse(text);
    free(text);
    g_exp = cJSON_GetObjectItemCaseSensitive(root, "expected");
    CHECK(g_exp != NULL, "expected.json has no 'expected'");
    sgm_array a, b, dirs, a1, b1, xg;
    if (load("a", &a) || load("b", &b) || load("dirs", &dirs) || load("a1", &a1) ||
        load("b1", &b1) || load("xg", &xg)) {
        CHECK(0, "fixtures missing");
        cJSON_Delete(root);
        return;
    }
    size_t na = a.shape[0], nb = b.shape[0], d = a.shape[1];
    sgm_metric_config c;
    sgm_metric_config_default(&c);
    sgm_metric_result r;
    /* Deterministic computations of the same formulas in a different order
     * (scipy cdist, numpy sums): agreement to 1e-12 relative is round-off. */
    const double RT = 1e-12;

    c.n_projections = dirs.shape[0];
    c.directions = dirs.data;
    CHECK(sgm_metric_sw2(a.data, na, b.data, nb, d, &c, &r, &err) == 0, "%s", err.msg);
    CHECK_CLOSE(r.value, expv("sw2", "value"), RT, 0, "sw2 (unequal sizes)");
    CHECK_CLOSE(r.se, expv("sw2", "se"), 1e-10, 0, "sw2 se"); /* sd of 16 values: round-off */
    CHECK(sgm_metric_sw2(a.data, nb, b.data, nb, d, &c, &r, &err) == 0, "%s", err.msg);
    CHECK_CLOSE(r.value, expv("sw2_equal", "value"), RT, 0, "sw2 (equal sizes)");
    CHECK_CLOSE(r.se, expv("sw2_equal", "se"), 1e-10, 0, "sw2 equal se");
    double one = 1.0;
    sgm_metric_config c1 = c;
    c1.n_projections = 1;
    c1.directions = &one;
    CHECK(sgm_metric_sw2(a1.data, a1.shape[0], b1.data, b1.shape[0], 1, &c1, &r, &err) == 0,
          "%s", err.msg);
    CHECK_CLOSE(r.value, expv("w2_1d", "value"), RT, 0, "exact 1-D W2 (37 vs 23 points)");
    CHECK(isnan(r.se), "one direction has no se");
    c.directions = NULL;
    c.n_projections = 256;

    CHECK(sgm_metric_mmd2(a.data, na, b.data, nb, d, &c, &r, &err) == 0, "%s", err.msg);
    CHECK_CLOSE(r.param, expv("mmd2_median", "ell"), RT, 0, "median-heuristic ell");
    CHECK_CLOSE(r.value, expv("mmd2_median", "value"), RT, 0, "mmd2 (median)");
    CHECK_CLOSE(r.se, expv("mmd2_median", "se"), 1e-10, 0, "mmd2 se");
    c.bandwidth = 1.5;
    CHECK(sgm_metric_mmd2(a.data, na, b.data, nb, d, &c, &r, &err) == 0, "%s", err.msg);
    CHECK_CLOSE(r.value, expv("mmd2_ell1.5", "value"), RT, 0, "mmd2 (ell 1.5)");
    CHECK_CLOSE(r.se, expv("mmd2_ell1.5", "se"), 1e-10, 0, "mmd2 (ell 1.5) se");
    c.bandwidth = 0;

    CHECK(sgm_metric_energy(a.data, na, b.data, nb, d, &c, &r, &err) == 0, "%s", err.msg);
    CHECK_CLOSE(r.value, expv("energy", "value"), RT, 0, "energy");
    CHECK_CLOSE(r.se, expv("energy", "se"), 1e-10, 0, "energy se");
    CHECK(sgm_metric_energy(a1.data, a1.shape[0], b1.data, b1.shape[0], 1, &c, &r, &err) == 0,
          "%s", err.msg);
    CHECK_CLOSE(r.value, expv("energy_1d", "value"), RT, 0, "energy 1-D");

    /* scipy.linalg.sqrtm (Schur) vs our eigen route (LAPACK dsyevd): both
     * backward stable on a 3x3 well-conditioned problem; 1e-10 relative
     * covers their round-off */
    CHECK(sgm_metric_fd(a.data, na, b.data, nb, d, &c, &r, &err) == 0, "%s", err.msg);
    CHECK_CLOSE(r.value, expv("fd", "value"), 1e-10, 0, "fd");

    sgm_metric_result p, q;
    CHECK(sgm_metric_prdc(a.data, na, b.data, nb, d, &c, &p, &q, &err) == 0, "%s", err.msg);
    /* counts of points: exact */
    CHECK_CLOSE(p.value, expv("prdc_k3", "precision"), 0, 1e-15, "precision k=3");
    CHECK_CLOSE(q.value, expv("prdc_k3", "recall"), 0, 1e-15, "recall k=3");
    CHECK_CLOSE(p.se, expv("prdc_k3", "precision_se"), 1e-12, 0, "precision se");
    CHECK_CLOSE(q.se, expv("prdc_k3", "recall_se"), 1e-12, 0, "recall se");
    c.knn_k = 5;
    CHECK(sgm_metric_prdc(a.data, na, b.data, nb, d, &c, &p, &q, &err) == 0, "%s", err.msg);
    CHECK_CLOSE(p.value, expv("prdc_k5", "precision"), 0, 1e-15, "precision k=5");
    CHECK_CLOSE(q.value, expv("prdc_k5", "recall"), 0, 1e-15, "recall k=5");
    c.knn_k = 3;

    sgm_gmm *g = NULL;
    if (sgm_gmm_load(tu_src("tests/data/models/gmm2d.json", buf, sizeof buf), &g, &err)) {
        CHECK(0, "gmm: %s", err.msg);
    } else {
        CHECK(sgm_metric_gmm_loglik(g, xg.data, xg.shape[0], &r, &err) == 0, "%s", err.msg);
        /* scipy multivariate_normal + logsumexp vs the model's own log-sum-exp */
        CHECK_CLOSE(r.value, expv("gmm", "loglik"), 1e-12, 0, "gmm mean log-density");
        CHECK_CLOSE(r.se, expv("gmm", "loglik_se"), 1e-10, 0, "gmm log-density se");
        double mass[8], se[8];
        CHECK(sgm_metric_gmm_mass(g, xg.data, xg.shape[0], mass, se, &err) == 0, "%s", err.msg);
        cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(g_exp, "gmm"), "mass");
        cJSON *ms = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(g_exp, "gmm"), "mass_se");
        CHECK(cJSON_GetArraySize(m) == 8, "mass fixture size");
        for (int k = 0; k < 8 && k < cJSON_GetArraySize(m); k++) {
            CHECK_CLOSE(mass[k], cJSON_GetArrayItem(m, k)->valuedouble, 0, 1e-15, "mass"); /* counts */
            CHECK_CLOSE(se[k], cJSON_GetArrayItem(ms, k)->valuedouble, 1e-12, 0, "mass se");
        }
        sgm_gmm_free(g);
    }
    sgm_array_free(&a);
    sgm_array_free(&b);
    sgm_array_free(&dirs);
    sgm_array_free(&a1);
    sgm_array_free(&b1);
    sgm_array_free(&xg);
    cJSON_Delete(root);
}

/* -------------------------------------------------------- closed forms --- */

/* E k(X, Y), X ~ N(ma, sa^2 I), Y ~ N(mb, sb^2 I) in d dims, RBF length ell:
 * (ell^2 / v)^(d/2) exp(-|ma - mb|^2 / (2 v)), v = ell^2 + sa^2 + sb^2. */
static double ek_rbf(size_t d, double dm2, double sa, double sb, double ell) {
    double v = ell * ell + sa * sa + sb * sb;
    return pow(ell * ell / v, 0.5 * (double)d) * exp(-dm2 / (2 * v));
}

/* E|Z| for Z ~ N(mu, s^2): s sqrt(2/pi) exp(-mu^2/(2 s^2)) + mu (1 - 2 Phi(-mu/s)) */
static double eabs(double mu, double s) {
    return s * sqrt(2 / PI) * exp(-mu * mu / (2 * s * s)) + mu * erf(mu / (s * sqrt(2)));
}

static void gauss(uint64_t seed, size_t n, size_t d, double mean, double sd, double *x) {
    sgm_rng_normal_rows_f64(seed, 0, 0, n, d, x);
    for (size_t i = 0; i < n * d; i++) x[i] = mean + sd * x[i];
}

static void test_closed_forms(void) {
    sgm_error err = {0};
    sgm_metric_config c;
    sgm_metric_config_default(&c);
    sgm_metric_result r;
    size_t n = 3000, m = 2500, d = 2;
    double *x = malloc(n * d * sizeof *x), *y = malloc(m * d * sizeof *y);
    gauss(11, n, d, 0.0, 1.0, x);
    gauss(12, m, d, 0.5, 1.3, y); /* mean (0.5, 0.5), sd 1.3 */
    /* MMD^2 with fixed ell: the estimator is unbiased, so the closed form
     * must lie within a few of its standard errors (4 se: a fixed-seed
     * check with a chance failure rate below 1e-4 for a fresh seed) */
    c.bandwidth = 1.2;
    CHECK(sgm_metric_mmd2(x, n, y, m, d, &c, &r, &err) == 0, "%s", err.msg);
    double dm2 = 0.5 * 0.5 * 2;
    double want = ek_rbf(d, 0, 1, 1, 1.2) + ek_rbf(d, 0, 1.3, 1.3, 1.2) -
                  2 * ek_rbf(d, dm2, 1, 1.3, 1.2);
    CHECK(fabs(r.value - want) < 4 * r.se, "mmd2 %g vs closed form %g (se %g)", r.value, want,
          r.se);
    CHECK(r.se > 0 && r.se < 0.2 * want, "mmd2 se %g plausible for value %g", r.se, want);
    /* energy distance between 1-D Gaussians N(0, 1), N(0.5, 1.3^2) */
    /* the first columns of x and y */
    double *x1 = malloc(n * sizeof *x1), *y1 = malloc(m * sizeof *y1);
    for (size_t i = 0; i < n; i++) x1[i] = x[i * d];
    for (size_t i = 0; i < m; i++) y1[i] = y[i * d];
    CHECK(sgm_metric_energy(x1, n, y1, m, 1, &c, &r, &err) == 0, "%s", err.msg);
    want = 2 * eabs(0.5, sqrt(1 + 1.69)) - eabs(0, sqrt(2.0)) - eabs(0, sqrt(2 * 1.69));
    CHECK(fabs(r.value - want) < 4 * r.se, "energy %g vs closed form %g (se %g)", r.value,
          want, r.se); /* 4 se: as above */
    /* 1-D W2 between Gaussians: W2^2 = dmu^2 + (s1 - s2)^2; the empirical
     * W2 converges at about n^-1/2 (log terms aside); 0.05 absolute is ~4x
     * the spread seen over seeds at these sizes */
    double one = 1;
    c.n_projections = 1;
    c.directions = &one;
    CHECK(sgm_metric_sw2(x1, n, y1, m, 1, &c, &r, &err) == 0, "%s", err.msg);
    CHECK_CLOSE(r.value, sqrt(0.25 + 0.09), 0, 0.05, "1-D W2 of Gaussians");
    c.directions = NULL;
    /* translation: b = a + t gives W2^2 = (theta . t)^2 per direction exactly,
     * so SW2^2 = mean_l (theta_l . t)^2 up to round-off */
    {
        size_t L = 64, dd = 3;
        double t[3] = {0.7, -1.1, 0.4};
        double *z = malloc(n * dd * sizeof *z), *zt = malloc(n * dd * sizeof *zt);
        double *dirs = malloc(L * dd * sizeof *dirs);
        gauss(13, n, dd, 0, 1, z);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < dd; j++) zt[i * dd + j] = z[i * dd + j] + t[j];
        sgm_rng_normal_rows_f64(5, 0, 0, L, dd, dirs);
        double s = 0;
        for (size_t l = 0; l < L; l++) {
            double nn = 0, pt = 0;
            for (size_t j = 0; j < dd; j++) {
                nn += dirs[l * dd + j] * dirs[l * dd + j];
                pt += dirs[l * dd + j] * t[j];
            }
            s += pt * pt / nn;
        }
        c.n_projections = L;
        c.directions = dirs;
        CHECK(sgm_metric_sw2(z, n, zt, n, dd, &c, &r, &err) == 0, "%s", err.msg);
        CHECK_CLOSE(r.value, sqrt(s / (double)L), 1e-12, 0, "sw2 of a translation"); /* round-off */
        /* seeded directions: E (theta . t)^2 = |t|^2 / d over the sphere;
         * within 4 se of the Monte-Carlo mean (fixed seed) */
        c.directions = NULL;
        c.n_projections = 4096;
        CHECK(sgm_metric_sw2(z, n, zt, n, dd, &c, &r, &err) == 0, "%s", err.msg);
        double w = sqrt((0.49 + 1.21 + 0.16) / 3);
        CHECK(fabs(r.value - w) < 4 * r.se, "sw2 %g vs %g (se %g)", r.value, w, r.se);
        free(z);
        free(zt);
        free(dirs);
    }
    free(x);
    free(y);
    free(x1);
    free(y1);
}

static void test_frechet(void) {
    sgm_error err = {0};
    double m1[2] = {0.3, -1}, m2[2] = {1, 0.5};
    double c1[4] = {2.0, 0.6, 0.6, 1.0}, c2[4] = {0.5, -0.2, -0.2, 1.5};
    double fd;
    CHECK(sgm_frechet_gaussians(2, m1, c1, m2, c2, &fd, &err) == 0, "%s", err.msg);
    /* 2x2: tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)), tr M = tr(C1 C2), det M = det C1 det C2 */
    double tr12 = c1[0] * c2[0] + c1[1] * c2[2] + c1[2] * c2[1] + c1[3] * c2[3];
    double det = (c1[0] * c1[3] - c1[1] * c1[2]) * (c2[0] * c2[3] - c2[1] * c2[2]);
    double want = 0.49 + 2.25 + 3.0 + 2.0 - 2 * sqrt(tr12 + 2 * sqrt(det));
    CHECK_CLOSE(fd, want, 1e-13, 1e-14, "fd 2x2 closed form"); /* round-off of a 2x2 eigenproblem */
    /* diagonal: sum (m1 - m2)^2 + sum (s1 - s2)^2 */
    double d1[9] = {4, 0, 0, 0, 1, 0, 0, 0, 0.25}, d2[9] = {1, 0, 0, 0, 1, 0, 0, 0, 9};
    double z3[3] = {0, 0, 0}, o3[3] = {1, 2, 0};
    CHECK(sgm_frechet_gaussians(3, z3, d1, o3, d2, &fd, &err) == 0, "%s", err.msg);
    CHECK_CLOSE(fd, 5 + 1 + 0 + 6.25, 1e-14, 0, "fd diagonal"); /* exact up to round-off */
    CHECK(sgm_frechet_gaussians(2, m1, c1, m1, c1, &fd, &err) == 0, "%s", err.msg);
    CHECK_CLOSE(fd, 0, 0, 1e-13, "fd of identical Gaussians"); /* round-off of tr ~ 3 */

    /* eigen solver: A = V diag(l) V^T and V^T V = I on a random 1x1, 2x2,
     * 40x40, 150x150, a diagonal matrix (already tridiagonal, zero
     * off-diagonals) and I + u u^T (eigenvalue 1 repeated d - 1 times) */
    for (int kind = 0; kind < 6; kind++) {
        size_t sizes[6] = {1, 2, 40, 150, 30, 30}, n = sizes[kind];
        double *A = malloc(n * n * sizeof *A), *V = malloc(n * n * sizeof *V);
        double *ev = malloc(n * sizeof *ev);
        sgm_rng_normal_rows_f64(3 + (uint64_t)kind, 0, 0, n, n, A);
        double scale = 0, u[30];
        for (size_t i = 0; i < n && i < 30; i++) u[i] = A[i];
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                if (j < i) A[i * n + j] = A[j * n + i];
                if (kind == 4 && i != j) A[i * n + j] = 0;
                if (kind == 5) A[i * n + j] = (i == j) + u[i] * u[j];
            }
        for (size_t i = 0; i < n * n; i++) scale = fmax(scale, fabs(A[i]));
        CHECK(sgm_sym_eigen(n, A, ev, V, &err) == 0, "%s", err.msg);
        double e1 = 0, e2 = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double s = 0, o = 0;
                for (size_t k = 0; k < n; k++) {
                    s += V[i * n + k] * ev[k] * V[j * n + k];
                    o += V[k * n + i] * V[k * n + j];
                }
                e1 = fmax(e1, fabs(s - A[i * n + j]));
                e2 = fmax(e2, fabs(o - (i == j)));
            }
        for (size_t i = 1; i < n; i++) CHECK(ev[i - 1] <= ev[i], "eigenvalues ascending");
        /* backward stable: errors of a few hundred ulps times n^(1/2) of the
         * matrix scale (max |A_ij| ~ 3 here) */
        CHECK(e1 < 1e-13 * (double)n * scale + 1e-15, "case %d: reconstruction error %g", kind, e1);
        CHECK(e2 < 1e-13 * (double)n + 1e-15, "case %d: orthogonality error %g", kind, e2);
        if (kind == 5)
            for (size_t i = 0; i + 1 < n; i++) CHECK_CLOSE(ev[i], 1, 0, 1e-12, "repeated 1");
        free(A);
        free(V);
        free(ev);
    }
}

/* ----------------------------------------------------------- bootstrap --- */

static void test_bootstrap(void) {
    sgm_error err = {0};
    size_t na = 40, nb = 30, d = 2, B = 3;
    double *a = malloc(na * d * sizeof *a), *b = malloc(nb * d * sizeof *b);
    double *ra = malloc(na * d * sizeof *ra), *rb = malloc(nb * d * sizeof *rb);
    double u[40];
    uint32_t cnt[40];
    gauss(21, na, d, 0, 1, a);
    gauss(22, nb, d, 0.4, 1.2, b);
    sgm_metric_config c;
    sgm_metric_config_default(&c);
    c.seed = 99;
    c.bandwidth = 1.0;
    c.n_projections = 8;
    c.level = 0.5;
    typedef sgm_status (*metric_fn)(const double *, size_t, const double *, size_t, size_t,
                                    const sgm_metric_config *, sgm_metric_result *, sgm_error *);
    metric_fn fns[4] = {sgm_metric_mmd2, sgm_metric_energy, sgm_metric_sw2, sgm_metric_fd};
    const char *names[4] = {"mmd2", "energy", "sw2", "fd"};
    for (int f = 0; f < 4; f++) {
        double rep[3];
        sgm_metric_config c0 = c;
        c0.n_bootstrap = 0;
        for (size_t r = 0; r < B; r++) { /* replicate r by hand */
            sgm__ev_boot_counts(c.seed, r, 0, na, cnt, u);
            size_t p = 0;
            for (size_t i = 0; i < na; i++)
                for (uint32_t k = 0; k < cnt[i]; k++, p++) memcpy(ra + p * d, a + i * d, d * sizeof *a);
            sgm__ev_boot_counts(c.seed, r, 1, nb, cnt, u);
            p = 0;
            for (size_t i = 0; i < nb; i++)
                for (uint32_t k = 0; k < cnt[i]; k++, p++) memcpy(rb + p * d, b + i * d, d * sizeof *b);
            sgm_metric_result rr;
            CHECK(fns[f](ra, na, rb, nb, d, &c0, &rr, &err) == 0, "%s", err.msg);
            rep[r] = rr.value;
        }
        /* sort 3 values; level 0.5 -> quantiles 0.25 and 0.75 of 3 sorted
         * values: h = 0.5 and 1.5 (numpy linear interpolation) */
        for (int i = 0; i < 3; i++)
            for (int j = i + 1; j < 3; j++)
                if (rep[j] < rep[i]) {
                    double t = rep[i];
                    rep[i] = rep[j];
                    rep[j] = t;
                }
        double lo = 0.5 * (rep[0] + rep[1]), hi = 0.5 * (rep[1] + rep[2]);
        sgm_metric_result r;
        c.n_bootstrap = B;
        CHECK(fns[f](a, na, b, nb, d, &c, &r, &err) == 0, "%s", err.msg);
        /* weighted-count formula vs explicit duplicates: same sums in another
         * order (MMD, energy, FD) or the same merge (SW2): round-off only */
        CHECK_CLOSE(r.lo, lo, 1e-10, 1e-13, names[f]);
        CHECK_CLOSE(r.hi, hi, 1e-10, 1e-13, names[f]);
        CHECK(r.n_boot == B, "n_boot");
        c.n_bootstrap = 0;
    }
    /* a real interval: 200 replicates bracket the estimate */
    c.n_bootstrap = 200;
    c.level = 0.95;
    sgm_metric_result r;
    CHECK(sgm_metric_mmd2(a, na, b, nb, d, &c, &r, &err) == 0, "%s", err.msg);
    CHECK(r.lo < r.value && r.value < r.hi, "mmd2 %g in [%g, %g]", r.value, r.lo, r.hi);
    free(a);
    free(b);
    free(ra);
    free(rb);
}

/* ------------------------------------------------ determinism, threads --- */

static void test_threads(void) {
#ifdef _OPENMP
    sgm_error err = {0};
    size_t n = 700, m = 600, d = 3;
    double *a = malloc(n * d * sizeof *a), *b = malloc(m * d * sizeof *b);
    gauss(31, n, d, 0, 1, a);
    gauss(32, m, d, 0.1, 1.1, b);
    sgm_metric_config c;
    sgm_metric_config_default(&c);
    c.n_bootstrap = 20;
    c.median_max_points = 500; /* exercise the seeded median subset */
    /* FD (also on 24 dimensions): OpenBLAS's threaded LAPACK moves the last
     * bits with the thread count (at d = 3 already), so frechet.c runs it on
     * one thread */
    size_t d24 = 24, n24 = 100;
    double *a24 = malloc(n24 * d24 * sizeof *a24), *b24 = malloc(n24 * d24 * sizeof *b24);
    gauss(33, n24, d24, 0, 1, a24);
    gauss(34, n24, d24, 0.1, 1.1, b24);
    sgm_metric_result r1[7], r4[7];
    int nt0 = omp_get_max_threads();
    for (int pass = 0; pass < 2; pass++) {
        sgm_metric_result *r = pass ? r4 : r1;
        omp_set_num_threads(pass ? 4 : 1);
        CHECK(sgm_metric_mmd2(a, n, b, m, d, &c, &r[0], &err) == 0, "%s", err.msg);
        CHECK(sgm_metric_energy(a, n, b, m, d, &c, &r[1], &err) == 0, "%s", err.msg);
        CHECK(sgm_metric_sw2(a, n, b, m, d, &c, &r[2], &err) == 0, "%s", err.msg);
        CHECK(sgm_metric_prdc(a, n, b, m, d, &c, &r[3], &r[4], &err) == 0, "%s", err.msg);
        CHECK(sgm_metric_fd(a, n, b, m, d, &c, &r[5], &err) == 0, "%s", err.msg);
        CHECK(sgm_metric_fd(a24, n24, b24, n24, d24, &c, &r[6], &err) == 0, "%s", err.msg);
    }
    omp_set_num_threads(nt0);
    free(a24);
    free(b24);
    for (int i = 0; i < 7; i++) /* bitwise: fixed-order reductions (FD: se NaN) */
        CHECK(r1[i].value == r4[i].value &&
                  (r1[i].se == r4[i].se || (i >= 5 && isnan(r1[i].se))) &&
                  (isnan(r1[i].lo) || (r1[i].lo == r4[i].lo && r1[i].hi == r4[i].hi)),
              "metric %d differs between 1 and 4 threads", i);
    free(a);
    free(b);
#endif
}

/* -------------------------------------------------------- GMM sampling --- */

static void test_gmm_exact_samples(void) {
    sgm_error err = {0};
    char buf[1024];
    sgm_gmm *g = NULL;
    if (sgm_gmm_load(tu_src("tests/data/models/gmm2d.json", buf, sizeof buf), &g, &err)) {
        CHECK(0, "%s", err.msg);
        return;
    }
    size_t n = 20000;
    double *x = malloc(n * 2 * sizeof *x), mass[8], se[8];
    sgm_gmm_sample(g, 7, 0, 0, n, x);
    CHECK(sgm_metric_gmm_mass(g, x, n, mass, se, &err) == 0, "%s", err.msg);
    for (int k = 0; k < 8; k++) /* exact samples: within 4 binomial se of 1/8 */
        CHECK(fabs(mass[k] - 0.125) < 4 * se[k], "mass[%d] = %g (se %g)", k, mass[k], se[k]);
    sgm_metric_result r;
    CHECK(sgm_metric_gmm_loglik(g, x, n, &r, &err) == 0, "%s", err.msg);
    /* -entropy of 8 well-separated components (neighbouring means 3.06 apart,
     * sd 0.3, overlap ~1e-6 in entropy): -log 8 - log(2 pi e 0.09); within
     * 4 se of the sample mean plus 1e-4 for the overlap */
    double negent = -log(8.0) - log(2 * PI * exp(1.0) * 0.09);
    CHECK(fabs(r.value - negent) < 4 * r.se + 1e-4, "loglik %g vs %g (se %g)", r.value, negent,
          r.se);
    free(x);
    sgm_gmm_free(g);
}

/* ----------------------------------------------------------- bad input --- */

static void test_bad_input(void) {
    sgm_error err = {0};
    double a[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, b[12];
    for (int i = 0; i < 12; i++) b[i] = 0.5 * a[i] + 1;
    sgm_metric_result r, r2;
    r.value = 12345;
    sgm_metric_config c;
    sgm_metric_config_default(&c);
    CHECK(sgm_metric_mmd2(a, 0, b, 6, 2, &c, &r, &err) == SGM_ERR_SHAPE, "empty a");
    CHECK(strstr(err.msg, "empty") != NULL, "message: %s", err.msg);
    CHECK(sgm_metric_sw2(a, 6, b, 0, 2, &c, &r, &err) == SGM_ERR_SHAPE, "empty b");
    CHECK(sgm_metric_energy(a, 1, b, 6, 2, &c, &r, &err) == SGM_ERR_SHAPE, "one row");
    CHECK(sgm_metric_fd(a, 6, b, 6, 0, &c, &r, &err) == SGM_ERR_SHAPE, "d = 0");
    CHECK(sgm_metric_fd(NULL, 6, b, 6, 2, &c, &r, &err) == SGM_ERR_INVALID_ARG, "NULL set");
    CHECK(sgm_metric_prdc(a, 3, b, 6, 2, &c, &r, &r2, &err) == SGM_ERR_SHAPE, "n <= k");
    double nan_b[12];
    memcpy(nan_b, b, sizeof b);
    nan_b[7] = NAN;
    CHECK(sgm_metric_mmd2(a, 6, nan_b, 6, 2, &c, &r, &err) == SGM_ERR_NONFINITE, "NaN");
    CHECK(strstr(err.msg, "row 3") != NULL, "message names the row: %s", err.msg);
    nan_b[7] = INFINITY;
    CHECK(sgm_metric_sw2(a, 6, nan_b, 6, 2, &c, &r, &err) == SGM_ERR_NONFINITE, "inf");
    CHECK(r.value == 12345, "output untouched on failure");
    sgm_metric_config bad = c;
    bad.level = 1;
    CHECK(sgm_metric_sw2(a, 6, b, 6, 2, &bad, &r, &err) == SGM_ERR_INVALID_ARG, "level 1");
    bad = c;
    bad.n_bootstrap = 1;
    CHECK(sgm_metric_mmd2(a, 6, b, 6, 2, &bad, &r, &err) == SGM_ERR_INVALID_ARG, "1 replicate");
    bad = c;
    bad.knn_k = 0;
    CHECK(sgm_metric_prdc(a, 6, b, 6, 2, &bad, &r, &r2, &err) == SGM_ERR_INVALID_ARG, "k = 0");
    double zero_dir[2] = {0, 0};
    bad = c;
    bad.n_projections = 1;
    bad.directions = zero_dir;
    CHECK(sgm_metric_sw2(a, 6, b, 6, 2, &bad, &r, &err) == SGM_ERR_INVALID_ARG, "zero direction");
    double same[12] = {0};
    CHECK(sgm_metric_mmd2(same, 6, same, 6, 2, &c, &r, &err) == SGM_ERR_INVALID_ARG,
          "median bandwidth 0");
    bad = c;
    bad.bandwidth = NAN;
    CHECK(sgm_metric_mmd2(a, 6, b, 6, 2, &bad, &r, &err) == SGM_ERR_INVALID_ARG, "NaN bandwidth");
    CHECK(r.value == 12345, "output untouched on failure");
    double nonpsd[4] = {NAN, 0, 0, 1}, m0[2] = {0, 0}, fd = 7;
    CHECK(sgm_frechet_gaussians(2, m0, nonpsd, m0, nonpsd, &fd, &err) == SGM_ERR_NONFINITE,
          "NaN covariance");
    CHECK(fd == 7, "fd untouched");

    char buf[1024];
    sgm_gmm *g = NULL;
    if (sgm_gmm_load(tu_src("tests/data/models/gmm2d.json", buf, sizeof buf), &g, &err) == 0) {
        double far[4] = {1e200, 0, 0, 0}; /* finite, but its log-density is -inf */
        CHECK(sgm_metric_gmm_loglik(g, far, 2, &r, &err) == SGM_ERR_NONFINITE,
              "non-finite likelihood");
        CHECK(strstr(err.msg, "row 0") != NULL, "message: %s", err.msg);
        CHECK(sgm_metric_gmm_loglik(g, far, 0, &r, &err) == SGM_ERR_SHAPE, "empty");
        double mass[8];
        CHECK(sgm_metric_gmm_mass(g, nan_b, 6, mass, NULL, &err) == SGM_ERR_NONFINITE, "inf row");
        sgm_gmm_free(g);
    }
}

int main(void) {
    test_fixtures();
    test_closed_forms();
    test_frechet();
    test_bootstrap();
    test_threads();
    test_gmm_exact_samples();
    test_bad_input();
    TEST_MAIN_END();
}
