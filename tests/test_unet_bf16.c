/* test_unet_bf16.c - bf16 mixed precision of the NN engine (sgm_nn.h
 * sgm_nn_precision, sgm_unet_set_precision, sgm_net_set_precision, the
 * trainer's precision field):
 *  - one bf16 convolution equals the fp32 convolution of bf16-rounded
 *    operands up to fp32 summation order (the semantics: operands rounded
 *    to nearest even, exact products, fp32 accumulation);
 *  - the bf16 forward of a small U-Net against fp32 within a tolerance
 *    derived from bf16's 8-bit significand and the network's depth;
 *  - bitwise determinism: bf16 forwards (with a batch change in between)
 *    and three bf16 training steps, run twice, give the same bits;
 *  - the fallback: no_bf16 (the injected "CPU without bf16") resolves to
 *    fp32 with SGM_OK, the net reports fp32 and computes fp32's bits; a
 *    GEMM-backend U-Net refuses bf16 and keeps fp32.
 * The bf16 parts need a CPU with AVX512-BF16 and oneDNN; elsewhere they
 * are skipped (said on stdout) and the fallback parts still run. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgm/sgm_net.h"
#include "sgm/sgm_nn.h"
#include "sgm/sgm_train.h"
#include "sgm/sgm_unet.h"
#include "test_unet_util.h"
#include "test_util.h"

/* bf16 round to nearest even of a finite float, back as a float */
static float to_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    u = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
    memcpy(&x, &u, 4);
    return x;
}

static sgm_unet_config small_cfg(void) {
    sgm_unet_config c = sgm_unet_config_default();
    c.in_ch = 1, c.out_ch = 0, c.height = 16, c.width = 16;
    c.base_ch = 16, c.n_levels = 2;
    c.mult[0] = 1, c.mult[1] = 2;
    c.attn[0] = 0, c.attn[1] = 1;
    c.mid_attn = 1, c.n_res = 1, c.groups = 4, c.heads = 2, c.emb_dim = 64;
    return c;
}

/* one 3x3 conv: bf16 plan vs GEMM fp32 plan on bf16-rounded operands */
static void test_conv_semantics(void) {
    sgm_nn_conv2d_dims d = {4, 16, 12, 12, 24, 3, 1, 1};
    size_t ni = (size_t)d.N * 16 * 144, nw = 24 * 16 * 9, no = (size_t)d.N * 24 * 144;
    float *x = tu_falloc(ni), *w = tu_falloc(nw), *b = tu_falloc(24), *xr = tu_falloc(ni),
          *wr = tu_falloc(nw), *y = tu_falloc(no), *yr = tu_falloc(no);
    sgm_nn_fill_normal(x, ni, 1.0f, 3, 0);
    sgm_nn_fill_normal(w, nw, 0.1f, 3, 1);
    sgm_nn_fill_normal(b, 24, 0.1f, 3, 2);
    for (size_t i = 0; i < ni; i++) xr[i] = to_bf16(x[i]);
    for (size_t i = 0; i < nw; i++) wr[i] = to_bf16(w[i]);
    sgm_error err = {0};
    sgm_nn_conv2d_plan *pb = NULL, *pg = NULL;
    CHECK(sgm_nn_conv2d_plan_create(&pb, &d, SGM_NN_CONV2D_DNNL, &err) == SGM_OK, "%s", err.msg);
    CHECK(sgm_nn_conv2d_plan_create(&pg, &d, SGM_NN_CONV2D_GEMM, &err) == SGM_OK, "%s", err.msg);
    CHECK(sgm_nn_conv2d_plan_set_precision(pb, SGM_NN_BF16, &err) == SGM_OK, "%s", err.msg);
    CHECK(sgm_nn_conv2d_plan_precision(pb) == SGM_NN_BF16, "plan precision");
    /* a GEMM plan has no bf16 path */
    CHECK(sgm_nn_conv2d_plan_set_precision(pg, SGM_NN_BF16, &err) == SGM_ERR_UNSUPPORTED,
          "GEMM plan accepted bf16");
    size_t s = sgm_nn_conv2d_plan_scratch_size(pb), s2 = sgm_nn_conv2d_plan_scratch_size(pg);
    float *scr = tu_falloc(s > s2 ? s : s2);
    CHECK(sgm_nn_conv2d_plan_forward(pb, y, scr, x, w, b, d.N, &err) == SGM_OK, "%s", err.msg);
    CHECK(sgm_nn_conv2d_plan_forward(pg, yr, scr, xr, wr, b, d.N, &err) == SGM_OK, "%s", err.msg);
    /* products of bf16 values are exact in fp32 (8 + 8 significand bits
     * <= 24), so the two differ only by the order of the fp32 sums: at most
     * K 2^-24 sum |x w| with K = C k k = 144 terms; |x| ~ N(0,1), |w| ~
     * N(0, 0.01): sum |x w| <= 144 * 4 * 0.4 = 230 with room, so 144 *
     * 6e-8 * 230 = 2e-3 bounds it; 1e-4 is ~10x the typical error
     * (random-sign rounding grows like sqrt(K), not K) */
    double worst = 0;
    for (size_t i = 0; i < no; i++) worst = fmax(worst, fabs((double)y[i] - (double)yr[i]));
    CHECK(worst <= 1e-4, "bf16 conv vs fp32 conv of rounded operands: max diff %g", worst);
    /* and it is not plain fp32: the unrounded fp32 result differs by far more */
    sgm_nn_conv2d_plan_forward(pg, yr, scr, x, w, b, d.N, &err);
    double dfp = 0;
    for (size_t i = 0; i < no; i++) dfp = fmax(dfp, fabs((double)y[i] - (double)yr[i]));
    CHECK(dfp > 10 * worst && dfp > 1e-3, "bf16 conv looks like fp32 (max diff to fp32 %g)", dfp);
    printf("conv: bf16 vs fp32(rounded operands) max %.3g, vs fp32 max %.3g\n", worst, dfp);
    sgm_nn_conv2d_plan_free(pb), sgm_nn_conv2d_plan_free(pg);
    free(x), free(w), free(b), free(xr), free(wr), free(y), free(yr), free(scr);
}

