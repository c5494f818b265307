/* test_unet_gradcheck.c - the U-Net without Python: central finite
 * differences of L = sum(w * unet(x, c, labels)) against backward for
 * random parameters of every tensor kind, input pixels and the noise level;
 * batch independence (sample i alone = row i of a batch, also with
 * N < max_batch); the default Fashion-MNIST config; argument errors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sgm/sgm_unet.h"
#include "test_util.h"

static sgm_unet_config tiny(void) {
    sgm_unet_config c = sgm_unet_config_default();
    c.in_ch = 2, c.height = 4, c.width = 4, c.base_ch = 4, c.n_levels = 2;
    c.mult[0] = 1, c.mult[1] = 2, c.attn[0] = 0, c.attn[1] = 1, c.attn[2] = 0;
    c.mid_attn = 1, c.n_res = 1, c.groups = 2, c.heads = 2, c.emb_dim = 8, c.n_classes = 2;
    return c;
}

static double loss(sgm_unet *u, float *out, const float *x, const float *c, const int *lab,
                   const float *w, int N, size_t no) {
    sgm_error err;
    if (sgm_unet_forward(u, out, x, c, lab, N, &err) != SGM_OK) return NAN;
    double s = 0;
    for (size_t i = 0; i < no; i++) s += (double)w[i] * out[i];
    return s;
}

/* analytic vs central difference of a float32 network. Step 1e-2 and
 * tolerance 3e-2 |g| + 3e-3 (scale of the tensor's gradients): the loss
 * (~1-10) carries float32 rounding noise of ~1e-6, i.e. ~5e-5 in a
 * difference quotient, and the O(h^2) truncation error is ~1e-4 of the
 * curvature scale; a wrong gradient is off by O(1). */
static void fd_check(const char *what, float *v, double analytic, double scale, sgm_unet *u,
                     float *out, const float *x, const float *c, const int *lab, const float *w,
                     int N, size_t no) {
    const float h = 1e-2f;
    float v0 = *v;
    *v = v0 + h;
    double lp = loss(u, out, x, c, lab, w, N, no);
    *v = v0 - h;
    double lm = loss(u, out, x, c, lab, w, N, no);
    *v = v0;
    double fd = (lp - lm) / (2.0 * (double)h);
    CHECK(fabs(fd - analytic) <= 3e-2 * fabs(analytic) + 3e-3 * scale,
          "%s: backward %.6g finite difference %.6g", what, analytic, fd);
}

static void test_fd(void) {
    sgm_unet_config cfg = tiny();
    sgm_unet u;
    sgm_error err;
    int N = 2;
    CHECK(sgm_unet_init(&u, &cfg, N, 42, &err) == SGM_OK, "init: %s", err.msg);
    if (!u.params) return;
    /* perturb GroupNorm affines away from 1 / 0 and make the class table small */
    sgm_nn_fill_normal(u.grads, u.n_params, 0.1f, 7, 0);
    for (size_t i = 0; i < u.n_params; i++) u.params[i] += u.grads[i];
    size_t nx = (size_t)N * 2 * 16, no = nx;
    float x[64], w[64], out[64], dx[64] = {0}, cc[2] = {0.7f, 3.0f}, dc[2] = {0};
    int lab[2] = {1, SGM_UNET_NULL_LABEL};
    sgm_nn_fill_normal(x, nx, 1.0f, 1, 1);
    sgm_nn_fill_normal(w, no, 1.0f, 1, 2);
    loss(&u, out, x, cc, lab, w, N, no);
    sgm_nn_zero(u.grads, u.n_params);
    CHECK(sgm_unet_backward(&u, dx, dc, w, N, 1, &err) == SGM_OK, "backward: %s", err.msg);
    float *g = malloc(u.n_params * sizeof(float));
    memcpy(g, u.grads, u.n_params * sizeof(float));
    /* three elements of every tensor (first, middle, last) */
    uint64_t checked = 0;
    for (int t = 0; t < u.n_tensors; t++) {
        size_t off = u.tensors[t].off, cnt = u.tensors[t].count;
        double scale = 0;
        for (size_t k = 0; k < cnt; k++) scale = fmax(scale, fabs(g[off + k]));
        size_t pick[3] = {0, cnt / 2, cnt - 1};
        for (int j = 0; j < 3; j++) {
            char nm[96];
            snprintf(nm, sizeof nm, "%s[%zu]", u.tensors[t].name, pick[j]);
            fd_check(nm, u.params + off + pick[j], g[off + pick[j]], scale, &u, out, x, cc, lab,
                     w, N, no);
            checked++;
        }
    }
    double sx = 0;
    for (size_t k = 0; k < nx; k++) sx = fmax(sx, fabs(dx[k]));
    for (size_t k = 0; k < nx; k += 7) {
        char nm[32];
        snprintf(nm, sizeof nm, "x[%zu]", k);
        fd_check(nm, x + k, dx[k], sx, &u, out, x, cc, lab, w, N, no);
    }
    for (int k = 0; k < N; k++) {
        char nm[32];
        snprintf(nm, sizeof nm, "c[%d]", k);
        fd_check(nm, cc + k, dc[k], fmax(fabs(dc[0]), fabs(dc[1])), &u, out, x, cc, lab, w, N,
                 no);
    }
    printf("finite differences: %llu parameters in %d tensors, %zu pixels, %d noise levels\n",
           (unsigned long long)checked, u.n_tensors, (nx + 6) / 7, N);
    free(g);
    sgm_unet_free(&u);
}

