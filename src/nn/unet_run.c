/* unet_run.c - forward and backward passes of the U-Net (sgm_unet.h):
 * forward runs the op tape that sgm_unet_init recorded (unet.c), backward
 * runs it in reverse, each op accumulating into the gradients of its inputs
 * (reverse-mode differentiation, the llm.c pattern), clearing each
 * activation gradient right before its first writer. Architecture: DDPM's
 * U-Net (Ho et al. 2020) with scale-shift FiLM (Nichol & Dhariwal 2021). */
#include <string.h>

#include "core/internal.h"
#include "nn/nn_internal.h"
#include "sgm/sgm_unet.h"

static float *A(const sgm__unet_tape *t, int i) { return t->acts + t->t_off[i]; }
static float *DA(const sgm__unet_tape *t, int i) { return t->dacts + t->t_off[i]; }
static float *P(const sgm_unet *u, int i) { return u->params + u->tensors[i].off; }
static float *Gp(const sgm_unet *u, int i, int pg) {
    return pg ? u->grads + u->tensors[i].off : NULL;
}

static sgm_status run_forward(sgm_unet *u, sgm__unet_tape *t, const sgm__unet_op *o, int N,
                              sgm_error *err) {
    size_t n = (size_t)N * t->t_per[o->out];
    float *out = A(t, o->out);
    switch (o->type) {
    case SGM__UOP_SINUS:
        sgm_nn_sinusoidal_forward(out, A(t, o->in0), N, o->a, &u->cfg.emb);
        break;
    case SGM__UOP_LINEAR:
        /* batch- and thread-invariant product (gemm_det.c) */
        sgm__nn_linear_forward_det(out, t->scratch, A(t, o->in0), P(u, o->p), P(u, o->p + 1),
                                   N * o->a, o->b, o->c);
        break;
    case SGM__UOP_SILU: sgm_nn_silu_forward(out, A(t, o->in0), n); break;
    case SGM__UOP_ADD: sgm_nn_add_forward(out, A(t, o->in0), A(t, o->in1), n); break;
    case SGM__UOP_CLASS:
        sgm_nn_class_embed_forward(out, t->labels, P(u, o->p), N, o->a, o->b);
        break;
    case SGM__UOP_CONV:
        return sgm_nn_conv2d_plan_forward(o->plan, out, t->scratch, A(t, o->in0), P(u, o->p),
                                          P(u, o->p + 1), N, err);
    case SGM__UOP_GN: {
        float *mean = A(t, o->cache), *rstd = mean + (size_t)N * (size_t)o->c;
        sgm_nn_groupnorm_forward(out, mean, rstd, A(t, o->in0), P(u, o->p), P(u, o->p + 1), N,
                                 o->a, o->b, o->c, 1e-5f);
        break;
    }
    case SGM__UOP_FILM: /* out = h (1 + scale) + shift, (scale, shift) = ss[:C], ss[C:] */
        sgm_nn_film_forward(out, A(t, o->in0), A(t, o->in1), N, o->a, o->b);
        break;
    case SGM__UOP_CONCAT: {
        size_t c1 = (size_t)o->a * (size_t)o->c, c2 = (size_t)o->b * (size_t)o->c;
        const float *x1 = A(t, o->in0), *x2 = A(t, o->in1);
        for (size_t b = 0; b < (size_t)N; b++) {
            memcpy(out + b * (c1 + c2), x1 + b * c1, c1 * sizeof(float));
            memcpy(out + b * (c1 + c2) + c1, x2 + b * c2, c2 * sizeof(float));
        }
        break;
    }
    case SGM__UOP_UP: sgm_nn_upsample2x_forward(out, A(t, o->in0), N, o->a, o->b, o->c); break;
    case SGM__UOP_TRANS: sgm_nn_transpose_forward(out, A(t, o->in0), N, o->a, o->b); break;
    case SGM__UOP_ATTN:
        sgm_nn_attention_forward(out, A(t, o->cache), A(t, o->in0), N, o->a, o->b, o->c);
        break;
    }
    return SGM_OK;
}

/* ow: the op's input gradient holds nothing yet and is SET (ops that have
 * an overwrite mode, see sgm__unet_can_overwrite) */
