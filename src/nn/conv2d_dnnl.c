/* conv2d_dnnl.c - the oneDNN backend of sgm_nn_conv2d_plan: forward,
 * backward-data and backward-weights of a 2-D convolution by oneDNN's
 * direct-convolution primitives (oneDNN 2.x C API, Debian libdnnl-dev; the
 * same library and the same scheme as PyTorch's mkldnn_convolution).
 *
 * Memory formats: the primitives are created with format "any", so oneDNN
 * picks its blocked layouts (nChw16c, OIhw16i16o, ... with the AVX-512 JIT
 * kernels); the interface stays (N, C, H, W) / (OC, C, K, K), and reorder
 * primitives convert at the boundary. Gradients accumulate as everywhere in
 * the engine: the diff_src / diff_weights results go through a reorder with
 * a sum post-op (dst = reorder(src) + dst) into the caller's arrays.
 *
 * Primitives (convolutions and reorders) are made for one batch size at a
 * time, at the first call with it, and kept. The caller's scratch holds the
 * blocked copies; oneDNN's own scratchpads are owned here (user scratchpad
 * mode, so no allocation happens inside a call). oneDNN threads with the
 * same OpenMP runtime as the rest of the engine.
 *
 * bf16 mixed precision (sgm_nn_conv2d_plan_set_precision): the same
 * primitives with bf16 operands (src, weights, diff_dst: the reorders from
 * the caller's f32 arrays round them) and f32 results and accumulation
 * (dst, diff_src, diff_weights, bias), the AVX512-BF16 kernels
 * (vdpbf16ps); the caller's tensors and master weights stay f32. */
#ifdef SGM_HAVE_DNNL

#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "core/internal.h"
#include "nn/conv2d_dnnl.h"
#include "nn/nn_internal.h"

/* one reorder: plain <-> blocked (NULL when the formats agree and no
 * accumulation is asked) */
typedef struct reorder {
    dnnl_primitive_t prim;
    dnnl_memory_t from, to;
} reorder;

/* one convolution primitive with its oneDNN scratchpad */
typedef struct conv_prim {
    dnnl_primitive_t prim;
    dnnl_memory_t pad_mem;
    void *pad;
} conv_prim;

/* the memory objects and reorders of one tensor argument of one primitive */
typedef struct arg {
    dnnl_memory_desc_t md; /* the primitive's format */
    dnnl_memory_t mem;     /* bound to the user array or a scratch block */
    reorder r;             /* user <-> md; prim NULL when md is the plain format */
    reorder set;           /* accumulating outputs: the same reorder without the sum */
    size_t off, size;      /* scratch block (floats) when reordered */
} arg;

struct sgm__dnnl_conv {
    sgm_nn_conv2d_dims d; /* N: the largest batch */
    int bf16;             /* bf16 operands, f32 results (sgm__dnnl_conv_create) */
    dnnl_engine_t eng;
    dnnl_stream_t st;
    int n; /* batch of the primitives below; 0 none */
    conv_prim fwd, bwd_d, bwd_w;
    /* forward: src, weights, dst, bias */
    arg f_src, f_w, f_dst;
    dnnl_memory_t f_bias;
    /* backward data: diff_dst, weights, diff_src (always reordered with sum) */
    arg d_ddst, d_w, d_dsrc;
    /* backward weights: src, diff_dst, diff_weights (reordered with sum), diff_bias */
    arg w_src, w_ddst, w_dw;
    dnnl_memory_t w_db;
    int ddst_shared; /* w_ddst reads d_ddst's block (same format) */
    /* keep_input: forward leaves its reordered input in `kept` (allocated at
     * the first backward, for the largest batch) and the backward right
     * after it reads that instead of reordering inp again */
    int keep_input;
    float *kept;
    size_t kept_cap;         /* floats: the forward input's block at the largest batch */
    const float *kept_inp;   /* the inp of the forward that filled `kept` */
    int kept_n;              /* its batch; 0: nothing kept */
    size_t fwd_scratch, bwd_scratch; /* floats of caller scratch, this batch */
    size_t cap;                      /* floats of caller scratch available */
};

static sgm_status dnnl_err(sgm_error *err, dnnl_status_t s, const char *what) {
    return sgm__set_error(err, s == dnnl_out_of_memory ? SGM_ERR_NOMEM : SGM_ERR_UNSUPPORTED,
                          "conv2d (oneDNN): %s failed (dnnl status %d)", what, (int)s);
}

