/* test_net_invariance.c - a sample's network output does not depend on the
 * batch it is evaluated in or on the thread count, bit for bit: the residual
 * MLP, multi-head attention and the U-Net with either convolution backend
 * (oneDNN; im2col + the fixed-order product) -
 * the property that makes sampling through a checkpoint give the same bytes
 * for any --batch and thread count (gemm_det.c, docs/numerics.md). Each
 * network is run on a batch of NB rows, then on sub-batches at several
 * offsets (1 row, 3 rows, 7 rows), then on the whole batch with 1 thread;
 * every comparison is memcmp, no tolerance. */
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "sgm/sgm_nn.h"
#include "sgm/sgm_unet.h"
#include "test_util.h"

#define NB 16

static void set_threads(int n) {
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

static void fill(float *x, size_t n, unsigned seed) {
    srand(seed);
    for (size_t i = 0; i < n; i++) x[i] = (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
}

/* the sub-batches (offset, rows) compared with the full batch */
static const int subs[][2] = {{0, 1}, {5, 1}, {15, 1}, {2, 3}, {9, 7}};
#define NSUB (int)(sizeof subs / sizeof subs[0])

static void test_mlp(void) {
    sgm_nn_mlp_config c;
    memset(&c, 0, sizeof c);
    c.d_in = 5, c.d_emb = 32, c.width = 96, c.n_blocks = 2; /* 96: a partial 64-column tile */
    c.emb.scale = 100.0, c.emb.downscale_freq_shift = 1.0, c.emb.max_period = 10000.0;
    sgm_nn_mlp m;
    sgm_error e = {0};
    CHECK(sgm_nn_mlp_init(&m, &c, NB, 11, &e) == SGM_OK, "mlp init: %s", e.msg);
    float x[NB * 5], cn[NB], full[NB * 5], part[NB * 5], one_thr[NB * 5];
    fill(x, NB * 5, 1);
    fill(cn, NB, 2);
    set_threads(2);
    CHECK(sgm_nn_mlp_forward(&m, full, x, cn, NB, &e) == SGM_OK, "mlp forward: %s", e.msg);
    for (int s = 0; s < NSUB; s++) {
        int o = subs[s][0], r = subs[s][1];
        sgm_nn_mlp_forward(&m, part, x + o * 5, cn + o, r, &e);
        CHECK(memcmp(part, full + o * 5, (size_t)r * 5 * sizeof(float)) == 0,
              "mlp: rows %d..%d alone differ from the full batch", o, o + r - 1);
    }
    set_threads(1);
    sgm_nn_mlp_forward(&m, one_thr, x, cn, NB, &e);
    CHECK(memcmp(one_thr, full, sizeof full) == 0, "mlp: 1 thread differs from 2 threads");
    set_threads(2);
    sgm_nn_mlp_free(&m);
}

static void test_attention(void) {
    enum { T = 13, C = 24, NH = 2 }; /* hs 12: a lane tail, T a tile tail */
    static float qkv[NB * T * 3 * C], full[NB * T * C], part[NB * T * C];
    static float att[NB * NH * T * T];
    fill(qkv, sizeof qkv / sizeof qkv[0], 3);
    set_threads(2);
    sgm_nn_attention_forward(full, att, qkv, NB, T, C, NH);
    for (int s = 0; s < NSUB; s++) {
        int o = subs[s][0], r = subs[s][1];
        sgm_nn_attention_forward(part, att, qkv + (size_t)o * T * 3 * C, r, T, C, NH);
        CHECK(memcmp(part, full + (size_t)o * T * C, (size_t)r * T * C * sizeof(float)) == 0,
              "attention: samples %d..%d alone differ", o, o + r - 1);
    }
    set_threads(1);
    sgm_nn_attention_forward(part, att, qkv, NB, T, C, NH);
    CHECK(memcmp(part, full, sizeof full) == 0, "attention: 1 thread differs from 2 threads");
    set_threads(2);
}

static void test_unet(sgm_nn_conv2d_backend be, const char *name) {
    if (be == SGM_NN_CONV2D_DNNL && !sgm_nn_conv2d_have_dnnl()) {
        printf("unet %s: not run (sgm built without oneDNN)\n", name);
        return;
    }
    sgm_unet_config c = sgm_unet_config_default();
    c.height = c.width = 12, c.base_ch = 16, c.n_levels = 2, c.mult[0] = 1, c.mult[1] = 2;
    c.attn[0] = 0, c.attn[1] = 1, c.mid_attn = 1, c.n_res = 1, c.groups = 4, c.emb_dim = 32;
    c.n_classes = 3;
    sgm_unet u;
    sgm_error e = {0};
    CHECK(sgm_unet_init(&u, &c, NB, 5, &e) == SGM_OK, "unet init: %s", e.msg);
    CHECK(sgm_unet_set_conv_backend(&u, be, &e) == SGM_OK, "%s: %s", name, e.msg);
    enum { D = 144 };
    static float x[NB * D], full[NB * D], part[NB * D];
    float cn[NB];
    int lab[NB];
    fill(x, NB * D, 4);
    fill(cn, NB, 5);
    for (int i = 0; i < NB; i++) lab[i] = i % 4 == 3 ? SGM_UNET_NULL_LABEL : i % 3;
    set_threads(2);
    CHECK(sgm_unet_forward(&u, full, x, cn, lab, NB, &e) == SGM_OK, "unet forward: %s", e.msg);
    for (int s = 0; s < NSUB; s++) {
        int o = subs[s][0], r = subs[s][1];
        sgm_unet_forward(&u, part, x + o * D, cn + o, lab + o, r, &e);
        CHECK(memcmp(part, full + o * D, (size_t)r * D * sizeof(float)) == 0,
              "unet %s: samples %d..%d alone differ from the full batch", name, o,
              o + r - 1);
    }
    set_threads(1);
    sgm_unet_forward(&u, part, x, cn, lab, NB, &e);
    CHECK(memcmp(part, full, sizeof full) == 0, "unet %s: 1 thread differs from 2 threads", name);
    set_threads(2);
    sgm_unet_free(&u);
}

int main(void) {
    test_mlp();
    test_attention();
    test_unet(SGM_NN_CONV2D_GEMM, "gemm");
    test_unet(SGM_NN_CONV2D_DNNL, "dnnl");
    TEST_MAIN_END();
}
