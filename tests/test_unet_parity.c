/* test_unet_parity.c - the U-Net (src/nn/unet.c) against its PyTorch twin
 * (tools/ref/gen_unet.py, fixture tests/data/unet/unet_tiny.bin): a tiny
 * 3-channel 8x8 net with 2 levels, attention at level 1 and in the middle,
 * 2 heads, 3 classes and the null label; forward output, input gradients
 * (dx, dc) and the gradient of every parameter tensor, all matched by name;
 * once with the im2col + sgemm convolutions and once with oneDNN's (when sgm
 * is built with it), to the same tolerances. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sgm/sgm_unet.h"
#include "test_fixture.h"
#include "test_util.h"

typedef fx_rec rec;
static fx g_fx;
static const rec *get(const char *name) { return fx_find(&g_fx, name); }

/* Worst element of got vs want under |g - w| <= rtol |w| + atol_rel max|w|.
 * rtol 1e-4 is the bar. The absolute floor 1e-5 max|w| exists
 * because float32 sums of many terms of both signs (convolutions over 9 C
 * inputs, GroupNorm statistics) leave errors of ~1e-7 of the terms' size,
 * which is unbounded relative to an element that cancels to near zero. */
static void cmp(const char *be, const char *what, const float *got, const rec *want, size_t n) {
    if (!want || want->count != n) {
        CHECK(0, "%s: %s: reference missing or of %zu elements, not %zu", be, what,
              want ? want->count : 0, n);
        return;
    }
    double mx = 0, worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(want->data[i]));
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want->data[i]);
        double lim = 1e-4 * fabs(want->data[i]) + 1e-5 * mx;
        if (!(d <= lim)) ok = 0;
        if (d / (lim > 0 ? lim : 1e-300) > worst) worst = d / (lim > 0 ? lim : 1e-300), wi = i;
    }
    CHECK(ok, "%s: %s: element %zu got %.9g want %.9g (max|w| %.3g)", be, what, wi,
          (double)got[wi], want->data[wi], mx);
}

