/* bench_dps.c - cost per step of DPS (Chung et al. 2023) and of classifier-
 * free guidance (Ho & Salimans 2022; sgm_guidance.h, sgm_edit.h) on the U-Net
 * relative to an unguided step (issue 9, acceptance 5: DPS <= 3x, batched
 * CFG <= 2.1x). An untrained class-conditional U-Net of the default
 * Fashion-MNIST configuration (1x28x28, sgm_unet_config_default, 10 classes)
 * saved and loaded as a checkpoint, or a given checkpoint; the ddpm sampler,
 * a half-image mask for DPS, guidance scale w = 3 for CFG. Times S steps of B
 * rows: unguided (sgm_sampler_run, null class), DPS (sgm_posterior_run) and
 * CFG batched and sequential (sgm_cfg_denoiser). Each configuration runs R
 * times after a warm-up run of its own and its best run counts; both the wall clock and
 * the process CPU time are reported (the CPU time is what a loaded machine
 * does not inflate: run with OMP_NUM_THREADS=1 for it to be one thread's).
 * Prints an FNV-1a hash of the DPS result's bits, to compare builds.
 * Usage: bench_dps [batch] [steps] [runs] [base_ch | checkpoint]. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sgm/sgm_edit.h"
#include "sgm/sgm_guidance.h"
#include "sgm/sgm_model.h"
#include "sgm/sgm_train.h"

typedef struct clk {
    double wall, cpu;
} clk;

static clk now(void) {
    struct timespec w, c;
    clock_gettime(CLOCK_MONOTONIC, &w);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
    clk r = {(double)w.tv_sec + 1e-9 * (double)w.tv_nsec,
             (double)c.tv_sec + 1e-9 * (double)c.tv_nsec};
    return r;
}

static int fail(const char *what, const sgm_error *e) {
    fprintf(stderr, "bench_dps: %s: %s\n", what, e->msg);
    return 1;
}

/* a fresh untrained class-conditional U-Net checkpoint at path */
static int make_ckpt(const char *path, int base_ch, sgm_error *e) {
    sgm_train_config c = sgm_train_config_default(SGM_PROCESS_VP_LINEAR, SGM_PARAM_EPS);
    c.net.arch = SGM_ARCH_UNET;
    c.net.unet = sgm_unet_config_default();
    c.net.unet.n_classes = 10;
    if (base_ch > 0) c.net.unet.base_ch = base_ch;
    c.batch = 4;
    size_t d = 784, rows = 8;
    double *data = calloc(rows * d, sizeof *data);
    int labels[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    if (!data) return 1;
    for (size_t i = 0; i < rows * d; i++) data[i] = (double)(i % 29) / 29.0 - 0.5;
    sgm_trainer *t = NULL;
    int rc = sgm_trainer_create(&c, data, rows, d, &t, e) ||
             sgm_trainer_set_labels(t, labels, rows, e) || sgm_trainer_save(t, path, e);
    sgm_trainer_free(t);
    free(data);
    return rc;
}

enum { UNGUIDED, DPS, CFG_BATCHED, CFG_SEQ, NCONF };
static const char *const names[NCONF] = {"unguided", "dps", "cfg batched", "cfg sequential"};

int main(int argc, char **argv) {
    int B = argc > 1 ? atoi(argv[1]) : 4, S = argc > 2 ? atoi(argv[2]) : 8;
    int R = argc > 3 ? atoi(argv[3]) : 3;
    const char *arg4 = argc > 4 ? argv[4] : NULL;
    int base_ch = arg4 && atoi(arg4) > 0 ? atoi(arg4) : 0;
    if (B < 1 || S < 1 || R < 1) return 2;
    sgm_error e = {0};
    char path[] = "/tmp/bench_dps_XXXXXX";
    const char *ck = arg4 && !base_ch ? arg4 : NULL;
    if (!ck) {
        int fd = mkstemp(path);
        if (fd < 0) return 1;
        close(fd);
        if (make_ckpt(path, base_ch, &e)) return fail("checkpoint", &e);
        ck = path;
    }
    sgm_model *m = NULL;
    if (sgm_model_load(ck, 1, 0, &m, &e)) return fail("load", &e);
    if (ck == path) unlink(path);
    size_t d = sgm_model_dim(m);
    int ic = 0, ih = 0, iw = 0;
    sgm_model_image_shape(m, &ic, &ih, &iw);
    sgm_process *proc = NULL;
    sgm_schedule *sched = NULL;
    if (sgm_process_create(sgm_model_process_config(m), &proc, &e)) return fail("process", &e);
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_TIME_UNIFORM);
    sc.steps = S;
    if (sgm_schedule_create(&sc, proc, &sched, &e)) return fail("schedule", &e);
    double *mask = malloc(d * sizeof *mask), *y = calloc(d, sizeof *y);
    double *x = malloc((size_t)B * d * sizeof *x);
    int *labels = malloc((size_t)B * sizeof *labels);
    if (!mask || !y || !x || !labels) return 1;
    for (size_t i = 0; i < d; i++) mask[i] = i < d / 2;
    for (int i = 0; i < B; i++) labels[i] = i % 10;
    sgm_operator_config oc = sgm_operator_config_default(SGM_OP_MASK);
    oc.c = ic, oc.h = ih, oc.w = iw, oc.mask = mask;
    sgm_operator *op = NULL;
    if (sgm_operator_create(&oc, &op, &e)) return fail("operator", &e);
    sgm_sampler_config cfg;
    sgm_sampler_config_default("ddpm", &cfg, &e);
    sgm_sampler *smp = NULL;
    if (sgm_sampler_create(&cfg, proc, (size_t)B, d, &smp, &e)) return fail("sampler", &e);
    sgm_denoiser den = sgm_model_denoiser(m);
    sgm_denoiser_grad gr = sgm_model_denoiser_grad(m);
    int classes = sgm_model_n_classes(m) > 0;
    sgm_cond_denoiser cond = sgm_model_cond_denoiser(m);
    sgm_cfg *cfgs[2] = {NULL, NULL};
    for (int k = 0; k < 2 && classes; k++) {
        sgm_cfg_config gc = sgm_cfg_config_default();
        gc.scale = 3;
        gc.batched = k == 0;
        if (sgm_cfg_create(&gc, &cond, labels, (size_t)B, &cfgs[k], &e)) return fail("cfg", &e);
    }
    clk best[NCONF];
    size_t nfe = 0, nvjp = 0;
    uint64_t hash = 0;
    for (int c = 0; c < NCONF; c++) best[c].wall = best[c].cpu = 1e300;
    /* one configuration after the other, each with its own warm-up run
       (rep 0): the oneDNN convolutions are re-planned when the batch
       changes (batched CFG evaluates 2B rows), which the warm-up absorbs */
    for (int c = 0; c < NCONF; c++) {
        if (c >= CFG_BATCHED && !classes) continue;
        for (int rep = 0; rep <= R; rep++) {
            sgm_rng rng = sgm_rng_init(1);
            sgm_rng_normal_rows_f64(1, 0, 0, (size_t)B, d, x);
            /* CFG leaves class labels on the model; the others want none */
            if (sgm_model_set_labels(m, NULL, 0, 0, &e)) return fail("labels", &e);
            clk t0 = now();
            if (c == UNGUIDED) {
                if (sgm_sampler_run(smp, sched, &den, &rng, 0, (size_t)B, x, &e))
                    return fail("run", &e);
            } else if (c == DPS) {
                sgm_posterior_config pc = sgm_posterior_config_default(SGM_POST_DPS);
                sgm_posterior_stats st = {0};
                if (sgm_posterior_run(&pc, &cfg, proc, sched, &den, &gr, op, y, &rng, 0,
                                      (size_t)B, x, &st, &e))
                    return fail("dps", &e);
                nfe = st.nfe, nvjp = st.nvjp;
            } else {
                sgm_denoiser g = sgm_cfg_denoiser(cfgs[c - CFG_BATCHED]);
                if (sgm_sampler_run(smp, sched, &g, &rng, 0, (size_t)B, x, &e))
                    return fail("cfg run", &e);
            }
            clk t1 = now();
            if (c == DPS) {
                hash = 1469598103934665603ull;
                const unsigned char *b = (const unsigned char *)x;
                for (size_t i = 0; i < (size_t)B * d * sizeof *x; i++)
                    hash = (hash ^ b[i]) * 1099511628211ull;
            }
            if (rep == 0) continue;
            if (t1.wall - t0.wall < best[c].wall) best[c].wall = t1.wall - t0.wall;
            if (t1.cpu - t0.cpu < best[c].cpu) best[c].cpu = t1.cpu - t0.cpu;
        }
    }
    printf("U-Net %dx%dx%d, batch %d, %d ddpm steps, best of %d runs; dps: NFE %zu, VJP %zu, "
           "result hash %016llx\n",
           ic, ih, iw, B, S, R, nfe, nvjp, (unsigned long long)hash);
    printf("%-16s %12s %12s %10s %10s\n", "", "wall s/step", "cpu s/step", "x wall", "x cpu");
    for (int c = 0; c < NCONF; c++) {
        if (c >= CFG_BATCHED && !classes) continue;
        printf("%-16s %12.4f %12.4f %10.2f %10.2f\n", names[c], best[c].wall / S,
               best[c].cpu / S, best[c].wall / best[UNGUIDED].wall,
               best[c].cpu / best[UNGUIDED].cpu);
    }
    for (int k = 0; k < 2; k++) sgm_cfg_free(cfgs[k]);
    sgm_sampler_free(smp);
    sgm_operator_free(op);
    sgm_schedule_free(sched);
    sgm_process_free(proc);
    sgm_model_free(m);
    free(mask), free(y), free(x), free(labels);
    return 0;
}
