/* ring.c - a downstream C program using an installed sgm: sample the
 * built-in 2-D mixture (8 Gaussians of std 0.3 on a circle of radius 4, the
 * "8gaussians" set) exactly with DPM-Solver++(2M), 20 Karras steps, and check
 * that the samples lie on the ring. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <sgm.h>

enum { K = 8, N = 2000 };

int main(void) {
    const double pi = 3.14159265358979323846;
    double w[K], mu[K * 2], sd[K * 2];
    for (int k = 0; k < K; k++) {
        w[k] = 1.0 / K;
        mu[2 * k] = 4 * cos(2 * pi * k / K);
        mu[2 * k + 1] = 4 * sin(2 * pi * k / K);
        sd[2 * k] = sd[2 * k + 1] = 0.3;
    }
    sgm_error err = {0};
    sgm_gmm *gmm = NULL;
    sgm_process *proc = NULL;
    sgm_schedule *sched = NULL;
    sgm_sampler *smp = NULL;
    double *x = malloc(sizeof(double) * N * 2);
    int rc = 1;
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VE);
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_KARRAS);
    sgm_sampler_config cfg;
    sc.steps = 20;
    if (!x || sgm_gmm_create(K, 2, w, mu, sd, &gmm, &err) ||
        sgm_process_create(&pc, &proc, &err) || sgm_schedule_create(&sc, proc, &sched, &err) ||
        sgm_sampler_config_default("dpmpp_2m", &cfg, &err) ||
        sgm_sampler_create(&cfg, proc, N, 2, &smp, &err)) {
        fprintf(stderr, "ring: %s\n", err.msg);
        goto done;
    }
    /* x_T ~ N(0, sigma_max^2) from Philox draw 0, then the sampler */
    double sig_T = sgm_process_sigma(proc, sched->t[0]);
    sgm_rng_normal_rows_f64(1, 0, 0, N, 2, x);
    for (int i = 0; i < N * 2; i++) x[i] *= sig_T;
    sgm_denoiser den = sgm_gmm_denoiser(gmm);
    sgm_rng rng = sgm_rng_init(1);
    rng.counter = 1;
    if (sgm_sampler_run(smp, sched, &den, &rng, 0, N, x, &err)) {
        fprintf(stderr, "ring: %s\n", err.msg);
        goto done;
    }
    double r = 0;
    for (int i = 0; i < N; i++) r += hypot(x[2 * i], x[2 * i + 1]) / N;
    printf("ring (C, sgm %s): %d samples, mean radius %.3f (mixture: 4.01)\n",
           SGM_VERSION_STRING, N, r);
    rc = fabs(r - 4.01) < 0.1 ? 0 : 1;
done:
    sgm_sampler_free(smp);
    sgm_schedule_free(sched);
    sgm_process_free(proc);
    sgm_gmm_free(gmm);
    free(x);
    return rc;
}
