/* test_nn_gradcheck.c - finite-difference gradient checks of every NN layer,
 * independent of any Python fixture.
 *
 * For each layer, with a fixed random upstream gradient R, the scalar
 * L = sum(out * R) is accumulated in double; the analytic gradient is
 * backward(dout = R), the numeric one the central difference
 * (L(x + h) - L(x - h)) / (x+ - x-) with x+ and x- the float32 values actually
 * stored (so rounding of x +- h does not enter). Every element of every input
 * and parameter tensor is checked, on small odd shapes (N = 3, C = 5,
 * H = W = 7 and the like; H != W somewhere so that axis swaps show).
 * The kernels compute in float32, so the difference quotient carries
 * roundoff of about sqrt(#out) 2^-24 |out| |R| / h; see TOL below.
 * Also checked for every layer: calling backward twice doubles the
 * gradients (the accumulate-into contract), and backward with only the input
 * gradient requested (the vector-Jacobian product used by likelihoods and
 * guidance) gives the same input gradient as the full backward.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgm/sgm_nn.h"
#include "test_util.h"

#define GC_MAXT 6
#define GC_MAXC 6

typedef struct gc gc;
struct gc {
    const char *name;
    int nt;                       /* differentiable tensors; tensor 0 is the input */
    int input_is_param;           /* tensor 0 is a table (class embedding): no VJP check */
    const char *tname[GC_MAXT];
    float *x[GC_MAXT], *dx[GC_MAXT];
    size_t n[GC_MAXT];
    float *out, *dout;
    size_t nout;
    float *cache[GC_MAXC];
    int d[8];
    int *labels;
    sgm_nn_conv2d_dims cd;
    sgm_nn_sinusoidal sc;
    int mode;
    void *aux;                    /* composite models (the MLP) */
    double h;                     /* finite-difference step */
    void (*fwd)(gc *g);
    void (*bwd)(gc *g, int input_only);
};

static uint64_t g_stream = 1;

static void gc_init(gc *g, const char *name, size_t nout, double h) {
    memset(g, 0, sizeof *g);
    g->name = name;
    g->nout = nout;
    g->out = tu_falloc(nout);
    g->dout = tu_falloc(nout);
    g->h = h;
}

/* adds a differentiable tensor filled with uniform values in [lo, hi) */
static float *gc_tensor(gc *g, const char *name, size_t n, float lo, float hi) {
    int i = g->nt++;
    g->tname[i] = name;
    g->n[i] = n;
    g->x[i] = tu_falloc(n);
    g->dx[i] = tu_falloc(n);
    sgm_nn_fill_uniform(g->x[i], n, lo, hi, 1234, g_stream++);
    return g->x[i];
}

static float *gc_cache(gc *g, int k, size_t n) {
    g->cache[k] = tu_falloc(n);
    return g->cache[k];
}

static void gc_free(gc *g) {
    for (int i = 0; i < g->nt; i++) {
        free(g->x[i]);
        free(g->dx[i]);
    }
    for (int k = 0; k < GC_MAXC; k++) free(g->cache[k]);
    free(g->out);
    free(g->dout);
    free(g->labels);
}

static double gc_loss(gc *g) {
    g->fwd(g);
    double s = 0.0;
    for (size_t i = 0; i < g->nout; i++) s += (double)g->out[i] * g->dout[i];
    return s;
}

