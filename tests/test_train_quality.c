/* test_train_quality.c - issue 15, item 3: training with the library's
 * defaults (sgm_train_config_default, VP-linear, EDM preconditioning: the
 * parameterization sgm train gives the mlp) on two
 * members of the seeded test family of random mixtures (sgm_gmm_family:
 * seed 1, 2-D, 7 components with an overlapping pair and a far-out small
 * one; seed 2, 8-D, 3 components with an overlapping pair), sampling the
 * checkpoint along its recorded default path (sgm_ckpt_sample_default:
 * UniPC order 3, Karras, 20 steps, trained sigma range) and comparing with exact
 * draws: the mean exact log-density gap (true minus generated, nats) and the
 * component masses of the samples over those of the true draws (argmax
 * responsibility, so an overlapping pair is judged by the same classifier on
 * both sides). CI runs a shortened form: a smaller network (width 64, 2
 * blocks, embedding 32), batch 256, 3000 steps, 20,000 training rows, 4,000
 * draws; everything else is the default. SGM_TRAIN_FULL=1 runs the defaults
 * as they are (network, batch 1024, 6000 steps, 100,000 rows, 10,000 draws)
 * with the acceptance bounds of bench/train_quality.sh (not run by CTest).
 * The full ten-mixture table is docs/training-defaults.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sgm/sgm_ckpt.h"
#include "sgm/sgm_eval.h"
#include "sgm/sgm_model.h"
#include "sgm/sgm_train.h"
#include "test_util.h"

typedef struct quality {
    double gap, mlo, mhi;
} quality;

static quality run(uint64_t seed, size_t d, int full) {
    quality q = {NAN, NAN, NAN};
    const size_t n_data = full ? 100000 : 20000, n_draw = full ? 10000 : 4000;
    sgm_error e;
    sgm_gmm *g = NULL;
    CHECK(sgm_gmm_family(seed, d, &g, &e) == SGM_OK, "family: %s", e.msg);
    if (!g) return q;
    double *x = malloc(n_data * d * sizeof *x), *s = malloc(n_draw * d * sizeof *s);
    sgm_gmm_sample(g, 11, 0, 0, n_data, x);
    /* the defaults sgm train gives the mlp: EDM preconditioning, lr 2e-3 */
    sgm_train_config c = sgm_train_config_for(
        SGM_ARCH_MLP, SGM_PROCESS_VP_LINEAR,
        sgm_train_param_default(SGM_ARCH_MLP, SGM_PROCESS_VP_LINEAR));
    CHECK(c.param == SGM_PARAM_EDM && c.lr == 2e-3, "mlp defaults: param %d lr %g", (int)c.param,
          c.lr);
    c.seed = 1;
    if (!full) c.net.mlp.width = 64, c.net.mlp.n_blocks = 2, c.net.mlp.d_emb = 32, c.batch = 256;
    const long steps = full ? 6000 : 3000;
    sgm_trainer *t = NULL;
    CHECK(sgm_trainer_create(&c, x, n_data, d, &t, &e) == SGM_OK, "create: %s", e.msg);
    if (t) sgm_trainer_set_total(t, steps); /* the cosine decay ends with the run, as in sgm train */
    clock_t c0 = clock();
    double l = 0;
    int ok = t != NULL;
    for (long i = 0; ok && i < steps; i++) ok = sgm_trainer_step(t, &l, &e) == SGM_OK;
    CHECK(ok, "training steps: %s", e.msg);
    char ck[] = "/tmp/sgm_quality_XXXXXX";
    int fd = mkstemp(ck);
    CHECK(fd >= 0, "mkstemp");
    CHECK(t && sgm_trainer_save(t, ck, &e) == SGM_OK, "save");
    sgm_trainer_free(t);
    CHECK(sgm_ckpt_sample_default(ck, 0, n_draw, 5, s, &e) == SGM_OK, "sample: %s", e.msg);
    remove(ck);
    double *ref = malloc(n_draw * d * sizeof *ref);
    sgm_gmm_sample(g, 99, 0, 0, n_draw, ref);
    size_t k = sgm_gmm_components(g);
    double mass[8], mref[8];
    sgm_metric_result lm, lr;
    CHECK(sgm_metric_gmm_loglik(g, s, n_draw, &lm, &e) == SGM_OK, "loglik: %s", e.msg);
    CHECK(sgm_metric_gmm_loglik(g, ref, n_draw, &lr, &e) == SGM_OK, "loglik ref");
    CHECK(sgm_metric_gmm_mass(g, s, n_draw, mass, NULL, &e) == SGM_OK, "mass");
    CHECK(sgm_metric_gmm_mass(g, ref, n_draw, mref, NULL, &e) == SGM_OK, "mass ref");
    q.gap = lr.value - lm.value, q.mlo = 1e9, q.mhi = 0;
    for (size_t i = 0; i < k && i < 8; i++) {
        q.mlo = fmin(q.mlo, mass[i] / mref[i]);
        q.mhi = fmax(q.mhi, mass[i] / mref[i]);
    }
    fprintf(stderr,
            "mixture %llu (%zu-D, %zu components): %ld steps, loss %.4f, cpu %.1f s; "
            "gap %.4f nats (se %.3f), mass / true mass in [%.3f, %.3f]\n",
            (unsigned long long)seed, d, k, steps, l, (double)(clock() - c0) / CLOCKS_PER_SEC,
            q.gap, hypot(lm.se, lr.se), q.mlo, q.mhi);
    free(x), free(s), free(ref);
    sgm_gmm_free(g);
    return q;
}

