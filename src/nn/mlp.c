/* mlp.c - residual MLP denoiser backbone composed from the NN kernels:
 * sinusoidal embedding of the conditioning scalar, concatenation with the
 * input, an input projection, pre-activation residual blocks
 * h += W2 SiLU(W1 SiLU(h)) (He et al. 2016, "Identity mappings in deep
 * residual networks") and an output projection after a final SiLU. Forward
 * keeps every activation; backward runs the chain in reverse, accumulating
 * into the parameter-gradient block (llm.c's gpt2_forward / gpt2_backward
 * pattern). The PyTorch twin is MLP in tools/ref/gen_nn.py. d_cond > 0:
 * each input row carries d_cond condition columns after x (concatenated
 * features, an MR restoration model's mu); the output has d_in columns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "core/internal.h"
#include "nn/nn_internal.h"

/* views into the activation block for a batch of B rows */
typedef struct mlp_acts {
    float *emb;  /* (B, E) */
    float *h0;   /* (B, D+E) concatenated input */
    float *hs;   /* (L+1, B, Hd) residual stream h_0 .. h_L */
    float *a;    /* (L, B, Hd) SiLU(h_b) */
    float *u;    /* (L, B, Hd) fc1 output */
    float *a2;   /* (L, B, Hd) SiLU(u) */
    float *aout; /* (B, Hd) SiLU(h_L) */
    float *dh;   /* (B, Hd) backward: gradient of the residual stream */
    float *t1;   /* (B, Hd) backward scratch */
    float *t2;   /* (B, Hd) backward scratch */
    float *dh0;  /* (B, D+E) backward */
    float *demb; /* (B, E) backward */
    float *c;    /* (B) conditioning scalars of the last forward */
    float *wt;   /* (max C OC) a transposed weight for the forward's products */
} mlp_acts;

#define N_ACTS 14

/* floats of the largest weight: the forward transposes each in turn */
static size_t wt_size(const sgm_nn_mlp_config *c) {
    size_t D = (size_t)(c->d_in + c->d_cond), E = (size_t)c->d_emb, H = (size_t)c->width;
    size_t s = (D + E) * H;
    if (H * H > s) s = H * H;
    return s; /* the output layer, H x D, is smaller than the input one */
}

static size_t acts_layout(const sgm_nn_mlp_config *c, size_t B, size_t *off) {
    size_t D = (size_t)(c->d_in + c->d_cond), E = (size_t)c->d_emb, H = (size_t)c->width,
           L = (size_t)c->n_blocks;
    size_t cnt[N_ACTS] = {B * E,     B * (D + E), (L + 1) * B * H, L * B * H,
                          L * B * H, L * B * H,   B * H,           B * H,
                          B * H,     B * H,       B * (D + E),     B * E,
                          B,         wt_size(c)};
    return sgm_nn_layout(off, cnt, N_ACTS);
}

static mlp_acts acts_view(const sgm_nn_mlp *m) {
    size_t off[N_ACTS];
    acts_layout(&m->cfg, (size_t)m->max_batch, off);
    float *b = m->acts;
    mlp_acts a = {b + off[0], b + off[1], b + off[2],  b + off[3],  b + off[4],  b + off[5],
                  b + off[6], b + off[7], b + off[8], b + off[9], b + off[10], b + off[11],
                  b + off[12], b + off[13]};
    return a;
}

/* tensor index helpers: 0 in.w, 1 in.b, 2 + 4b + {0 fc1.w, 1 fc1.b, 2 fc2.w, 3 fc2.b},
 * 2 + 4L out.w, 3 + 4L out.b */
static float *P(const sgm_nn_mlp *m, int i) { return m->params + m->off[i]; }
static float *G(const sgm_nn_mlp *m, int i) { return m->grads + m->off[i]; }

