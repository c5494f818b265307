/* unet.c - the U-Net image denoiser (sgm_unet.h): DDPM's architecture (Ho et
 * al. 2020, diffusion/models/unet.py of hojonathanho/diffusion) with
 * improved-diffusion's scale-shift FiLM of the noise-level embedding
 * (Nichol & Dhariwal 2021, ResBlock use_scale_shift_norm) and a class
 * embedding with a null row (Ho & Salimans 2022, classifier-free guidance).
 *
 * Implementation: init records the network as a tape of primitive ops (conv,
 * GroupNorm, SiLU, linear, FiLM, concat, attention, ...) over numbered
 * activation tensors; forward runs the tape, backward runs it in reverse,
 * each op accumulating into the gradients of its inputs (the llm.c pattern,
 * with the composition generated rather than written out). The PyTorch twin
 * is UNet in tools/ref/gen_unet.py. This file builds the tape, lays out and
 * initialises the parameters and buffers (config, init, conv backends);
 * unet_run.c runs it (forward, backward); the tape types are in
 * nn_internal.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "nn/nn_internal.h"
#include "sgm/sgm_unet.h"

/* ------------------------------------------------------------ builder --- */

static int new_tensor(sgm_unet *u, sgm__unet_tape *t, size_t per) {
    (void)u;
    if (t->n_t == t->cap_t) {
        int cap = t->cap_t ? 2 * t->cap_t : 64;
        size_t *a = realloc(t->t_per, (size_t)cap * sizeof *a);
        if (!a) { t->fail = 1; return 0; }
        t->t_per = a;
        size_t *b = realloc(t->t_off, (size_t)cap * sizeof *b);
        if (!b) { t->fail = 1; return 0; }
        t->t_off = b;
        t->cap_t = cap;
    }
    t->t_per[t->n_t] = per;
    return t->n_t++;
}

/* registers a parameter tensor; returns its index */
static int new_param(sgm_unet *u, sgm__unet_tape *t, const char *prefix, const char *name,
                     size_t count, double bound) {
    if (u->n_tensors == t->cap_p) {
        int cap = t->cap_p ? 2 * t->cap_p : 64;
        sgm_unet_tensor_info *a = realloc(u->tensors, (size_t)cap * sizeof *a);
        if (!a) { t->fail = 1; return 0; }
        u->tensors = a;
        double *b = realloc(t->p_bound, (size_t)cap * sizeof *b);
        if (!b) { t->fail = 1; return 0; }
        t->p_bound = b;
        t->cap_p = cap;
    }
    sgm_unet_tensor_info *ti = &u->tensors[u->n_tensors];
    memset(ti, 0, sizeof *ti);
    snprintf(ti->name, sizeof ti->name, "%s%s%s", prefix, *prefix ? "." : "", name);
    ti->count = count;
    t->p_bound[u->n_tensors] = bound;
    return u->n_tensors++;
}

static int push_op(sgm__unet_tape *t, sgm__unet_op o) {
    if (t->n_ops == t->cap_ops) {
        int cap = t->cap_ops ? 2 * t->cap_ops : 128;
        sgm__unet_op *a = realloc(t->ops, (size_t)cap * sizeof *a);
        if (!a) { t->fail = 1; return o.out; }
        t->ops = a;
        t->cap_ops = cap;
    }
    t->ops[t->n_ops++] = o;
    return o.out;
}

static sgm__unet_op mk(sgm__unet_op_type ty, int in0, int in1, int out) {
    sgm__unet_op o;
    memset(&o, 0, sizeof o);
    o.type = ty, o.in0 = in0, o.in1 = in1, o.out = out, o.p = -1, o.cache = -1;
    return o;
}

