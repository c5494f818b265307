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

/* SGM_ERR_UNSUPPORTED etc. from create are returned as is (the caller skips) */
static sgm_status run(const char *method, sgm_dtype dt, const sgm_process *p,
                      const sgm_schedule *sc, hook *h, void *x, sgm_error *err) {
    sgm_sampler_config c;
    if (sgm_sampler_config_default(method, &c, err)) return SGM_ERR_UNKNOWN_NAME;
    c.eta = 1;
    c.noise = SGM_NOISE_INDEPENDENT;
    c.dtype = dt;
    c.n_threads = h ? 1 : 2;
    if (h) {
        c.noise_fn = philox_fn;
        c.noise_user_data = h;
    }
    sgm_sampler *s = NULL;
    sgm_status st = sgm_sampler_create(&c, p, N, D, &s, err);
    if (st) return st;
    double *x0 = malloc(sizeof(double) * N * D);
    sgm_rng_normal_rows_f64(SEED, 0, ROW0, N, D, x0);
    for (size_t i = 0; i < (size_t)N * D; i++) {
        if (dt == SGM_F64) ((double *)x)[i] = 80 * x0[i];
        else ((float *)x)[i] = (float)(80 * x0[i]);
    }
    free(x0);
    sgm_rng rng = {SEED, 1};
    sgm_denoiser den = {normal_data, NULL, SGM_PRED_X0};
    st = sgm_sampler_run(s, sc, &den, &rng, ROW0, N, x, err);
    sgm_sampler_free(s);
    return st;
}

int main(void) {
    sgm_error err;
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VE);
    pc.sigma_min = 1e-3;
    pc.sigma_max = 100;
    sgm_process *p = NULL;
    sgm_schedule *sc = NULL;
    sgm_schedule_config scc = sgm_schedule_config_default(SGM_SCHEDULE_KARRAS);
    scc.steps = 10;
    scc.sigma_min = 0.002;
    scc.sigma_max = 80;
    scc.final_point = SGM_FINAL_ZERO;
    if (sgm_process_create(&pc, &p, &err) || sgm_schedule_create(&scc, p, &sc, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 2;
    }
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
            sgm_status st = run(noisy[m], dt, p, sc, NULL, a, &err);
            if (st == SGM_ERR_UNSUPPORTED || st == SGM_ERR_INVALID_ARG) {
                printf("skip %s: %s\n", noisy[m], err.msg);
                continue;
            }
            CHECK(st == SGM_OK, "%s: %s", noisy[m], err.msg);
            CHECK(run(noisy[m], dt, p, sc, &h, b, &err) == SGM_OK, "%s: %s", noisy[m], err.msg);
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
