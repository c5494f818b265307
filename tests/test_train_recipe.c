/* test_train_recipe.c - acceptance item 2 of issue 3 in a shortened form (the
 * documented recipe on its own data; kept when issue 15 turned
 * test_train_quality.c into the mixture-family test): train the mlp (eps
 * prediction, VP-linear process) on exact samples of the 8-component 2-D
 * mixture tests/data/models/gmm2d.json, draw samples with
 * dpmpp_2m at 20 steps (Karras schedule) through the network denoiser loaded
 * back from the checkpoint, and compare the mean exact log-density with that
 * of true samples and the per-component masses with the true weights.
 * SGM_TRAIN_FULL=1 runs the full recipe (100,000 training samples, width 256,
 * 4 blocks, batch 1024, 8000 steps, log-normal P_std 1.6; 10,000 draws) with
 * the acceptance bounds (not run by CTest: about 500 s of CPU on 2 cores).
 * Measured: gap 0.085 nats, component masses in [0.934, 1.066]x. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sgm/sgm_eval.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_model.h"
#include "sgm/sgm_train.h"
#include "sgm/sgm_data.h"
#include "sgm/sgm_ckpt.h"
#include "test_util.h"

int main(void) {
    const int full = getenv("SGM_TRAIN_FULL") && atoi(getenv("SGM_TRAIN_FULL"));
    const size_t n_data = full ? 100000 : 20000, n_draw = full ? 10000 : 4000;
    const int steps = getenv("SGM_TRAIN_STEPS") ? atoi(getenv("SGM_TRAIN_STEPS"))
                      : full                    ? 8000
                                                : 2500;
    char gp[512];
    sgm_error e;
    sgm_gmm *g = NULL;
    CHECK(sgm_gmm_load(tu_src("tests/data/models/gmm2d.json", gp, sizeof gp), &g, &e) == SGM_OK,
          "gmm: %s", e.msg);
    if (!g) TEST_MAIN_END();
    double *x = malloc(n_data * 2 * sizeof *x);
    sgm_gmm_sample(g, 11, 0, 0, n_data, x);

    sgm_train_config c = sgm_train_config_default(SGM_PROCESS_VP_LINEAR, SGM_PARAM_EPS);
    c.net.mlp.width = full ? 256 : 128, c.net.mlp.n_blocks = full ? 4 : 2, c.net.mlp.d_emb = full ? 128 : 64;
    c.batch = full ? 1024 : 512, c.lr = 2e-3, c.warmup = 50, c.seed = 1;
    c.lr_min = 1e-4, c.lr_total = steps;
    c.ema = full ? 0.999 : 0.99; /* a short run needs a short EMA horizon */
    /* a wider log-normal than EDM's 1.2: the mode weights are decided at
       s ~ 1-4 (standardized units), which a short run must also learn;
       measured (short run): p_std 1.2 -> masses in [0.52, 1.59]x, 2.0 ->
       [0.86, 1.11]x. Full recipe, 6000 steps: p_std 1.2 -> gap -0.05 nats but
       masses [0.81, 1.27]x; 2.0 -> masses [0.93, 1.05]x but gap 0.25 nats;
       8000 steps at 1.6 -> gap 0.085 nats, masses [0.934, 1.066]x (passes). */
    c.p_std = full ? 1.6 : 2.0;
    if (getenv("SGM_TRAIN_PMEAN")) c.p_mean = atof(getenv("SGM_TRAIN_PMEAN"));
    if (getenv("SGM_TRAIN_PSTD")) c.p_std = atof(getenv("SGM_TRAIN_PSTD"));
    sgm_trainer *t = NULL;
    CHECK(sgm_trainer_create(&c, x, n_data, 2, &t, &e) == SGM_OK, "create: %s", e.msg);
    clock_t c0 = clock();
    double l = 0;
    for (int i = 0; t && i < steps; i++) CHECK(sgm_trainer_step(t, &l, &e) == SGM_OK || 0, "step");
    char ck[] = "/tmp/sgm_quality_XXXXXX";
    int fd = mkstemp(ck);
    CHECK(fd >= 0, "mkstemp");
    CHECK(t && sgm_trainer_save(t, ck, &e) == SGM_OK, "save");
    fprintf(stderr, "trained %d steps, last loss %.4f, ema loss %.4f, cpu %.1f s\n", steps, l,
            t ? sgm_trainer_ema_loss(t) : NAN, (double)(clock() - c0) / CLOCKS_PER_SEC);
    sgm_trainer_free(t);

    sgm_model *net = NULL;
    CHECK(sgm_model_load(ck, 1, 0, &net, &e) == SGM_OK, "net: %s", e.msg);
    remove(ck);
    if (!net) TEST_MAIN_END();
    sgm_process *proc = NULL;
    sgm_schedule *sched = NULL;
    sgm_sampler *smp = NULL;
    sgm_sampler_config sc;
    CHECK(sgm_process_create(sgm_model_process_config(net), &proc, &e) == SGM_OK, "process");
    sgm_schedule_config shc = sgm_schedule_config_default(SGM_SCHEDULE_KARRAS);
    shc.steps = 20;
    CHECK(sgm_schedule_create(&shc, proc, &sched, &e) == SGM_OK, "schedule: %s", e.msg);
    CHECK(sgm_sampler_config_default("dpmpp_2m", &sc, &e) == SGM_OK, "config");
    CHECK(sgm_sampler_create(&sc, proc, n_draw, 2, &smp, &e) == SGM_OK, "sampler: %s", e.msg);
    double *s = malloc(n_draw * 2 * sizeof *s);
    sgm_rng_normal_rows_f64(5, 0, 0, n_draw, 2, s);
    double std0 = sgm_process_sigma(proc, sched->t[0]);
    for (size_t i = 0; i < n_draw * 2; i++) s[i] *= std0;
    sgm_denoiser den = sgm_model_denoiser(net);
    sgm_rng rng = {5, 1};
    CHECK(sgm_sampler_run(smp, sched, &den, &rng, 0, n_draw, s, &e) == SGM_OK, "run: %s", e.msg);
    sgm_model_unstandardize(net, n_draw, SGM_F64, s);
    if (getenv("SGM_TRAIN_DUMP")) { /* samples for inspection */
        size_t shp[2] = {n_draw, 2};
        sgm_npy_save(getenv("SGM_TRAIN_DUMP"), 2, shp, s, 0, &e);
    }

    double *ref = malloc(n_draw * 2 * sizeof *ref);
    sgm_gmm_sample(g, 99, 0, 0, n_draw, ref);
    sgm_metric_result lm, lr;
    CHECK(sgm_metric_gmm_loglik(g, s, n_draw, &lm, &e) == SGM_OK, "loglik: %s", e.msg);
    CHECK(sgm_metric_gmm_loglik(g, ref, n_draw, &lr, &e) == SGM_OK, "loglik ref");
    double mass[8], se[8];
    CHECK(sgm_metric_gmm_mass(g, s, n_draw, mass, se, &e) == SGM_OK, "mass");
    double dl = lr.value - lm.value, mlo = 1e9, mhi = 0;
    for (int k = 0; k < 8; k++) {
        double r = mass[k] / sgm_gmm_weights(g)[k];
        mlo = fmin(mlo, r), mhi = fmax(mhi, r);
    }
    fprintf(stderr,
            "mean log p: samples %.4f (se %.4f), true %.4f (se %.4f), gap %.4f nats; "
            "mass / weight in [%.3f, %.3f]\n",
            lm.value, lm.se, lr.value, lr.se, dl, mlo, mhi);
    if (full) {
        /* the acceptance bounds of issue 3, item 2 */
        CHECK(fabs(dl) <= 0.15, "full recipe: log-density gap %.4f <= 0.15 nats", dl);
        CHECK(mlo >= 0.8 && mhi <= 1.2, "full recipe: masses in [0.8, 1.2]x");
    } else {
        /* shortened CI run (2500 steps, width 128, 2 blocks, log-normal
           noise levels): the gap bound is looser than the acceptance's 0.15
           because the net is smaller and trained several times shorter (the
           measured gap is 0.53 nats); 0.8 nats still fails for a blurred
           or mode-dropping model (uniform-t training at 500 steps gives
           ~20 nats; a sample spread of 2x the component std costs ~1.5 nats).
           Masses: 4,000 draws give a binomial se of about 0.042x per
           component, the band [0.7, 1.3] is ~7 se wide on either side of 1. */
        CHECK(fabs(dl) <= 0.8, "short run: log-density gap %.4f <= 0.8 nats", dl);
        CHECK(mlo >= 0.7 && mhi <= 1.3, "short run: masses in [0.7, 1.3]x (got [%.3f, %.3f])",
              mlo, mhi);
    }
    free(s), free(ref), free(x);
    sgm_sampler_free(smp);
    sgm_schedule_free(sched);
    sgm_process_free(proc);
    sgm_model_free(net);
    sgm_gmm_free(g);
    TEST_MAIN_END();
}
