/* test_kdiff_edge.c - edge cases of the k-diffusion sampler family
 * (src/sampler/kd_*.c) that the reference cases (float64, eta = 0, >= 5
 * steps, batch error norm) do not reach: one-step and very short schedules,
 * NFE accounting, float32 runs, eta > 0 (finite, actually stochastic,
 * reproducible, right distribution), the adaptive solver's per-sample mode
 * (rows independent of the batch, bitwise), its step budget, and VP
 * coordinates (samplers work on x / alpha, so a VP run equals the VE run).
 * The model is an exact 2-component Gaussian mixture in 3 dimensions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgm.h"
#include "test_util.h"

#define D 3
#define NMAX 4096

static const char *const all_methods[] = {
    "euler",      "euler_a",  "heun",         "dpm2",         "dpm2_a",
    "lms",        "dpmpp_2s_a", "dpmpp_sde",  "dpmpp_2m",     "dpmpp_2m_sde",
    "dpmpp_3m_sde", "dpm_fast", "dpm_adaptive"};
#define N_METHODS (sizeof all_methods / sizeof all_methods[0])

static sgm_gmm *gmm;
static sgm_process *ve, *vp;

/* cfg defaults of `method` with an optional tweak */
static sgm_sampler_config config(const char *method) {
    sgm_sampler_config c;
    sgm_error err;
    if (sgm_sampler_config_default(method, &c, &err)) {
        fprintf(stderr, "config %s: %s\n", method, err.msg);
        exit(2);
    }
    return c;
}

/* explicit VE sigmas (+ final 0 when zero) */
static sgm_schedule *sigmas(const sgm_process *p, const double *s, size_t n, int zero) {
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_USER_SIGMAS);
    sc.user = s;
    sc.n_user = n;
    sc.final_point = zero ? SGM_FINAL_ZERO : SGM_FINAL_NONE;
    sgm_schedule *out = NULL;
    sgm_error err;
    if (sgm_schedule_create(&sc, p, &out, &err)) {
        fprintf(stderr, "schedule: %s\n", err.msg);
        exit(2);
    }
    return out;
}

static sgm_schedule *karras(const sgm_process *p, int steps) {
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_KARRAS);
    sc.steps = steps;
    sc.sigma_min = 0.002;
    sc.sigma_max = 80;
    sc.final_point = SGM_FINAL_ZERO;
    sgm_schedule *out = NULL;
    sgm_error err;
    if (sgm_schedule_create(&sc, p, &out, &err)) {
        fprintf(stderr, "schedule: %s\n", err.msg);
        exit(2);
    }
    return out;
}

/* Runs cfg over x (n rows, float64 in and out; converted for F32 runs).
 * Returns the status; stats in *st if non-NULL. */
static sgm_status run(const sgm_sampler_config *cfg, const sgm_process *p,
                      const sgm_schedule *sch, size_t n, uint64_t row0, uint64_t seed,
                      double *x, sgm_sampler_stats *st) {
    sgm_error err;
    sgm_sampler *s = NULL;
    sgm_status rc = sgm_sampler_create(cfg, p, n, D, &s, &err);
    if (rc) {
        fprintf(stderr, "create %s: %s\n", cfg->method, err.msg);
        return rc;
    }
    sgm_denoiser den = sgm_gmm_denoiser(gmm);
    sgm_rng rng = sgm_rng_init(seed);
    float *xf = NULL;
    void *xx = x;
    if (cfg->dtype == SGM_F32) {
        xf = malloc(n * D * sizeof *xf);
        for (size_t i = 0; i < n * D; i++) xf[i] = (float)x[i];
        xx = xf;
    }
    rc = sgm_sampler_run(s, sch, &den, &rng, row0, n, xx, &err);
    if (xf) {
        for (size_t i = 0; i < n * D; i++) x[i] = xf[i];
        free(xf);
    }
    if (st) sgm_sampler_get_stats(s, st);
    sgm_sampler_free(s);
    return rc;
}

