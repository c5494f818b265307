/* test_nn_parity.c - forward and backward of every NN layer against PyTorch,
 * plus Adam / AdamW steps against torch.optim and gradient clipping against
 * torch.nn.utils.clip_grad_norm_.
 *
 * Fixtures: tests/data/nn/<case>.bin, written by tools/ref/gen_nn.py
 * (format documented there: magic "SGMNNFX\0", version, named records).
 * Regenerate with:  /usr/bin/python3 tools/ref/gen_nn.py tests/data/nn
 * The references are PyTorch float64 results for the float32 inputs stored in
 * the fixture, so every difference below is the C float32 arithmetic.
 *
 * Comparison, per element: |got - ref| <= rtol |ref| + arel max|ref|, where
 * max|ref| is over the tensor: sums of float32 products carry absolute error
 * relative to the size of their terms, so elements that cancel to nearly
 * zero are judged against the tensor's scale (the arel term). Per-case
 * tolerances and their reasons are in the table TOL_* below.
 * Backward is called a second time to check that gradients accumulate (2x).
 * Set SGM_NN_VERBOSE=1 to print the max errors of every tensor.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgm/sgm_nn.h"
#include "test_fixture.h"
#include "test_util.h"

/* ------------------------------------------------------------ fixture --- */

/* 0 on success; on failure prints why and returns -1 */
static int fx_load(const char *name, fx *x) {
    char rel[256], path[512];
    snprintf(rel, sizeof rel, "tests/data/nn/%s.bin", name);
    return fx_open(tu_src(rel, path, sizeof path), "tools/ref/gen_nn.py", x);
}

static const fx_rec *fx_get(const fx *x, const char *name) {
    const fx_rec *r = fx_find(x, name);
    if (r) return r;
    fprintf(stderr, "%s: no record '%s'\n", x->path, name);
    exit(2); /* a fixture / test mismatch is a broken test, not a failed check */
}

/* malloc'd float32 copy of a record (values are float32-exact for inputs) */
static float *fx_f32(const fx *x, const char *name) {
    const fx_rec *r = fx_get(x, name);
    float *p = malloc((r->count ? r->count : 1) * sizeof(float));
    if (!p) exit(2);
    for (size_t i = 0; i < r->count; i++) p[i] = (float)r->data[i];
    return p;
}

static float *zeros(size_t n) {
    float *p = calloc(n ? n : 1, sizeof(float));
    if (!p) exit(2);
    return p;
}

static double fx_cfg(const fx *x, int i) {
    const fx_rec *r = fx_get(x, "cfg");
    if ((size_t)i >= r->count) exit(2);
    return r->data[i];
}

/* ------------------------------------------------------------ compare --- */

/* compares got (count of ref) with factor * ref */
static void cmp(const char *cas, const char *what, const float *got, const fx_rec *ref,
                double factor, double rtol, double arel) {
    double mx = 0.0;
    for (size_t i = 0; i < ref->count; i++) mx = fmax(mx, fabs(factor * ref->data[i]));
    double worst = 0.0, max_abs = 0.0, max_rel = 0.0;
    size_t wi = 0, bad = 0;
    for (size_t i = 0; i < ref->count; i++) {
        double r = factor * ref->data[i], e = fabs((double)got[i] - r);
        double tol = rtol * fabs(r) + arel * mx;
        double q = tol > 0 ? e / tol : (e > 0 ? INFINITY : 0.0);
        if (!(q <= 1.0)) bad++; /* NaN counts as bad */
        if (!(q <= worst)) {
            worst = q;
            wi = i;
        }
        max_abs = fmax(max_abs, e);
        if (fabs(r) > 1e-3 * mx) max_rel = fmax(max_rel, e / fabs(r));
    }
    char label[160];
    snprintf(label, sizeof label, "%s %s%s", cas, what, factor == 2.0 ? " (2nd backward)" : "");
    CHECK(bad == 0,
          "%s: %zu of %zu off; worst [%zu] got %.9g want %.9g; max abs %.3g, max rel %.3g "
          "(rtol %g, arel %g)",
          label, bad, ref->count, wi, (double)got[wi], factor * ref->data[wi], max_abs, max_rel,
          rtol, arel);
    if (getenv("SGM_NN_VERBOSE"))
        printf("%-36s n=%-5zu max abs %.2e  max rel %.2e  (worst/tol %.2f)\n", label, ref->count,
               max_abs, max_rel, worst);
}