/* Runs all checks on g; pass if |analytic - numeric| <= atol + rtol |numeric|. */
static void gc_run(gc *g, double rtol, double atol) {
    sgm_nn_fill_uniform(g->dout, g->nout, -1.0f, 1.0f, 99, g_stream++);
    float *ref[GC_MAXT];
    g->fwd(g);
    for (int i = 0; i < g->nt; i++) sgm_nn_zero(g->dx[i], g->n[i]);
    g->bwd(g, 0);
    for (int i = 0; i < g->nt; i++) {
        ref[i] = tu_falloc(g->n[i]);
        memcpy(ref[i], g->dx[i], g->n[i] * sizeof(float));
    }
    /* accumulate-into: a second backward doubles every gradient. Kernels that
     * accumulate over samples inside sgemm (beta = 1) add the second pass
     * term by term onto the first, so the result is 2g only up to float
     * rounding of the partial sums: 1e-5 of the tensor's largest gradient. */
    double scale[GC_MAXT];
    for (int i = 0; i < g->nt; i++) {
        scale[i] = 1e-30;
        for (size_t j = 0; j < g->n[i]; j++) scale[i] = fmax(scale[i], fabs(ref[i][j]));
    }
    g->bwd(g, 0);
    for (int i = 0; i < g->nt; i++) {
        double worst = 0.0;
        for (size_t j = 0; j < g->n[i]; j++)
            worst = fmax(worst, fabs((double)g->dx[i][j] - 2.0 * ref[i][j]) / scale[i]);
        CHECK(worst <= 1e-5, "%s: d%s not doubled by a second backward (%.3g)", g->name,
              g->tname[i], worst);
    }
    /* input-only backward (VJP w.r.t. the input) matches the full one; same
     * arithmetic, so only a float-rounding guard (1e-6 of the largest) */
    if (!g->input_is_param) {
        sgm_nn_zero(g->dx[0], g->n[0]);
        g->bwd(g, 1);
        double worst = 0.0;
        for (size_t j = 0; j < g->n[0]; j++)
            worst = fmax(worst, fabs((double)g->dx[0][j] - ref[0][j]) / scale[0]);
        CHECK(worst <= 1e-6, "%s: input-only backward differs from the full backward (%.3g)",
              g->name, worst);
    }
    /* central differences */
    for (int i = 0; i < g->nt; i++) {
        double max_abs = 0.0, max_rel = 0.0;
        size_t bad = 0, worst_j = 0;
        double worst_ratio = 0.0, worst_a = 0.0, worst_num = 0.0;
        for (size_t j = 0; j < g->n[i]; j++) {
            float v = g->x[i][j];
            float xp = (float)(v + g->h), xm = (float)(v - g->h);
            g->x[i][j] = xp;
            double lp = gc_loss(g);
            g->x[i][j] = xm;
            double lm = gc_loss(g);
            g->x[i][j] = v;
            double num = (lp - lm) / ((double)xp - (double)xm);
            double a = ref[i][j];
            double err = fabs(a - num);
            double ratio = err / (atol + rtol * fabs(num));
            if (ratio > 1.0) bad++;
            if (ratio > worst_ratio) {
                worst_ratio = ratio;
                worst_j = j;
                worst_a = a;
                worst_num = num;
            }
            max_abs = fmax(max_abs, err);
            if (fabs(num) > 1e-3) max_rel = fmax(max_rel, err / fabs(num));
        }
        CHECK(bad == 0,
              "%s: d%s: %zu of %zu elements off; worst [%zu] analytic %.7g numeric %.7g "
              "(rtol %g, atol %g)",
              g->name, g->tname[i], bad, g->n[i], worst_j, worst_a, worst_num, rtol, atol);
        if (getenv("SGM_GC_VERBOSE"))
            printf("%-28s d%-8s n=%-5zu max abs err %.2e  max rel err %.2e\n", g->name,
                   g->tname[i], g->n[i], max_abs, max_rel);
        free(ref[i]);
    }
}

/* Tolerances. The numeric gradient of a float32 forward has absolute error
 * ~ sqrt(nout) 6e-8 |out| / h (roundoff; nout <= ~1000 here, |out| ~ 1, so
 * ~1e-4 at h = 1e-2) plus h^2 |f'''| / 6 (truncation, ~1e-5 at h = 1e-2 for
 * these smooth layers). Piecewise-linear layers (linear, conv, pooling,
 * transposes, lookups) have no truncation error, so they use a larger h
 * (0.1) and tighter bounds. */