sgm_status sgm_nn_mlp_init(sgm_nn_mlp *m, const sgm_nn_mlp_config *cfg, int max_batch,
                           uint64_t seed, sgm_error *err) {
    memset(m, 0, sizeof *m);
    if (!cfg || cfg->d_in < 1 || cfg->d_cond < 0 || cfg->d_emb < 2 || cfg->width < 1 || cfg->n_blocks < 0 ||
        max_batch < 1 || 4 + 4 * cfg->n_blocks > SGM_NN_MLP_MAX_TENSORS)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "mlp: bad config (d_in >= 1, d_emb >= 2, width >= 1, "
                              "0 <= n_blocks <= %d, max_batch >= 1)",
                              (SGM_NN_MLP_MAX_TENSORS - 4) / 4);
    m->cfg = *cfg;
    m->max_batch = max_batch;
    size_t D = (size_t)cfg->d_in, DI = D + (size_t)cfg->d_cond, E = (size_t)cfg->d_emb,
           H = (size_t)cfg->width;
    int L = cfg->n_blocks, nt = 4 + 4 * L;
    m->n_tensors = nt;
    m->count[0] = H * (DI + E);
    m->count[1] = H;
    for (int b = 0; b < L; b++) {
        m->count[2 + 4 * b] = H * H;
        m->count[3 + 4 * b] = H;
        m->count[4 + 4 * b] = H * H;
        m->count[5 + 4 * b] = H;
    }
    m->count[nt - 2] = D * H;
    m->count[nt - 1] = D;
    m->n_params = sgm_nn_layout(m->off, m->count, (size_t)nt);
    size_t act_off[N_ACTS];
    size_t n_acts = acts_layout(cfg, (size_t)max_batch, act_off);
    float *blk = sgm__calloc(2 * m->n_params + n_acts, sizeof(float));
    if (!blk) return sgm__set_error(err, SGM_ERR_NOMEM, "mlp: out of memory");
    m->owned_ = blk;
    m->params = blk;
    m->grads = blk + m->n_params;
    m->acts = blk + 2 * m->n_params;
    /* torch.nn.Linear default: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
    for (int i = 0; i < nt; i++) {
        size_t fan_in = i < 2 ? DI + E : H;
        float bound = (float)(1.0 / sqrt((double)fan_in));
        sgm_nn_fill_uniform(P(m, i), m->count[i], -bound, bound, seed, (uint64_t)i);
    }
    return SGM_OK;
}

void sgm_nn_mlp_free(sgm_nn_mlp *m) {
    if (!m) return;
    free(m->owned_);
    memset(m, 0, sizeof *m);
}

size_t sgm_nn_mlp_tensor(const sgm_nn_mlp *m, int i, char *name, size_t name_len,
                         size_t *count) {
    int nt = m->n_tensors;
    if (name && name_len) {
        if (i < 2)
            snprintf(name, name_len, "in.%s", i ? "bias" : "weight");
        else if (i >= nt - 2)
            snprintf(name, name_len, "out.%s", i == nt - 1 ? "bias" : "weight");
        else
            snprintf(name, name_len, "blocks.%d.fc%d.%s", (i - 2) / 4, (i - 2) % 4 / 2 + 1,
                     (i - 2) % 2 ? "bias" : "weight");
    }
    if (count) *count = m->count[i];
    return m->off[i];
}

sgm_status sgm_nn_mlp_forward(sgm_nn_mlp *m, float *out, const float *x, const float *c, int N,
                              sgm_error *err) {
    if (N < 1 || N > m->max_batch)
        return sgm__set_error(err, SGM_ERR_SHAPE, "mlp: batch %d outside [1, %d]", N,
                              m->max_batch);
    int D = m->cfg.d_in, E = m->cfg.d_emb, H = m->cfg.width, L = m->cfg.n_blocks, nt = m->n_tensors;
    int DI = D + m->cfg.d_cond; /* input row: [x, condition] */
    size_t BH = (size_t)N * (size_t)H;
    mlp_acts a = acts_view(m);
    memcpy(a.c, c, (size_t)N * sizeof(float));
    sgm_nn_sinusoidal_forward(a.emb, c, N, E, &m->cfg.emb);
    for (int n = 0; n < N; n++) { /* h0 = [x, e] */
        memcpy(a.h0 + (size_t)n * (size_t)(DI + E), x + (size_t)n * (size_t)DI,
               (size_t)DI * sizeof(float));
        memcpy(a.h0 + (size_t)n * (size_t)(DI + E) + DI, a.emb + (size_t)n * (size_t)E,
               (size_t)E * sizeof(float));
    }
    /* products by sgm__nn_linear_forward_det: a sample's output does not
     * depend on the batch it is in or the thread count */
    sgm__nn_linear_forward_det(a.hs, a.wt, a.h0, P(m, 0), P(m, 1), N, DI + E, H);
    for (int b = 0; b < L; b++) {
        float *h = a.hs + (size_t)b * BH, *hn = h + BH;
        float *ab = a.a + (size_t)b * BH, *ub = a.u + (size_t)b * BH, *a2b = a.a2 + (size_t)b * BH;
        sgm_nn_silu_forward(ab, h, BH);
        sgm__nn_linear_forward_det(ub, a.wt, ab, P(m, 2 + 4 * b), P(m, 3 + 4 * b), N, H, H);
        sgm_nn_silu_forward(a2b, ub, BH);
        sgm__nn_linear_forward_det(hn, a.wt, a2b, P(m, 4 + 4 * b), P(m, 5 + 4 * b), N, H, H);
        sgm_nn_add_forward(hn, hn, h, BH); /* residual */
    }
    sgm_nn_silu_forward(a.aout, a.hs + (size_t)L * BH, BH);
    sgm__nn_linear_forward_det(out, a.wt, a.aout, P(m, nt - 2), P(m, nt - 1), N, H, D);
    m->last_n = N;
    return SGM_OK;
}