/* Tolerance table (rtol, arel); every rtol <= 1e-4.
 * - ELEM: elementwise float32 maps (expf / erff / tanhf): a few ulp, ~1e-6.
 * - SUM: outputs that are float32 dot products of up to ~50 terms (linear,
 *   conv, norms, attention): error ~ sqrt(K) 2^-24 of the terms' size, well
 *   under 1e-5 of the tensor's scale; rtol 1e-4 covers elements that cancel.
 * - EXACT: data movement / pure sums of few terms (pool, upsample, lookup):
 *   float32 rounding of the result only.
 * - PHASE: sin / cos of phases up to ~1e3 rad computed in double from the
 *   same float32 inputs: the result is rounded once to float32, but the
 *   gradients sum terms of size |t f| ~ 1e3 whose float32 rounding (2^-24
 *   each) gives absolute error ~1e-4 of the largest term. */
#define TOL_ELEM 1e-5, 1e-6
#define TOL_SUM 1e-4, 1e-5
#define TOL_EXACT 1e-6, 1e-7
#define TOL_PHASE 1e-4, 1e-5

/* ------------------------------------------------------------- layers --- */

static void test_linear(void) {
    fx x;
    if (fx_load("linear", &x)) {
        CHECK(0, "linear fixture");
        return;
    }
    const fx_rec *ri = fx_get(&x, "inp"), *rw = fx_get(&x, "weight");
    int N = (int)ri->shape[0], C = (int)ri->shape[1], OC = (int)rw->shape[0];
    float *inp = fx_f32(&x, "inp"), *w = fx_f32(&x, "weight"), *b = fx_f32(&x, "bias");
    float *dout = fx_f32(&x, "dout"), *out = zeros((size_t)(N * OC));
    float *dinp = zeros((size_t)(N * C)), *dw = zeros((size_t)(OC * C)), *db = zeros((size_t)OC);
    sgm_nn_linear_forward(out, inp, w, b, N, C, OC);
    cmp("linear", "out", out, fx_get(&x, "out"), 1, TOL_SUM);
    for (int rep = 1; rep <= 2; rep++) {
        sgm_nn_linear_backward(dinp, dw, db, dout, inp, w, N, C, OC);
        cmp("linear", "dinp", dinp, fx_get(&x, "dinp"), rep, TOL_SUM);
        cmp("linear", "dweight", dw, fx_get(&x, "dweight"), rep, TOL_SUM);
        cmp("linear", "dbias", db, fx_get(&x, "dbias"), rep, TOL_SUM);
    }
    free(inp), free(w), free(b), free(dout), free(out), free(dinp), free(dw), free(db);
    fx_free(&x);
}

static void test_act(const char *name) {
    fx x;
    if (fx_load(name, &x)) {
        CHECK(0, "%s fixture", name);
        return;
    }
    size_t n = fx_get(&x, "inp")->count;
    float *inp = fx_f32(&x, "inp"), *dout = fx_f32(&x, "dout");
    float *out = zeros(n), *dinp = zeros(n);
    int gelu = strncmp(name, "gelu", 4) == 0;
    sgm_nn_gelu_mode mode = strstr(name, "tanh") ? SGM_NN_GELU_TANH : SGM_NN_GELU_ERF;
    if (gelu)
        sgm_nn_gelu_forward(out, inp, n, mode);
    else
        sgm_nn_silu_forward(out, inp, n);
    cmp(name, "out", out, fx_get(&x, "out"), 1, TOL_ELEM);
    for (int rep = 1; rep <= 2; rep++) {
        if (gelu)
            sgm_nn_gelu_backward(dinp, dout, inp, n, mode);
        else
            sgm_nn_silu_backward(dinp, dout, inp, n);
        cmp(name, "dinp", dinp, fx_get(&x, "dinp"), rep, TOL_ELEM);
    }
    free(inp), free(dout), free(out), free(dinp);
    fx_free(&x);
}