#define H_SMOOTH 1e-2
#define H_LINEAR 1e-1
#define RTOL_SMOOTH 5e-3 /* roundoff + truncation above, relative to O(1) gradients */
#define ATOL_SMOOTH 5e-4
#define RTOL_LINEAR 1e-3 /* roundoff only: ~1e-5 at h = 0.1 */
#define ATOL_LINEAR 1e-4

/* ------------------------------------------------------------ layers --- */

/* d: N, C, OC */
static void fwd_linear(gc *g) {
    sgm_nn_linear_forward(g->out, g->x[0], g->x[1], g->x[2], g->d[0], g->d[1], g->d[2]);
}
static void bwd_linear(gc *g, int io) {
    sgm_nn_linear_backward(g->dx[0], io ? NULL : g->dx[1], io ? NULL : g->dx[2], g->dout,
                           g->x[0], g->x[1], g->d[0], g->d[1], g->d[2]);
}
static void test_linear(void) {
    gc g;
    int N = 3, C = 5, OC = 4;
    gc_init(&g, "linear", (size_t)(N * OC), H_LINEAR);
    g.d[0] = N, g.d[1] = C, g.d[2] = OC;
    gc_tensor(&g, "inp", (size_t)(N * C), -1, 1);
    gc_tensor(&g, "weight", (size_t)(OC * C), -0.5f, 0.5f);
    gc_tensor(&g, "bias", (size_t)OC, -0.5f, 0.5f);
    g.fwd = fwd_linear, g.bwd = bwd_linear;
    gc_run(&g, RTOL_LINEAR, ATOL_LINEAR);
    gc_free(&g);
}

static void fwd_silu(gc *g) { sgm_nn_silu_forward(g->out, g->x[0], g->nout); }
static void bwd_silu(gc *g, int io) {
    (void)io;
    sgm_nn_silu_backward(g->dx[0], g->dout, g->x[0], g->nout);
}
static void fwd_gelu(gc *g) {
    sgm_nn_gelu_forward(g->out, g->x[0], g->nout, (sgm_nn_gelu_mode)g->mode);
}
static void bwd_gelu(gc *g, int io) {
    (void)io;
    sgm_nn_gelu_backward(g->dx[0], g->dout, g->x[0], g->nout, (sgm_nn_gelu_mode)g->mode);
}
static void test_activations(void) {
    gc g;
    gc_init(&g, "silu", 105, H_SMOOTH);
    gc_tensor(&g, "inp", 105, -4, 4);
    g.fwd = fwd_silu, g.bwd = bwd_silu;
    gc_run(&g, RTOL_SMOOTH, ATOL_SMOOTH);
    gc_free(&g);
    for (int mode = 0; mode < 2; mode++) {
        gc_init(&g, mode ? "gelu_tanh" : "gelu_erf", 105, H_SMOOTH);
        gc_tensor(&g, "inp", 105, -4, 4);
        g.mode = mode;
        g.fwd = fwd_gelu, g.bwd = bwd_gelu;
        gc_run(&g, RTOL_SMOOTH, ATOL_SMOOTH);
        gc_free(&g);
    }
}

/* d: N, C; caches mean, rstd */
static void fwd_layernorm(gc *g) {
    sgm_nn_layernorm_forward(g->out, g->cache[0], g->cache[1], g->x[0], g->x[1], g->x[2],
                             g->d[0], g->d[1], 1e-5f);
}
static void bwd_layernorm(gc *g, int io) {
    sgm_nn_layernorm_backward(g->dx[0], io ? NULL : g->dx[1], io ? NULL : g->dx[2], g->dout,
                              g->x[0], g->x[1], g->cache[0], g->cache[1], g->d[0], g->d[1]);
}
static void test_layernorm(void) {
    gc g;
    int N = 3, C = 7;
    gc_init(&g, "layernorm", (size_t)(N * C), H_SMOOTH);
    g.d[0] = N, g.d[1] = C;
    gc_tensor(&g, "inp", (size_t)(N * C), -1, 1);
    gc_tensor(&g, "weight", (size_t)C, 0.5f, 1.5f);
    gc_tensor(&g, "bias", (size_t)C, -0.5f, 0.5f);
    gc_cache(&g, 0, (size_t)N);
    gc_cache(&g, 1, (size_t)N);
    g.fwd = fwd_layernorm, g.bwd = bwd_layernorm;
    gc_run(&g, RTOL_SMOOTH, ATOL_SMOOTH);
    gc_free(&g);
}

