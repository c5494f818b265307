/* test_mr_train.c - training a mean-reverting restoration model (IR-SDE of
 * Luo et al. 2023; sgm_train.h, cfg.degrade with SGM_PROCESS_MR): the
 * degradations of degrade.c (parsing and its errors, determinism, row
 * independence, each stage against its definition), the trainer's
 * refusals (MR without a degradation, a degradation without MR, a net
 * without condition inputs), the mlp with mu as extra features, bit-exact determinism and resume of a
 * tiny 8x8 U-Net, the checkpoint (condition width, the recorded process
 * parameters and degradation), the trained model as a denoiser with its
 * condition (refused without it; sgm_model_set_cond errors), and that after
 * 300 steps on 8x8 bar images the MR Sampler's restoration is closer to the
 * clean images than the degraded input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sgm.h"
#include "sgm/sgm_train.h"
#include "sgm/sgm_model.h"
#include "sgm/sgm_ckpt.h"
#include "test_unet_util.h"
#include "test_util.h"

#define NIMG 64
#define HW 8
#define D (HW * HW)
#define SPEC "blur:1,noise:0.1"

static sgm_train_config mr_config(void) {
    sgm_train_config c = tu_tiny_unet_config(SGM_PROCESS_MR, SGM_PARAM_EDM, HW, 0);
    c.net.unet.in_ch = 2, c.net.unet.out_ch = 1; /* [y_t, mu] in, y out */
    c.process.mr_lambda = 0.3;
    c.sigma_data = 0.5;
    snprintf(c.degrade, sizeof c.degrade, "%s", SPEC);
    c.degrade_seed = 5;
    return c;
}

static int same_floats(const float *a, const float *b, size_t n) {
    return memcmp(a, b, n * sizeof *a) == 0;
}

static double mse(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
    return s / (double)n;
}

