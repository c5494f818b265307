/* conv2d_plan.c - sgm_nn_conv2d_plan: a conv2d layer's shape bound to a
 * backend, the im2col + sgemm kernels of conv2d.c or oneDNN's direct
 * convolutions (conv2d_dnnl.c, when sgm is built with SGM_HAVE_DNNL).
 * Which one AUTO picks was decided by measurement (docs/bench-train.md):
 * oneDNN ran the default U-Net's convolutions 2.2x (1 thread) to 2.8x
 * (2 threads) faster than GEMM, forward + backward (bench/bench_conv.c).
 * Also the precision switch (fp32, or bf16 products on oneDNN) and the
 * check whether this CPU runs bf16 natively. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "nn/conv2d_dnnl.h"
#include "nn/nn_internal.h"

struct sgm_nn_conv2d_plan {
    sgm_nn_conv2d_dims d; /* N: the largest batch */
    sgm_nn_conv2d_backend backend;
    size_t scratch;       /* floats */
    sgm__dnnl_conv *dnnl; /* DNNL backend state, else NULL */
    sgm_nn_precision precision;
    int keep;             /* sgm_nn_conv2d_plan_keep_input */
};

int sgm_nn_conv2d_have_dnnl(void) {
#ifdef SGM_HAVE_DNNL
    return 1;
#else
    return 0;
#endif
}

static const char *bad_dims(const sgm_nn_conv2d_dims *d) {
    if (d->N < 1) return "batch N < 1";
    if (d->C < 1 || d->H < 1 || d->W < 1 || d->OC < 1 || d->K < 1) return "non-positive size";
    if (d->stride < 1 || d->pad < 0) return "stride < 1 or pad < 0";
    if (d->H + 2 * d->pad < d->K || d->W + 2 * d->pad < d->K) return "kernel larger than input";
    return NULL;
}

sgm_status sgm_nn_conv2d_plan_create(sgm_nn_conv2d_plan **plan, const sgm_nn_conv2d_dims *d,
                                     sgm_nn_conv2d_backend backend, sgm_error *err) {
    if (!plan || !d) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "conv2d plan: NULL argument");
    *plan = NULL;
    const char *why = bad_dims(d);
    if (why) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "conv2d plan: %s", why);
    if (backend == SGM_NN_CONV2D_AUTO)
        backend = sgm_nn_conv2d_have_dnnl() ? SGM_NN_CONV2D_DNNL : SGM_NN_CONV2D_GEMM;
    if (backend != SGM_NN_CONV2D_GEMM && backend != SGM_NN_CONV2D_DNNL)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "conv2d plan: unknown backend %d",
                              (int)backend);
    if (backend == SGM_NN_CONV2D_DNNL && !sgm_nn_conv2d_have_dnnl())
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                              "conv2d plan: sgm was built without oneDNN (libdnnl-dev)");
    sgm_nn_conv2d_plan *p = sgm__calloc(1, sizeof *p);
    if (!p) return sgm__set_error(err, SGM_ERR_NOMEM, "conv2d plan: out of memory");
    p->d = *d;
    p->backend = backend;
    if (backend == SGM_NN_CONV2D_GEMM) {
        p->scratch = sgm_nn_conv2d_scratch_size(d);
    } else {
#ifdef SGM_HAVE_DNNL
        sgm_status st = sgm__dnnl_conv_create(&p->dnnl, d, 0, &p->scratch, err);
        if (st != SGM_OK) {
            free(p);
            return st;
        }
#endif
    }
    *plan = p;
    return SGM_OK;
}

void sgm_nn_conv2d_plan_free(sgm_nn_conv2d_plan *plan) {
    if (!plan) return;
#ifdef SGM_HAVE_DNNL
    sgm__dnnl_conv_free(plan->dnnl);
#endif
    free(plan);
}

sgm_nn_conv2d_backend sgm_nn_conv2d_plan_backend(const sgm_nn_conv2d_plan *plan) {
    return plan->backend;
}

void sgm_nn_conv2d_plan_keep_input(sgm_nn_conv2d_plan *plan, int on) {
    if (plan) plan->keep = on != 0;
#ifdef SGM_HAVE_DNNL
    if (plan && plan->dnnl) sgm__dnnl_conv_keep_input(plan->dnnl, on);
#else
    (void)plan, (void)on;
#endif
}

int sgm_nn_have_bf16(void) {
#ifdef SGM_HAVE_DNNL
    return sgm__dnnl_have_bf16();
#else
    return 0;
#endif
}

const char *sgm_nn_precision_name(sgm_nn_precision p) {
    return p == SGM_NN_FP32 ? "fp32" : p == SGM_NN_BF16 ? "bf16" : "?";
}

sgm_status sgm_nn_precision_from_name(const char *name, sgm_nn_precision *out) {
    if (!name || !out) return SGM_ERR_INVALID_ARG;
    if (strcmp(name, "fp32") == 0 || strcmp(name, "float32") == 0) {
        *out = SGM_NN_FP32;
    } else if (strcmp(name, "bf16") == 0 || strcmp(name, "bfloat16") == 0) {
        *out = SGM_NN_BF16;
    } else {
        return SGM_ERR_UNKNOWN_NAME;
    }
    return SGM_OK;
}