#define TRY(call, what)                                                 \
    do {                                                                \
        dnnl_status_t s_ = (call);                                      \
        if (s_ != dnnl_success) return dnnl_err(err, s_, what);         \
    } while (0)

static size_t floats_of(const dnnl_memory_desc_t *md) {
    return (dnnl_memory_desc_get_size(md) + sizeof(float) - 1) / sizeof(float);
}

/* 64-byte aligned block of `n` floats appended to a scratch layout */
static size_t take(size_t *top, size_t n) {
    size_t off = *top;
    *top += (n + 15) / 16 * 16;
    return off;
}

static void free_reorder(reorder *r) {
    if (r->prim) dnnl_primitive_destroy(r->prim);
    if (r->from) dnnl_memory_destroy(r->from);
    if (r->to) dnnl_memory_destroy(r->to);
    memset(r, 0, sizeof *r);
}

static void free_arg(arg *a) {
    free_reorder(&a->r);
    free_reorder(&a->set);
    if (a->mem) dnnl_memory_destroy(a->mem);
    memset(a, 0, sizeof *a);
}

static void free_conv_prim(conv_prim *c) {
    if (c->prim) dnnl_primitive_destroy(c->prim);
    if (c->pad_mem) dnnl_memory_destroy(c->pad_mem);
    free(c->pad);
    memset(c, 0, sizeof *c);
}

static void free_shape(sgm__dnnl_conv *c) {
    free_conv_prim(&c->fwd);
    free_conv_prim(&c->bwd_d);
    free_conv_prim(&c->bwd_w);
    free_arg(&c->f_src), free_arg(&c->f_w), free_arg(&c->f_dst);
    free_arg(&c->d_ddst), free_arg(&c->d_w), free_arg(&c->d_dsrc);
    free_arg(&c->w_src), free_arg(&c->w_ddst), free_arg(&c->w_dw);
    if (c->f_bias) dnnl_memory_destroy(c->f_bias);
    if (c->w_db) dnnl_memory_destroy(c->w_db);
    c->f_bias = c->w_db = NULL;
    c->n = 0;
    c->kept_n = 0;
}

/* the plain descriptors of a batch n */
typedef struct plain {
    dnnl_memory_desc_t src, w, b, dst;
    /* the primitives' formats ("any"); with bf16 the operands of the
     * products (src, weights, diff_dst) are bf16, their results (dst,
     * diff_src, diff_weights) f32 */
    dnnl_memory_desc_t any_src, any_w, any_dst, any_dsrc, any_dw, any_ddst;
    dnnl_dims_t strides, pad_l, pad_r;
} plain;

static sgm_status make_plain(plain *p, const sgm_nn_conv2d_dims *d, int n, int bf16,
                             sgm_error *err) {
    dnnl_data_type_t op = bf16 ? dnnl_bf16 : dnnl_f32;
    int Ho = sgm_nn_conv2d_out_size(d->H, d->K, d->stride, d->pad);
    int Wo = sgm_nn_conv2d_out_size(d->W, d->K, d->stride, d->pad);
    dnnl_dims_t sd = {n, d->C, d->H, d->W}, wd = {d->OC, d->C, d->K, d->K}, bd = {d->OC},
                dd = {n, d->OC, Ho, Wo};
    TRY(dnnl_memory_desc_init_by_tag(&p->src, 4, sd, dnnl_f32, dnnl_nchw), "memory desc");
    TRY(dnnl_memory_desc_init_by_tag(&p->w, 4, wd, dnnl_f32, dnnl_oihw), "memory desc");
    TRY(dnnl_memory_desc_init_by_tag(&p->b, 1, bd, dnnl_f32, dnnl_x), "memory desc");
    TRY(dnnl_memory_desc_init_by_tag(&p->dst, 4, dd, dnnl_f32, dnnl_nchw), "memory desc");
    TRY(dnnl_memory_desc_init_by_tag(&p->any_src, 4, sd, op, dnnl_format_tag_any),
        "memory desc");
    TRY(dnnl_memory_desc_init_by_tag(&p->any_w, 4, wd, op, dnnl_format_tag_any),
        "memory desc");
    TRY(dnnl_memory_desc_init_by_tag(&p->any_dst, 4, dd, dnnl_f32, dnnl_format_tag_any),
        "memory desc");
    TRY(dnnl_memory_desc_init_by_tag(&p->any_dsrc, 4, sd, dnnl_f32, dnnl_format_tag_any),
        "memory desc");
    TRY(dnnl_memory_desc_init_by_tag(&p->any_dw, 4, wd, dnnl_f32, dnnl_format_tag_any),
        "memory desc");
    TRY(dnnl_memory_desc_init_by_tag(&p->any_ddst, 4, dd, op, dnnl_format_tag_any),
        "memory desc");
    p->strides[0] = p->strides[1] = d->stride;
    p->pad_l[0] = p->pad_l[1] = d->pad;
    /* right padding as PyTorch: whatever the last window needs (may be < pad) */
    p->pad_r[0] = (Ho - 1) * d->stride + d->K - d->H - d->pad;
    p->pad_r[1] = (Wo - 1) * d->stride + d->K - d->W - d->pad;
    return SGM_OK;
}