/* Conv2d(C, OC, K, stride, pad) named prefix.weight / .bias */
static int b_conv(sgm_unet *u, sgm__unet_tape *t, const char *pre, int x, int C, int H, int W,
                  int OC, int K, int stride, int pad, int *Ho, int *Wo) {
    sgm__unet_op o = mk(SGM__UOP_CONV, x, -1, 0);
    sgm_nn_conv2d_dims cd = {0, C, H, W, OC, K, stride, pad};
    o.cd = cd;
    double bound = 1.0 / sqrt((double)(C * K * K));
    o.p = new_param(u, t, pre, "weight", (size_t)OC * (size_t)C * (size_t)(K * K), bound);
    new_param(u, t, pre, "bias", (size_t)OC, bound);
    int ho = sgm_nn_conv2d_out_size(H, K, stride, pad), wo = sgm_nn_conv2d_out_size(W, K, stride, pad);
    o.out = new_tensor(u, t, (size_t)OC * (size_t)ho * (size_t)wo);
    if (Ho) *Ho = ho;
    if (Wo) *Wo = wo;
    return push_op(t, o);
}

/* Linear(C, OC) over R rows per sample */
static int b_linear(sgm_unet *u, sgm__unet_tape *t, const char *pre, int x, int R, int C, int OC) {
    sgm__unet_op o = mk(SGM__UOP_LINEAR, x, -1, new_tensor(u, t, (size_t)R * (size_t)OC));
    double bound = 1.0 / sqrt((double)C);
    o.p = new_param(u, t, pre, "weight", (size_t)OC * (size_t)C, bound);
    new_param(u, t, pre, "bias", (size_t)OC, bound);
    o.a = R, o.b = C, o.c = OC;
    return push_op(t, o);
}

static int b_gn(sgm_unet *u, sgm__unet_tape *t, const char *pre, int x, int C, int HW) {
    int G = u->cfg.groups;
    sgm__unet_op o = mk(SGM__UOP_GN, x, -1, new_tensor(u, t, (size_t)C * (size_t)HW));
    o.p = new_param(u, t, pre, "weight", (size_t)C, -1.0);
    new_param(u, t, pre, "bias", (size_t)C, 0.0);
    o.cache = new_tensor(u, t, 2 * (size_t)G);
    o.a = C, o.b = HW, o.c = G;
    return push_op(t, o);
}

static int b_silu(sgm_unet *u, sgm__unet_tape *t, int x) {
    sgm__unet_op o = mk(SGM__UOP_SILU, x, -1, new_tensor(u, t, t->t_per[x]));
    return push_op(t, o);
}

static int b_add(sgm_unet *u, sgm__unet_tape *t, int a, int b) {
    sgm__unet_op o = mk(SGM__UOP_ADD, a, b, new_tensor(u, t, t->t_per[a]));
    return push_op(t, o);
}

static int b_resblock(sgm_unet *u, sgm__unet_tape *t, const char *pre, int x, int semb, int C,
                      int OC, int H, int W) {
    char nm[64];
    int HW = H * W, E = u->cfg.emb_dim;
    snprintf(nm, sizeof nm, "%s.norm1", pre);
    int h = b_silu(u, t, b_gn(u, t, nm, x, C, HW));
    snprintf(nm, sizeof nm, "%s.conv1", pre);
    h = b_conv(u, t, nm, h, C, H, W, OC, 3, 1, 1, NULL, NULL);
    snprintf(nm, sizeof nm, "%s.emb_proj", pre);
    int ss = b_linear(u, t, nm, semb, 1, E, 2 * OC);
    snprintf(nm, sizeof nm, "%s.norm2", pre);
    h = b_gn(u, t, nm, h, OC, HW);
    sgm__unet_op f = mk(SGM__UOP_FILM, h, ss, new_tensor(u, t, (size_t)OC * (size_t)HW));
    f.a = OC, f.b = HW;
    h = b_silu(u, t, push_op(t, f));
    snprintf(nm, sizeof nm, "%s.conv2", pre);
    h = b_conv(u, t, nm, h, OC, H, W, OC, 3, 1, 1, NULL, NULL);
    int sk = x;
    if (C != OC) {
        snprintf(nm, sizeof nm, "%s.skip", pre);
        sk = b_conv(u, t, nm, x, C, H, W, OC, 1, 1, 0, NULL, NULL);
    }
    return b_add(u, t, sk, h);
}