sgm_nn_precision sgm_nn_precision_resolve(sgm_nn_precision want, int no_bf16) {
    return want == SGM_NN_BF16 && !no_bf16 && sgm_nn_have_bf16() ? SGM_NN_BF16 : SGM_NN_FP32;
}

sgm_status sgm_nn_conv2d_plan_set_precision(sgm_nn_conv2d_plan *plan, sgm_nn_precision p,
                                            sgm_error *err) {
    if (!plan) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "conv2d plan: NULL argument");
    if (p != SGM_NN_FP32 && p != SGM_NN_BF16)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "conv2d plan: unknown precision %d",
                              (int)p);
    if (p == plan->precision) return SGM_OK;
    if (plan->backend != SGM_NN_CONV2D_DNNL)
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                              "conv2d plan: bf16 needs the oneDNN backend");
#ifdef SGM_HAVE_DNNL
    sgm__dnnl_conv *c = NULL;
    size_t scratch = 0;
    sgm_status st = sgm__dnnl_conv_create(&c, &plan->d, p == SGM_NN_BF16, &scratch, err);
    if (st != SGM_OK) return st;
    sgm__dnnl_conv_free(plan->dnnl);
    plan->dnnl = c;
    plan->scratch = scratch;
    plan->precision = p;
    sgm__dnnl_conv_keep_input(c, plan->keep);
    return SGM_OK;
#else
    return sgm__set_error(err, SGM_ERR_UNSUPPORTED, "conv2d: built without oneDNN");
#endif
}

sgm_nn_precision sgm_nn_conv2d_plan_precision(const sgm_nn_conv2d_plan *plan) {
    return plan->precision;
}

size_t sgm_nn_conv2d_plan_scratch_size(const sgm_nn_conv2d_plan *plan) { return plan->scratch; }

static sgm_status check_call(const sgm_nn_conv2d_plan *p, int N, int ok_ptrs, sgm_error *err) {
    if (!p || !ok_ptrs) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "conv2d: NULL argument");
    if (N < 1 || N > p->d.N)
        return sgm__set_error(err, SGM_ERR_SHAPE, "conv2d: batch %d outside [1, %d]", N, p->d.N);
    return SGM_OK;
}

sgm_status sgm_nn_conv2d_plan_forward(sgm_nn_conv2d_plan *plan, float *out, float *scratch,
                                      const float *inp, const float *weight, const float *bias,
                                      int N, sgm_error *err) {
    sgm_status st =
        check_call(plan, N, out && inp && weight && (scratch || (plan && !plan->scratch)), err);
    if (st != SGM_OK) return st;
    if (plan->backend == SGM_NN_CONV2D_GEMM) {
        sgm_nn_conv2d_dims d = plan->d;
        d.N = N;
        sgm_nn_conv2d_forward(out, scratch, inp, weight, bias, &d);
        return SGM_OK;
    }
#ifdef SGM_HAVE_DNNL
    return sgm__dnnl_conv_forward(plan->dnnl, out, scratch, inp, weight, bias, N, err);
#else
    return sgm__set_error(err, SGM_ERR_UNSUPPORTED, "conv2d: built without oneDNN");
#endif
}

sgm_status sgm_nn_conv2d_plan_backward(sgm_nn_conv2d_plan *plan, float *dinp, float *dweight,
                                       float *dbias, float *scratch, const float *dout,
                                       const float *inp, const float *weight, int N,
                                       sgm_error *err) {
    return sgm__nn_conv2d_plan_backward_mode(plan, dinp, dweight, dbias, scratch, dout, inp,
                                             weight, N, 0, err);
}

sgm_status sgm__nn_conv2d_plan_backward_mode(sgm_nn_conv2d_plan *plan, float *dinp,
                                             float *dweight, float *dbias, float *scratch,
                                             const float *dout, const float *inp,
                                             const float *weight, int N, int overwrite,
                                             sgm_error *err) {
    sgm_status st =
        check_call(plan, N, dout && inp && weight && (scratch || (plan && !plan->scratch)), err);
    if (st != SGM_OK) return st;
    if (!dinp && !dweight && !dbias) return SGM_OK;
    if (plan->backend == SGM_NN_CONV2D_GEMM) {
        sgm_nn_conv2d_dims d = plan->d;
        d.N = N;
        if (dinp && overwrite)
            sgm_nn_zero(dinp, (size_t)N * (size_t)d.C * (size_t)d.H * (size_t)d.W);
        sgm_nn_conv2d_backward(dinp, dweight, dbias, scratch, dout, inp, weight, &d);
        return SGM_OK;
    }
#ifdef SGM_HAVE_DNNL
    return sgm__dnnl_conv_backward(plan->dnnl, dinp, dweight, dbias, scratch, dout, inp, weight,
                                   N, overwrite, err);
#else
    return sgm__set_error(err, SGM_ERR_UNSUPPORTED, "conv2d: built without oneDNN");
#endif
}