/* the three primitive descriptors of a batch n (the caller destroys them) */
static sgm_status make_pds(dnnl_primitive_desc_t pd[3], sgm__dnnl_conv *c, const plain *p,
                           sgm_error *err) {
    dnnl_primitive_attr_t attr;
    pd[0] = pd[1] = pd[2] = NULL;
    TRY(dnnl_primitive_attr_create(&attr), "attribute");
    dnnl_status_t s = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    dnnl_convolution_desc_t fd, bd, wd;
    if (s == dnnl_success)
        s = dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct,
                                               &p->any_src, &p->any_w, &p->b, &p->any_dst,
                                               p->strides, p->pad_l, p->pad_r);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(&pd[0], &fd, attr, c->eng, NULL);
    if (s == dnnl_success)
        s = dnnl_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &p->any_dsrc,
                                                     &p->any_w, &p->any_ddst, p->strides,
                                                     p->pad_l, p->pad_r);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(&pd[1], &bd, attr, c->eng, pd[0]);
    if (s == dnnl_success)
        s = dnnl_convolution_backward_weights_desc_init(&wd, dnnl_convolution_direct, &p->any_src,
                                                        &p->any_dw, &p->b, &p->any_ddst,
                                                        p->strides, p->pad_l, p->pad_r);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(&pd[2], &wd, attr, c->eng, pd[0]);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success) {
        for (int i = 0; i < 3; i++)
            if (pd[i]) dnnl_primitive_desc_destroy(pd[i]), pd[i] = NULL;
        return dnnl_err(err, s, "convolution descriptor");
    }
    return SGM_OK;
}