static int b_attn(sgm_unet *u, sgm__unet_tape *t, const char *pre, int x, int C, int HW) {
    char nm[64];
    snprintf(nm, sizeof nm, "%s.norm", pre);
    int h = b_gn(u, t, nm, x, C, HW);
    sgm__unet_op tr = mk(SGM__UOP_TRANS, h, -1, new_tensor(u, t, (size_t)C * (size_t)HW));
    tr.a = C, tr.b = HW; /* (C, HW) -> (HW, C) */
    h = push_op(t, tr);
    snprintf(nm, sizeof nm, "%s.qkv", pre);
    h = b_linear(u, t, nm, h, HW, C, 3 * C);
    sgm__unet_op at = mk(SGM__UOP_ATTN, h, -1, new_tensor(u, t, (size_t)C * (size_t)HW));
    at.a = HW, at.b = C, at.c = u->cfg.heads;
    at.cache = new_tensor(u, t, (size_t)u->cfg.heads * (size_t)HW * (size_t)HW);
    h = push_op(t, at);
    snprintf(nm, sizeof nm, "%s.proj", pre);
    h = b_linear(u, t, nm, h, HW, C, C);
    sgm__unet_op tb = mk(SGM__UOP_TRANS, h, -1, new_tensor(u, t, (size_t)C * (size_t)HW));
    tb.a = HW, tb.b = C; /* (HW, C) -> (C, HW) */
    h = push_op(t, tb);
    return b_add(u, t, x, h);
}

static void build(sgm_unet *u, sgm__unet_tape *t) {
    const sgm_unet_config *c = &u->cfg;
    int L = c->n_levels, B0 = c->base_ch, E = c->emb_dim;
    char nm[64], pre[48];
    t->x_t = new_tensor(u, t, (size_t)(c->in_ch * c->height * c->width));
    t->c_t = new_tensor(u, t, 1);
    sgm__unet_op s = mk(SGM__UOP_SINUS, t->c_t, -1, new_tensor(u, t, (size_t)B0));
    s.a = B0;
    int e = push_op(t, s);
    e = b_linear(u, t, "time_embed.0", e, 1, B0, E);
    e = b_silu(u, t, e);
    e = b_linear(u, t, "time_embed.2", e, 1, E, E);
    if (c->n_classes > 0) {
        sgm__unet_op ce = mk(SGM__UOP_CLASS, -1, -1, new_tensor(u, t, (size_t)E));
        ce.p = new_param(u, t, "class_embed", "weight", (size_t)(c->n_classes + 1) * (size_t)E,
                         -2.0);
        ce.a = E, ce.b = c->n_classes;
        e = b_add(u, t, e, push_op(t, ce));
    }
    int semb = b_silu(u, t, e);
    t->semb = semb;
    t->n_emb_ops = t->n_ops;
    int H = c->height, W = c->width;
    int h = b_conv(u, t, "conv_in", t->x_t, c->in_ch, H, W, B0, 3, 1, 1, NULL, NULL);
    int skips[64], skip_ch[64], ns = 0, ch = B0;
    skips[ns] = h, skip_ch[ns++] = ch;
    for (int l = 0; l < L; l++) {
        int oc = B0 * c->mult[l];
        for (int j = 0; j < c->n_res; j++) {
            snprintf(pre, sizeof pre, "down.%d.res.%d", l, j);
            h = b_resblock(u, t, pre, h, semb, ch, oc, H, W);
            ch = oc;
            if (c->attn[l]) {
                snprintf(pre, sizeof pre, "down.%d.attn.%d", l, j);
                h = b_attn(u, t, pre, h, ch, H * W);
            }
            skips[ns] = h, skip_ch[ns++] = ch;
        }
        if (l < L - 1) {
            snprintf(nm, sizeof nm, "down.%d.downsample", l);
            h = b_conv(u, t, nm, h, ch, H, W, ch, 3, 2, 1, &H, &W);
            skips[ns] = h, skip_ch[ns++] = ch;
        }
    }
    h = b_resblock(u, t, "mid.res1", h, semb, ch, ch, H, W);
    if (c->mid_attn) h = b_attn(u, t, "mid.attn", h, ch, H * W);
    h = b_resblock(u, t, "mid.res2", h, semb, ch, ch, H, W);
    for (int l = L - 1; l >= 0; l--) {
        int oc = B0 * c->mult[l];
        for (int j = 0; j <= c->n_res; j++) {
            int sk = skips[--ns], sc = skip_ch[ns];
            sgm__unet_op cat =
                mk(SGM__UOP_CONCAT, h, sk, new_tensor(u, t, (size_t)(ch + sc) * (size_t)(H * W)));
            cat.a = ch, cat.b = sc, cat.c = H * W;
            h = push_op(t, cat);
            snprintf(pre, sizeof pre, "up.%d.res.%d", l, j);
            h = b_resblock(u, t, pre, h, semb, ch + sc, oc, H, W);
            ch = oc;
            if (c->attn[l]) {
                snprintf(pre, sizeof pre, "up.%d.attn.%d", l, j);
                h = b_attn(u, t, pre, h, ch, H * W);
            }
        }
        if (l > 0) {
            sgm__unet_op up =
                mk(SGM__UOP_UP, h, -1, new_tensor(u, t, (size_t)ch * (size_t)(4 * H * W)));
            up.a = ch, up.b = H, up.c = W;
            h = push_op(t, up);
            H *= 2, W *= 2;
            snprintf(nm, sizeof nm, "up.%d.upsample", l);
            h = b_conv(u, t, nm, h, ch, H, W, ch, 3, 1, 1, NULL, NULL);
        }
    }
    h = b_silu(u, t, b_gn(u, t, "norm_out", h, ch, H * W));
    int oc = c->out_ch ? c->out_ch : c->in_ch;
    t->out_t = b_conv(u, t, "conv_out", h, ch, H, W, oc, 3, 1, 1, NULL, NULL);
}

