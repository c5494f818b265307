/* test_unet_nll.c - likelihood of a U-Net checkpoint (sgm_model_denoiser_grad
 * on arch unet, src/model/net_grad.c) with a tiny class-conditional U-Net on
 * 1 x 8 x 8 images (base 8, mult 1,2, attention at level 1 and in the
 * middle, 1 res block, 4 groups):
 *  - the input VJP against central differences of the denoiser itself,
 *    along random directions, for EDM (VP linear, trained a few steps on
 *    bar images) and eps (VP cosine, untrained, unconditional), with the
 *    net loaded at max_batch 2 so that the 3-row queries are chunked; its
 *    output equals the denoiser's;
 *  - exact-divergence (d = 64 VJPs per evaluation) and Hutchinson
 *    log-likelihoods of the same rows agree within 3 paired standard errors;
 *  - class labels or classifier-free guidance on the net: the VJP refuses
 *    (sgm_nll fails, sgm_model_density_check says why); null labels and a
 *    cleared net work again. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sgm/sgm_likelihood.h"
#include "sgm/sgm_model.h"
#include "sgm/sgm_train.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_data.h"
#include "sgm/sgm_ckpt.h"
#include "test_unet_util.h"
#include "test_util.h"

#define NIMG 32
#define HW 8
#define D (HW * HW)

static int make_ckpt(const char *path, sgm_process_kind pk, sgm_param par, int classes,
                     int steps, const double *x, const int *labels) {
    sgm_train_config c = tu_tiny_unet_config(pk, par, HW, classes);
    sgm_error e = {0};
    sgm_trainer *t = NULL;
    if (sgm_trainer_create(&c, x, NIMG, D, &t, &e) != SGM_OK) {
        fprintf(stderr, "create: %s\n", e.msg);
        return -1;
    }
    int rc = 0;
    if (classes > 0 && sgm_trainer_set_labels(t, labels, NIMG, &e) != SGM_OK) rc = -1;
    double l;
    for (int s = 0; s < steps && rc == 0; s++)
        if (sgm_trainer_step(t, &l, &e) != SGM_OK) rc = -1;
    if (rc == 0 && sgm_trainer_save(t, path, &e) != SGM_OK) rc = -1;
    if (rc) fprintf(stderr, "checkpoint: %s\n", e.msg);
    sgm_trainer_free(t);
    return rc;
}

/* u^T (v^T dm/dx) against v^T (m(x + h u) - m(x - h u)) / 2h per row */
static void check_vjp(const char *tag, const char *path) {
    sgm_error e = {0};
    sgm_model *net = NULL;
    CHECK(sgm_model_load(path, 1, 2, &net, &e) == SGM_OK, "%s: load: %s", tag, e.msg);
    if (!net) return;
    sgm_process *proc = NULL;
    CHECK(sgm_process_create(sgm_model_process_config(net), &proc, &e) == SGM_OK, "process");
    if (!proc) {
        sgm_model_free(net);
        return;
    }
    sgm_denoiser den = sgm_model_denoiser(net);
    sgm_denoiser_grad gr = sgm_model_denoiser_grad(net);
    enum { N = 3 };
    const double ts[3] = {0.02, 0.3, 0.8};
    double worst = 0;
    for (int it = 0; it < 3; it++) {
        double t = ts[it] * sgm_process_t_max(proc);
        static double x[N * D], v[N * D], u[N * D], out[N * D], vj[N * D], ref[N * D];
        static double xp[N * D], xm[N * D], op[N * D], om[N * D];
        sgm_rng_normal_rows_f64(7, (uint64_t)it, 0, N, D, x);
        sgm_rng_normal_rows_f64(8, (uint64_t)it, 0, N, D, v);
        sgm_rng_normal_rows_f64(9, (uint64_t)it, 0, N, D, u);
        sgm_eval q;
        memset(&q, 0, sizeof q);
        q.n = N, q.d = D, q.dtype = SGM_F64, q.t = t;
        q.alpha = sgm_process_alpha(proc, t), q.sigma = sgm_process_sigma(proc, t);
        const double s = sqrt(q.alpha * q.alpha + q.sigma * q.sigma);
        for (int i = 0; i < N * D; i++) x[i] *= s;
        q.x = x;
        CHECK(gr.vjp(&q, v, out, vj, gr.user_data) == 0, "%s: vjp call", tag);
        CHECK(den.fn(&q, ref, den.user_data) == 0, "%s: denoiser call", tag);
        /* same float32 network and inputs; only the EDM skip term is added
           in double here and in double there, so equal to rounding */
        for (int i = 0; i < N * D; i++) CHECK_CLOSE(out[i], ref[i], 1e-6, 1e-6, "vjp output");
        /* h = 1e-2 (times the data scale s) along a unit-variance direction
           of 64 coordinates (|u| ~ 8): the float32 network's outputs carry
           ~1e-6 absolute rounding (GroupNorm, softmax sums), which over 2h
           and the 64-term sum with v gives ~1e-3 error in the difference
           quotient; the O(h^2) truncation of the smooth SiLU / softmax
           network is of the same order. The directional derivative itself
           is O(1-10), and a wrong coefficient (c_in, c_out, c_skip / alpha,
           O(0.1-10)) or a dropped term moves it by O(1): 1e-2 absolute +
           1e-2 relative separates (measured worst scaled error printed) */
        const double h = 1e-2 * s;
        for (int i = 0; i < N * D; i++) xp[i] = x[i] + h * u[i], xm[i] = x[i] - h * u[i];
        q.x = xp;
        CHECK(den.fn(&q, op, den.user_data) == 0, "denoiser +h");
        q.x = xm;
        CHECK(den.fn(&q, om, den.user_data) == 0, "denoiser -h");
        for (int r = 0; r < N; r++) {
            double fd = 0, g = 0;
            for (int i = 0; i < D; i++) {
                fd += v[r * D + i] * (op[r * D + i] - om[r * D + i]) / (2 * h);
                g += u[r * D + i] * vj[r * D + i];
            }
            worst = fmax(worst, fabs(g - fd) / (1 + fabs(fd)));
            CHECK_CLOSE(g, fd, 1e-2, 1e-2, "vjp vs central difference");
        }
    }
    printf("%s: vjp vs central differences, worst scaled error %.2e\n", tag, worst);
    sgm_process_free(proc);
    sgm_model_free(net);
}