/* d: N, C, HW, G */
static void fwd_groupnorm(gc *g) {
    sgm_nn_groupnorm_forward(g->out, g->cache[0], g->cache[1], g->x[0], g->x[1], g->x[2],
                             g->d[0], g->d[1], g->d[2], g->d[3], 1e-5f);
}
static void bwd_groupnorm(gc *g, int io) {
    sgm_nn_groupnorm_backward(g->dx[0], io ? NULL : g->dx[1], io ? NULL : g->dx[2], g->dout,
                              g->x[0], g->x[1], g->cache[0], g->cache[1], g->d[0], g->d[1],
                              g->d[2], g->d[3]);
}
static void test_groupnorm(int N, int C, int HW, int G, const char *name) {
    gc g;
    gc_init(&g, name, (size_t)(N * C * HW), H_SMOOTH);
    g.d[0] = N, g.d[1] = C, g.d[2] = HW, g.d[3] = G;
    gc_tensor(&g, "inp", (size_t)(N * C * HW), -1, 1);
    gc_tensor(&g, "weight", (size_t)C, 0.5f, 1.5f);
    gc_tensor(&g, "bias", (size_t)C, -0.5f, 0.5f);
    gc_cache(&g, 0, (size_t)(N * G));
    gc_cache(&g, 1, (size_t)(N * G));
    g.fwd = fwd_groupnorm, g.bwd = bwd_groupnorm;
    gc_run(&g, RTOL_SMOOTH, ATOL_SMOOTH);
    gc_free(&g);
}

static void fwd_conv(gc *g) {
    sgm_nn_conv2d_forward(g->out, g->cache[0], g->x[0], g->x[1], g->x[2], &g->cd);
}
static void bwd_conv(gc *g, int io) {
    sgm_nn_conv2d_backward(g->dx[0], io ? NULL : g->dx[1], io ? NULL : g->dx[2], g->cache[0],
                           g->dout, g->x[0], g->x[1], &g->cd);
}
static void test_conv(int N, int C, int H, int W, int OC, int K, int stride, int pad,
                      const char *name) {
    gc g;
    sgm_nn_conv2d_dims cd = {N, C, H, W, OC, K, stride, pad};
    int Ho = sgm_nn_conv2d_out_size(H, K, stride, pad);
    int Wo = sgm_nn_conv2d_out_size(W, K, stride, pad);
    gc_init(&g, name, (size_t)(N * OC * Ho * Wo), H_LINEAR);
    g.cd = cd;
    gc_tensor(&g, "inp", (size_t)(N * C * H * W), -1, 1);
    gc_tensor(&g, "weight", (size_t)(OC * C * K * K), -0.3f, 0.3f);
    gc_tensor(&g, "bias", (size_t)OC, -0.5f, 0.5f);
    gc_cache(&g, 0, sgm_nn_conv2d_scratch_size(&cd));
    g.fwd = fwd_conv, g.bwd = bwd_conv;
    gc_run(&g, RTOL_LINEAR, ATOL_LINEAR);
    gc_free(&g);
}

