/* test_net.c - the network interface (sgm_net.h) on every registered
 * architecture: names and the registry, the flat parameter block and its
 * named tensors (disjoint, inside the block, PyTorch counts), forward equal
 * to the architecture's own call bit for bit, backward accumulating into the
 * gradient block, the input VJP against central differences of the
 * forward, batch checks and clear errors for bad configurations. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sgm/sgm_net.h"
#include "test_util.h"

static sgm_net_config small(sgm_arch a, int *d) {
    sgm_net_config c = sgm_net_config_default(a);
    if (a == SGM_ARCH_MLP) {
        c.mlp.width = 24, c.mlp.n_blocks = 2, c.mlp.d_emb = 8;
        *d = 5;
    } else {
        sgm_unet_config *u = &c.unet;
        u->in_ch = 1, u->height = u->width = 8, u->base_ch = 4, u->n_levels = 2;
        u->mult[0] = 1, u->mult[1] = 2, u->attn[0] = 0, u->attn[1] = 1, u->mid_attn = 1;
        u->n_res = 1, u->groups = 2, u->heads = 1, u->emb_dim = 8, u->n_classes = 3;
        *d = 64;
    }
    return c;
}

static void fill(float *x, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = (float)((double)(seed >> 8) / (double)(1u << 24) * 2 - 1);
    }
}

static void test_registry(void) {
    sgm_arch a;
    CHECK(sgm_arch_from_name("mlp", &a) == SGM_OK && a == SGM_ARCH_MLP, "mlp by name");
    CHECK(sgm_arch_from_name("UNet", &a) == SGM_OK && a == SGM_ARCH_UNET, "unet, any case");
    CHECK(sgm_arch_from_name("transformer", &a) == SGM_ERR_UNKNOWN_NAME, "unknown arch");
    CHECK(strcmp(sgm_arch_name(SGM_ARCH_UNET), "unet") == 0 && strcmp(sgm_arch_name(99), "?") == 0,
          "names");
    CHECK(sgm_net_default_chunk(SGM_ARCH_MLP) > sgm_net_default_chunk(SGM_ARCH_UNET), "chunks");
}

static void test_arch(sgm_arch arch) {
    int d;
    sgm_net_config c = small(arch, &d);
    sgm_net *n = NULL;
    sgm_error e;
    const int B = 3;
    CHECK(sgm_net_create(&c, d, B, 11, &n, &e) == SGM_OK, "create %s: %s", sgm_arch_name(arch),
          e.msg);
    if (!n) return;
    CHECK(strcmp(sgm_net_name(n), sgm_arch_name(arch)) == 0 && sgm_net_dim(n) == d &&
              sgm_net_max_batch(n) == B,
          "accessors");
    CHECK(sgm_net_n_classes(n) == (arch == SGM_ARCH_UNET ? 3 : 0), "classes");
    int ic = 0, ih = 0, iw = 0;
    CHECK(sgm_net_image_shape(n, &ic, &ih, &iw) == (arch == SGM_ARCH_UNET) &&
              (arch != SGM_ARCH_UNET || (ic == 1 && ih == 8 && iw == 8)),
          "image shape");
    /* tensors: inside the block, in order, not overlapping, shapes multiply to counts */
    size_t np = sgm_net_n_params(n), end = 0, total = 0;
    int ok = sgm_net_n_tensors(n) > 0;
    for (int i = 0; ok && i < sgm_net_n_tensors(n); i++) {
        sgm_net_tensor t;
        ok = sgm_net_tensor_info(n, i, &t, &e) == SGM_OK && t.off >= end &&
             t.off + t.count <= np && t.name[0] && t.ndim >= 1;
        size_t p = 1;
        for (int k = 0; k < t.ndim; k++) p *= t.shape[k];
        ok = ok && p == t.count;
        end = t.off + t.count, total += t.count;
    }
    CHECK(ok && total <= np, "tensor table of %s", sgm_arch_name(arch));
    sgm_net_tensor t;
    CHECK(sgm_net_tensor_info(n, sgm_net_n_tensors(n), &t, &e) == SGM_ERR_INVALID_ARG,
          "tensor index past the end");

    size_t nx = (size_t)B * (size_t)d;
    float *x = malloc(nx * sizeof *x), *v = malloc(nx * sizeof *v), *o = malloc(nx * sizeof *o);
    float *o2 = malloc(nx * sizeof *o2), *vj = malloc(nx * sizeof *vj), *xp = malloc(nx * sizeof *xp);
    float cn[3] = {-0.3f, 0.1f, 0.5f};
    int lab[3] = {2, -1, 0};
    fill(x, nx, 1), fill(v, nx, 2);
    /* forward equals the architecture's own call */
    CHECK(sgm_net_forward(n, o, x, cn, lab, B, &e) == SGM_OK, "forward: %s", e.msg);
    if (arch == SGM_ARCH_MLP) {
        sgm_nn_mlp m;
        sgm_nn_mlp_config mc = c.mlp;
        mc.d_in = d;
        sgm_nn_mlp_init(&m, &mc, B, 11, &e);
        sgm_nn_mlp_forward(&m, o2, x, cn, B, &e);
        sgm_nn_mlp_free(&m);
    } else {
        sgm_unet u;
        sgm_unet_init(&u, &c.unet, B, 11, &e);
        sgm_unet_forward(&u, o2, x, cn, lab, B, &e);
        sgm_unet_free(&u);
    }
    CHECK(memcmp(o, o2, nx * sizeof *o) == 0, "forward of %s equals its own call bit for bit",
          sgm_arch_name(arch));
    /* backward accumulates into the gradient block */
    float *g = sgm_net_grads(n);
    memset(g, 0, np * sizeof *g);
    CHECK(sgm_net_forward(n, o, x, cn, lab, B, &e) == SGM_OK &&
              sgm_net_backward(n, NULL, NULL, v, B, 1, &e) == SGM_OK,
          "backward");
    double g1 = 0;
    for (size_t i = 0; i < np; i++) g1 += fabs(g[i]);
    CHECK(sgm_net_forward(n, o, x, cn, lab, B, &e) == SGM_OK &&
              sgm_net_backward(n, NULL, NULL, v, B, 1, &e) == SGM_OK,
          "backward again");
    double g2 = 0;
    for (size_t i = 0; i < np; i++) g2 += fabs(g[i]);
    CHECK(g1 > 0 && fabs(g2 - 2 * g1) <= 1e-5 * g1, "gradients accumulate (%g, %g)", g1, g2);
    /* VJP against central differences of v^T net(x + h e_j), a few coordinates;
       h 1e-2 in float32: truncation ~h^2 and rounding ~eps/h both ~1e-4 */
    memset(vj, 0x7f, nx * sizeof *vj); /* overwritten, not accumulated */
    CHECK(sgm_net_vjp(n, o, vj, x, cn, lab, v, B, &e) == SGM_OK, "vjp: %s", e.msg);
    CHECK(memcmp(o, o2, nx * sizeof *o) == 0, "vjp returns the forward output");
    double worst = 0;
    for (int k = 0; k < 6; k++) {
        size_t j = (size_t)(k * 7919) % nx;
        const float h = 1e-2f;
        double f[2];
        for (int s = 0; s < 2; s++) {
            memcpy(xp, x, nx * sizeof *xp);
            xp[j] += s ? -h : h;
            sgm_net_forward(n, o2, xp, cn, lab, B, &e);
            double acc = 0;
            for (size_t i = 0; i < nx; i++) acc += (double)v[i] * o2[i];
            f[s] = acc;
        }
        double fd = (f[0] - f[1]) / (2 * h);
        worst = fmax(worst, fabs(fd - vj[j]) / (1e-3 + fabs(fd)));
    }
    CHECK(worst < 2e-2, "vjp of %s vs central differences: worst relative error %g",
          sgm_arch_name(arch), worst);
    /* batch bounds */
    CHECK(sgm_net_forward(n, o, x, cn, lab, B + 1, &e) == SGM_ERR_SHAPE && strstr(e.msg, "batch"),
          "batch over max_batch: %s", e.msg);
    CHECK(sgm_net_forward(n, o, x, cn, lab, 0, &e) == SGM_ERR_SHAPE, "batch 0");
    free(x), free(v), free(o), free(o2), free(vj), free(xp);
    sgm_net_free(n);
}

