/* test_reproducible.c - bitwise reproducibility of every sampler in the
 * registry (acceptance item 4): the same 64 samples, bit for bit,
 *   - as one batch of 64 rows with n_threads = 1 (the baseline),
 *   - as 64 batches of 1 row (row0 = i),
 *   - as batches of 7 rows (row0 = 0, 7, ..., 63; the last batch has 1 row),
 *   - as one batch of 64 rows with n_threads = 2,
 * in float64 and float32. Noise for row r depends only on (seed, r, draw), so
 * a fresh rng (counter 0) per batch call reproduces the baseline's draws.
 *
 * Model: a 2-component Gaussian mixture in d = 512 (cheap per element), with
 * a tiny row-dependent shift of the prediction, 1e-3 * (global row index),
 * so that a wrong sgm_eval.row0 in a split batch changes the result.
 * 64 x 512 = 32768 elements = SGM__PAR_MIN (32768), so the baseline and the
 * 2-thread run take the OpenMP path of the vector kernels, while batches of 1
 * and 7 stay serial: the comparison covers serial vs parallel too.
 * Process: continuous VP (alpha != 1 exercises the VE-coordinate conversion);
 * schedule: Karras, 12 steps, VE sigma 0.01 .. 20, final sigma 0.
 * Every method runs with its defaults (stochastic ones with their default
 * eta/tau/noise; adaptive ones with their default per-sample error norm).
 * There is no tolerance: equality is bitwise (memcmp).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgm.h"
#include "test_util.h"

#define N_ROWS 64
#define DIM 512
#define STEPS 12
#define SEED 1234

typedef struct model {
    sgm_gmm *g;
} model;

/* GMM data prediction plus 1e-3 * global row index */
static int den_fn(const sgm_eval *q, void *out, void *ud) {
    const model *m = ud;
    int rc = sgm_gmm_denoise_fn(q, out, m->g);
    if (rc) return rc;
    for (size_t i = 0; i < q->n; i++) {
        double shift = 1e-3 * (double)(q->row0 + i);
        for (size_t j = 0; j < q->d; j++) {
            if (q->dtype == SGM_F64)
                ((double *)out)[i * q->d + j] += shift;
            else
                ((float *)out)[i * q->d + j] += (float)shift;
        }
    }
    return 0;
}

static sgm_gmm *make_gmm(void) {
    static double w[2] = {0.4, 0.6};
    double *mu = malloc(sizeof(double) * 2 * DIM), *sd = malloc(sizeof(double) * 2 * DIM);
    for (size_t j = 0; j < DIM; j++) {
        mu[j] = 0.5 * sin(0.1 * (double)j);
        mu[DIM + j] = -0.3 + 0.2 * cos(0.05 * (double)j);
        sd[j] = 0.3 + 0.2 * (double)(j % 5) / 5;
        sd[DIM + j] = 0.6;
    }
    sgm_gmm *g = NULL;
    sgm_error err = {0};
    if (sgm_gmm_create(2, DIM, w, mu, sd, &g, &err)) fprintf(stderr, "gmm: %s\n", err.msg);
    free(mu);
    free(sd);
    return g;
}

/* Runs rows [0, N_ROWS) of x (in place, element type dt) in batches of `batch`
 * rows with n_threads threads. Returns the first failing status. */
/* mala: the mixture's log-density (the test denoiser's row shift aside) */
static int logp_fn(size_t n, size_t d, const double *x, double sigma, double *logp, void *ud) {
    (void)d;
    sgm_gmm_logpdf(ud, n, x, sigma, logp);
    return 0;
}

static sgm_status run_split(const char *method, sgm_dtype dt, size_t batch, int n_threads,
                            const sgm_process *proc, const sgm_schedule *sch,
                            const sgm_denoiser *den, void *x, sgm_error *err) {
    sgm_sampler_config cfg;
    sgm_status st = sgm_sampler_config_default(method, &cfg, err);
    if (st) return st;
    cfg.dtype = dt;
    cfg.n_threads = n_threads;
    sgm_sampler *s = NULL;
    if ((st = sgm_sampler_create(&cfg, proc, batch, DIM, &s, err))) return st;
    sgm_sampler_set_log_density(s, logp_fn, ((const model *)den->user_data)->g);
    size_t esz = dt == SGM_F64 ? sizeof(double) : sizeof(float);
    for (size_t r0 = 0; r0 < N_ROWS && !st; r0 += batch) {
        size_t n = N_ROWS - r0 < batch ? N_ROWS - r0 : batch;
        sgm_rng rng = sgm_rng_init(SEED);
        st = sgm_sampler_run(s, sch, den, &rng, r0, n, (char *)x + r0 * DIM * esz, err);
    }
    sgm_sampler_free(s);
    return st;
}