/* d: N, C, H, W */
static void fwd_pool(gc *g) {
    sgm_nn_avgpool2x_forward(g->out, g->x[0], g->d[0], g->d[1], g->d[2], g->d[3]);
}
static void bwd_pool(gc *g, int io) {
    (void)io;
    sgm_nn_avgpool2x_backward(g->dx[0], g->dout, g->d[0], g->d[1], g->d[2], g->d[3]);
}
static void fwd_up(gc *g) {
    sgm_nn_upsample2x_forward(g->out, g->x[0], g->d[0], g->d[1], g->d[2], g->d[3]);
}
static void bwd_up(gc *g, int io) {
    (void)io;
    sgm_nn_upsample2x_backward(g->dx[0], g->dout, g->d[0], g->d[1], g->d[2], g->d[3]);
}
static void test_resample(void) {
    gc g;
    int N = 3, C = 5, H = 7, W = 6;
    gc_init(&g, "avgpool2x", (size_t)(N * C * (H / 2) * (W / 2)), H_LINEAR);
    g.d[0] = N, g.d[1] = C, g.d[2] = H, g.d[3] = W;
    gc_tensor(&g, "inp", (size_t)(N * C * H * W), -1, 1);
    g.fwd = fwd_pool, g.bwd = bwd_pool;
    gc_run(&g, RTOL_LINEAR, ATOL_LINEAR);
    gc_free(&g);
    H = 3, W = 4;
    gc_init(&g, "upsample2x", (size_t)(N * C * 4 * H * W), H_LINEAR);
    g.d[0] = N, g.d[1] = C, g.d[2] = H, g.d[3] = W;
    gc_tensor(&g, "inp", (size_t)(N * C * H * W), -1, 1);
    g.fwd = fwd_up, g.bwd = bwd_up;
    gc_run(&g, RTOL_LINEAR, ATOL_LINEAR);
    gc_free(&g);
}

/* d: N, T, C, NH; cache 0 att (N, NH, T, T), cache 1 scratch (T, T) */
static void fwd_attn(gc *g) {
    sgm_nn_attention_forward(g->out, g->cache[0], g->x[0], g->d[0], g->d[1], g->d[2], g->d[3]);
}
static void bwd_attn(gc *g, int io) {
    (void)io;
    sgm_nn_attention_backward(g->dx[0], g->cache[1], g->dout, g->x[0], g->cache[0], g->d[0],
                              g->d[1], g->d[2], g->d[3]);
}
static void test_attention(int N, int T, int C, int NH, const char *name) {
    gc g;
    gc_init(&g, name, (size_t)(N * T * C), H_SMOOTH);
    g.d[0] = N, g.d[1] = T, g.d[2] = C, g.d[3] = NH;
    gc_tensor(&g, "qkv", (size_t)(N * T * 3 * C), -1.5f, 1.5f);
    gc_cache(&g, 0, (size_t)(N * NH * T * T));
    gc_cache(&g, 1, (size_t)(T * T));
    g.fwd = fwd_attn, g.bwd = bwd_attn;
    gc_run(&g, RTOL_SMOOTH, ATOL_SMOOTH);
    gc_free(&g);
}

/* d: N, D */
static void fwd_sin(gc *g) { sgm_nn_sinusoidal_forward(g->out, g->x[0], g->d[0], g->d[1], &g->sc); }
static void bwd_sin(gc *g, int io) {
    (void)io;
    sgm_nn_sinusoidal_backward(g->dx[0], g->dout, g->x[0], g->d[0], g->d[1], &g->sc);
}
static void test_sinusoidal(int flip, double shift, int D, const char *name) {
    gc g;
    int N = 3;
    gc_init(&g, name, (size_t)(N * D), 1e-3); /* f''' ~ |a|^3: t up to 3 and scale 1 */
    g.d[0] = N, g.d[1] = D;
    g.sc = sgm_nn_sinusoidal_defaults();
    g.sc.flip_sin_to_cos = flip;
    g.sc.downscale_freq_shift = shift;
    gc_tensor(&g, "t", (size_t)N, 0.0f, 3.0f);
    g.fwd = fwd_sin, g.bwd = bwd_sin;
    /* h = 1e-3 with |L| ~ D: roundoff ~ D 6e-8 / 1e-3 ~ 1e-3 absolute */
    gc_run(&g, RTOL_SMOOTH, 2e-3);
    gc_free(&g);
}

