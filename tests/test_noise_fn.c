/* test_noise_fn.c - the external noise hook sgm_sampler_config.noise_fn
 * (k-diffusion's noise_sampler(sigma, sigma_next), used by the Python
 * sgm.k_diffusion): for each stochastic sampler whose noise goes through the
 * interval draw, a noise_fn handing over exactly the Philox normals of the
 * default run reproduces that run bit for bit (so the hook replaces the
 * noise and nothing else), it is asked once per noisy interval with
 * s_from > s_to and the run's rows, dtype and row0; a non-zero return stops
 * the run with SGM_ERR_CALLBACK; a deterministic sampler never asks.
 * Model: the exact 2-D test mixture (tests/data/models/gmm2d.json), VE,
 * Karras 12 steps 0.002 .. 80, 32 rows from row0 = 5, float64 and float32. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgm.h"
#include "test_util.h"

#define N 32
#define ROW0 5
#define SEED 77

typedef struct hook {
    sgm_rng rng;   /* the default run's stream: seed, counter from 1 */
    int calls, fail_at, bad;
    size_t n, d;
    sgm_dtype dt;
} hook;

static int philox_fn(double s_from, double s_to, size_t n, size_t d, uint64_t row0,
                     sgm_dtype dt, void *z, void *ud) {
    hook *h = ud;
    h->calls++;
    if (!(s_from > s_to && s_to >= 0) || n != h->n || d != h->d || row0 != ROW0 || dt != h->dt)
        h->bad++;
    if (h->fail_at && h->calls == h->fail_at) return 5;
    sgm_rng_normal(&h->rng, row0, n, d, dt, z);
    return 0;
}

static sgm_status run(const char *method, sgm_dtype dt, const sgm_process *p,
                      const sgm_schedule *sc, const sgm_denoiser *den, hook *h, void *x,
                      sgm_error *err) {
    sgm_sampler_config c;
    if (sgm_sampler_config_default(method, &c, err)) return SGM_ERR_UNKNOWN_NAME;
    c.eta = 1;
    c.noise = SGM_NOISE_INDEPENDENT;
    c.dtype = dt;
    if (h) {
        c.noise_fn = philox_fn;
        c.noise_user_data = h;
    }
    sgm_sampler *s = NULL;
    sgm_status st = sgm_sampler_create(&c, p, N, 2, &s, err);
    if (st) return st;
    /* x_T: draw 0 of the seed times sigma_max, as the CLI */
    double *x0 = malloc(sizeof(double) * N * 2);
    sgm_rng_normal_rows_f64(SEED, 0, ROW0, N, 2, x0);
    for (size_t i = 0; i < N * 2; i++) {
        if (dt == SGM_F64) ((double *)x)[i] = 80 * x0[i];
        else ((float *)x)[i] = (float)(80 * x0[i]);
    }
    free(x0);
    sgm_rng rng = {SEED, 1};
    st = sgm_sampler_run(s, sc, den, &rng, ROW0, N, x, err);
    sgm_sampler_free(s);
    return st;
}

int main(void) {
    sgm_error err;
    sgm_gmm *g = NULL;
    char path[4096];
    if (sgm_gmm_load(tu_src("tests/data/models/gmm2d.json", path, sizeof path), &g, &err)) {
        fprintf(stderr, "gmm: %s\n", err.msg);
        return 2;
    }
    sgm_denoiser den = sgm_gmm_denoiser(g);
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VE);
    pc.sigma_min = 1e-3;
    pc.sigma_max = 100;
    sgm_process *p = NULL;
    sgm_schedule *sc = NULL;
    sgm_schedule_config scc = sgm_schedule_config_default(SGM_SCHEDULE_KARRAS);
    scc.steps = 12;
    scc.sigma_min = 0.002;
    scc.sigma_max = 80;
    scc.final_point = SGM_FINAL_ZERO;
    if (sgm_process_create(&pc, &p, &err) || sgm_schedule_create(&scc, p, &sc, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 2;
    }
    static const char *const noisy[] = {"euler_a",   "dpm2_a",       "dpmpp_2s_a",
                                        "dpmpp_sde", "dpmpp_2m_sde", "dpmpp_3m_sde"};
    static const int want_calls[] = {11, 11, 11, 22, 11, 11}; /* 11 intervals to sigma > 0 */
    double a[N * 2], b[N * 2];
    for (int t = 0; t < 2; t++) {
        sgm_dtype dt = t ? SGM_F32 : SGM_F64;
        size_t bytes = N * 2 * (t ? sizeof(float) : sizeof(double));
        for (size_t m = 0; m < sizeof noisy / sizeof noisy[0]; m++) {
            hook h = {{SEED, 1}, 0, 0, 0, N, 2, dt};
            CHECK(run(noisy[m], dt, p, sc, &den, NULL, a, &err) == SGM_OK, "%s: %s", noisy[m],
                  err.msg);
            CHECK(run(noisy[m], dt, p, sc, &den, &h, b, &err) == SGM_OK, "%s: %s", noisy[m],
                  err.msg);
            CHECK(memcmp(a, b, bytes) == 0, "%s dtype %d: the hook's Philox noise differs "
                  "from the default run", noisy[m], t);
            CHECK(h.calls == want_calls[m], "%s: %d calls, want %d", noisy[m], h.calls,
                  want_calls[m]);
            CHECK(h.bad == 0, "%s: %d calls with wrong arguments", noisy[m], h.bad);
            hook f = {{SEED, 1}, 0, 3, 0, N, 2, dt};
            sgm_status st = run(noisy[m], dt, p, sc, &den, &f, b, &err);
            CHECK(st == SGM_ERR_CALLBACK && strstr(err.msg, "noise callback returned 5"),
                  "%s: failing hook gave %d (%s)", noisy[m], st, err.msg);
        }
    }
    hook h = {{SEED, 1}, 0, 0, 0, N, 2, SGM_F64};
    CHECK(run("dpmpp_2m", SGM_F64, p, sc, &den, &h, a, &err) == SGM_OK, "%s", err.msg);
    CHECK(h.calls == 0, "a deterministic sampler asked for noise %d times", h.calls);
    sgm_schedule_free(sc);
    sgm_process_free(p);
    sgm_gmm_free(g);
    TEST_MAIN_END();
}
