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
#include "test_noise_util.h"
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

int main(void) {
    sgm_error err;
    sgm_gmm *g = NULL;
    char path[4096];
    if (sgm_gmm_load(tu_src("tests/data/models/gmm2d.json", path, sizeof path), &g, &err)) {
        fprintf(stderr, "gmm: %s\n", err.msg);
        return 2;
    }
    sgm_denoiser den = sgm_gmm_denoiser(g);
    sgm_process *p = NULL;
    sgm_schedule *sc = NULL;
    if (tu_ve_karras(12, &p, &sc, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 2;
    }
    const tu_noise_case u = {p, sc, &den, N, 2, ROW0, SEED};
    static const char *const noisy[] = {"euler_a",   "dpm2_a",       "dpmpp_2s_a",
                                        "dpmpp_sde", "dpmpp_2m_sde", "dpmpp_3m_sde"};
    static const int want_calls[] = {11, 11, 11, 22, 11, 11}; /* 11 intervals to sigma > 0 */
    double a[N * 2], b[N * 2];
    for (int t = 0; t < 2; t++) {
        sgm_dtype dt = t ? SGM_F32 : SGM_F64;
        size_t bytes = N * 2 * (t ? sizeof(float) : sizeof(double));
        for (size_t m = 0; m < sizeof noisy / sizeof noisy[0]; m++) {
            hook h = {{SEED, 1}, 0, 0, 0, N, 2, dt};
            CHECK(tu_noise_run(&u, noisy[m], dt, 0, NULL, NULL, a, &err) == SGM_OK, "%s: %s",
                  noisy[m], err.msg);
            CHECK(tu_noise_run(&u, noisy[m], dt, 0, philox_fn, &h, b, &err) == SGM_OK, "%s: %s",
                  noisy[m], err.msg);
            CHECK(memcmp(a, b, bytes) == 0, "%s dtype %d: the hook's Philox noise differs "
                  "from the default run", noisy[m], t);
            CHECK(h.calls == want_calls[m], "%s: %d calls, want %d", noisy[m], h.calls,
                  want_calls[m]);
            CHECK(h.bad == 0, "%s: %d calls with wrong arguments", noisy[m], h.bad);
            hook f = {{SEED, 1}, 0, 3, 0, N, 2, dt};
            sgm_status st = tu_noise_run(&u, noisy[m], dt, 0, philox_fn, &f, b, &err);
            CHECK(st == SGM_ERR_CALLBACK && strstr(err.msg, "noise callback returned 5"),
                  "%s: failing hook gave %d (%s)", noisy[m], st, err.msg);
        }
    }
    hook h = {{SEED, 1}, 0, 0, 0, N, 2, SGM_F64};
    CHECK(tu_noise_run(&u, "dpmpp_2m", SGM_F64, 0, philox_fn, &h, a, &err) == SGM_OK, "%s",
          err.msg);
    CHECK(h.calls == 0, "a deterministic sampler asked for noise %d times", h.calls);
    sgm_schedule_free(sc);
    sgm_process_free(p);
    sgm_gmm_free(g);
    TEST_MAIN_END();
}