/* d: N, E */
static void fwd_fourier(gc *g) { sgm_nn_fourier_forward(g->out, g->x[0], g->x[1], g->d[0], g->d[1]); }
static void bwd_fourier(gc *g, int io) {
    sgm_nn_fourier_backward(g->dx[0], io ? NULL : g->dx[1], g->dout, g->x[0], g->x[1], g->d[0],
                            g->d[1]);
}
static void test_fourier(void) {
    gc g;
    int N = 3, E = 5;
    gc_init(&g, "fourier", (size_t)(N * 2 * E), 1e-3); /* phase 2 pi x W up to ~6 */
    g.d[0] = N, g.d[1] = E;
    gc_tensor(&g, "x", (size_t)N, -1, 1);
    gc_tensor(&g, "W", (size_t)E, -1, 1);
    g.fwd = fwd_fourier, g.bwd = bwd_fourier;
    gc_run(&g, RTOL_SMOOTH, 2e-3); /* as the sinusoidal case: h = 1e-3 */
    gc_free(&g);
}

/* d: N, D, n_classes */
static void fwd_class(gc *g) {
    sgm_nn_class_embed_forward(g->out, g->labels, g->x[0], g->d[0], g->d[1], g->d[2]);
}
static void bwd_class(gc *g, int io) {
    (void)io;
    sgm_nn_class_embed_backward(g->dx[0], g->dout, g->labels, g->d[0], g->d[1], g->d[2]);
}
static void test_class_embed(void) {
    gc g;
    int N = 5, D = 3, K = 4;
    gc_init(&g, "class_embed", (size_t)(N * D), H_LINEAR);
    g.d[0] = N, g.d[1] = D, g.d[2] = K;
    g.input_is_param = 1;
    gc_tensor(&g, "table", (size_t)((K + 1) * D), -1, 1);
    g.labels = malloc(5 * sizeof(int));
    int lab[5] = {2, -1, 0, 2, 4}; /* repeats, a negative and an explicit null label */
    memcpy(g.labels, lab, sizeof lab);
    g.fwd = fwd_class, g.bwd = bwd_class;
    gc_run(&g, RTOL_LINEAR, ATOL_LINEAR);
    /* the null row (index K) gets the gradient of both null labels */
    gc_free(&g);
}

/* d: N, A, B */
static void fwd_tr(gc *g) { sgm_nn_transpose_forward(g->out, g->x[0], g->d[0], g->d[1], g->d[2]); }
static void bwd_tr(gc *g, int io) {
    (void)io;
    sgm_nn_transpose_backward(g->dx[0], g->dout, g->d[0], g->d[1], g->d[2]);
}
static void fwd_add(gc *g) { sgm_nn_add_forward(g->out, g->x[0], g->x[1], g->nout); }
static void bwd_add(gc *g, int io) {
    sgm_nn_add_backward(g->dx[0], io ? NULL : g->dx[1], g->dout, g->nout);
}
static void test_misc(void) {
    gc g;
    gc_init(&g, "transpose", 3 * 5 * 7, H_LINEAR);
    g.d[0] = 3, g.d[1] = 5, g.d[2] = 7;
    gc_tensor(&g, "inp", 3 * 5 * 7, -1, 1);
    g.fwd = fwd_tr, g.bwd = bwd_tr;
    gc_run(&g, RTOL_LINEAR, ATOL_LINEAR);
    gc_free(&g);
    gc_init(&g, "add", 35, H_LINEAR);
    gc_tensor(&g, "a", 35, -1, 1);
    gc_tensor(&g, "b", 35, -1, 1);
    g.fwd = fwd_add, g.bwd = bwd_add;
    gc_run(&g, RTOL_LINEAR, ATOL_LINEAR);
    gc_free(&g);
}