int main(void) {
    const int full = getenv("SGM_TRAIN_FULL") && atoi(getenv("SGM_TRAIN_FULL"));
    static const struct {
        uint64_t seed;
        size_t d;
        double gap_max; /* shortened run: see below */
    } mix[2] = {{1, 2, 0.5}, {2, 8, 0.7}};
    for (int m = 0; m < 2; m++) {
        quality q = run(mix[m].seed, mix[m].d, full);
        if (full) {
            /* the acceptance bounds of issue 15 (item 1) */
            CHECK(fabs(q.gap) <= 0.10, "full: gap %.4f <= 0.10 nats", q.gap);
            CHECK(q.mlo >= 0.85 && q.mhi <= 1.15, "full: masses in [0.85, 1.15]");
        } else {
            /* shortened run (small network, 3000 steps at batch 256, about
               1/50 of the full run's compute; CPU per mixture: ~3 s in
               Release, ~1 min under ASan + UBSan). 3000 rather than 1500
               steps: the default cosine decay of the learning rate ends with
               the run, and 1500 steps of this network are too few for it
               (2-D gap 5.2 nats, masses [0.42, 1.7], against 0.8 at a
               constant rate; docs/training-defaults.md).
               Measured (EDM preconditioning, lr 2e-3, cosine decay to
               1e-5, UniPC-3 path): 2-D gap 0.18 nats, masses [0.93, 1.12];
               8-D gap 0.22 nats, masses [0.94, 1.05] (eps prediction at
               lr 1e-3, the default before: 0.16 and 1.00). The gap bounds
               (0.5 and 0.7 nats, ~3x the measured values, for other BLAS /
               SIMD paths; the se are 0.03 and 0.07) also catch a return to
               the 8-D error of eps prediction, and they still
               fail what this test guards: training without the EMA warm-up
               (measured with these settings: 1.74 and 1.33 nats; the
               average is mostly the early weights) and sampling over the
               untrained sigma range (eps prediction, the 8-D member at 3000
               steps: 4.7 nats instead of 0.93), or a
               blurred model (a spread 1.5x the component stds costs ~0.4
               nats per dimension: 0.8 nats in 2-D, 3.3 nats in 8-D). Masses: 4,000 draws
               give a binomial se of at most ~0.07x for the smallest
               component (weight 0.05; the reference as much again), so
               [0.6, 1.4] is ~4 se either side of 1. */
            CHECK(fabs(q.gap) <= mix[m].gap_max, "short run, mixture %d: gap %.4f <= %.2f nats",
                  m, q.gap, mix[m].gap_max);
            CHECK(q.mlo >= 0.6 && q.mhi <= 1.4, "short run, mixture %d: masses [%.3f, %.3f] in [0.6, 1.4]",
                  m, q.mlo, q.mhi);
        }
    }
    TEST_MAIN_END();
}