static const dnnl_memory_desc_t *q(const_dnnl_primitive_desc_t pd, dnnl_query_t what) {
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

/* layout of one argument: a scratch block when its format is not the plain
 * one or when `accumulate` (the result is summed into the user array) */
static void plan_arg(arg *a, const dnnl_memory_desc_t *md, const dnnl_memory_desc_t *plain_md,
                     int accumulate, size_t *top) {
    a->md = *md;
    a->size = 0;
    if (accumulate || !dnnl_memory_desc_equal(md, plain_md)) {
        a->size = floats_of(md);
        a->off = take(top, a->size);
    }
}

/* creates the reorder (user plain <-> blocked) of an argument that needs
 * one; to_user: blocked -> plain, with a sum post-op when accumulate */
static sgm_status make_reorder(reorder *r, sgm__dnnl_conv *c, const dnnl_memory_desc_t *from,
                               const dnnl_memory_desc_t *to, int accumulate, sgm_error *err);

/* accumulate: the reorder to the user array sums into it; 2: also make the
 * overwrite variant (`set`, for the input gradient's first writer) */
static sgm_status make_arg(arg *a, sgm__dnnl_conv *c, const dnnl_memory_desc_t *plain_md,
                           int to_user, int accumulate, sgm_error *err) {
    TRY(dnnl_memory_create(&a->mem, &a->md, c->eng, DNNL_MEMORY_NONE), "memory");
    if (!a->size) return SGM_OK;
    const dnnl_memory_desc_t *from = to_user ? &a->md : plain_md;
    const dnnl_memory_desc_t *to = to_user ? plain_md : &a->md;
    sgm_status st = make_reorder(&a->r, c, from, to, accumulate, err);
    if (st == SGM_OK && accumulate == 2) st = make_reorder(&a->set, c, from, to, 0, err);
    return st;
}

static sgm_status make_reorder(reorder *r, sgm__dnnl_conv *c, const dnnl_memory_desc_t *from,
                               const dnnl_memory_desc_t *to, int accumulate, sgm_error *err) {
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_status_t s = dnnl_success;
    if (accumulate) {
        s = dnnl_primitive_attr_create(&attr);
        if (s == dnnl_success) s = dnnl_post_ops_create(&po);
        if (s == dnnl_success) s = dnnl_post_ops_append_sum(po, 1.0f);
        if (s == dnnl_success) s = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    if (s == dnnl_success) s = dnnl_reorder_primitive_desc_create(&rpd, from, c->eng, to, c->eng, attr);
    if (s == dnnl_success) s = dnnl_primitive_create(&r->prim, rpd);
    if (s == dnnl_success) s = dnnl_memory_create(&r->from, from, c->eng, DNNL_MEMORY_NONE);
    if (s == dnnl_success) s = dnnl_memory_create(&r->to, to, c->eng, DNNL_MEMORY_NONE);
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success) return dnnl_err(err, s, "reorder");
    return SGM_OK;
}

static sgm_status make_conv_prim(conv_prim *cp, sgm__dnnl_conv *c, const_dnnl_primitive_desc_t pd,
                                 sgm_error *err) {
    TRY(dnnl_primitive_create(&cp->prim, pd), "convolution primitive");
    const dnnl_memory_desc_t *smd = q(pd, dnnl_query_scratchpad_md);
    size_t bytes = smd ? dnnl_memory_desc_get_size(smd) : 0;
    if (bytes > 0) {
        cp->pad = malloc(bytes);
        if (!cp->pad) return sgm__set_error(err, SGM_ERR_NOMEM, "conv2d (oneDNN): out of memory");
        TRY(dnnl_memory_create(&cp->pad_mem, smd, c->eng, cp->pad), "memory");
    }
    return SGM_OK;
}

/* scratch layouts of a batch: forward [src w dst zero-bias], backward
 * [ddst_d w_d dsrc src_w ddst_w dw db] */
static void layout(sgm__dnnl_conv *c, dnnl_primitive_desc_t pd[3], const plain *p) {
    size_t top = 0;
    plan_arg(&c->f_src, q(pd[0], dnnl_query_src_md), &p->src, 0, &top);
    plan_arg(&c->f_w, q(pd[0], dnnl_query_weights_md), &p->w, 0, &top);
    plan_arg(&c->f_dst, q(pd[0], dnnl_query_dst_md), &p->dst, 0, &top);
    take(&top, (size_t)c->d.OC); /* zeros for a NULL bias */
    c->fwd_scratch = top;
    top = 0;
    plan_arg(&c->d_ddst, q(pd[1], dnnl_query_diff_dst_md), &p->dst, 0, &top);
    plan_arg(&c->d_w, q(pd[1], dnnl_query_weights_md), &p->w, 0, &top);
    plan_arg(&c->d_dsrc, q(pd[1], dnnl_query_diff_src_md), &p->src, 1, &top);
    plan_arg(&c->w_src, q(pd[2], dnnl_query_src_md), &p->src, 0, &top);
    /* backward weights reads diff_dst in the format backward data had it
     * reordered to when they agree (the usual case): one reorder, not two */
    c->ddst_shared = c->d_ddst.size > 0 &&
                     dnnl_memory_desc_equal(q(pd[2], dnnl_query_diff_dst_md), &c->d_ddst.md);
    if (c->ddst_shared) {
        c->w_ddst.md = c->d_ddst.md;
        c->w_ddst.size = 0;
    } else {
        plan_arg(&c->w_ddst, q(pd[2], dnnl_query_diff_dst_md), &p->dst, 0, &top);
    }
    plan_arg(&c->w_dw, q(pd[2], dnnl_query_diff_weights_md), &p->w, 1, &top);
    take(&top, (size_t)c->d.OC); /* diff_bias */
    c->bwd_scratch = top;
}

/* (re)makes every primitive for batch n */
static sgm_status set_batch(sgm__dnnl_conv *c, int n, sgm_error *err) {
    if (c->n == n) return SGM_OK;
    free_shape(c);
    plain p;
    sgm_status st = make_plain(&p, &c->d, n, c->bf16, err);
    if (st != SGM_OK) return st;
    dnnl_primitive_desc_t pd[3];
    st = make_pds(pd, c, &p, err);
    if (st != SGM_OK) return st;
    layout(c, pd, &p);
    if (c->fwd_scratch > c->cap || c->bwd_scratch > c->cap)
        st = sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                            "conv2d (oneDNN): batch %d needs more scratch than batch %d", n,
                            c->d.N);
    if (st == SGM_OK) st = make_conv_prim(&c->fwd, c, pd[0], err);
    if (st == SGM_OK) st = make_conv_prim(&c->bwd_d, c, pd[1], err);
    if (st == SGM_OK) st = make_conv_prim(&c->bwd_w, c, pd[2], err);
    if (st == SGM_OK) st = make_arg(&c->f_src, c, &p.src, 0, 0, err);
    if (st == SGM_OK) st = make_arg(&c->f_w, c, &p.w, 0, 0, err);
    if (st == SGM_OK) st = make_arg(&c->f_dst, c, &p.dst, 1, 0, err);
    if (st == SGM_OK) st = make_arg(&c->d_ddst, c, &p.dst, 0, 0, err);
    if (st == SGM_OK) st = make_arg(&c->d_w, c, &p.w, 0, 0, err);
    if (st == SGM_OK) st = make_arg(&c->d_dsrc, c, &p.src, 1, 2, err);
    if (st == SGM_OK) st = make_arg(&c->w_src, c, &p.src, 0, 0, err);
    if (st == SGM_OK) st = make_arg(&c->w_ddst, c, &p.dst, 0, 0, err);
    if (st == SGM_OK) st = make_arg(&c->w_dw, c, &p.w, 1, 1, err);
    if (st == SGM_OK && dnnl_memory_create(&c->f_bias, &p.b, c->eng, DNNL_MEMORY_NONE))
        st = sgm__set_error(err, SGM_ERR_NOMEM, "conv2d (oneDNN): memory");
    if (st == SGM_OK && dnnl_memory_create(&c->w_db, &p.b, c->eng, DNNL_MEMORY_NONE))
        st = sgm__set_error(err, SGM_ERR_NOMEM, "conv2d (oneDNN): memory");
    for (int i = 0; i < 3; i++) dnnl_primitive_desc_destroy(pd[i]);
    if (st != SGM_OK) {
        free_shape(c);
        return st;
    }
    c->n = n;
    return SGM_OK;
}