static void test_layernorm(void) {
    fx x;
    if (fx_load("layernorm", &x)) {
        CHECK(0, "layernorm fixture");
        return;
    }
    const fx_rec *ri = fx_get(&x, "inp");
    int N = (int)ri->shape[0], C = (int)ri->shape[1];
    float eps = (float)fx_cfg(&x, 0);
    float *inp = fx_f32(&x, "inp"), *w = fx_f32(&x, "weight"), *b = fx_f32(&x, "bias");
    float *dout = fx_f32(&x, "dout"), *out = zeros(ri->count), *mean = zeros((size_t)N),
          *rstd = zeros((size_t)N);
    float *dinp = zeros(ri->count), *dw = zeros((size_t)C), *db = zeros((size_t)C);
    sgm_nn_layernorm_forward(out, mean, rstd, inp, w, b, N, C, eps);
    cmp("layernorm", "out", out, fx_get(&x, "out"), 1, TOL_SUM);
    for (int rep = 1; rep <= 2; rep++) {
        sgm_nn_layernorm_backward(dinp, dw, db, dout, inp, w, mean, rstd, N, C);
        cmp("layernorm", "dinp", dinp, fx_get(&x, "dinp"), rep, TOL_SUM);
        cmp("layernorm", "dweight", dw, fx_get(&x, "dweight"), rep, TOL_SUM);
        cmp("layernorm", "dbias", db, fx_get(&x, "dbias"), rep, TOL_SUM);
    }
    free(inp), free(w), free(b), free(dout), free(out), free(mean), free(rstd);
    free(dinp), free(dw), free(db);
    fx_free(&x);
}

static void test_groupnorm(const char *name) {
    fx x;
    if (fx_load(name, &x)) {
        CHECK(0, "%s fixture", name);
        return;
    }
    const fx_rec *ri = fx_get(&x, "inp");
    int N = (int)ri->shape[0], C = (int)ri->shape[1];
    int HW = (int)(ri->shape[2] * ri->shape[3]);
    int G = (int)fx_cfg(&x, 0);
    float eps = (float)fx_cfg(&x, 1);
    float *inp = fx_f32(&x, "inp"), *w = fx_f32(&x, "weight"), *b = fx_f32(&x, "bias");
    float *dout = fx_f32(&x, "dout"), *out = zeros(ri->count);
    float *mean = zeros((size_t)(N * G)), *rstd = zeros((size_t)(N * G));
    float *dinp = zeros(ri->count), *dw = zeros((size_t)C), *db = zeros((size_t)C);
    sgm_nn_groupnorm_forward(out, mean, rstd, inp, w, b, N, C, HW, G, eps);
    cmp(name, "out", out, fx_get(&x, "out"), 1, TOL_SUM);
    for (int rep = 1; rep <= 2; rep++) {
        sgm_nn_groupnorm_backward(dinp, dw, db, dout, inp, w, mean, rstd, N, C, HW, G);
        cmp(name, "dinp", dinp, fx_get(&x, "dinp"), rep, TOL_SUM);
        cmp(name, "dweight", dw, fx_get(&x, "dweight"), rep, TOL_SUM);
        cmp(name, "dbias", db, fx_get(&x, "dbias"), rep, TOL_SUM);
    }
    free(inp), free(w), free(b), free(dout), free(out), free(mean), free(rstd);
    free(dinp), free(dw), free(db);
    fx_free(&x);
}

static void test_conv(const char *name) {
    fx x;
    if (fx_load(name, &x)) {
        CHECK(0, "%s fixture", name);
        return;
    }
    const fx_rec *ri = fx_get(&x, "inp"), *rw = fx_get(&x, "weight"), *ro = fx_get(&x, "out");
    sgm_nn_conv2d_dims d = {(int)ri->shape[0], (int)ri->shape[1], (int)ri->shape[2],
                            (int)ri->shape[3], (int)rw->shape[0], (int)fx_cfg(&x, 0),
                            (int)fx_cfg(&x, 1), (int)fx_cfg(&x, 2)};
    CHECK(sgm_nn_conv2d_out_size(d.H, d.K, d.stride, d.pad) == (int)ro->shape[2] &&
              sgm_nn_conv2d_out_size(d.W, d.K, d.stride, d.pad) == (int)ro->shape[3],
          "%s: output size", name);
    float *inp = fx_f32(&x, "inp"), *w = fx_f32(&x, "weight"), *b = fx_f32(&x, "bias");
    float *dout = fx_f32(&x, "dout"), *out = zeros(ro->count);
    float *scratch = zeros(sgm_nn_conv2d_scratch_size(&d));
    float *dinp = zeros(ri->count), *dw = zeros(rw->count), *db = zeros((size_t)d.OC);
    sgm_nn_conv2d_forward(out, scratch, inp, w, b, &d);
    cmp(name, "out", out, ro, 1, TOL_SUM);
    for (int rep = 1; rep <= 2; rep++) {
        sgm_nn_conv2d_backward(dinp, dw, db, scratch, dout, inp, w, &d);
        cmp(name, "dinp", dinp, fx_get(&x, "dinp"), rep, TOL_SUM);
        cmp(name, "dweight", dw, fx_get(&x, "dweight"), rep, TOL_SUM);
        cmp(name, "dbias", db, fx_get(&x, "dbias"), rep, TOL_SUM);
    }
    free(inp), free(w), free(b), free(dout), free(out), free(scratch);
    free(dinp), free(dw), free(db);
    fx_free(&x);
}