/* ------------------------------------------------------------- config --- */

sgm_unet_config sgm_unet_config_default(void) {
    sgm_unet_config c;
    memset(&c, 0, sizeof c);
    c.in_ch = 1, c.height = 28, c.width = 28, c.base_ch = 32, c.n_levels = 3;
    c.mult[0] = 1, c.mult[1] = 2, c.mult[2] = 2;
    c.attn[2] = 1, c.mid_attn = 1, c.n_res = 2, c.groups = 8, c.heads = 1, c.emb_dim = 128;
    c.emb = sgm_nn_sinusoidal_defaults();
    c.emb.flip_sin_to_cos = 1, c.emb.downscale_freq_shift = 0.0;
    return c;
}

static const char *check_config(const sgm_unet_config *c) {
    if (c->in_ch < 1 || c->out_ch < 0 || c->base_ch < 1 || c->n_res < 1 || c->groups < 1 ||
        c->heads < 1 || c->emb_dim < 0 || c->n_classes < 0)
        return "in_ch, base_ch, n_res, groups, heads >= 1; out_ch, emb_dim, n_classes >= 0";
    if (c->n_levels < 1 || c->n_levels > SGM_UNET_MAX_LEVELS) return "n_levels outside [1, 6]";
    if (c->base_ch < 2) return "base_ch >= 2 (sinusoidal embedding width)";
    int f = 1 << (c->n_levels - 1);
    if (c->height < 1 || c->width < 1 || c->height % f || c->width % f)
        return "height and width must be divisible by 2^(n_levels - 1)";
    if (c->base_ch % c->groups) return "base_ch not a multiple of groups";
    for (int l = 0; l < c->n_levels; l++) {
        if (c->mult[l] < 1) return "channel multipliers must be >= 1";
        if ((c->base_ch * c->mult[l]) % c->groups) return "a level's channels not a multiple of groups";
        if ((c->attn[l] || (c->mid_attn && l == c->n_levels - 1)) &&
            (c->base_ch * c->mult[l]) % c->heads)
            return "an attended width not a multiple of heads";
    }
    if (c->n_levels * (c->n_res + 1) + 1 > 64) return "too many blocks";
    return NULL;
}

