/* test_nn_optim.c - closed-form checks of the NN engine's training helpers:
 * warmup + cosine learning rate, EMA, gradient clipping, the first Adam step
 * (which is lr * sign(g) up to eps), block layout and the Philox
 * initialisers. (Parity of Adam / AdamW / clipping with torch is in
 * test_nn_parity.c.) */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sgm/sgm_nn.h"
#include "test_util.h"

static void test_lr(void) {
    double mx = 1e-3, mn = 1e-5;
    /* pure arithmetic in double: 1e-12 relative guards only rounding */
    CHECK_CLOSE(sgm_nn_lr_warmup_cosine(0, 10, 100, mx, mn), 1e-4, 1e-12, 0, "lr step 0");
    CHECK_CLOSE(sgm_nn_lr_warmup_cosine(9, 10, 100, mx, mn), mx, 1e-12, 0, "lr end of warmup");
    CHECK_CLOSE(sgm_nn_lr_warmup_cosine(10, 10, 100, mx, mn), mx, 1e-12, 0, "lr decay start");
    CHECK_CLOSE(sgm_nn_lr_warmup_cosine(55, 10, 100, mx, mn), mn + 0.5 * (mx - mn), 1e-12, 0,
                "lr mid-decay");
    CHECK_CLOSE(sgm_nn_lr_warmup_cosine(100, 10, 100, mx, mn), mn, 1e-12, 0, "lr at total");
    CHECK_CLOSE(sgm_nn_lr_warmup_cosine(500, 10, 100, mx, mn), mn, 1e-12, 0, "lr after total");
    CHECK_CLOSE(sgm_nn_lr_warmup_cosine(0, 0, 100, mx, mn), mx, 1e-12, 0, "lr no warmup");
    int mono = 1;
    for (long s = 11; s <= 100; s++)
        mono &= sgm_nn_lr_warmup_cosine(s, 10, 100, mx, mn) <=
                sgm_nn_lr_warmup_cosine(s - 1, 10, 100, mx, mn);
    CHECK(mono, "lr not monotone in the decay phase");
}

static void test_ema(void) {
    float e[3] = {1.0f, -2.0f, 0.5f}, p[3] = {0.0f, 1.0f, 0.5f};
    double d = 0.9;
    for (int k = 0; k < 20; k++) sgm_nn_ema_update(e, p, 3, d);
    /* e_k = p + d^k (e_0 - p); float32 recurrences over 20 steps: 1e-5 */
    CHECK_CLOSE(e[0], 0.0 + pow(d, 20) * 1.0, 1e-5, 1e-6, "ema 0");
    CHECK_CLOSE(e[1], 1.0 + pow(d, 20) * -3.0, 1e-5, 1e-6, "ema 1");
    CHECK_CLOSE(e[2], 0.5, 1e-6, 0, "ema fixed point");
}

static void test_clip(void) {
    float g[2] = {3.0f, 4.0f};
    double n = sgm_nn_clip_grad_norm(g, 2, 1.0);
    CHECK_CLOSE(n, 5.0, 1e-12, 0, "clip norm");
    /* coefficient 1 / (5 + 1e-6) in float32: 1e-6 */
    CHECK_CLOSE(g[0], 0.6, 1e-6, 0, "clipped g0");
    CHECK_CLOSE(g[1], 0.8, 1e-6, 0, "clipped g1");
    float h[2] = {3.0f, 4.0f};
    sgm_nn_clip_grad_norm(h, 2, 10.0);
    CHECK(h[0] == 3.0f && h[1] == 4.0f, "clip below max_norm must not touch the gradient");
}

static void test_adam_first_step(void) {
    float p[3] = {1.0f, 1.0f, 1.0f}, g[3] = {0.5f, -2.0f, 1e-3f}, m[3] = {0}, v[3] = {0};
    sgm_nn_adam c = sgm_nn_adam_defaults(0);
    sgm_nn_adam_step(p, g, m, v, 3, 0.01, 1, &c);
    /* first step: m_hat = g, v_hat = g^2, so p -= lr g / (|g| + eps);
     * float32 arithmetic: 1e-6 */
    for (int i = 0; i < 3; i++)
        CHECK_CLOSE(p[i], 1.0 - 0.01 * g[i] / (fabs(g[i]) + 1e-8), 1e-6, 0, "adam step 1");
    /* AdamW with lr 0.1, wd 0.5 and zero gradient only shrinks: p (1 - 0.05) */
    float q[2] = {2.0f, -1.0f}, z[2] = {0}, m2[2] = {0}, v2[2] = {0};
    sgm_nn_adam cw = sgm_nn_adam_defaults(1);
    cw.weight_decay = 0.5;
    sgm_nn_adam_step(q, z, m2, v2, 2, 0.1, 1, &cw);
    CHECK_CLOSE(q[0], 1.9, 1e-6, 0, "adamw decay");
    CHECK_CLOSE(q[1], -0.95, 1e-6, 0, "adamw decay");
}

static void test_layout_fill(void) {
    size_t counts[4] = {5, 16, 1, 33}, off[4];
    size_t total = sgm_nn_layout(off, counts, 4);
    int ok = 1;
    for (int i = 0; i < 4; i++) {
        ok &= off[i] % 16 == 0;
        if (i) ok &= off[i] >= off[i - 1] + counts[i - 1];
    }
    CHECK(ok && total >= off[3] + counts[3], "layout: aligned, non-overlapping");
    size_t n = 20000;
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    if (!a || !b) exit(2);
    sgm_nn_fill_uniform(a, n, -1.0f, 3.0f, 7, 1);
    sgm_nn_fill_uniform(b, n, -1.0f, 3.0f, 7, 1);
    CHECK(memcmp(a, b, n * sizeof(float)) == 0, "fill_uniform must be deterministic");
    double s = 0.0;
    int in_range = 1;
    for (size_t i = 0; i < n; i++) {
        s += a[i];
        in_range &= a[i] >= -1.0f && a[i] < 3.0f;
    }
    CHECK(in_range, "uniform out of range");
    /* mean 1, sd 4/sqrt(12)/sqrt(n) = 0.0082: 5 standard errors */
    CHECK_CLOSE(s / (double)n, 1.0, 0, 0.041, "uniform mean");
    sgm_nn_fill_uniform(b, n, -1.0f, 3.0f, 7, 2);
    CHECK(memcmp(a, b, n * sizeof(float)) != 0, "streams must differ");
    sgm_nn_fill_normal(a, n, 2.0f, 7, 3);
    double m = 0.0, q = 0.0;
    for (size_t i = 0; i < n; i++) m += a[i], q += (double)a[i] * a[i];
    m /= (double)n;
    q = q / (double)n - m * m;
    /* sd of the mean 2/sqrt(n) = 0.014, of the variance 4 sqrt(2/n) = 0.04: 5 SE */
    CHECK_CLOSE(m, 0.0, 0, 0.07, "normal mean");
    CHECK_CLOSE(q, 4.0, 0, 0.2, "normal variance");
    free(a), free(b);
}

int main(void) {
    test_lr();
    test_ema();
    test_clip();
    test_adam_first_step();
    test_layout_fill();
    TEST_MAIN_END();
}