/* residual MLP as a composition: input x, conditioning c and the whole
 * parameter block (the gc tensors are bound as the model's blocks) */
static void fwd_mlp(gc *g) {
    sgm_nn_mlp *m = g->aux;
    m->params = g->x[2];
    m->grads = g->dx[2];
    sgm_status st = sgm_nn_mlp_forward(m, g->out, g->x[0], g->x[1], g->d[0], NULL);
    if (st != SGM_OK) exit(2);
}
static void bwd_mlp(gc *g, int io) {
    sgm_nn_mlp *m = g->aux;
    sgm_status st = sgm_nn_mlp_backward(m, g->dx[0], io ? NULL : g->dx[1], g->dout, g->d[0], !io,
                                        NULL);
    if (st != SGM_OK) exit(2);
}
static void test_mlp(int n_blocks, const char *name) {
    sgm_nn_mlp m;
    sgm_nn_mlp_config cfg = {3, 5, 8, n_blocks, sgm_nn_sinusoidal_defaults(), 0};
    int N = 4;
    CHECK(sgm_nn_mlp_init(&m, &cfg, 6, 42, NULL) == SGM_OK, "mlp init");
    float *own_p = m.params, *own_g = m.grads;
    gc g;
    gc_init(&g, name, (size_t)(N * cfg.d_in), H_SMOOTH);
    g.d[0] = N;
    g.aux = &m;
    gc_tensor(&g, "x", (size_t)(N * cfg.d_in), -1, 1);
    gc_tensor(&g, "c", (size_t)N, 0.0f, 3.0f);
    float *p = gc_tensor(&g, "params", m.n_params, 0, 1);
    memcpy(p, own_p, m.n_params * sizeof(float)); /* the default init */
    g.fwd = fwd_mlp, g.bwd = bwd_mlp;
    gc_run(&g, RTOL_SMOOTH, ATOL_SMOOTH);
    /* a batch larger than max_batch, or backward without forward, is refused */
    sgm_error err;
    CHECK(sgm_nn_mlp_forward(&m, g.out, g.x[0], g.x[1], 7, &err) == SGM_ERR_SHAPE, "mlp batch");
    CHECK(sgm_nn_mlp_backward(&m, NULL, NULL, g.dout, N - 1, 1, &err) == SGM_ERR_INVALID_ARG,
          "mlp backward batch");
    char nm[64];
    size_t cnt;
    sgm_nn_mlp_tensor(&m, 2, nm, sizeof nm, &cnt);
    if (n_blocks) CHECK(!strcmp(nm, "blocks.0.fc1.weight") && cnt == 64, "tensor name %s", nm);
    m.params = own_p, m.grads = own_g;
    sgm_nn_mlp_free(&m);
    gc_free(&g);
}

int main(void) {
    test_linear();
    test_activations();
    test_layernorm();
    test_groupnorm(3, 6, 7 * 5, 3, "groupnorm_g3");
    test_groupnorm(2, 5, 9, 1, "groupnorm_g1");
    test_groupnorm(2, 5, 9, 5, "groupnorm_g=c");
    test_conv(3, 5, 7, 7, 4, 3, 1, 1, "conv3x3_s1p1");
    test_conv(3, 5, 7, 6, 3, 1, 1, 0, "conv1x1");
    test_conv(3, 5, 7, 6, 4, 3, 2, 1, "conv3x3_s2p1");
    test_conv(2, 3, 6, 5, 2, 3, 1, 0, "conv3x3_s1p0");
    test_resample();
    test_attention(2, 7, 6, 2, "attention_nh2");
    test_attention(3, 5, 4, 1, "attention_nh1");
    test_sinusoidal(0, 1.0, 9, "sinusoidal_d9");
    test_sinusoidal(1, 0.0, 8, "sinusoidal_flip_d8");
    test_fourier();
    test_class_embed();
    test_misc();
    test_mlp(2, "mlp_2blocks");
    test_mlp(0, "mlp_0blocks");
    TEST_MAIN_END();
}