/* forward parity fp32 vs bf16 and bitwise determinism of bf16 forwards */
static void test_unet_forward(void) {
    sgm_unet_config cfg = small_cfg();
    const int B = 8;
    sgm_unet u;
    sgm_error err = {0};
    if (sgm_unet_init(&u, &cfg, B, 11, &err) != SGM_OK) {
        CHECK(0, "init: %s", err.msg);
        return;
    }
    size_t n = (size_t)B * 256;
    float *x = tu_falloc(n), *c = tu_falloc(B), *y32 = tu_falloc(n), *y16 = tu_falloc(n),
          *y16b = tu_falloc(n);
    sgm_nn_fill_normal(x, n, 1.0f, 5, 0);
    for (int i = 0; i < B; i++) c[i] = -2.0f + 0.5f * (float)i;
    CHECK(sgm_unet_forward(&u, y32, x, c, NULL, B, &err) == SGM_OK, "%s", err.msg);
    CHECK(sgm_unet_set_precision(&u, SGM_NN_BF16, &err) == SGM_OK, "%s", err.msg);
    CHECK(sgm_unet_precision(&u) == SGM_NN_BF16, "unet precision");
    CHECK(sgm_unet_forward(&u, y16, x, c, NULL, B, &err) == SGM_OK, "%s", err.msg);
    /* another batch size in between (the plans remake their primitives) */
    CHECK(sgm_unet_forward(&u, y16b, x, c, NULL, 3, &err) == SGM_OK, "%s", err.msg);
    CHECK(sgm_unet_forward(&u, y16b, x, c, NULL, B, &err) == SGM_OK, "%s", err.msg);
    CHECK(memcmp(y16, y16b, n * sizeof(float)) == 0, "bf16 forward is not deterministic");
    double se = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)y16[i] - (double)y32[i];
        se += e * e, s2 += (double)y32[i] * (double)y32[i];
    }
    double rel = sqrt(se / s2);
    /* Tolerance on the relative RMS error ||y_bf16 - y_fp32|| / ||y_fp32||.
     * bf16 keeps 8 significand bits: rounding an operand costs a relative
     * error of at most u = 2^-8, a product of two rounded operands 2u, and
     * the RMS of a sum of such products with random-sign errors about u.
     * The longest conv path of this U-Net is L = 20 convolutions (conv_in,
     * 2 per res block: 1 + 1 down, 2 mid, 2 up per level; the down- and
     * upsampling convs; conv_out); GroupNorm between them is scale-free
     * and SiLU is 1.1-Lipschitz, so relative errors of successive layers
     * add, independent ones in quadrature: sqrt(L) u = 0.017. The bound
     * is 2 sqrt(L) 2u = 0.07 (worst-case 2u per layer, a factor 2 for the
     * residual sums and attention); plain linear accumulation L 2u = 0.16
     * would be the loose worst case. A broken bf16 path (wrong layout,
     * unconverted weights) gives errors of order 1. */
    const double L = 20, u8 = 1.0 / 256;
    double tol = 2 * sqrt(L) * 2 * u8;
    CHECK(rel <= tol, "bf16 vs fp32 forward: relative RMS error %g > %g", rel, tol);
    /* and bf16 did run: at least a tenth of one rounding */
    CHECK(rel >= 0.1 * u8, "bf16 forward equals fp32 (relative error %g)", rel);
    printf("unet forward: bf16 vs fp32 relative RMS error %.3g (tolerance %.3g)\n", rel, tol);
    /* batch invariance is an fp32 property; report what bf16 does */
    float *y1 = tu_falloc(256);
    sgm_unet_forward(&u, y1, x, c, NULL, 1, &err);
    printf("unet forward: bf16 sample 0 in a batch of 1 vs %d: %s\n", B,
           memcmp(y1, y16, 256 * sizeof(float)) == 0 ? "same bits" : "differs");
    /* back to fp32 gives fp32's bits again */
    CHECK(sgm_unet_set_precision(&u, SGM_NN_FP32, &err) == SGM_OK, "%s", err.msg);
    CHECK(sgm_unet_forward(&u, y16b, x, c, NULL, B, &err) == SGM_OK, "%s", err.msg);
    CHECK(memcmp(y32, y16b, n * sizeof(float)) == 0, "fp32 after bf16 changed");
    sgm_unet_free(&u);
    free(x), free(c), free(y32), free(y16), free(y16b), free(y1);
}

