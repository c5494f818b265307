/* test_core.c - unit tests of the core pieces: Philox known-answer vectors
 * (Random123's kat_vectors), normal stream moments and independence from the
 * batch split, .npy round trips and corrupt-file rejection, the GMM denoiser
 * against a brute-force posterior mean, the one prediction -> x0 conversion
 * for every parameterization, and the start from pure noise (alpha = 0). */
#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sgm.h"
#include "test_util.h"

static void test_philox(void) {
    /* Random123 kat_vectors, philox4x32_10 */
    struct {
        uint32_t ctr[4];
        uint64_t key;
        uint32_t out[4];
    } kat[] = {
        {{0, 0, 0, 0}, 0, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         0xffffffffffffffffull,
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         0x299f31d0a4093822ull,
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (int i = 0; i < 3; i++) {
        uint32_t o[4];
        sgm_philox4x32(kat[i].key, kat[i].ctr, o);
        for (int j = 0; j < 4; j++)
            CHECK(o[j] == kat[i].out[j], "philox kat %d word %d: %08x != %08x", i, j, o[j],
                  kat[i].out[j]);
    }
}

static void test_normals(void) {
    enum { N = 200, D = 501 };
    double *a = malloc(sizeof(double) * N * D), *b = malloc(sizeof(double) * N * D);
    sgm_rng_normal_rows_f64(42, 3, 1000, N, D, a);
    /* the same rows drawn in pieces of 7 give the same numbers */
    for (size_t r = 0; r < N; r += 7) {
        size_t m = N - r < 7 ? N - r : 7;
        sgm_rng_normal_rows_f64(42, 3, 1000 + r, m, D, b + r * D);
    }
    CHECK(memcmp(a, b, sizeof(double) * N * D) == 0, "batch split changes the normals");
    double s1 = 0, s2 = 0, s4 = 0;
    for (size_t i = 0; i < (size_t)N * D; i++) {
        s1 += a[i];
        s2 += a[i] * a[i];
        s4 += a[i] * a[i] * a[i] * a[i];
    }
    double n = (double)N * D, mean = s1 / n, var = s2 / n - mean * mean;
    /* 5 standard errors: SE(mean) = 1/sqrt(n), SE(var) = sqrt(2/n), SE(E z^4) = sqrt(96/n) */
    CHECK(fabs(mean) < 5 / sqrt(n), "normal mean %g", mean);
    CHECK(fabs(var - 1) < 5 * sqrt(2 / n), "normal variance %g", var);
    CHECK(fabs(s4 / n - 3) < 5 * sqrt(96 / n), "normal 4th moment %g", s4 / n);
    /* different draws and different seeds differ */
    sgm_rng_normal_rows_f64(42, 4, 1000, 1, D, b);
    CHECK(memcmp(a, b, sizeof(double) * D) != 0, "draw counter ignored");
    sgm_rng_normal_rows_f64(43, 3, 1000, 1, D, b);
    CHECK(memcmp(a, b, sizeof(double) * D) != 0, "seed ignored");
    /* the float32 stream is the same stream in float arithmetic: each value
     * within 4 float32 ulp of the exact transform of its block and the
     * float64 value within 4 float64 ulp of it (test_normal_stream), so
     * within 5 float32 ulp of each other */
    float *f = malloc(sizeof(float) * D);
    sgm_rng_normal_rows_f32(42, 3, 1000, 1, D, f);
    int same = 1;
    for (int i = 0; i < D; i++) {
        float r = fabsf((float)a[i]);
        same &= fabs((double)f[i] - a[i]) <= 5.0 * (double)(nextafterf(r, INFINITY) - r);
    }
    CHECK(same, "f32 normals are not the f64 normals to float32 precision");
    free(f);
    free(a);
    free(b);
}

static void test_npy(void) {
    char path[4096];
    tu_bin("test_core_tmp.npy", path, sizeof path);
    double v[6] = {1, -2.5, 3.25, 1e-300, 7, 8};
    size_t shape[2] = {3, 2};
    sgm_error err;
    CHECK(sgm_npy_save(path, 2, shape, v, 0, &err) == SGM_OK, "save: %s", err.msg);
    sgm_array a;
    CHECK(sgm_npy_load(path, &a, &err) == SGM_OK, "load: %s", err.msg);
    CHECK(a.ndim == 2 && a.shape[0] == 3 && a.shape[1] == 2, "shape");
    CHECK(a.count == 6 && memcmp(a.data, v, sizeof v) == 0, "values");
    sgm_array_free(&a);
    CHECK(sgm_npy_save(path, 2, shape, v, 1, &err) == SGM_OK, "save f32");
    CHECK(sgm_npy_load(path, &a, &err) == SGM_OK, "load f32: %s", err.msg);
    CHECK(a.count == 6 && a.data[2] == 3.25, "f32 values");
    sgm_array_free(&a);
    /* truncation is detected */
    FILE *f = fopen(path, "r+b");
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fclose(f);
    CHECK(truncate(path, len - 3) == 0, "truncate");
    CHECK(sgm_npy_load(path, &a, &err) == SGM_ERR_FORMAT, "truncated file accepted");
    f = fopen(path, "wb");
    fputs("not an npy file", f);
    fclose(f);
    CHECK(sgm_npy_load(path, &a, &err) == SGM_ERR_FORMAT, "garbage accepted");
    CHECK(strstr(err.msg, "magic") != NULL, "message should name the problem: %s", err.msg);
    remove(path);
}

static void test_gmm(void) {
    /* 1-D two-component mixture: D(x, sigma) by quadrature of the posterior */
    double w[2] = {0.3, 0.7}, mu[2] = {-1, 2}, sd[2] = {0.5, 0.8};
    sgm_gmm *g = NULL;
    sgm_error err;
    CHECK(sgm_gmm_create(2, 1, w, mu, sd, &g, &err) == SGM_OK, "create");
    double x = 0.4, sigma = 0.9, D;
    sgm_gmm_denoise(g, 1, &x, sigma, &D);
    double num = 0, den = 0;
    for (int i = -200000; i <= 200000; i++) {
        double x0 = i * 1e-4, p = 0;
        for (int k = 0; k < 2; k++)
            p += w[k] * exp(-0.5 * (x0 - mu[k]) * (x0 - mu[k]) / (sd[k] * sd[k])) / sd[k];
        double lik = exp(-0.5 * (x - x0) * (x - x0) / (sigma * sigma));
        num += x0 * p * lik;
        den += p * lik;
    }
    /* quadrature step 1e-4 on smooth integrands: error far below 1e-8 */
    CHECK_CLOSE(D, num / den, 1e-8, 1e-10, "gmm posterior mean");
    /* malformed JSON and shape errors name the problem */
    sgm_gmm *h = NULL;
    CHECK(sgm_gmm_from_json("{\"dim\": 2, \"weights\": [1], \"means\": [[0]], \"stds\": [[1,1]]}",
                            &h, &err) == SGM_ERR_SHAPE,
          "means shape mismatch accepted");
    CHECK(strstr(err.msg, "means") != NULL, "message: %s", err.msg);
    CHECK(sgm_gmm_from_json("{\"dim\": 2, ", &h, &err) == SGM_ERR_FORMAT, "bad JSON accepted");
    CHECK(sgm_gmm_from_json("{\"dim\": 1, \"weights\": [1], \"means\": [[0]], \"stds\": [[-1]]}",
                            &h, &err) == SGM_ERR_INVALID_ARG,
          "negative std accepted");
    /* a "dim" of 1e8 with one-number rows: a shape error before any
       allocation of k * dim (fuzz_gmm_json: 2.8 GB for a 351-byte file) */
    CHECK(sgm_gmm_from_json("{\"dim\": 100000000, \"weights\": [1], \"means\": [[0]], "
                            "\"stds\": [[1]]}",
                            &h, &err) == SGM_ERR_SHAPE && h == NULL,
          "dim 1e8 on 1-number rows accepted");
    CHECK(sgm_gmm_from_json("{\"dim\": 1, \"weights\": [1], \"means\": [[0]], \"stds\": [1]}",
                            &h, &err) == SGM_ERR_SHAPE && strstr(err.msg, "stds") != NULL,
          "stds not arrays: %s", err.msg);
    sgm_gmm_free(g);
}

static void test_predictions(void) {
    /* build each parameterization from a known x0/eps and convert back */
    double alpha = 0.6, sigma = 0.8, dalpha = -1.3, dsigma = 0.7;
    double x0 = 1.7, eps = -0.4, x = alpha * x0 + sigma * eps;
    struct {
        sgm_prediction p;
        double m;
    } cases[] = {
        {SGM_PRED_X0, x0},
        {SGM_PRED_EPS, eps},
        {SGM_PRED_V, alpha * eps - sigma * x0},
        {SGM_PRED_SCORE, -eps / sigma},
        {SGM_PRED_FLOW, dalpha * x0 + dsigma * eps},
    };
    for (int i = 0; i < 5; i++) {
        double out;
        sgm_prediction_to_x0(cases[i].p, SGM_F64, 1, &x, &cases[i].m, alpha, sigma, dalpha,
                             dsigma, &out);
        CHECK_CLOSE(out, x0, 1e-14, 1e-14, sgm_prediction_name(cases[i].p));
    }
}

/* an analytic x0-model for data N(mu, s0^2): D = mu + s0^2/(s0^2+s^2) (x~ - mu) */
static int gauss_flow_fn(const sgm_eval *q, void *out, void *ud) {
    (void)ud;
    const double *x = q->x;
    double *o = out;
    double mu = 0.5, s0 = 0.3;
    for (size_t i = 0; i < q->n * q->d; i++) {
        /* the flow velocity u = x0 - ... : dx/dt = alpha' x0 + sigma' eps = eps - x0,
         * with E[x0 | x_t] for alpha = 1 - t, sigma = t */
        double a = q->alpha, s = q->sigma;
        double v0 = s0 * s0, post_x0 =
            (a * v0 * x[i] + s * s * mu) / (a * a * v0 + s * s); /* E[x0|x] */
        double e = (x[i] - a * post_x0) / s;
        o[i] = e - post_x0;
    }
    return 0;
}

static void test_pure_noise_start(void) {
    /* flow process from t = 1 (alpha = 0) with a velocity model: the core takes
     * the exact first step; the result must be finite and near the data law */
    sgm_process *p = NULL;
    sgm_error err;
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_FLOW);
    CHECK(sgm_process_create(&pc, &p, &err) == SGM_OK, "flow: %s", err.msg);
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_TIME_UNIFORM);
    sc.steps = 50;
    sc.final_point = SGM_FINAL_ZERO;
    sgm_schedule *sched = NULL;
    CHECK(sgm_schedule_create(&sc, p, &sched, &err) == SGM_OK, "schedule: %s", err.msg);
    CHECK(sched && sched->alpha[0] == 0, "flow schedule should start at alpha = 0");
    sgm_sampler_config cfg;
    sgm_sampler_config_default("euler", &cfg, &err);
    enum { N = 4000 };
    sgm_sampler *s = NULL;
    CHECK(sgm_sampler_create(&cfg, p, N, 1, &s, &err) == SGM_OK, "create");
    double *x = malloc(N * sizeof *x);
    sgm_rng_normal_rows_f64(7, 0, 0, N, 1, x);
    sgm_denoiser den = {gauss_flow_fn, NULL, SGM_PRED_FLOW};
    sgm_rng rng = sgm_rng_init(1);
    sgm_status st = sgm_sampler_run(s, sched, &den, &rng, 0, N, x, &err);
    CHECK(st == SGM_OK, "run: %s", err.msg);
    double m = 0, v = 0;
    for (int i = 0; i < N; i++) m += x[i];
    m /= N;
    for (int i = 0; i < N; i++) v += (x[i] - m) * (x[i] - m);
    v /= N - 1;
    /* exact ODE maps N(0,1) to N(0.5, 0.09); Euler at 50 steps is close: allow 5 SE
     * of the sample mean (0.3/sqrt(4000) = 0.0047) plus the O(1/50) discretisation */
    CHECK(fabs(m - 0.5) < 5 * 0.3 / sqrt(N) + 0.02, "mean %g", m);
    CHECK(fabs(sqrt(v) - 0.3) < 0.03, "std %g", sqrt(v));
    /* an eps model cannot start at alpha = 0: a clear error, not NaN */
    den.prediction = SGM_PRED_EPS;
    st = sgm_sampler_run(s, sched, &den, &rng, 0, N, x, &err);
    CHECK(st == SGM_ERR_UNSUPPORTED, "eps at alpha = 0 should be refused (got %d)", st);
    free(x);
    sgm_sampler_free(s);
    sgm_schedule_free(sched);
    sgm_process_free(p);
}

