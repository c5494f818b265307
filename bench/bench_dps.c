/* bench_dps.c - cost of a DPS step (Chung et al. 2023; sgm_guidance.h) on the
 * U-Net relative to an unguided step: an untrained U-Net of the default
 * Fashion-MNIST configuration (1x28x28, sgm_unet_config_default) saved and
 * loaded as a checkpoint, the ddpm sampler, a half-image mask; times S steps
 * of B rows unguided (sgm_sampler_run) and with DPS (sgm_posterior_run), and
 * prints the per-step times and their ratio (issue 9, acceptance 5: <= 3).
 * Usage: bench_dps [batch] [steps] [base_ch]. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "sgm/sgm_guidance.h"
#include "sgm/sgm_model.h"
#include "sgm/sgm_train.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int fail(const char *what, const sgm_error *e) {
    fprintf(stderr, "bench_dps: %s: %s\n", what, e->msg);
    return 1;
}

int main(int argc, char **argv) {
    int B = argc > 1 ? atoi(argv[1]) : 8, S = argc > 2 ? atoi(argv[2]) : 10;
    if (B < 1 || S < 1) return 2;
    sgm_train_config c = sgm_train_config_default(SGM_PROCESS_VP_LINEAR, SGM_PARAM_EPS);
    c.net.arch = SGM_ARCH_UNET;
    c.net.unet = sgm_unet_config_default();
    if (argc > 3) c.net.unet.base_ch = atoi(argv[3]);
    c.batch = 4;
    size_t d = 784, rows = 8;
    double *data = calloc(rows * d, sizeof *data);
    for (size_t i = 0; i < rows * d; i++) data[i] = (double)(i % 29) / 29.0 - 0.5;
    char path[] = "/tmp/bench_dps_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 1;
    close(fd);
    sgm_error e = {0};
    sgm_trainer *t = NULL;
    if (sgm_trainer_create(&c, data, rows, d, &t, &e) || sgm_trainer_save(t, path, &e))
        return fail("checkpoint", &e);
    sgm_trainer_free(t);
    sgm_model *m = NULL;
    if (sgm_model_load(path, 1, 0, &m, &e)) return fail("load", &e);
    unlink(path);
    sgm_process *proc = NULL;
    sgm_schedule *sched = NULL;
    sgm_process_create(sgm_model_process_config(m), &proc, &e);
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_TIME_UNIFORM);
    sc.steps = S;
    if (sgm_schedule_create(&sc, proc, &sched, &e)) return fail("schedule", &e);
    double *mask = malloc(d * sizeof *mask), *y = calloc(d, sizeof *y);
    for (size_t i = 0; i < d; i++) mask[i] = i < d / 2;
    sgm_operator_config oc = sgm_operator_config_default(SGM_OP_MASK);
    oc.c = 1, oc.h = 28, oc.w = 28, oc.mask = mask;
    sgm_operator *op = NULL;
    if (sgm_operator_create(&oc, &op, &e)) return fail("operator", &e);
    sgm_sampler_config cfg;
    sgm_sampler_config_default("ddpm", &cfg, &e);
    sgm_sampler *smp = NULL;
    if (sgm_sampler_create(&cfg, proc, (size_t)B, d, &smp, &e)) return fail("sampler", &e);
    double *x = malloc((size_t)B * d * sizeof *x);
    sgm_denoiser den = sgm_model_denoiser(m);
    sgm_denoiser_grad gr = sgm_model_denoiser_grad(m);
    double tu = 0, tg = 0;
    for (int rep = 0; rep < 2; rep++) { /* rep 0 warms up */
        sgm_rng rng = sgm_rng_init(1);
        sgm_rng_normal_rows_f64(1, 0, 0, (size_t)B, d, x);
        double t0 = now();
        if (sgm_sampler_run(smp, sched, &den, &rng, 0, (size_t)B, x, &e)) return fail("run", &e);
        double t1 = now();
        sgm_posterior_config pc = sgm_posterior_config_default(SGM_POST_DPS);
        sgm_rng_normal_rows_f64(1, 0, 0, (size_t)B, d, x);
        sgm_posterior_stats st = {0};
        if (sgm_posterior_run(&pc, &cfg, proc, sched, &den, &gr, op, y, &rng, 0, (size_t)B, x,
                              &st, &e))
            return fail("dps", &e);
        double t2 = now();
        tu = t1 - t0, tg = t2 - t1;
        if (rep) printf("dps: NFE %zu, VJP %zu\n", st.nfe, st.nvjp);
    }
    printf("unet base %d, batch %d, %d ddpm steps: unguided %.4f s/step, dps %.4f s/step, "
           "ratio %.2f\n", c.net.unet.base_ch, B, S, tu / S, tg / S, tg / tu);
    sgm_sampler_free(smp);
    sgm_operator_free(op);
    sgm_schedule_free(sched);
    sgm_process_free(proc);
    sgm_model_free(m);
    free(mask);
    free(y);
    free(x);
    free(data);
    return 0;
}