/* a GEMM-backend U-Net refuses bf16 and keeps fp32 */
static void test_gemm_refuses(void) {
    sgm_unet_config cfg = small_cfg();
    sgm_unet u;
    sgm_error err = {0};
    if (sgm_unet_init(&u, &cfg, 2, 11, &err) != SGM_OK) {
        CHECK(0, "init: %s", err.msg);
        return;
    }
    CHECK(sgm_unet_set_conv_backend(&u, SGM_NN_CONV2D_GEMM, &err) == SGM_OK, "%s", err.msg);
    CHECK(sgm_unet_set_precision(&u, SGM_NN_BF16, &err) == SGM_ERR_UNSUPPORTED,
          "GEMM U-Net accepted bf16");
    CHECK(sgm_unet_precision(&u) == SGM_NN_FP32, "precision changed after a refusal");
    float x[2 * 256] = {0}, c[2] = {0.1f, 0.2f}, y[2 * 256];
    CHECK(sgm_unet_forward(&u, y, x, c, NULL, 2, &err) == SGM_OK, "usable after refusal: %s",
          err.msg);
    sgm_unet_free(&u);
}

/* n training images, the tiny trainer with precision p / no_bf16 */
static sgm_trainer *make_trainer(sgm_nn_precision p, int no_bf16, const double *data, int n) {
    sgm_train_config c = tu_tiny_unet_config(SGM_PROCESS_VP_LINEAR, SGM_PARAM_EPS, 16, 0);
    c.net.unet.heads = 2;
    c.batch = 8;
    c.precision = p;
    c.no_bf16 = no_bf16;
    sgm_trainer *t = NULL;
    sgm_error err = {0};
    if (sgm_trainer_create(&c, data, (size_t)n, 256, &t, &err) != SGM_OK)
        CHECK(0, "trainer: %s", err.msg);
    return t;
}

static int train3(sgm_trainer *t) {
    sgm_error err = {0};
    double loss;
    for (int s = 0; s < 3; s++)
        if (sgm_trainer_step(t, &loss, &err) != SGM_OK) {
            CHECK(0, "step: %s", err.msg);
            return -1;
        }
    return 0;
}