/* --------------------------------------------------------------- init --- */

static void tape_free(sgm__unet_tape *t) {
    if (!t) return;
    for (int i = 0; i < t->n_ops; i++)
        if (t->ops[i].type == SGM__UOP_CONV) sgm_nn_conv2d_plan_free(t->ops[i].plan);
    free(t->ops);
    free(t->t_per);
    free(t->t_off);
    free(t->p_bound);
    free(t->acts);
    free(t->scratch);
    free(t->att_scratch);
    free(t->labels);
    free(t->pblock);
    free(t->first_writer);
    free(t);
}

void sgm_unet_free(sgm_unet *u) {
    if (!u) return;
    sgm__unet_tape *t = u->impl_;
    tape_free(t);
    free(u->tensors);
    memset(u, 0, sizeof *u);
}

sgm_status sgm_unet_init(sgm_unet *u, const sgm_unet_config *cfg, int max_batch, uint64_t seed,
                         sgm_error *err) {
    memset(u, 0, sizeof *u);
    if (!cfg || max_batch < 1)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "unet: NULL config or max_batch < 1");
    const char *why = check_config(cfg);
    if (why) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "unet: bad config: %s", why);
    u->cfg = *cfg;
    if (u->cfg.emb_dim == 0) u->cfg.emb_dim = 4 * cfg->base_ch;
    if (u->cfg.out_ch == 0) u->cfg.out_ch = cfg->in_ch;
    u->max_batch = max_batch;
    sgm__unet_tape *t = sgm__calloc(1, sizeof *t);
    if (!t) return sgm__set_error(err, SGM_ERR_NOMEM, "unet: out of memory");
    u->impl_ = t;
    build(u, t);
    if (t->fail) goto nomem;
    /* parameters */
    size_t *cnt = malloc((size_t)u->n_tensors * 2 * sizeof *cnt);
    if (!cnt) goto nomem;
    for (int i = 0; i < u->n_tensors; i++) cnt[i] = u->tensors[i].count;
    u->n_params = sgm_nn_layout(cnt + u->n_tensors, cnt, (size_t)u->n_tensors);
    for (int i = 0; i < u->n_tensors; i++) u->tensors[i].off = cnt[u->n_tensors + i];
    free(cnt);
    float *pb = sgm__calloc(2 * u->n_params, sizeof(float));
    if (!pb) goto nomem;
    t->pblock = pb;
    u->params = pb;
    u->grads = pb + u->n_params;
    for (int i = 0; i < u->n_tensors; i++) {
        float *p = u->params + u->tensors[i].off;
        double bd = t->p_bound[i];
        size_t n = u->tensors[i].count;
        if (bd > 0)
            sgm_nn_fill_uniform(p, n, (float)-bd, (float)bd, seed, (uint64_t)i);
        else if (bd == -1.0)
            for (size_t k = 0; k < n; k++) p[k] = 1.0f;
        else if (bd == -2.0)
            sgm_nn_fill_normal(p, n, 1.0f, seed, (uint64_t)i);
    }
    /* activations (and their gradients), scratch */
    size_t tot = 0, att_t = 1;
    for (int i = 0; i < t->n_t; i++) {
        t->t_off[i] = tot;
        tot += (t->t_per[i] * (size_t)max_batch + 15) / 16 * 16;
    }
    for (int i = 0; i < t->n_ops; i++) {
        sgm__unet_op *o = &t->ops[i];
        if (o->type == SGM__UOP_CONV) o->cd.N = max_batch;
        if (o->type == SGM__UOP_ATTN && (size_t)o->a > att_t) att_t = (size_t)o->a;
    }
    u->n_acts = 2 * tot;
    t->acts = sgm__calloc(2 * tot, sizeof(float));
    t->dacts = t->acts ? t->acts + tot : NULL;
    t->att_scratch = sgm__calloc(att_t * att_t, sizeof(float));
    t->labels = sgm__calloc((size_t)max_batch, sizeof(int));
    t->first_writer = sgm__calloc((size_t)t->n_t, sizeof(int));
    if (!t->acts || !t->att_scratch || !t->labels || !t->first_writer) goto nomem;
    for (int i = 0; i < t->n_t; i++) t->first_writer[i] = -1;
    for (int i = t->n_ops - 1; i >= 0; i--) {
        const sgm__unet_op *o = &t->ops[i];
        if (o->in0 >= 0 && t->first_writer[o->in0] < 0) t->first_writer[o->in0] = i;
        if (sgm__unet_writes_din1(o) && t->first_writer[o->in1] < 0) t->first_writer[o->in1] = i;
    }
    sgm_status st = sgm_unet_set_conv_backend(u, SGM_NN_CONV2D_AUTO, err);
    if (st != SGM_OK) sgm_unet_free(u);
    return st;