int main(void) {
    static double data[NIMG * D];
    static int labels[NIMG];
    tu_bar_images(data, labels, NIMG, HW);
    char pa[256], pb[256];
    snprintf(pa, sizeof pa, "/tmp/sgm_unet_nll_%ld_a.safetensors", (long)getpid());
    snprintf(pb, sizeof pb, "/tmp/sgm_unet_nll_%ld_b.safetensors", (long)getpid());
    CHECK(make_ckpt(pa, SGM_PROCESS_VP_LINEAR, SGM_PARAM_EDM, 2, 30, data, labels) == 0,
          "edm checkpoint");
    CHECK(make_ckpt(pb, SGM_PROCESS_VP_COSINE, SGM_PARAM_EPS, 0, 0, data, labels) == 0,
          "eps checkpoint");

    /* 1. the VJP */
    check_vjp("edm, class-conditional, 30 steps", pa);
    check_vjp("eps, unconditional, untrained", pb);
    remove(pb);

    /* 2. exact vs Hutchinson */
    sgm_error e = {0};
    sgm_model *net = NULL;
    CHECK(sgm_model_load(pa, 1, 0, &net, &e) == SGM_OK, "load: %s", e.msg);
    remove(pa);
    if (!net) TEST_MAIN_END();
    sgm_process *proc = NULL;
    CHECK(sgm_process_create(sgm_model_process_config(net), &proc, &e) == SGM_OK, "process");
    if (!proc) {
        sgm_model_free(net);
        TEST_MAIN_END();
    }
    CHECK(sgm_model_density_check(net, &e) == SGM_OK, "fresh net: %s", e.msg);
    CHECK(sgm_model_log_std_sum(net) == 0, "images are not standardized (std 1)");
    enum { N = 5 };
    static double x[N * D], le[N], lh[N];
    /* bar images (every other row a class) plus a little noise */
    sgm_rng_normal_rows_f64(31, 0, 0, N, D, x);
    for (int i = 0; i < N * D; i++) x[i] = data[i] + 0.05 * x[i];
    sgm_denoiser den = sgm_model_denoiser(net);
    sgm_denoiser_grad gr = sgm_model_denoiser_grad(net);
    sgm_nll_config cfg = sgm_nll_config_default();
    cfg.rtol = cfg.atol = 1e-3; /* both estimates share the solver: its error cancels */
    CHECK(sgm_nll(&cfg, proc, &den, &gr, 0, N, D, x, le, NULL, NULL, &e) == SGM_OK, "exact: %s",
          e.msg);
    cfg.divergence = SGM_DIV_HUTCHINSON;
    cfg.n_probes = 4;
    cfg.seed = 5;
    CHECK(sgm_nll(&cfg, proc, &den, &gr, 0, N, D, x, lh, NULL, NULL, &e) == SGM_OK,
          "hutchinson: %s", e.msg);
    double me = 0, mh = 0, md = 0, vd = 0;
    for (int i = 0; i < N; i++) {
        CHECK(isfinite(le[i]) && isfinite(lh[i]), "row %d: finite log-likelihoods", i);
        me += le[i] / N, mh += lh[i] / N, md += (lh[i] - le[i]) / N;
    }
    for (int i = 0; i < N; i++) vd += (lh[i] - le[i] - md) * (lh[i] - le[i] - md);
    const double se = sqrt(vd / (N - 1) / N);
    printf("tiny U-Net, %d images: exact %.4f, hutchinson %.4f nats (paired diff %.4f, se %.4f)\n",
           N, me, mh, md, se);
    /* the two estimators of the same quantity agree within 3 standard errors
       of their paired difference (Hutchinson noise; the solver error is
       common to both) */
    CHECK(fabs(md) <= 3 * se, "hutchinson - exact %.4f vs 3 se %.4f", md, 3 * se);
    CHECK(se > 0, "the Hutchinson estimate is noisy (se %g)", se);

    /* 3. labels / guidance: refused, with the reason */
    const int one = 1, nul = SGM_UNET_NULL_LABEL;
    double l1;
    cfg.divergence = SGM_DIV_EXACT;
    CHECK(sgm_model_set_labels(net, NULL, 0, 2.0, &e) == SGM_OK, "set guidance");
    CHECK(sgm_model_density_check(net, &e) == SGM_ERR_UNSUPPORTED && strstr(e.msg, "guidance"),
          "guidance: %s", e.msg);
    CHECK(sgm_nll(&cfg, proc, &den, &gr, 0, 1, D, x, &l1, NULL, NULL, &e) == SGM_ERR_CALLBACK &&
              strstr(e.msg, "code 4"),
          "nll with guidance refused: %s", e.msg);
    CHECK(sgm_model_set_labels(net, &one, 1, 0, &e) == SGM_OK, "set label");
    CHECK(sgm_model_density_check(net, &e) == SGM_ERR_UNSUPPORTED && strstr(e.msg, "labels"),
          "labels: %s", e.msg);
    CHECK(sgm_nll(&cfg, proc, &den, &gr, 0, 1, D, x, &l1, NULL, NULL, &e) == SGM_ERR_CALLBACK,
          "nll with a class label refused");
    CHECK(sgm_model_set_labels(net, &nul, 1, 0, &e) == SGM_OK, "null label");
    CHECK(sgm_model_density_check(net, &e) == SGM_OK, "null label is unconditional: %s", e.msg);
    CHECK(sgm_model_set_labels(net, NULL, 0, 0, &e) == SGM_OK, "clear");
    cfg.divergence = SGM_DIV_HUTCHINSON; /* the cheaper solve; probes seeded per row */
    CHECK(sgm_nll(&cfg, proc, &den, &gr, 0, 1, D, x, &l1, NULL, NULL, &e) == SGM_OK,
          "cleared: %s", e.msg);
    /* the same solve as row 0 of the Hutchinson run above (same seed, row) */
    CHECK_CLOSE(l1, lh[0], 1e-9, 1e-9, "cleared net gives the same nll");

    sgm_process_free(proc);
    sgm_model_free(net);
    TEST_MAIN_END();
}