static void test_degrade(const double *x) {
    sgm_error e = {0};
    CHECK(sgm_degrade_check(SPEC, 1, HW, HW, &e) == SGM_OK, "valid spec: %s", e.msg);
    CHECK(sgm_degrade_check("blur:1,sharpen:2", 1, HW, HW, &e) == SGM_ERR_UNKNOWN_NAME &&
              strstr(e.msg, "sharpen"),
          "unknown stage named: %s", e.msg);
    const char *bad[] = {"", "blur", "blur:0", "blur:x", "noise:-1", "mask:1", "down:1.5",
                         "blur:1,,noise:0.1", "noise:nan", "down:3"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(sgm_degrade_check(bad[i], 1, HW, HW, &e) == SGM_ERR_INVALID_ARG,
              "bad spec '%s' refused", bad[i]);
    CHECK(sgm_degrade_check("down:3", 0, 0, 0, &e) == SGM_OK, "shape checks only with a shape");

    static double y1[NIMG * D], y2[NIMG * D], y3[NIMG * D];
    /* deterministic, and a row's output does not depend on the rows beside it */
    sgm_degrade_apply("mask:0.3,noise:0.2", 1, HW, HW, NIMG, x, y1, 9, 0, &e);
    sgm_degrade_apply("mask:0.3,noise:0.2", 1, HW, HW, NIMG, x, y2, 9, 0, &e);
    for (int i = 0; i < NIMG; i++)
        sgm_degrade_apply("mask:0.3,noise:0.2", 1, HW, HW, 1, x + i * D, y3 + i * D, 9,
                          (uint64_t)i, &e);
    CHECK(memcmp(y1, y2, sizeof y1) == 0 && memcmp(y1, y3, sizeof y1) == 0,
          "deterministic and row-independent");
    /* noise:0 and mask:0 are the identity; noise:S adds S n with n ~ N(0, 1) */
    sgm_degrade_apply("noise:0,mask:0", 1, HW, HW, NIMG, x, y1, 9, 0, &e);
    CHECK(memcmp(y1, x, sizeof y1) == 0, "noise:0,mask:0 is the identity");
    sgm_degrade_apply("noise:0.5", 1, HW, HW, NIMG, x, y1, 9, 0, &e);
    double s2 = mse(y1, x, NIMG * D) / 0.25;
    /* 4096 normals: the variance estimate has SE sqrt(2/4096) = 0.022; 5 SE */
    CHECK(fabs(s2 - 1) < 0.11, "noise variance ratio %g", s2);
    /* mask:P zeroes a fraction ~P of the pixels (SE sqrt(.25/4096) = 0.008; 5 SE) */
    sgm_degrade_apply("mask:0.5", 1, HW, HW, NIMG, x, y1, 9, 0, &e);
    size_t zeros = 0;
    for (size_t i = 0; i < NIMG * D; i++) zeros += y1[i] == 0;
    CHECK(fabs((double)zeros / (NIMG * D) - 0.5) < 0.04, "mask fraction %zu", zeros);
    /* down:2 keeps each 2x2 block's mean and makes the block constant */
    sgm_degrade_apply("down:2", 1, HW, HW, 1, x + 3 * D, y1, 0, 0, &e);
    int okb = 1;
    for (int i = 0; i < HW; i += 2)
        for (int j = 0; j < HW; j += 2) {
            const double *a = x + 3 * D;
            double m = (a[i * HW + j] + a[i * HW + j + 1] + a[(i + 1) * HW + j] +
                        a[(i + 1) * HW + j + 1]) / 4;
            for (int u = 0; u < 2; u++)
                for (int v = 0; v < 2; v++) okb &= fabs(y1[(i + u) * HW + j + v] - m) < 1e-12;
        }
    CHECK(okb, "down:2 is the block mean");
    /* blur:S is the blur operator of sgm_guidance.h */
    sgm_operator_config oc = sgm_operator_config_default(SGM_OP_BLUR);
    oc.c = 1, oc.h = HW, oc.w = HW, oc.blur_sigma = 1.3;
    sgm_operator *op = NULL;
    sgm_operator_create(&oc, &op, &e);
    sgm_operator_forward(op, 2, x, y2, &e);
    sgm_operator_free(op);
    sgm_degrade_apply("blur:1.3", 1, HW, HW, 2, x, y1, 0, 0, &e);
    CHECK(memcmp(y1, y2, 2 * D * sizeof *y1) == 0, "blur:1.3 is the blur operator");
}

static void test_refusals(const double *x) {
    sgm_error e = {0};
    sgm_trainer *t = NULL;
    sgm_train_config c = mr_config();
    c.degrade[0] = 0;
    CHECK(sgm_trainer_create(&c, x, NIMG, D, &t, &e) == SGM_ERR_INVALID_ARG && !t,
          "MR without a degradation: %s", e.msg);
    c = tu_tiny_unet_config(SGM_PROCESS_VP_LINEAR, SGM_PARAM_EPS, HW, 0);
    snprintf(c.degrade, sizeof c.degrade, "%s", SPEC);
    CHECK(sgm_trainer_create(&c, x, NIMG, D, &t, &e) == SGM_ERR_INVALID_ARG && !t,
          "a degradation without MR: %s", e.msg);
    c = mr_config();
    c.net.arch = SGM_ARCH_MLP; /* d_cond 0: no place for mu */
    CHECK(sgm_trainer_create(&c, x, NIMG, D, &t, &e) == SGM_ERR_INVALID_ARG && !t,
          "MR mlp without condition features: %s", e.msg);
    c = mr_config();
    c.net.unet.in_ch = 1, c.net.unet.out_ch = 0;
    CHECK(sgm_trainer_create(&c, x, NIMG, D, &t, &e) == SGM_ERR_INVALID_ARG && !t,
          "MR U-Net without condition channels: %s", e.msg);
    c = mr_config();
    snprintf(c.degrade, sizeof c.degrade, "down:3");
    CHECK(sgm_trainer_create(&c, x, NIMG, D, &t, &e) == SGM_ERR_INVALID_ARG && !t,
          "down:3 on 8x8 images: %s", e.msg);
}

static sgm_trainer *train(const double *x, int steps, sgm_error *e) {
    sgm_train_config c = mr_config();
    sgm_trainer *t = NULL;
    if (sgm_trainer_create(&c, x, NIMG, D, &t, e) != SGM_OK) return NULL;
    for (int s = 0; s < steps; s++) {
        double loss;
        if (sgm_trainer_step(t, &loss, e) != SGM_OK || !isfinite(loss)) {
            sgm_trainer_free(t);
            return NULL;
        }
    }
    return t;
}

/* the mlp with mu as d_cond extra input features: rows of D values
   (degraded as 1 x 1 x D), finite steps, two runs bit-identical, and the
   checkpoint serves a model with the condition width */
static void test_mlp(const double *x, const char *path) {
    sgm_error e = {0};
    sgm_trainer *t[2] = {NULL, NULL};
    for (int r = 0; r < 2; r++) {
        sgm_train_config c = mr_config();
        c.net = sgm_net_config_default(SGM_ARCH_MLP);
        c.net.mlp.width = 32, c.net.mlp.n_blocks = 1, c.net.mlp.d_emb = 16;
        c.net.mlp.d_cond = D;
        CHECK(sgm_trainer_create(&c, x, NIMG, D, &t[r], &e) == SGM_OK, "MR mlp: %s", e.msg);
        double loss = NAN;
        for (int s = 0; t[r] && s < 5; s++) sgm_trainer_step(t[r], &loss, &e);
        CHECK(isfinite(loss), "MR mlp loss %g", loss);
    }
    if (!t[0] || !t[1]) return;
    sgm_net *n0 = sgm_trainer_net(t[0]);
    CHECK(sgm_net_cond_dim(n0) == D && same_floats(sgm_net_params(n0),
                                                   sgm_net_params(sgm_trainer_net(t[1])),
                                                   sgm_net_n_params(n0)),
          "MR mlp: condition width %d, two runs bit-identical", sgm_net_cond_dim(n0));
    CHECK(sgm_trainer_save(t[0], path, &e) == SGM_OK, "save: %s", e.msg);
    sgm_model *m = NULL;
    CHECK(sgm_model_load(path, 1, 0, &m, &e) == SGM_OK && sgm_model_cond_dim(m) == D,
          "MR mlp model: %s", e.msg);
    sgm_model_free(m);
    sgm_trainer_free(t[0]), sgm_trainer_free(t[1]);
}

int main(void) {
    static double x[NIMG * D];
    static int labels[NIMG];
    tu_bar_images(x, labels, NIMG, HW);
    test_degrade(x);
    test_refusals(x);

    char dir[] = "/tmp/sgm_mrtrain_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char pa[256], pb[256];
    snprintf(pa, sizeof pa, "%s/a.safetensors", dir);
    snprintf(pb, sizeof pb, "%s/b.safetensors", dir);
    sgm_error e = {0};
    test_mlp(x, pa);

    /* determinism: two runs agree bit for bit; 4 + resume 2 = 6 straight */
    sgm_trainer *t1 = train(x, 6, &e), *t2 = train(x, 4, &e);
    CHECK(t1 && t2, "MR trainer runs: %s", e.msg);
    if (!t1 || !t2) TEST_MAIN_END();
    CHECK(sgm_trainer_save(t2, pa, &e) == SGM_OK, "save: %s", e.msg);
    sgm_trainer *t3 = NULL;
    CHECK(sgm_trainer_resume(pa, x, NIMG, D, &t3, &e) == SGM_OK, "resume: %s", e.msg);
    double loss;
    for (int s = 0; t3 && s < 2; s++) sgm_trainer_step(t3, &loss, &e);
    sgm_trainer *t4 = train(x, 6, &e);
    size_t np = sgm_net_n_params(sgm_trainer_net(t1));
    CHECK(t3 && t4 && same_floats(sgm_net_params(sgm_trainer_net(t1)),
                                  sgm_net_params(sgm_trainer_net(t4)), np),
          "two runs are bit-identical");
    CHECK(t3 && same_floats(sgm_net_params(sgm_trainer_net(t1)),
                            sgm_net_params(sgm_trainer_net(t3)), np),
          "resume continues bit for bit");
    CHECK(sgm_net_cond_dim(sgm_trainer_net(t1)) == D && sgm_net_dim(sgm_trainer_net(t1)) == D,
          "the net takes mu as %d condition columns", sgm_net_cond_dim(sgm_trainer_net(t1)));
    sgm_trainer_free(t1), sgm_trainer_free(t2), sgm_trainer_free(t3), sgm_trainer_free(t4);

    /* the checkpoint records the process and the degradation */
    sgm_ckpt_info info;
    CHECK(sgm_ckpt_read_info(pa, &info, &e) == SGM_OK && info.train.process.kind == SGM_PROCESS_MR &&
              info.train.process.mr_lambda == 0.3 && info.train.process.mr_alpha_T == 0.005 &&
              strcmp(info.train.degrade, SPEC) == 0 && info.train.degrade_seed == 5 &&
              info.train.net.unet.in_ch == 2 && info.train.net.unet.out_ch == 1 &&
              strcmp(info.sampling.sampler, "mrs_ode") == 0,
          "checkpoint metadata: %s", e.msg);

    /* a model trained 300 steps restores the bars better than mu */
    sgm_trainer *tq = train(x, 300, &e);
    CHECK(tq != NULL, "300 steps: %s", e.msg);
    if (tq) CHECK(sgm_trainer_save(tq, pb, &e) == SGM_OK, "save: %s", e.msg);
    sgm_trainer_free(tq);
    sgm_model *m = NULL;
    CHECK(sgm_model_load(pb, 1, 0, &m, &e) == SGM_OK, "load: %s", e.msg);
    if (!m) TEST_MAIN_END();
    CHECK(sgm_model_cond_dim(m) == D, "model condition width %zu", sgm_model_cond_dim(m));
    static double mu[NIMG * D], y[NIMG * D];
    sgm_degrade_apply(SPEC, 1, HW, HW, NIMG, x, mu, 1234, 0, &e); /* other noise than training */
    sgm_process *proc = NULL;
    sgm_process_create(sgm_model_process_config(m), &proc, &e);
    sgm_schedule_config scc = sgm_schedule_config_default(SGM_SCHEDULE_LOGSNR);
    scc.steps = 20;
    sgm_schedule *sch = NULL;
    CHECK(sgm_schedule_create(&scc, proc, &sch, &e) == SGM_OK, "schedule: %s", e.msg);
    sgm_sampler_config sc;
    sgm_sampler_config_default("mrs_ode", &sc, &e);
    sgm_sampler *smp = NULL;
    CHECK(sgm_sampler_create(&sc, proc, NIMG, D, &smp, &e) == SGM_OK, "sampler: %s", e.msg);
    double s0 = sgm_process_sigma(proc, sch->t[0]);
    sgm_rng_normal_rows_f64(3, 0, 0, NIMG, D, y);
    for (size_t i = 0; i < NIMG * D; i++) y[i] *= s0; /* y_T = x_T - mu = sigma n */
    sgm_denoiser den = sgm_model_denoiser(m);
    sgm_rng rng = sgm_rng_init(3);
    CHECK(sgm_sampler_run(smp, sch, &den, &rng, 0, NIMG, y, &e) != SGM_OK,
          "no condition set: the denoiser fails");
    CHECK(sgm_model_set_cond(m, mu, 0, &e) == SGM_ERR_INVALID_ARG, "zero condition rows");
    mu[7] = NAN;
    CHECK(sgm_model_set_cond(m, mu, NIMG, &e) == SGM_ERR_INVALID_ARG, "non-finite mu refused");
    sgm_degrade_apply(SPEC, 1, HW, HW, NIMG, x, mu, 1234, 0, &e);
    CHECK(sgm_model_set_cond(m, mu, NIMG, &e) == SGM_OK, "set_cond: %s", e.msg);
    sgm_rng_normal_rows_f64(3, 0, 0, NIMG, D, y);
    for (size_t i = 0; i < NIMG * D; i++) y[i] *= s0;
    rng = sgm_rng_init(3);
    CHECK(sgm_sampler_run(smp, sch, &den, &rng, 0, NIMG, y, &e) == SGM_OK, "restore: %s", e.msg);
    for (size_t i = 0; i < NIMG * D; i++) y[i] += mu[i]; /* x_0 = y_0 + mu */
    double e_mu = mse(mu, x, NIMG * D), e_r = mse(y, x, NIMG * D);
    printf("MSE degraded %.4f, restored %.4f\n", e_mu, e_r);
    CHECK(isfinite(e_r) && e_r < 0.5 * e_mu, "restoration MSE %g vs degraded %g", e_r, e_mu);
    sgm_sampler_free(smp);
    sgm_schedule_free(sch);
    sgm_process_free(proc);
    sgm_model_free(m);
    remove(pa), remove(pb), rmdir(dir);
    TEST_MAIN_END();
}