static void test_resample(int up) {
    const char *name = up ? "upsample2x" : "avgpool2x";
    fx x;
    if (fx_load(name, &x)) {
        CHECK(0, "%s fixture", name);
        return;
    }
    const fx_rec *ri = fx_get(&x, "inp"), *ro = fx_get(&x, "out");
    int N = (int)ri->shape[0], C = (int)ri->shape[1], H = (int)ri->shape[2],
        W = (int)ri->shape[3];
    float *inp = fx_f32(&x, "inp"), *dout = fx_f32(&x, "dout");
    float *out = zeros(ro->count), *dinp = zeros(ri->count);
    if (up)
        sgm_nn_upsample2x_forward(out, inp, N, C, H, W);
    else
        sgm_nn_avgpool2x_forward(out, inp, N, C, H, W);
    cmp(name, "out", out, ro, 1, TOL_EXACT);
    for (int rep = 1; rep <= 2; rep++) {
        if (up)
            sgm_nn_upsample2x_backward(dinp, dout, N, C, H, W);
        else
            sgm_nn_avgpool2x_backward(dinp, dout, N, C, H, W);
        cmp(name, "dinp", dinp, fx_get(&x, "dinp"), rep, TOL_EXACT);
    }
    free(inp), free(dout), free(out), free(dinp);
    fx_free(&x);
}

static void test_attention(const char *name) {
    fx x;
    if (fx_load(name, &x)) {
        CHECK(0, "%s fixture", name);
        return;
    }
    const fx_rec *rq = fx_get(&x, "qkv");
    int N = (int)rq->shape[0], T = (int)rq->shape[1], C = (int)rq->shape[2] / 3;
    int NH = (int)fx_cfg(&x, 0);
    float *qkv = fx_f32(&x, "qkv"), *dout = fx_f32(&x, "dout");
    float *out = zeros((size_t)(N * T * C)), *att = zeros((size_t)(N * NH * T * T));
    float *scratch = zeros((size_t)(T * T)), *dqkv = zeros(rq->count);
    sgm_nn_attention_forward(out, att, qkv, N, T, C, NH);
    cmp(name, "out", out, fx_get(&x, "out"), 1, TOL_SUM);
    cmp(name, "att", att, fx_get(&x, "att"), 1, TOL_SUM);
    for (int rep = 1; rep <= 2; rep++) {
        sgm_nn_attention_backward(dqkv, scratch, dout, qkv, att, N, T, C, NH);
        cmp(name, "dqkv", dqkv, fx_get(&x, "dqkv"), rep, TOL_SUM);
    }
    free(qkv), free(dout), free(out), free(att), free(scratch), free(dqkv);
    fx_free(&x);
}

static void test_sinusoidal(const char *name) {
    fx x;
    if (fx_load(name, &x)) {
        CHECK(0, "%s fixture", name);
        return;
    }
    const fx_rec *rt = fx_get(&x, "t");
    int N = (int)rt->count, D = (int)fx_cfg(&x, 0);
    sgm_nn_sinusoidal sc = sgm_nn_sinusoidal_defaults();
    sc.flip_sin_to_cos = (int)fx_cfg(&x, 1);
    sc.downscale_freq_shift = fx_cfg(&x, 2);
    sc.scale = fx_cfg(&x, 3);
    sc.max_period = fx_cfg(&x, 4);
    float *t = fx_f32(&x, "t"), *dout = fx_f32(&x, "dout");
    float *out = zeros((size_t)(N * D)), *dt = zeros((size_t)N);
    sgm_nn_sinusoidal_forward(out, t, N, D, &sc);
    cmp(name, "out", out, fx_get(&x, "out"), 1, TOL_PHASE);
    for (int rep = 1; rep <= 2; rep++) {
        sgm_nn_sinusoidal_backward(dt, dout, t, N, D, &sc);
        cmp(name, "dt", dt, fx_get(&x, "dt"), rep, TOL_PHASE);
    }
    free(t), free(dout), free(out), free(dt);
    fx_free(&x);
}

