/* conv2d_plan.c - sgm_nn_conv2d_plan: a conv2d layer's shape bound to a
 * backend, the im2col + sgemm kernels of conv2d.c or oneDNN's direct
 * convolutions (conv2d_dnnl.c, when sgm is built with SGM_HAVE_DNNL).
 * Which one AUTO picks was decided by measurement (docs/bench-train.md):
 * oneDNN ran the default U-Net's convolutions 2.2x (1 thread) to 2.8x
 * (2 threads) faster than GEMM, forward + backward (bench/bench_conv.c). */
#include <stdlib.h>

#include "core/internal.h"
#include "nn/conv2d_dnnl.h"
#include "nn/nn_internal.h"

struct sgm_nn_conv2d_plan {
    sgm_nn_conv2d_dims d; /* N: the largest batch */
    sgm_nn_conv2d_backend backend;
    size_t scratch;       /* floats */
    sgm__dnnl_conv *dnnl; /* DNNL backend state, else NULL */
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
        sgm_status st = sgm__dnnl_conv_create(&p->dnnl, d, &p->scratch, err);
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
#ifdef SGM_HAVE_DNNL
    if (plan && plan->dnnl) sgm__dnnl_conv_keep_input(plan->dnnl, on);
#else
    (void)plan, (void)on;
#endif
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