int main(void) {
    char path[512];
    tu_src("tests/data/unet/unet_tiny.bin", path, sizeof path);
    if (fx_open(path, "tools/ref/gen_unet.py", &g_fx) != 0) return 2;
    const rec *cf = get("cfg");
    if (!cf || cf->count != 17) return 2;
    const double *v = cf->data;
    sgm_unet_config c = sgm_unet_config_default();
    c.in_ch = (int)v[0], c.out_ch = (int)v[1], c.height = (int)v[2], c.width = (int)v[3];
    c.base_ch = (int)v[4], c.n_levels = (int)v[5];
    c.mult[0] = (int)v[6], c.mult[1] = (int)v[7], c.attn[0] = (int)v[8], c.attn[1] = (int)v[9];
    c.attn[2] = 0;
    c.mid_attn = (int)v[10], c.n_res = (int)v[11], c.groups = (int)v[12], c.heads = (int)v[13];
    c.emb_dim = (int)v[14], c.n_classes = (int)v[15];
    int N = (int)v[16];
    sgm_unet u;
    sgm_error err;
    CHECK(sgm_unet_init(&u, &c, N, 1, &err) == SGM_OK, "init: %s", err.msg);
    if (!u.params) TEST_MAIN_END();
    /* parameters by name: every C tensor has a PyTorch twin and vice versa */
    int n_p = 0;
    for (int i = 0; i < g_fx.n; i++) n_p += strncmp(g_fx.rec[i].name, "p:", 2) == 0;
    CHECK(n_p == u.n_tensors, "PyTorch has %d tensors, C %d", n_p, u.n_tensors);
    for (int i = 0; i < u.n_tensors; i++) {
        char nm[128];
        snprintf(nm, sizeof nm, "p:%s", u.tensors[i].name);
        const rec *r = get(nm);
        CHECK(r && r->count == u.tensors[i].count, "tensor %s missing or wrong size", nm);
        if (r && r->count == u.tensors[i].count)
            for (size_t k = 0; k < r->count; k++)
                u.params[u.tensors[i].off + k] = (float)r->data[k];
    }
    size_t nx = (size_t)N * (size_t)(c.in_ch * c.height * c.width);
    size_t no = (size_t)N * (size_t)(c.out_ch * c.height * c.width);
    float *x = malloc(nx * sizeof(float)), *out = calloc(no, sizeof(float));
    float *dout = malloc(no * sizeof(float)), *dx = calloc(nx, sizeof(float));
    float cc[16], dc[16] = {0};
    int labels[16];
    const rec *rx = get("x"), *rd = get("dout"), *rc = get("c"), *rl = get("labels");
    if (!x || !out || !dout || !dx || !rx || !rd || !rc || !rl || N > 16) return 2;
    for (size_t i = 0; i < nx; i++) x[i] = (float)rx->data[i];
    for (size_t i = 0; i < no; i++) dout[i] = (float)rd->data[i];
    for (int i = 0; i < N; i++) cc[i] = (float)rc->data[i], labels[i] = (int)rl->data[i];

    /* the same net and parameters through each convolution backend */
    static const sgm_nn_conv2d_backend bes[] = {SGM_NN_CONV2D_GEMM, SGM_NN_CONV2D_DNNL};
    float *dx2 = calloc(nx, sizeof(float)), *g1 = malloc(u.n_params * sizeof(float));
    if (!dx2 || !g1) return 2;
    for (int k = 0; k < 2; k++) {
        const char *be = k ? "DNNL" : "GEMM";
        if (bes[k] == SGM_NN_CONV2D_DNNL && !sgm_nn_conv2d_have_dnnl()) {
            printf("DNNL: SKIPPED (sgm built without oneDNN)\n");
            continue;
        }
        CHECK(sgm_unet_set_conv_backend(&u, bes[k], &err) == SGM_OK, "%s: %s", be, err.msg);
        sgm_nn_zero(out, no), sgm_nn_zero(dx, nx), sgm_nn_zero(dx2, nx), sgm_nn_zero(dc, 16);
        CHECK(sgm_unet_forward(&u, out, x, cc, labels, N, &err) == SGM_OK, "%s: forward: %s", be,
              err.msg);
        cmp(be, "out", out, get("out"), no);
        sgm_nn_zero(u.grads, u.n_params);
        CHECK(sgm_unet_backward(&u, dx, dc, dout, N, 1, &err) == SGM_OK, "%s: backward: %s", be,
              err.msg);
        cmp(be, "dx", dx, get("dx"), nx);
        cmp(be, "dc", dc, get("dc"), (size_t)N);
        for (int i = 0; i < u.n_tensors; i++) {
            char nm[128];
            snprintf(nm, sizeof nm, "g:%s", u.tensors[i].name);
            cmp(be, nm, u.grads + u.tensors[i].off, get(nm), u.tensors[i].count);
        }
        memcpy(g1, u.grads, u.n_params * sizeof(float));
        /* the input VJP alone (no parameter gradients, no dc) gives the same dx
         * and leaves the parameter gradients untouched */
        sgm_nn_zero(u.grads, u.n_params);
        CHECK(sgm_unet_backward(&u, dx2, NULL, dout, N, 0, &err) == SGM_OK, "%s: vjp: %s", be,
              err.msg);
        int same = 1, untouched = 1;
        for (size_t i = 0; i < nx; i++) same &= dx2[i] == dx[i];
        for (size_t i = 0; i < u.n_params; i++) untouched &= u.grads[i] == 0.0f;
        CHECK(same, "%s: input VJP differs from the full backward's dx (the same float ops: "
              "exact)", be);
        CHECK(untouched, "%s: input VJP wrote parameter gradients", be);
        /* a second step gives bitwise the same gradients: from it on the
         * oneDNN plans read the input their forward kept
         * (sgm_nn_conv2d_plan_keep_input) */
        float dc2[16] = {0};
        sgm_nn_zero(dx2, nx), sgm_nn_zero(u.grads, u.n_params);
        CHECK(sgm_unet_forward(&u, out, x, cc, labels, N, &err) == SGM_OK &&
                  sgm_unet_backward(&u, dx2, dc2, dout, N, 1, &err) == SGM_OK,
              "%s: second step: %s", be, err.msg);
        CHECK(!memcmp(g1, u.grads, u.n_params * sizeof(float)) &&
                  !memcmp(dx2, dx, nx * sizeof(float)) && !memcmp(dc2, dc, sizeof dc),
              "%s: a second forward + backward changed the gradients", be);
    }
    free(g1);
    free(dx2);
    free(x), free(out), free(dout), free(dx);
    sgm_unet_free(&u);
    fx_free(&g_fx);
    TEST_MAIN_END();
}