static int all_finite(const double *x, size_t cnt) {
    for (size_t i = 0; i < cnt; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

static double max_abs_diff(const double *a, const double *b, size_t cnt) {
    double m = 0;
    for (size_t i = 0; i < cnt; i++) {
        double e = fabs(a[i] - b[i]);
        if (e > m || isnan(e)) m = e;
    }
    return m;
}

/* init: sigma0 * standard normals (deterministic) */
static void init(double *x, size_t n, double sigma0, uint64_t seed) {
    sgm_rng r = sgm_rng_init(seed);
    sgm_rng_normal(&r, 0, n, D, SGM_F64, x);
    for (size_t i = 0; i < n * D; i++) x[i] *= sigma0;
}

static int is_adaptive_family(const char *m) {
    return strcmp(m, "dpm_fast") == 0 || strcmp(m, "dpm_adaptive") == 0;
}

/* NFE a fixed-step method needs for `steps` steps ending at sigma = 0 (eta 0) */
static size_t expected_nfe(const char *m, size_t steps) {
    if (!strcmp(m, "heun") || !strcmp(m, "dpm2") || !strcmp(m, "dpm2_a") ||
        !strcmp(m, "dpmpp_2s_a") || !strcmp(m, "dpmpp_sde"))
        return 2 * steps - 1; /* two per step, one on the step to 0 */
    return steps;
}

/* 1. One-step schedules [sigma_max, 0]: every fixed-step method returns
 * exactly D(x, sigma_max); dpm_fast / dpm_adaptive have an empty range
 * (sigma_max is also the last nonzero sigma) and return x, or D with
 * denoise_to_zero. */
static void test_one_step(void) {
    enum { N = 8 };
    double x0[N * D], x[N * D], Dx[N * D];
    init(x0, N, 80, 11);
    sgm_gmm_denoise(gmm, N, x0, 80, Dx);
    sgm_schedule *sch = karras(ve, 1); /* [80, 0] */
    CHECK(sch->n == 2 && sch->sigma[0] == 80 && sch->sigma[1] == 0, "one-step karras");
    for (size_t k = 0; k < N_METHODS; k++) {
        const char *m = all_methods[k];
        sgm_sampler_config c = config(m);
        c.eta = 0;
        memcpy(x, x0, sizeof x);
        sgm_sampler_stats st;
        sgm_status rc = run(&c, ve, sch, N, 0, 1, x, &st);
        CHECK(rc == SGM_OK && all_finite(x, N * D), "%s one step: rc %d", m, (int)rc);
        if (!is_adaptive_family(m)) {
            /* x + (0 - s)(x - D)/s = D up to rounding (|x| ~ 80: 1e-12 relative) */
            CHECK(max_abs_diff(x, Dx, N * D) <= 1e-12 * 80, "%s one step != D (diff %g)", m,
                  max_abs_diff(x, Dx, N * D));
            CHECK(st.nfe == 1, "%s one step: nfe %zu", m, st.nfe);
        } else {
            CHECK(max_abs_diff(x, x0, N * D) == 0, "%s empty range must return x", m);
            c.denoise_to_zero = 1;
            memcpy(x, x0, sizeof x);
            rc = run(&c, ve, sch, N, 0, 1, x, &st);
            CHECK(rc == SGM_OK && max_abs_diff(x, Dx, N * D) == 0,
                  "%s denoise_to_zero on an empty range must return D", m);
        }
    }
    sgm_schedule_free(sch);
}

/* 2. Very short schedules (2 and 3 steps, also ending at a nonzero sigma):
 * finite, NFE as the method prescribes, and close to a fine Heun solution
 * of the same ODE for the 2nd/3rd-order deterministic methods. */
static void test_short(void) {
    enum { N = 16 };
    double x0[N * D], x[N * D];
    init(x0, N, 80, 12);
    for (int steps = 2; steps <= 3; steps++) {
        sgm_schedule *sch = karras(ve, steps);
        for (size_t k = 0; k < N_METHODS; k++) {
            const char *m = all_methods[k];
            sgm_sampler_config c = config(m);
            memcpy(x, x0, sizeof x);
            sgm_sampler_stats st;
            sgm_status rc = run(&c, ve, sch, N, 0, 3, x, &st);
            CHECK(rc == SGM_OK && all_finite(x, N * D), "%s %d steps: rc %d", m, steps,
                  (int)rc);
            if (!is_adaptive_family(m) && c.eta == 0)
                CHECK(st.nfe == expected_nfe(m, (size_t)steps), "%s %d steps: nfe %zu", m,
                      steps, st.nfe);
            if (!strcmp(m, "dpm_fast"))
                CHECK(st.nfe == (size_t)steps, "dpm_fast: nfe %zu, budget %d", st.nfe, steps);
        }
        sgm_schedule_free(sch);
    }
    /* ending at a nonzero sigma: the multistep methods use their history on
     * the last step too, and lms' order-4 coefficients over three sigmas */
    const double sg[] = {10, 5, 2, 1};
    sgm_schedule *sch = sigmas(ve, sg, 4, 0);
    for (size_t k = 0; k < N_METHODS; k++) {
        sgm_sampler_config c = config(all_methods[k]);
        memcpy(x, x0, sizeof x);
        for (size_t i = 0; i < N * D; i++) x[i] /= 8;
        sgm_status rc = run(&c, ve, sch, N, 0, 3, x, NULL);
        CHECK(rc == SGM_OK && all_finite(x, N * D), "%s ending at sigma 1: rc %d",
              all_methods[k], (int)rc);
    }
    sgm_schedule_free(sch);
}

/* 3. float32 runs: finite and close to the float64 run. */
static void test_f32(void) {
    enum { N = 32 };
    double x0[N * D], a[N * D], b[N * D];
    init(x0, N, 80, 13);
    sgm_schedule *sch = karras(ve, 12);
    for (size_t k = 0; k < N_METHODS; k++) {
        const char *m = all_methods[k];
        sgm_sampler_config c = config(m);
        c.eta = 0;
        c.rtol = 1e-4; /* adaptive: tight, so that both runs sit on the ODE solution */
        c.atol = 1e-5;
        memcpy(a, x0, sizeof a);
        memcpy(b, x0, sizeof b);
        sgm_status r1 = run(&c, ve, sch, N, 0, 5, a, NULL);
        c.dtype = SGM_F32;
        sgm_status r2 = run(&c, ve, sch, N, 0, 5, b, NULL);
        CHECK(r1 == SGM_OK && r2 == SGM_OK && all_finite(b, N * D), "%s f32: rc %d %d", m,
              (int)r1, (int)r2);
        /* float32 rounding (6e-8 relative per operation, |x| up to 80 at the
         * start) carried through ~12-40 steps: 1e-4 absolute on data of scale ~3 */
        double e = max_abs_diff(a, b, N * D);
        /* dpm_adaptive chooses its steps from the error estimate, which float32
         * rounding changes: the two runs then sit on different step sequences, each
         * with a local error per step within about rtol * |x| (1e-4 * 4) that adds
         * up over its accepted steps to a few times that: 1.4e-3 apart with the
         * starting points of normal stream version 2 (the former bound, 1e-3,
         * counted twice the local error only) */
        double tol = strcmp(m, "dpm_adaptive") == 0 ? 3e-3 : 1e-4;
        CHECK(e <= tol, "%s f32 vs f64: max diff %g", m, e);
    }
    sgm_schedule_free(sch);
}

/* exact GMM moments */
static void gmm_moments(double *mean, double *m2) {
    size_t K = sgm_gmm_components(gmm);
    const double *w = sgm_gmm_weights(gmm), *mu = sgm_gmm_means(gmm), *sd = sgm_gmm_stds(gmm);
    for (size_t j = 0; j < D; j++) {
        mean[j] = m2[j] = 0;
        for (size_t k = 0; k < K; k++) {
            mean[j] += w[k] * mu[k * D + j];
            m2[j] += w[k] * (mu[k * D + j] * mu[k * D + j] + sd[k * D + j] * sd[k * D + j]);
        }
    }
}

/* 4. eta > 0: finite, different from eta = 0, the same for the same seed,
 * different for another seed, and (with many samples) the right first two
 * moments of the data distribution. */
static void test_eta(void) {
    const char *sto[] = {"euler_a",      "dpm2_a",       "dpmpp_2s_a", "dpmpp_sde",
                         "dpmpp_2m_sde", "dpmpp_3m_sde", "dpm_fast",   "dpm_adaptive"};
    enum { N = NMAX };
    double *x0 = malloc(N * D * sizeof *x0), *a = malloc(N * D * sizeof *a),
           *b = malloc(N * D * sizeof *b);
    init(x0, N, 80, 14);
    sgm_schedule *sch = karras(ve, 100);
    double mean[D], m2[D];
    gmm_moments(mean, m2);
    for (size_t k = 0; k < sizeof sto / sizeof sto[0]; k++) {
        const char *m = sto[k];
        for (int brown = 0; brown <= 1; brown++) {
            sgm_sampler_config c = config(m);
            c.eta = 1;
            c.error_norm = SGM_NORM_BATCH; /* (per-sample mode is tested below) */
            c.noise = brown ? SGM_NOISE_BROWNIAN : SGM_NOISE_INDEPENDENT;
            size_t n = brown ? 64 : N;
            memcpy(a, x0, n * D * sizeof *a);
            sgm_status rc = run(&c, ve, sch, n, 0, 7, a, NULL);
            CHECK(rc == SGM_OK && all_finite(a, n * D), "%s eta 1 (brownian %d): rc %d", m,
                  brown, (int)rc);
            if (brown) continue;
            /* moments of N = 4096 samples after 100 steps: the Monte-Carlo std
             * is <= 0.03 for the mean and ~2% for E x^2; the discretization bias
             * of the first-order (weak) schemes at 100 steps is ~5% of E x^2
             * (measured; it shrinks with more steps, like Euler's). A wrong
             * noise scale moves E x^2 by far more than the 10% allowed. */
            for (size_t j = 0; j < D; j++) {
                double s1 = 0, s2 = 0;
                for (size_t i = 0; i < (size_t)N; i++) {
                    s1 += a[i * D + j];
                    s2 += a[i * D + j] * a[i * D + j];
                }
                s1 /= N;
                s2 /= N;
                CHECK(fabs(s1 - mean[j]) <= 0.15, "%s eta 1: mean[%zu] %g, want %g", m, j, s1,
                      mean[j]);
                CHECK(fabs(s2 - m2[j]) <= 0.1 * m2[j], "%s eta 1: E x^2[%zu] %g, want %g", m,
                      j, s2, m2[j]);
            }
            /* same seed: bitwise the same; other seed / eta 0: different
             * (on 64 rows: the batch error norm of dpm_adaptive depends on n) */
            enum { M = 64 };
            memcpy(a, x0, M * D * sizeof *a);
            run(&c, ve, sch, M, 0, 7, a, NULL);
            memcpy(b, x0, M * D * sizeof *b);
            run(&c, ve, sch, M, 0, 7, b, NULL);
            CHECK(max_abs_diff(a, b, M * D) == 0, "%s eta 1 not reproducible", m);
            memcpy(b, x0, M * D * sizeof *b);
            run(&c, ve, sch, M, 0, 8, b, NULL);
            CHECK(max_abs_diff(a, b, M * D) > 1e-3, "%s: the seed does not matter", m);
            c.eta = 0;
            memcpy(b, x0, M * D * sizeof *b);
            run(&c, ve, sch, M, 0, 7, b, NULL);
            CHECK(max_abs_diff(a, b, M * D) > 1e-3, "%s: eta 1 same as eta 0", m);
        }
    }
    sgm_schedule_free(sch);
    free(x0);
    free(a);
    free(b);
}

/* 5. dpm_adaptive per-sample error norm: rows do not depend on the batch
 * (bitwise: a batch of 7 with row0 = 0 equals 7 runs of one row with row0 =
 * r), also with eta > 0; NFE accounting and the step budget in batch mode. */
static void test_adaptive(void) {
    enum { N = 7 };
    double x0[N * D], a[N * D], b[N * D];
    init(x0, N, 80, 15);
    sgm_schedule *sch = karras(ve, 10);
    for (int eta = 0; eta <= 1; eta++) {
        sgm_sampler_config c = config("dpm_adaptive");
        CHECK(c.error_norm == SGM_NORM_PER_SAMPLE, "default error norm is per sample");
        c.eta = eta;
        memcpy(a, x0, sizeof a);
        sgm_status rc = run(&c, ve, sch, N, 0, 9, a, NULL);
        CHECK(rc == SGM_OK && all_finite(a, N * D), "per-sample adaptive: rc %d", (int)rc);
        for (size_t r = 0; r < N; r++) {
            memcpy(b + r * D, x0 + r * D, D * sizeof *b);
            run(&c, ve, sch, 1, r, 9, b + r * D, NULL);
        }
        CHECK(max_abs_diff(a, b, N * D) == 0, "per-sample adaptive (eta %d): batch of 7 != "
              "rows alone (diff %g)", eta, max_abs_diff(a, b, N * D));
        /* the batch norm couples the rows: a different result */
        c.error_norm = SGM_NORM_BATCH;
        memcpy(b, x0, sizeof b);
        run(&c, ve, sch, N, 0, 9, b, NULL);
        CHECK(max_abs_diff(a, b, N * D) > 0, "batch and per-sample norms agree exactly");
    }
    /* NFE: order evaluations per attempt (accepted steps + rejections) */
    for (int order = 2; order <= 3; order++) {
        sgm_sampler_config c = config("dpm_adaptive");
        c.order = order;
        c.error_norm = SGM_NORM_BATCH;
        c.rtol = 1e-3;
        c.atol = 1e-4;
        sgm_sampler_stats st;
        memcpy(a, x0, sizeof a);
        sgm_status rc = run(&c, ve, sch, N, 0, 9, a, &st);
        CHECK(rc == SGM_OK, "adaptive order %d: rc %d", order, (int)rc);
        CHECK(st.nfe == (size_t)order * (st.steps + st.n_reject) && st.steps > 5,
              "adaptive order %d: nfe %zu steps %zu rejected %zu", order, st.nfe, st.steps,
              st.n_reject);
        c.max_steps = 3;
        memcpy(a, x0, sizeof a);
        rc = run(&c, ve, sch, N, 0, 9, a, NULL);
        CHECK(rc == SGM_ERR_NO_CONVERGENCE, "max_steps 3: rc %d", (int)rc);
        c.max_steps = 100000;
        c.denoise_to_zero = 1;
        memcpy(a, x0, sizeof a);
        rc = run(&c, ve, sch, N, 0, 9, a, &st);
        CHECK(rc == SGM_OK && st.nfe == (size_t)order * (st.steps + st.n_reject) + 1,
              "denoise_to_zero: one extra NFE (%zu)", st.nfe);
    }
    sgm_schedule_free(sch);
}

/* 6. VP coordinates: samplers work on x / alpha, so a VP run from alpha x0
 * ends at alpha_end times the VE run's result. dpm_fast / dpm_adaptive end at
 * the last nonzero sigma, also when the schedule appends sigma = 0. */
static void test_vp(void) {
    enum { N = 8 };
    double x0[N * D], a[N * D], b[N * D];
    init(x0, N, 40, 16);
    const double sg[] = {40, 12, 4, 1.5, 0.5, 0.1, 0.02};
    sgm_schedule *sve = sigmas(ve, sg, 7, 1), *svp = sigmas(vp, sg, 7, 1);
    sgm_schedule *svp_nz = sigmas(vp, sg, 7, 0);
    double a0 = svp->alpha[0];
    for (size_t k = 0; k < N_METHODS; k++) {
        const char *m = all_methods[k];
        sgm_sampler_config c = config(m);
        c.eta = 0;
        c.nfe = 6; /* dpm_fast: the same budget with and without the final 0 */
        memcpy(a, x0, sizeof a);
        for (size_t i = 0; i < N * D; i++) b[i] = a0 * x0[i];
        sgm_status r1 = run(&c, ve, sve, N, 0, 1, a, NULL);
        sgm_status r2 = run(&c, vp, svp, N, 0, 1, b, NULL);
        CHECK(r1 == SGM_OK && r2 == SGM_OK, "%s vp: rc %d %d", m, (int)r1, (int)r2);
        double aend = is_adaptive_family(m) ? svp->alpha[6] : svp->alpha[7];
        for (size_t i = 0; i < N * D; i++) b[i] /= aend;
        /* the same arithmetic up to the alpha scalings (1e-12 of |x| ~ 40) */
        CHECK(max_abs_diff(a, b, N * D) <= 1e-10, "%s vp != ve (diff %g)", m,
              max_abs_diff(a, b, N * D));
        if (is_adaptive_family(m)) {
            /* with or without the appended 0: the same output */
            for (size_t i = 0; i < N * D; i++) a[i] = a0 * x0[i];
            r2 = run(&c, vp, svp_nz, N, 0, 1, a, NULL);
            for (size_t i = 0; i < N * D; i++) b[i] *= aend;
            CHECK(r2 == SGM_OK && max_abs_diff(a, b, N * D) <= 1e-12,
                  "%s: final 0 changes the result (diff %g)", m, max_abs_diff(a, b, N * D));
        }
    }
    sgm_schedule_free(sve);
    sgm_schedule_free(svp);
    sgm_schedule_free(svp_nz);
}

/* 7. lms order 1 is Euler (same arithmetic up to rounding). */
static void test_lms_order1(void) {
    enum { N = 8 };
    double x0[N * D], a[N * D], b[N * D];
    init(x0, N, 80, 17);
    sgm_schedule *sch = karras(ve, 8);
    sgm_sampler_config c = config("lms");
    CHECK(c.order == 4, "lms default order %d", c.order);
    c.order = 1;
    memcpy(a, x0, sizeof a);
    memcpy(b, x0, sizeof b);
    run(&c, ve, sch, N, 0, 1, a, NULL);
    sgm_sampler_config e = config("euler");
    run(&e, ve, sch, N, 0, 1, b, NULL);
    CHECK(max_abs_diff(a, b, N * D) <= 1e-12 * 80, "lms order 1 != euler (diff %g)",
          max_abs_diff(a, b, N * D));
    sgm_schedule_free(sch);
}

int main(void) {
    /* two components in 3-D, well separated, different scales */
    const double w[] = {0.3, 0.7};
    const double mu[] = {-2, 1, 0.5, 1.5, -1, 2};
    const double sd[] = {0.5, 0.8, 0.3, 1.0, 0.4, 0.6};
    sgm_error err;
    if (sgm_gmm_create(2, D, w, mu, sd, &gmm, &err)) {
        fprintf(stderr, "gmm: %s\n", err.msg);
        return 2;
    }
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VE);
    pc.sigma_min = 1e-3;
    pc.sigma_max = 100;
    if (sgm_process_create(&pc, &ve, &err)) return 2;
    sgm_process_config pv = sgm_process_config_default(SGM_PROCESS_VP_LINEAR);
    if (sgm_process_create(&pv, &vp, &err)) return 2;

    test_one_step();
    test_short();
    test_f32();
    test_eta();
    test_adaptive();
    test_vp();
    test_lms_order1();

    sgm_process_free(ve);
    sgm_process_free(vp);
    sgm_gmm_free(gmm);
    TEST_MAIN_END();
}