sgm_status sgm__dnnl_conv_create(sgm__dnnl_conv **out, const sgm_nn_conv2d_dims *d, int bf16,
                                 size_t *scratch_floats, sgm_error *err) {
    *out = NULL;
    sgm__dnnl_conv *c = sgm__calloc(1, sizeof *c);
    if (!c) return sgm__set_error(err, SGM_ERR_NOMEM, "conv2d (oneDNN): out of memory");
    c->d = *d;
    c->bf16 = bf16 != 0;
    dnnl_status_t s = dnnl_engine_create(&c->eng, dnnl_cpu, 0);
    if (s == dnnl_success) s = dnnl_stream_create(&c->st, c->eng, dnnl_stream_default_flags);
    if (s != dnnl_success) {
        sgm__dnnl_conv_free(c);
        return dnnl_err(err, s, "engine");
    }
    /* size the caller scratch for the largest batch: blocked activations
     * grow with the batch and weights do not, so this bounds every batch
     * (set_batch checks it) */
    plain p;
    dnnl_primitive_desc_t pd[3];
    sgm_status st = make_plain(&p, d, d->N, bf16, err);
    if (st == SGM_OK) st = make_pds(pd, c, &p, err);
    if (st != SGM_OK) {
        sgm__dnnl_conv_free(c);
        return st;
    }
    layout(c, pd, &p);
    for (int i = 0; i < 3; i++) dnnl_primitive_desc_destroy(pd[i]);
    c->cap = c->fwd_scratch > c->bwd_scratch ? c->fwd_scratch : c->bwd_scratch;
    c->kept_cap = c->f_src.size; /* blocked activations shrink with the batch */
    *scratch_floats = c->cap;
    *out = c;
    return SGM_OK;
}

void sgm__dnnl_conv_free(sgm__dnnl_conv *c) {
    if (!c) return;
    free_shape(c);
    free(c->kept);
    if (c->st) dnnl_stream_destroy(c->st);
    if (c->eng) dnnl_engine_destroy(c->eng);
    free(c);
}