static sgm_status run_backward(sgm_unet *u, sgm__unet_tape *t, const sgm__unet_op *o, int N,
                               int pg, int ow, sgm_error *err) {
    size_t n = (size_t)N * t->t_per[o->out];
    const float *dout = DA(t, o->out);
    float *din = o->in0 >= 0 ? DA(t, o->in0) : NULL;
    switch (o->type) {
    case SGM__UOP_SINUS: /* the noise level's gradient is read from its tensor by the caller */
        sgm_nn_sinusoidal_backward(din, dout, A(t, o->in0), N, o->a, &u->cfg.emb);
        break;
    case SGM__UOP_LINEAR:
        sgm_nn_linear_backward(din, Gp(u, o->p, pg), Gp(u, o->p + 1, pg), dout, A(t, o->in0),
                               P(u, o->p), N * o->a, o->b, o->c);
        break;
    case SGM__UOP_SILU: sgm__nn_silu_backward_mode(din, dout, A(t, o->in0), n, ow); break;
    case SGM__UOP_ADD: sgm_nn_add_backward(din, DA(t, o->in1), dout, n); break;
    case SGM__UOP_CLASS:
        if (pg) sgm_nn_class_embed_backward(Gp(u, o->p, pg), dout, t->labels, N, o->a, o->b);
        break;
    case SGM__UOP_CONV:
        return sgm__nn_conv2d_plan_backward_mode(o->plan, din, Gp(u, o->p, pg),
                                                 Gp(u, o->p + 1, pg), t->scratch, dout,
                                                 A(t, o->in0), P(u, o->p), N, ow, err);
    case SGM__UOP_GN: {
        float *mean = A(t, o->cache), *rstd = mean + (size_t)N * (size_t)o->c;
        sgm__nn_groupnorm_backward_mode(din, Gp(u, o->p, pg), Gp(u, o->p + 1, pg), dout,
                                        A(t, o->in0), P(u, o->p), mean, rstd, N, o->a, o->b,
                                        o->c, ow);
        break;
    }
    case SGM__UOP_FILM:
        sgm_nn_film_backward(din, DA(t, o->in1), dout, A(t, o->in0), A(t, o->in1), N, o->a,
                             o->b);
        break;
    case SGM__UOP_CONCAT: {
        size_t c1 = (size_t)o->a * (size_t)o->c, c2 = (size_t)o->b * (size_t)o->c;
        float *d2 = DA(t, o->in1);
        for (size_t b = 0; b < (size_t)N; b++) {
            const float *g = dout + b * (c1 + c2);
            for (size_t k = 0; k < c1; k++) din[b * c1 + k] += g[k];
            for (size_t k = 0; k < c2; k++) d2[b * c2 + k] += g[c1 + k];
        }
        break;
    }
    case SGM__UOP_UP: sgm_nn_upsample2x_backward(din, dout, N, o->a, o->b, o->c); break;
    case SGM__UOP_TRANS: sgm_nn_transpose_backward(din, dout, N, o->a, o->b); break;
    case SGM__UOP_ATTN:
        sgm_nn_attention_backward(din, t->att_scratch, dout, A(t, o->in0), A(t, o->cache), N,
                                  o->a, o->b, o->c);
        break;
    }
    return SGM_OK;
}

sgm_status sgm_unet_forward(sgm_unet *u, float *out, const float *x, const float *c,
                            const int *labels, int N, sgm_error *err) {
    if (!u || !u->impl_ || !out || !x || !c)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "unet: NULL argument");
    if (N < 1 || N > u->max_batch)
        return sgm__set_error(err, SGM_ERR_SHAPE, "unet: batch %d outside [1, %d]", N,
                              u->max_batch);
    sgm__unet_tape *t = u->impl_;
    memcpy(A(t, t->x_t), x, (size_t)N * t->t_per[t->x_t] * sizeof(float));
    memcpy(A(t, t->c_t), c, (size_t)N * sizeof(float));
    for (int i = 0; i < N; i++) t->labels[i] = labels ? labels[i] : SGM_UNET_NULL_LABEL;
    u->last_n = 0;
    for (int i = 0; i < t->n_ops; i++) {
        sgm_status st = run_forward(u, t, &t->ops[i], N, err);
        if (st != SGM_OK) return st;
    }
    memcpy(out, A(t, t->out_t), (size_t)N * t->t_per[t->out_t] * sizeof(float));
    u->last_n = N;
    return SGM_OK;
}

sgm_status sgm_unet_backward(sgm_unet *u, float *dx, float *dc, const float *dout, int N,
                             int param_grads, sgm_error *err) {
    if (!u || !u->impl_ || !dout)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "unet: NULL argument");
    if (N < 1 || N != u->last_n)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "unet: backward of batch %d without a forward of that batch", N);
    sgm__unet_tape *t = u->impl_;
    int pg = param_grads != 0;
    /* activation gradients (a batch-N prefix of each tensor) are cleared
     * right before the first op that accumulates into them; those no op
     * writes are cleared now */
    for (int i = 0; i < t->n_t; i++)
        if (t->first_writer[i] < 0) sgm_nn_zero(DA(t, i), (size_t)N * t->t_per[i]);
    memcpy(DA(t, t->out_t), dout, (size_t)N * t->t_per[t->out_t] * sizeof(float));
    for (int i = t->n_ops - 1; i >= 0; i--) {
        const sgm__unet_op *o = &t->ops[i];
        int ow = 0; /* the op sets its input gradient instead of clearing + adding */
        if (o->in0 >= 0 && t->first_writer[o->in0] == i) {
            if (sgm__unet_can_overwrite(o))
                ow = 1;
            else
                sgm_nn_zero(DA(t, o->in0), (size_t)N * t->t_per[o->in0]);
        }
        if (sgm__unet_writes_din1(o) && t->first_writer[o->in1] == i)
            sgm_nn_zero(DA(t, o->in1), (size_t)N * t->t_per[o->in1]);
        /* the embedding chain (and each block's projection of it) only
         * matters for parameter gradients and dc: skipped for a pure VJP */
        if (!pg && !dc && (i < t->n_emb_ops || o->in0 == t->semb)) {
            if (ow) sgm_nn_zero(DA(t, o->in0), (size_t)N * t->t_per[o->in0]);
            continue;
        }
        sgm_status st = run_backward(u, t, o, N, pg, ow, err);
        if (st != SGM_OK) return st;
    }
    if (dx) {
        const float *g = DA(t, t->x_t);
        size_t n = (size_t)N * t->t_per[t->x_t];
        for (size_t k = 0; k < n; k++) dx[k] += g[k];
    }
    if (dc) {
        const float *g = DA(t, t->c_t);
        for (int k = 0; k < N; k++) dc[k] += g[k];
    }
    return SGM_OK;
}