static void test_batch_independence(void) {
    sgm_unet_config cfg = tiny();
    sgm_unet u;
    sgm_error err;
    CHECK(sgm_unet_init(&u, &cfg, 5, 3, &err) == SGM_OK, "init");
    if (!u.params) return;
    size_t per = 2 * 16;
    float x[3 * 32], out[3 * 32], one[32], cc[3] = {0.1f, 1.0f, 10.0f};
    int lab[3] = {0, 1, -1};
    sgm_nn_fill_normal(x, 3 * per, 1.0f, 5, 0);
    CHECK(sgm_unet_forward(&u, out, x, cc, lab, 3, &err) == SGM_OK, "forward 3");
    for (int i = 0; i < 3; i++) {
        CHECK(sgm_unet_forward(&u, one, x + (size_t)i * per, cc + i, lab + i, 1, &err) == SGM_OK,
              "forward 1");
        double d = 0;
        for (size_t k = 0; k < per; k++) d = fmax(d, fabs(one[k] - out[(size_t)i * per + k]));
        /* the same float ops per sample; sgemm blocking may differ with the
         * batch size, so allow float32 rounding (1e-5 of outputs ~1) */
        CHECK(d <= 1e-5, "sample %d alone differs from the batch by %g", i, d);
    }
    /* class conditioning matters; label n_classes is the null label too */
    int l2[1] = {2}, ln[1] = {-1};
    float o2[32], on[32];
    sgm_unet_forward(&u, o2, x, cc, l2, 1, &err);
    sgm_unet_forward(&u, on, x, cc, ln, 1, &err);
    CHECK(memcmp(o2, on, sizeof o2) == 0, "label n_classes != null label");
    sgm_unet_forward(&u, on, x, cc, NULL, 1, &err);
    CHECK(memcmp(o2, on, sizeof o2) == 0, "NULL labels != null label");
    int l0[1] = {0};
    sgm_unet_forward(&u, on, x, cc, l0, 1, &err);
    CHECK(memcmp(o2, on, sizeof o2) != 0, "class label ignored");
    /* errors */
    CHECK(sgm_unet_forward(&u, out, x, cc, lab, 6, &err) == SGM_ERR_SHAPE, "batch > max");
    CHECK(sgm_unet_backward(&u, NULL, NULL, out, 3, 1, &err) == SGM_ERR_INVALID_ARG,
          "backward batch != last forward");
    sgm_unet_free(&u);
    sgm_unet_free(&u); /* freeing twice is allowed */
}

static void test_configs(void) {
    sgm_unet u;
    sgm_error err;
    sgm_unet_config c = sgm_unet_config_default();
    CHECK(sgm_unet_init(&u, &c, 2, 1, &err) == SGM_OK, "default config: %s", err.msg);
    if (u.params) {
        printf("default (Fashion-MNIST) U-Net: %d tensors, %zu parameter floats, %.1f MB "
               "activations at batch 2\n",
               u.n_tensors, u.n_params, (double)u.n_acts * 4 / 1e6);
        CHECK(sgm_unet_find(&u, "down.2.attn.1.qkv.weight") >= 0, "attention at level 2");
        CHECK(sgm_unet_find(&u, "mid.attn.proj.bias") >= 0, "mid attention");
        CHECK(sgm_unet_find(&u, "up.0.res.2.skip.weight") >= 0, "up skip conv");
        CHECK(sgm_unet_find(&u, "class_embed.weight") < 0, "no classes");
        CHECK(sgm_unet_find(&u, "nope") == -1, "unknown name");
        float x[2 * 784], o[2 * 784], cc[2] = {0.5f, 5.0f};
        sgm_nn_fill_normal(x, 2 * 784, 1.0f, 9, 0);
        CHECK(sgm_unet_forward(&u, o, x, cc, NULL, 2, &err) == SGM_OK, "28x28 forward");
        int fin = 1;
        for (int i = 0; i < 2 * 784; i++) fin &= isfinite(o[i]) != 0;
        CHECK(fin, "non-finite output");
    }
    sgm_unet_free(&u);
    c = sgm_unet_config_default();
    c.height = 30;
    CHECK(sgm_unet_init(&u, &c, 2, 1, &err) == SGM_ERR_INVALID_ARG, "30 not divisible by 4");
    c = sgm_unet_config_default();
    c.groups = 5;
    CHECK(sgm_unet_init(&u, &c, 2, 1, &err) == SGM_ERR_INVALID_ARG, "groups 5");
    c = sgm_unet_config_default();
    c.heads = 3;
    CHECK(sgm_unet_init(&u, &c, 2, 1, &err) == SGM_ERR_INVALID_ARG, "heads 3");
    c = sgm_unet_config_default();
    c.n_levels = 7;
    CHECK(sgm_unet_init(&u, &c, 2, 1, &err) == SGM_ERR_INVALID_ARG, "7 levels");
    c = sgm_unet_config_default();
    CHECK(sgm_unet_init(&u, &c, 0, 1, &err) == SGM_ERR_INVALID_ARG, "max_batch 0");
    sgm_unet_free(&u);
}

int main(void) {
    test_fd();
    test_batch_independence();
    test_configs();
    TEST_MAIN_END();
}
