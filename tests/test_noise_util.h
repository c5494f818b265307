/* test_noise_util.h - the setup shared by the noise-hook tests
 * (test_noise_fn.c, test_noise_fused.c): VE process (sigma 1e-3 .. 100) with
 * a Karras schedule 0.002 .. 80 ending at 0, and one sampler run at eta 1
 * with independent noise from x_T = 80 z (draw 0 of the seed, as the CLI),
 * the run's rng at (seed, counter 1), optionally with a noise hook. */
#ifndef SGM_TEST_NOISE_UTIL_H
#define SGM_TEST_NOISE_UTIL_H

#include "sgm.h"
#include "test_util.h"

/* the VE process and a Karras schedule of `steps` steps; non-zero on error */
static inline sgm_status tu_ve_karras(int steps, sgm_process **p, sgm_schedule **sc,
                                      sgm_error *err) {
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VE);
    pc.sigma_min = 1e-3;
    pc.sigma_max = 100;
    sgm_schedule_config scc = sgm_schedule_config_default(SGM_SCHEDULE_KARRAS);
    scc.steps = steps;
    scc.sigma_min = 0.002;
    scc.sigma_max = 80;
    scc.final_point = SGM_FINAL_ZERO;
    sgm_status st = sgm_process_create(&pc, p, err);
    return st ? st : sgm_schedule_create(&scc, *p, sc, err);
}

/* what every run of a test shares */
typedef struct tu_noise_case {
    const sgm_process *p;
    const sgm_schedule *sc;
    const sgm_denoiser *den;
    size_t n, d;   /* rows, values per row */
    uint64_t row0; /* the rows' first index */
    uint64_t seed;
} tu_noise_case;

/* method at eta 1 in dtype dt on n_threads threads (0: the default) into x
 * (n * d values of dt), with the noise hook fn(ud) when fn is not NULL.
 * Create's status (SGM_ERR_UNSUPPORTED etc.) is returned as is. */
static inline sgm_status tu_noise_run(const tu_noise_case *u, const char *method, sgm_dtype dt,
                                      int n_threads, sgm_noise_fn fn, void *ud, void *x,
                                      sgm_error *err) {
    sgm_sampler_config c;
    if (sgm_sampler_config_default(method, &c, err)) return SGM_ERR_UNKNOWN_NAME;
    c.eta = 1;
    c.noise = SGM_NOISE_INDEPENDENT;
    c.dtype = dt;
    if (n_threads) c.n_threads = n_threads;
    if (fn) {
        c.noise_fn = fn;
        c.noise_user_data = ud;
    }
    sgm_sampler *s = NULL;
    sgm_status st = sgm_sampler_create(&c, u->p, u->n, u->d, &s, err);
    if (st) return st;
    size_t cnt = u->n * u->d;
    double *x0 = malloc(sizeof(double) * cnt);
    if (!x0) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    sgm_rng_normal_rows_f64(u->seed, 0, u->row0, u->n, u->d, x0);
    for (size_t i = 0; i < cnt; i++) {
        if (dt == SGM_F64) ((double *)x)[i] = 80 * x0[i];
        else ((float *)x)[i] = (float)(80 * x0[i]);
    }
    free(x0);
    sgm_rng rng = {u->seed, 1};
    st = sgm_sampler_run(s, u->sc, u->den, &rng, u->row0, u->n, x, err);
    sgm_sampler_free(s);
    return st;
}

#endif