/* binds an argument: its memory to the scratch block, reordering the user
 * array in (to_user 0) - or to the user array when no reorder is needed */
static sgm_status bind_in_at(sgm__dnnl_conv *c, arg *a, float *blk, const float *user,
                             sgm_error *err) {
    if (!a->size) {
        TRY(dnnl_memory_set_data_handle(a->mem, (void *)(uintptr_t)user), "set handle");
        return SGM_OK;
    }
    TRY(dnnl_memory_set_data_handle(a->mem, blk), "set handle");
    TRY(dnnl_memory_set_data_handle(a->r.from, (void *)(uintptr_t)user), "set handle");
    TRY(dnnl_memory_set_data_handle(a->r.to, blk), "set handle");
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, a->r.from}, {DNNL_ARG_TO, a->r.to}};
    TRY(dnnl_primitive_execute(a->r.prim, c->st, 2, args), "reorder");
    return SGM_OK;
}

static sgm_status bind_in(sgm__dnnl_conv *c, arg *a, float *scratch, const float *user,
                          sgm_error *err) {
    return bind_in_at(c, a, a->size ? scratch + a->off : NULL, user, err);
}

/* binds an output argument (its memory to the scratch block or the user array) */
static sgm_status bind_out(arg *a, float *scratch, float *user, sgm_error *err) {
    TRY(dnnl_memory_set_data_handle(a->mem, a->size ? scratch + a->off : user), "set handle");
    return SGM_OK;
}

/* after the primitive: reorders an output's block to the user array (with
 * the sum post-op when the argument accumulates, unless overwrite) */
static sgm_status flush_out_mode(sgm__dnnl_conv *c, arg *a, float *scratch, float *user,
                                 int overwrite, sgm_error *err) {
    if (!a->size) return SGM_OK;
    reorder *r = overwrite && a->set.prim ? &a->set : &a->r;
    TRY(dnnl_memory_set_data_handle(r->from, scratch + a->off), "set handle");
    TRY(dnnl_memory_set_data_handle(r->to, user), "set handle");
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, r->from}, {DNNL_ARG_TO, r->to}};
    TRY(dnnl_primitive_execute(r->prim, c->st, 2, args), "reorder");
    return SGM_OK;
}

static sgm_status flush_out(sgm__dnnl_conv *c, arg *a, float *scratch, float *user,
                            sgm_error *err) {
    return flush_out_mode(c, a, scratch, user, 0, err);
}

#define RUN(x)                              \
    do {                                    \
        sgm_status st_ = (x);               \
        if (st_ != SGM_OK) return st_;      \
    } while (0)

sgm_status sgm__dnnl_conv_forward(sgm__dnnl_conv *c, float *out, float *scratch, const float *inp,
                                  const float *weight, const float *bias, int N, sgm_error *err) {
    RUN(set_batch(c, N, err));
    float *zb = scratch + c->fwd_scratch - (c->d.OC + 15) / 16 * 16;
    if (!bias) {
        memset(zb, 0, (size_t)c->d.OC * sizeof(float));
        bias = zb;
    }
    c->kept_n = 0;
    /* with a kept-input buffer, the reordered input goes there */
    int keep = c->kept && c->f_src.size > 0 && c->f_src.size <= c->kept_cap &&
               dnnl_memory_desc_equal(&c->f_src.md, &c->w_src.md);
    RUN(bind_in_at(c, &c->f_src, keep ? c->kept : scratch + c->f_src.off, inp, err));
    RUN(bind_in(c, &c->f_w, scratch, weight, err));
    RUN(bind_out(&c->f_dst, scratch, out, err));
    TRY(dnnl_memory_set_data_handle(c->f_bias, (void *)(uintptr_t)bias), "set handle");
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, c->f_src.mem},
                               {DNNL_ARG_WEIGHTS, c->f_w.mem},
                               {DNNL_ARG_BIAS, c->f_bias},
                               {DNNL_ARG_DST, c->f_dst.mem},
                               {DNNL_ARG_SCRATCHPAD, c->fwd.pad_mem}};
    TRY(dnnl_primitive_execute(c->fwd.prim, c->st, c->fwd.pad_mem ? 5 : 4, args), "forward");
    RUN(flush_out(c, &c->f_dst, scratch, out, err));
    TRY(dnnl_stream_wait(c->st), "stream");
    if (keep) c->kept_inp = inp, c->kept_n = N;
    return SGM_OK;
}

