/* test_noise_fused.c - the samplers' fused noise updates (sgm__lc_noise,
 * src/sampler/ops.c: the Philox normals drawn span by span inside the
 * update) give the bits of the two-pass form (draw into a buffer, then the
 * linear combination), here produced through the noise hook handing over the
 * same Philox draws: rows of d = 2500 values (two full 1024-value spans and
 * a partial one), 14 rows from row0 = 7 (35,000 values, above the kernels'
 * OpenMP threshold: the fused run uses 2 threads, the hook run 1), float64
 * and float32, every sampler whose noise goes through the fused update
 * (but pc, whose corrector draws from the run's rng directly, so a hook run
 * consumes the stream differently).
 * Model: the exact denoiser of standard normal data, E[x0 | x] =
 * alpha x / (alpha^2 + sigma^2); VE process, Karras 10 steps 0.002 .. 80. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgm.h"
#include "test_noise_util.h"
#include "test_util.h"

#define N 14
#define D 2500
#define ROW0 7
#define SEED 91

static int normal_data(const sgm_eval *q, void *out, void *ud) {
    (void)ud;
    double c = q->alpha / (q->alpha * q->alpha + q->sigma * q->sigma);
    size_t cnt = q->n * q->d;
    if (q->dtype == SGM_F64)
        for (size_t i = 0; i < cnt; i++) ((double *)out)[i] = c * ((const double *)q->x)[i];
    else
        for (size_t i = 0; i < cnt; i++)
            ((float *)out)[i] = (float)(c * ((const float *)q->x)[i]);
    return 0;
}

typedef struct hook {
    sgm_rng rng; /* the default run's stream: seed, counter from 1 */
    int calls;
} hook;

static int philox_fn(double s_from, double s_to, size_t n, size_t d, uint64_t row0,
                     sgm_dtype dt, void *z, void *ud) {
    (void)s_from;
    (void)s_to;
    hook *h = ud;
    h->calls++;
    sgm_rng_normal(&h->rng, row0, n, d, dt, z);
    return 0;
}

int main(void) {
    sgm_error err;
    sgm_process *p = NULL;
    sgm_schedule *sc = NULL;
    if (tu_ve_karras(10, &p, &sc, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 2;
    }
    const sgm_denoiser den = {normal_data, NULL, SGM_PRED_X0};
    /* the fused run on 2 threads, the hook run on 1 */
    const tu_noise_case u = {p, sc, &den, N, D, ROW0, SEED};
    static const char *const noisy[] = {"euler_a",      "dpm2_a", "dpmpp_2s_a",
                                        "dpmpp_2m_sde", "er_sde", "res_multistep_a",
                                        "ddpm",         "lcm",    "em"};
    double *a = malloc(sizeof(double) * N * D), *b = malloc(sizeof(double) * N * D);
    int ran = 0;
    for (int t = 0; t < 2; t++) {
        sgm_dtype dt = t ? SGM_F32 : SGM_F64;
        size_t bytes = (size_t)N * D * (t ? sizeof(float) : sizeof(double));
        for (size_t m = 0; m < sizeof noisy / sizeof noisy[0]; m++) {
            hook h = {{SEED, 1}, 0};
            sgm_status st = tu_noise_run(&u, noisy[m], dt, 2, NULL, NULL, a, &err);
            if (st == SGM_ERR_UNSUPPORTED || st == SGM_ERR_INVALID_ARG) {
                printf("skip %s: %s\n", noisy[m], err.msg);
                continue;
            }
            CHECK(st == SGM_OK, "%s: %s", noisy[m], err.msg);
            CHECK(tu_noise_run(&u, noisy[m], dt, 1, philox_fn, &h, b, &err) == SGM_OK, "%s: %s",
                  noisy[m], err.msg);
            CHECK(h.calls > 0, "%s: no noise drawn", noisy[m]);
            CHECK(memcmp(a, b, bytes) == 0, "%s dtype %d: the fused noise update differs from "
                  "draw-then-update", noisy[m], t);
            ran++;
        }
    }
    /* the k-diffusion ancestral and SDE samplers at least, in both dtypes */
    CHECK(ran >= 8, "only %d sampler runs compared", ran);
    printf("sampler x dtype runs compared: %d\n", ran);
    free(a);
    free(b);
    sgm_schedule_free(sc);
    sgm_process_free(p);
    TEST_MAIN_END();
}