nomem:
    sgm_unet_free(u);
    return sgm__set_error(err, SGM_ERR_NOMEM, "unet: out of memory");
}

sgm_status sgm_unet_set_conv_backend(sgm_unet *u, sgm_nn_conv2d_backend backend,
                                     sgm_error *err) {
    if (!u || !u->impl_) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "unet: NULL argument");
    sgm__unet_tape *t = u->impl_;
    t->backend = backend;
    size_t conv_s = 1; /* the scratch serves the convolutions and the linear
                        * layers' transposed weights (gemm_det.c) */
    for (int i = 0; i < t->n_ops; i++) {
        sgm__unet_op *o = &t->ops[i];
        if (o->type == SGM__UOP_LINEAR && (size_t)o->b * (size_t)o->c > conv_s)
            conv_s = (size_t)o->b * (size_t)o->c;
        if (o->type != SGM__UOP_CONV) continue;
        sgm_nn_conv2d_plan_free(o->plan);
        o->plan = NULL;
        sgm_status st = sgm_nn_conv2d_plan_create(&o->plan, &o->cd, backend, err);
        if (st != SGM_OK) return st;
        /* activations stay untouched between forward and backward */
        sgm_nn_conv2d_plan_keep_input(o->plan, 1);
        if (t->precision != SGM_NN_FP32) {
            st = sgm_nn_conv2d_plan_set_precision(o->plan, t->precision, err);
            if (st != SGM_OK) return st;
        }
        size_t s = sgm_nn_conv2d_plan_scratch_size(o->plan);
        if (s > conv_s) conv_s = s;
    }
    float *scr = sgm__calloc(conv_s, sizeof(float));
    if (!scr) return sgm__set_error(err, SGM_ERR_NOMEM, "unet: out of memory");
    free(t->scratch);
    t->scratch = scr;
    return SGM_OK;
}

sgm_status sgm_unet_set_precision(sgm_unet *u, sgm_nn_precision p, sgm_error *err) {
    if (!u || !u->impl_) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "unet: NULL argument");
    if (p != SGM_NN_FP32 && p != SGM_NN_BF16)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "unet: unknown precision %d", (int)p);
    sgm__unet_tape *t = u->impl_;
    if (p == t->precision) return SGM_OK;
    sgm_nn_precision old = t->precision;
    t->precision = p;
    sgm_status st = sgm_unet_set_conv_backend(u, t->backend, err);
    if (st != SGM_OK) { /* back to the previous, working plans */
        t->precision = old;
        (void)sgm_unet_set_conv_backend(u, t->backend, NULL);
    }
    return st;
}

sgm_nn_precision sgm_unet_precision(const sgm_unet *u) {
    return u && u->impl_ ? ((const sgm__unet_tape *)u->impl_)->precision : SGM_NN_FP32;
}

int sgm_unet_find(const sgm_unet *u, const char *name) {
    for (int i = 0; i < u->n_tensors; i++)
        if (strcmp(u->tensors[i].name, name) == 0) return i;
    return -1;
}