sgm_status sgm__dnnl_conv_backward(sgm__dnnl_conv *c, float *dinp, float *dweight, float *dbias,
                                   float *scratch, const float *dout, const float *inp,
                                   const float *weight, int N, int overwrite, sgm_error *err) {
    RUN(set_batch(c, N, err));
    if (dinp) {
        RUN(bind_in(c, &c->d_ddst, scratch, dout, err));
        RUN(bind_in(c, &c->d_w, scratch, weight, err));
        RUN(bind_out(&c->d_dsrc, scratch, dinp, err));
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_DIFF_DST, c->d_ddst.mem},
                                   {DNNL_ARG_WEIGHTS, c->d_w.mem},
                                   {DNNL_ARG_DIFF_SRC, c->d_dsrc.mem},
                                   {DNNL_ARG_SCRATCHPAD, c->bwd_d.pad_mem}};
        TRY(dnnl_primitive_execute(c->bwd_d.prim, c->st, c->bwd_d.pad_mem ? 4 : 3, args),
            "backward data");
        RUN(flush_out_mode(c, &c->d_dsrc, scratch, dinp, overwrite, err));
    }
    if (dweight || dbias) {
        float *db = scratch + c->bwd_scratch - (c->d.OC + 15) / 16 * 16;
        if (c->kept_n == N && c->kept_inp == inp) {
            TRY(dnnl_memory_set_data_handle(c->w_src.mem, c->kept), "set handle");
        } else {
            RUN(bind_in(c, &c->w_src, scratch, inp, err));
        }
        if (c->ddst_shared && dinp) { /* d_ddst's block holds dout already */
            TRY(dnnl_memory_set_data_handle(c->w_ddst.mem, scratch + c->d_ddst.off), "set handle");
        } else if (c->ddst_shared) {
            RUN(bind_in(c, &c->d_ddst, scratch, dout, err));
            TRY(dnnl_memory_set_data_handle(c->w_ddst.mem, scratch + c->d_ddst.off), "set handle");
        } else {
            RUN(bind_in(c, &c->w_ddst, scratch, dout, err));
        }
        RUN(bind_out(&c->w_dw, scratch, NULL, err));
        TRY(dnnl_memory_set_data_handle(c->w_db, db), "set handle");
        dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, c->w_src.mem},
                                   {DNNL_ARG_DIFF_DST, c->w_ddst.mem},
                                   {DNNL_ARG_DIFF_WEIGHTS, c->w_dw.mem},
                                   {DNNL_ARG_DIFF_BIAS, c->w_db},
                                   {DNNL_ARG_SCRATCHPAD, c->bwd_w.pad_mem}};
        TRY(dnnl_primitive_execute(c->bwd_w.prim, c->st, c->bwd_w.pad_mem ? 5 : 4, args),
            "backward weights");
        if (dweight) RUN(flush_out(c, &c->w_dw, scratch, dweight, err));
        if (dbias)
            for (int o = 0; o < c->d.OC; o++) dbias[o] += db[o];
    }
    TRY(dnnl_stream_wait(c->st), "stream");
    c->kept_n = 0; /* one backward per forward */
    if (c->keep_input && !c->kept && (dweight || dbias) && c->w_src.size > 0 &&
        c->kept_cap > 0) {
        /* first backward that needs the input (weight gradients; a pure VJP
         * does not): from now on forwards keep their input */
        c->kept = malloc(c->kept_cap * sizeof(float));
        if (!c->kept) return sgm__set_error(err, SGM_ERR_NOMEM, "conv2d (oneDNN): out of memory");
    }
    return SGM_OK;
}

int sgm__dnnl_have_bf16(void) {
    unsigned isa = (unsigned)dnnl_get_effective_cpu_isa();
    return (isa & (unsigned)dnnl_cpu_isa_avx512_core_bf16) == (unsigned)dnnl_cpu_isa_avx512_core_bf16;
}

void sgm__dnnl_conv_keep_input(sgm__dnnl_conv *c, int on) {
    c->keep_input = on != 0;
    if (!c->keep_input) {
        free(c->kept);
        c->kept = NULL;
        c->kept_n = 0;
    }
}

#else
/* ISO C forbids an empty translation unit */
typedef int sgm__conv2d_dnnl_unused;
#endif