sgm_status sgm_nn_mlp_backward(sgm_nn_mlp *m, float *dx, float *dc, const float *dout, int N,
                               int param_grads, sgm_error *err) {
    if (N != m->last_n || N < 1)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "mlp: backward of batch %d without a forward of that batch", N);
    int D = m->cfg.d_in, E = m->cfg.d_emb, H = m->cfg.width, L = m->cfg.n_blocks, nt = m->n_tensors;
    size_t BH = (size_t)N * (size_t)H;
    int pg = param_grads != 0;
    mlp_acts a = acts_view(m);
    /* out = Linear_out(aout), aout = SiLU(h_L) */
    sgm_nn_zero(a.t1, BH);
    sgm_nn_linear_backward(a.t1, pg ? G(m, nt - 2) : NULL, pg ? G(m, nt - 1) : NULL, dout, a.aout,
                           P(m, nt - 2), N, H, D);
    sgm_nn_zero(a.dh, BH);
    sgm_nn_silu_backward(a.dh, a.t1, a.hs + (size_t)L * BH, BH);
    for (int b = L - 1; b >= 0; b--) {
        /* h_{b+1} = h_b + fc2(SiLU(fc1(SiLU(h_b)))): dh flows through unchanged
         * (identity path) and gets the branch's gradient added */
        float *h = a.hs + (size_t)b * BH;
        float *ab = a.a + (size_t)b * BH, *ub = a.u + (size_t)b * BH, *a2b = a.a2 + (size_t)b * BH;
        sgm_nn_zero(a.t1, BH);
        sgm_nn_linear_backward(a.t1, pg ? G(m, 4 + 4 * b) : NULL, pg ? G(m, 5 + 4 * b) : NULL,
                               a.dh, a2b, P(m, 4 + 4 * b), N, H, H);
        sgm_nn_zero(a.t2, BH);
        sgm_nn_silu_backward(a.t2, a.t1, ub, BH);
        sgm_nn_zero(a.t1, BH);
        sgm_nn_linear_backward(a.t1, pg ? G(m, 2 + 4 * b) : NULL, pg ? G(m, 3 + 4 * b) : NULL,
                               a.t2, ab, P(m, 2 + 4 * b), N, H, H);
        sgm_nn_silu_backward(a.dh, a.t1, h, BH);
    }
    if (!pg && !dx && !dc) return SGM_OK;
    const int DI = D + m->cfg.d_cond; /* dx rows: [x, condition] */
    size_t nh0 = (size_t)N * (size_t)(DI + E);
    sgm_nn_zero(a.dh0, nh0);
    sgm_nn_linear_backward((dx || dc) ? a.dh0 : NULL, pg ? G(m, 0) : NULL, pg ? G(m, 1) : NULL,
                           a.dh, a.h0, P(m, 0), N, DI + E, H);
    for (int n = 0; n < N; n++) {
        const float *r = a.dh0 + (size_t)n * (size_t)(DI + E);
        if (dx)
            for (int j = 0; j < DI; j++) dx[(size_t)n * (size_t)DI + (size_t)j] += r[j];
        memcpy(a.demb + (size_t)n * (size_t)E, r + DI, (size_t)E * sizeof(float));
    }
    if (dc) sgm_nn_sinusoidal_backward(dc, a.demb, a.c, N, E, &m->cfg.emb);
    return SGM_OK;
}