static void test_fourier(void) {
    fx x;
    if (fx_load("fourier", &x)) {
        CHECK(0, "fourier fixture");
        return;
    }
    int N = (int)fx_get(&x, "x")->count, E = (int)fx_get(&x, "W")->count;
    float *xv = fx_f32(&x, "x"), *W = fx_f32(&x, "W"), *dout = fx_f32(&x, "dout");
    float *out = zeros((size_t)(N * 2 * E)), *dx = zeros((size_t)N), *dW = zeros((size_t)E);
    sgm_nn_fourier_forward(out, xv, W, N, E);
    cmp("fourier", "out", out, fx_get(&x, "out"), 1, TOL_PHASE);
    for (int rep = 1; rep <= 2; rep++) {
        sgm_nn_fourier_backward(dx, dW, dout, xv, W, N, E);
        cmp("fourier", "dx", dx, fx_get(&x, "dx"), rep, TOL_PHASE);
        cmp("fourier", "dW", dW, fx_get(&x, "dW"), rep, TOL_PHASE);
    }
    free(xv), free(W), free(dout), free(out), free(dx), free(dW);
    fx_free(&x);
}

static void test_class_embed(void) {
    fx x;
    if (fx_load("class_embed", &x)) {
        CHECK(0, "class_embed fixture");
        return;
    }
    const fx_rec *rl = fx_get(&x, "labels"), *rt = fx_get(&x, "table");
    int N = (int)rl->count, D = (int)rt->shape[1], K = (int)fx_cfg(&x, 0);
    int *labels = malloc((size_t)N * sizeof(int));
    if (!labels) exit(2);
    for (int i = 0; i < N; i++) labels[i] = (int)rl->data[i];
    float *table = fx_f32(&x, "table"), *dout = fx_f32(&x, "dout");
    float *out = zeros((size_t)(N * D)), *dtable = zeros(rt->count);
    sgm_nn_class_embed_forward(out, labels, table, N, D, K);
    cmp("class_embed", "out", out, fx_get(&x, "out"), 1, TOL_EXACT);
    for (int rep = 1; rep <= 2; rep++) {
        sgm_nn_class_embed_backward(dtable, dout, labels, N, D, K);
        cmp("class_embed", "dtable", dtable, fx_get(&x, "dtable"), rep, TOL_EXACT);
    }
    free(labels), free(table), free(dout), free(out), free(dtable);
    fx_free(&x);
}

/* ------------------------------------------------------ residual MLP --- */

static void test_mlp(void) {
    fx x;
    if (fx_load("mlp", &x)) {
        CHECK(0, "mlp fixture");
        return;
    }
    sgm_nn_mlp_config cfg = {(int)fx_cfg(&x, 0), (int)fx_cfg(&x, 1), (int)fx_cfg(&x, 2),
                             (int)fx_cfg(&x, 3), sgm_nn_sinusoidal_defaults(), 0};
    cfg.emb.flip_sin_to_cos = (int)fx_cfg(&x, 4);
    cfg.emb.downscale_freq_shift = fx_cfg(&x, 5);
    cfg.emb.scale = fx_cfg(&x, 6);
    cfg.emb.max_period = fx_cfg(&x, 7);
    int N = (int)fx_get(&x, "c")->count, D = cfg.d_in;
    sgm_nn_mlp m;
    if (sgm_nn_mlp_init(&m, &cfg, N, 1, NULL) != SGM_OK) {
        CHECK(0, "mlp init");
        fx_free(&x);
        return;
    }
    char nm[80], rn[96];
    for (int i = 0; i < m.n_tensors; i++) {
        size_t cnt, off = sgm_nn_mlp_tensor(&m, i, nm, sizeof nm, &cnt);
        snprintf(rn, sizeof rn, "p:%s", nm);
        const fx_rec *r = fx_get(&x, rn);
        CHECK(r->count == cnt, "mlp tensor %s size", nm);
        for (size_t j = 0; j < cnt && j < r->count; j++) m.params[off + j] = (float)r->data[j];
    }
    float *xv = fx_f32(&x, "x"), *c = fx_f32(&x, "c"), *dout = fx_f32(&x, "dout");
    float *out = zeros((size_t)(N * D)), *dx = zeros((size_t)(N * D)), *dc = zeros((size_t)N);
    CHECK(sgm_nn_mlp_forward(&m, out, xv, c, N, NULL) == SGM_OK, "mlp forward");
    /* a chain of 6 linear layers of width 16 with SiLUs: still float32 sums
     * of <= 22 terms per layer, so TOL_SUM */
    cmp("mlp", "out", out, fx_get(&x, "out"), 1, TOL_SUM);
    for (int rep = 1; rep <= 2; rep++) {
        CHECK(sgm_nn_mlp_backward(&m, dx, dc, dout, N, 1, NULL) == SGM_OK, "mlp backward");
        cmp("mlp", "dx", dx, fx_get(&x, "dx"), rep, TOL_SUM);
        /* dc sums E sinusoid derivatives (|f| <= 1, t <= 5): TOL_PHASE */
        cmp("mlp", "dc", dc, fx_get(&x, "dc"), rep, TOL_PHASE);
        for (int i = 0; i < m.n_tensors; i++) {
            size_t off = sgm_nn_mlp_tensor(&m, i, nm, sizeof nm, NULL);
            snprintf(rn, sizeof rn, "g:%s", nm);
            cmp("mlp", nm, m.grads + off, fx_get(&x, rn), rep, TOL_SUM);
        }
    }
    free(xv), free(c), free(dout), free(out), free(dx), free(dc);
    sgm_nn_mlp_free(&m);
    fx_free(&x);
}