static double max_diff(sgm_dtype dt, const void *a, const void *b) {
    double m = 0;
    for (size_t i = 0; i < (size_t)N_ROWS * DIM; i++) {
        double u = dt == SGM_F64 ? ((const double *)a)[i] : ((const float *)a)[i];
        double v = dt == SGM_F64 ? ((const double *)b)[i] : ((const float *)b)[i];
        double e = fabs(u - v);
        if (!(e <= m)) m = e;
    }
    return m;
}

int main(void) {
    sgm_error err = {0};
    model m = {make_gmm()};
    CHECK(m.g != NULL, "model");
    if (!m.g) TEST_MAIN_END();
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VP_LINEAR);
    sgm_process *proc = NULL;
    CHECK(sgm_process_create(&pc, &proc, &err) == SGM_OK, "process: %s", err.msg);
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_KARRAS);
    sc.steps = STEPS;
    sc.sigma_min = 0.01;
    sc.sigma_max = 20;
    sc.final_point = SGM_FINAL_ZERO;
    sgm_schedule *sch = NULL;
    CHECK(sgm_schedule_create(&sc, proc, &sch, &err) == SGM_OK, "schedule: %s", err.msg);
    if (!proc || !sch) TEST_MAIN_END();
    sgm_denoiser den = {den_fn, &m, SGM_PRED_X0};

    /* x_T in process coordinates: sigma(t_0) z (alpha x0 is negligible there) */
    size_t cnt = (size_t)N_ROWS * DIM;
    double *z = malloc(sizeof(double) * cnt);
    sgm_rng_normal_rows_f64(99, 0, 0, N_ROWS, DIM, z);
    double sig0 = sgm_process_sigma(proc, sch->t[0]);
    void *x0[2], *base = malloc(sizeof(double) * cnt), *x = malloc(sizeof(double) * cnt);
    x0[0] = malloc(sizeof(double) * cnt);
    x0[1] = malloc(sizeof(float) * cnt);
    for (size_t i = 0; i < cnt; i++) {
        ((double *)x0[0])[i] = sig0 * z[i];
        ((float *)x0[1])[i] = (float)(sig0 * z[i]);
    }

    static const struct {
        const char *what;
        size_t batch;
        int threads;
    } splits[] = {{"64 batches of 1", 1, 1}, {"batches of 7", 7, 1}, {"2 threads", N_ROWS, 2}};
    int n_bad = 0;
    for (size_t mi = 0; mi < sgm_method_count(); mi++) {
        const char *name = sgm_method_at(mi)->name;
        for (int di = 0; di < 2; di++) {
            sgm_dtype dt = di ? SGM_F32 : SGM_F64;
            size_t bytes = cnt * (dt == SGM_F64 ? sizeof(double) : sizeof(float));
            memcpy(base, x0[di], bytes);
            sgm_status st = run_split(name, dt, N_ROWS, 1, proc, sch, &den, base, &err);
            if (st) {
                printf("%-20s %s: ERROR %s\n", name, di ? "f32" : "f64", err.msg);
                CHECK(st == SGM_OK, "%s (%s): %s", name, di ? "f32" : "f64", err.msg);
                n_bad++;
                continue;
            }
            int ok = 1;
            for (size_t k = 0; k < sizeof splits / sizeof splits[0]; k++) {
                memcpy(x, x0[di], bytes);
                st = run_split(name, dt, splits[k].batch, splits[k].threads, proc, sch, &den, x,
                               &err);
                CHECK(st == SGM_OK, "%s (%s, %s): %s", name, di ? "f32" : "f64", splits[k].what,
                      err.msg);
                if (st) {
                    ok = 0;
                    continue;
                }
                int same = memcmp(x, base, bytes) == 0;
                CHECK(same, "%s (%s): %s differs from one batch of 64 (max |diff| %.3g)", name,
                      di ? "f32" : "f64", splits[k].what, max_diff(dt, x, base));
                ok &= same;
            }
            printf("%-20s %s: %s\n", name, di ? "f32" : "f64", ok ? "bitwise identical" : "DIFFERS");
            if (!ok) n_bad++;
        }
    }
    printf("%d method/dtype combinations not reproducible\n", n_bad);

    free(z);
    free(base);
    free(x);
    free(x0[0]);
    free(x0[1]);
    sgm_schedule_free(sch);
    sgm_process_free(proc);
    sgm_gmm_free(m.g);
    TEST_MAIN_END();
}