/* sgm_copy_finite: the copy is exact and complete, the flag says whether
 * any value is NaN or +-inf; sizes below, at and above one block and the
 * parallel threshold; the bad value first, inside, last; the largest finite
 * values and subnormals count as finite */
static void test_copy_finite(void) {
    const size_t sizes[5] = {1, 7, 4096, 4097, 200001};
    for (int k = 0; k < 5; k++) {
        size_t n = sizes[k];
        float *sf = malloc(n * sizeof(float)), *df = malloc(n * sizeof(float));
        double *sd = malloc(n * sizeof(double)), *dd = malloc(n * sizeof(double));
        for (size_t i = 0; i < n; i++) {
            sf[i] = (float)i * 0.5f - 3.0f;
            sd[i] = (double)i * 0.25 - 7.0;
        }
        sf[0] = FLT_MAX;
        sd[0] = -DBL_MAX;
        if (n > 1) {
            sf[n - 1] = 1e-45f; /* subnormal */
            sd[n - 1] = 5e-324;
        }
        CHECK(sgm_copy_finite(SGM_F32, sf, df, n) == 1, "f32 finite, n %zu", n);
        CHECK(memcmp(sf, df, n * sizeof(float)) == 0, "f32 copy, n %zu", n);
        CHECK(sgm_copy_finite(SGM_F64, sd, dd, n) == 1, "f64 finite, n %zu", n);
        CHECK(memcmp(sd, dd, n * sizeof(double)) == 0, "f64 copy, n %zu", n);
        const size_t at[3] = {0, n / 2, n - 1};
        const double bad[3] = {NAN, INFINITY, -INFINITY};
        for (int j = 0; j < 3; j++) {
            float keepf = sf[at[j]];
            double keepd = sd[at[j]];
            sf[at[j]] = (float)bad[j];
            sd[at[j]] = bad[j];
            CHECK(sgm_copy_finite(SGM_F32, sf, df, n) == 0, "f32 %g at %zu not found", bad[j], at[j]);
            CHECK(memcmp(sf, df, n * sizeof(float)) == 0, "f32 copy with %g, n %zu", bad[j], n);
            CHECK(sgm_copy_finite(SGM_F64, sd, dd, n) == 0, "f64 %g at %zu not found", bad[j], at[j]);
            CHECK(memcmp(sd, dd, n * sizeof(double)) == 0, "f64 copy with %g, n %zu", bad[j], n);
            sf[at[j]] = keepf;
            sd[at[j]] = keepd;
        }
        free(sf);
        free(df);
        free(sd);
        free(dd);
    }
    CHECK(sgm_copy_finite(SGM_F32, NULL, NULL, 0) == 1, "n = 0 is finite");
}

int main(void) {
    test_philox();
    test_normals();
    test_npy();
    test_gmm();
    test_predictions();
    test_pure_noise_start();
    test_copy_finite();
    TEST_MAIN_END();
}