/* --------------------------------------------------------- optimisers --- */

static void test_adam(void) {
    fx x;
    if (fx_load("adam", &x)) {
        CHECK(0, "adam fixture");
        return;
    }
    double lr0 = fx_cfg(&x, 0);
    int steps = (int)fx_cfg(&x, 5);
    size_t n = fx_get(&x, "p0")->count;
    float *grads = fx_f32(&x, "grads");
    for (int dec = 0; dec < 2; dec++) {
        const char *tag = dec ? "adamw" : "adam";
        sgm_nn_adam cfg = sgm_nn_adam_defaults(dec);
        cfg.beta1 = fx_cfg(&x, 1);
        cfg.beta2 = fx_cfg(&x, 2);
        cfg.eps = fx_cfg(&x, 3);
        cfg.weight_decay = fx_cfg(&x, 4);
        float *p = fx_f32(&x, "p0"), *m = zeros(n), *v = zeros(n);
        for (int k = 0; k < steps; k++)
            sgm_nn_adam_step(p, grads + (size_t)k * n, m, v, n, lr0 * (k + 1) / steps, k + 1,
                             &cfg);
        char nm[16];
        /* both sides run the same float32 recurrences; the order of the
         * float operations differs, so agreement is to a few float32 ulp
         * amplified by m / sqrt(v) over 5 steps: rtol 1e-5 */
        snprintf(nm, sizeof nm, "p_%s", tag);
        cmp(tag, "param", p, fx_get(&x, nm), 1, 1e-5, 1e-6);
        snprintf(nm, sizeof nm, "m_%s", tag);
        cmp(tag, "exp_avg", m, fx_get(&x, nm), 1, 1e-5, 1e-6);
        snprintf(nm, sizeof nm, "v_%s", tag);
        cmp(tag, "exp_avg_sq", v, fx_get(&x, nm), 1, 1e-5, 1e-6);
        free(p), free(m), free(v);
    }
    free(grads);
    fx_free(&x);
}

static void test_clip(const char *name) {
    fx x;
    if (fx_load(name, &x)) {
        CHECK(0, "%s fixture", name);
        return;
    }
    size_t n = fx_get(&x, "g_in")->count;
    float *gr = fx_f32(&x, "g_in");
    double norm = sgm_nn_clip_grad_norm(gr, n, fx_cfg(&x, 0));
    /* torch sums the float32 squares in float32; ours in double: ~1e-7 */
    CHECK_CLOSE(norm, fx_get(&x, "norm")->data[0], 1e-6, 0.0, "clip norm");
    cmp(name, "grad", gr, fx_get(&x, "g_out"), 1, 1e-6, 1e-7);
    free(gr);
    fx_free(&x);
}

int main(void) {
    test_linear();
    test_act("silu");
    test_act("gelu_erf");
    test_act("gelu_tanh");
    test_layernorm();
    test_groupnorm("groupnorm");
    test_groupnorm("groupnorm_g1");
    test_conv("conv3x3");
    test_conv("conv1x1");
    test_conv("conv3x3_s2");
    test_resample(0);
    test_resample(1);
    test_attention("attention");
    test_attention("attention_nh1");
    test_attention("attention_16");
    test_sinusoidal("sinusoidal");
    test_sinusoidal("sinusoidal_flip");
    test_fourier();
    test_class_embed();
    test_mlp();
    test_adam();
    test_clip("clip");
    test_clip("clip_noop");
    TEST_MAIN_END();
}