static void test_errors(void) {
    sgm_net *n = (sgm_net *)1;
    sgm_error e;
    int d;
    sgm_net_config c = small(SGM_ARCH_UNET, &d);
    CHECK(sgm_net_create(&c, d + 1, 2, 0, &n, &e) == SGM_ERR_SHAPE && !n &&
              strstr(e.msg, "1 x 8 x 8"),
          "U-Net on the wrong width: %s", e.msg);
    c.unet.out_ch = 2;
    CHECK(sgm_net_create(&c, d, 2, 0, &n, &e) == SGM_ERR_INVALID_ARG, "out_ch > in_ch: %s", e.msg);
    /* in_ch > out_ch: the extra channels are a condition (MR restoration):
       input rows [x, cond] of 2 d, output d, no input VJP */
    c.unet.in_ch = 2, c.unet.out_ch = 1;
    CHECK(sgm_net_create(&c, d, 2, 0, &n, &e) == SGM_OK && sgm_net_cond_dim(n) == d &&
              sgm_net_dim(n) == d,
          "condition channels: %s", e.msg);
    if (n && n != (sgm_net *)1) {
        float *xc = calloc((size_t)(4 * d), sizeof *xc), *oc = calloc((size_t)(2 * d), sizeof *oc);
        float *vj = calloc((size_t)(2 * d), sizeof *vj), cn[2] = {0.1f, -0.2f};
        for (int i = 0; xc && i < 4 * d; i++) xc[i] = (float)sin(0.37 * i);
        CHECK(xc && oc && vj && sgm_net_forward(n, oc, xc, cn, NULL, 2, &e) == SGM_OK,
              "forward on [x, cond] rows: %s", e.msg);
        int fin = 1;
        for (int i = 0; oc && i < 2 * d; i++) fin &= isfinite(oc[i]) != 0;
        CHECK(fin, "finite output");
        CHECK(xc && sgm_net_vjp(n, oc, vj, xc, cn, NULL, oc, 2, &e) == SGM_ERR_UNSUPPORTED,
              "no input VJP with a condition");
        free(xc), free(oc), free(vj);
        sgm_net_free(n);
    }
    c = small(SGM_ARCH_UNET, &d);
    c = small(SGM_ARCH_MLP, &d);
    c.mlp.d_emb = 1;
    CHECK(sgm_net_create(&c, d, 2, 0, &n, &e) == SGM_ERR_INVALID_ARG && strstr(e.msg, "emb"),
          "mlp emb 1: %s", e.msg);
    c = small(SGM_ARCH_MLP, &d);
    c.arch = (sgm_arch)7;
    CHECK(sgm_net_create(&c, d, 2, 0, &n, &e) == SGM_ERR_INVALID_ARG, "unknown arch id");
    c.arch = SGM_ARCH_MLP;
    CHECK(sgm_net_create(&c, 0, 2, 0, &n, &e) == SGM_ERR_SHAPE, "width 0");
    CHECK(sgm_net_create(&c, d, 0, 0, &n, &e) == SGM_ERR_INVALID_ARG, "max_batch 0");
    CHECK(sgm_net_create(NULL, d, 2, 0, &n, &e) == SGM_ERR_INVALID_ARG, "NULL config");
    sgm_net_free(NULL);
}

int main(void) {
    test_registry();
    test_arch(SGM_ARCH_MLP);
    test_arch(SGM_ARCH_UNET);
    test_errors();
    TEST_MAIN_END();
}