static void test_train(int bf16) {
    const int n = 32;
    double *data = malloc((size_t)n * 256 * sizeof(double));
    int *lab = malloc((size_t)n * sizeof(int));
    if (!data || !lab) exit(2);
    tu_bar_images(data, lab, n, 16);
    sgm_trainer *f = make_trainer(SGM_NN_FP32, 0, data, n);
    sgm_trainer *nb = make_trainer(SGM_NN_BF16, 1, data, n); /* forced fallback */
    if (!f || !nb) goto done;
    CHECK(sgm_trainer_precision(f) == SGM_NN_FP32, "fp32 trainer");
    CHECK(sgm_trainer_precision(nb) == SGM_NN_FP32, "no_bf16 did not fall back to fp32");
    CHECK(sgm_net_precision(sgm_trainer_net(nb)) == SGM_NN_FP32, "net precision");
    train3(f), train3(nb);
    size_t np = sgm_net_n_params(sgm_trainer_net(f));
    CHECK(memcmp(sgm_net_params(sgm_trainer_net(f)), sgm_net_params(sgm_trainer_net(nb)),
                 np * sizeof(float)) == 0,
          "the fallback does not train fp32's bits");
    if (bf16) {
        sgm_trainer *a = make_trainer(SGM_NN_BF16, 0, data, n),
                    *b = make_trainer(SGM_NN_BF16, 0, data, n);
        if (a && b) {
            CHECK(sgm_trainer_precision(a) == SGM_NN_BF16, "bf16 trainer runs %s",
                  sgm_nn_precision_name(sgm_trainer_precision(a)));
            train3(a), train3(b);
            const float *pa = sgm_net_params(sgm_trainer_net(a)),
                        *pb = sgm_net_params(sgm_trainer_net(b)),
                        *pf = sgm_net_params(sgm_trainer_net(f));
            CHECK(memcmp(pa, pb, np * sizeof(float)) == 0, "bf16 training is not deterministic");
            CHECK(memcmp(pa, pf, np * sizeof(float)) != 0, "bf16 training equals fp32's");
            double la = sgm_trainer_ema_loss(a), lf = sgm_trainer_ema_loss(f);
            CHECK(isfinite(la), "bf16 loss %g", la);
            printf("train: 3 steps, ema loss fp32 %.6f bf16 %.6f\n", lf, la);
        }
        sgm_trainer_free(a), sgm_trainer_free(b);
    }
done:
    sgm_trainer_free(f), sgm_trainer_free(nb);
    free(data), free(lab);
}

/* sgm_net_set_precision: the mlp has no bf16 path; names */
static void test_net_api(void) {
    sgm_net_config c = sgm_net_config_default(SGM_ARCH_MLP);
    sgm_net *n = NULL;
    sgm_error err = {0};
    CHECK(sgm_net_create(&c, 2, 4, 1, &n, &err) == SGM_OK, "%s", err.msg);
    sgm_nn_precision used = SGM_NN_BF16;
    CHECK(n && sgm_net_set_precision(n, SGM_NN_BF16, 0, &used, &err) == SGM_OK, "%s", err.msg);
    CHECK(used == SGM_NN_FP32, "mlp claims bf16");
    CHECK(n && sgm_net_set_precision(n, (sgm_nn_precision)7, 0, &used, &err) ==
                   SGM_ERR_INVALID_ARG,
          "bad precision accepted");
    sgm_net_free(n);
    sgm_nn_precision p;
    CHECK(sgm_nn_precision_from_name("bf16", &p) == SGM_OK && p == SGM_NN_BF16, "bf16 name");
    CHECK(sgm_nn_precision_from_name("fp32", &p) == SGM_OK && p == SGM_NN_FP32, "fp32 name");
    CHECK(sgm_nn_precision_from_name("fp16", &p) == SGM_ERR_UNKNOWN_NAME, "fp16 accepted");
    CHECK(strcmp(sgm_nn_precision_name(SGM_NN_BF16), "bf16") == 0, "name");
    CHECK(sgm_nn_precision_resolve(SGM_NN_BF16, 1) == SGM_NN_FP32, "no_bf16 ignored");
    CHECK(sgm_nn_precision_resolve(SGM_NN_FP32, 0) == SGM_NN_FP32, "fp32 resolve");
    CHECK(sgm_nn_precision_resolve(SGM_NN_BF16, 0) ==
              (sgm_nn_have_bf16() ? SGM_NN_BF16 : SGM_NN_FP32),
          "resolve vs have_bf16");
}

int main(void) {
    int bf16 = sgm_nn_have_bf16();
    printf("bf16 on this CPU: %s\n", bf16 ? "yes" : "no (bf16 parts skipped)");
    test_net_api();
    test_gemm_refuses();
    if (bf16) {
        test_conv_semantics();
        test_unet_forward();
    }
    test_train(bf16);
    TEST_MAIN_END();
}
