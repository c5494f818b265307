/* nn_internal.h - private helpers of the NN engine (src/nn): cblas, OpenMP
 * pragmas that vanish without OpenMP, size_t index helpers. */
#ifndef SGM_NN_INTERNAL_H
#define SGM_NN_INTERNAL_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <cblas.h>
#include "sgm/sgm_nn.h"

/* OpenMP on outer loops, only for loops with at least SGM_NN_PAR_MIN
 * elements of work (below it a parallel region costs more than it saves).
 * sgm links the OpenMP build of OpenBLAS and oneDNN runs on OpenMP too, so
 * the kernels, the GEMMs and the convolutions share one thread pool; with
 * OpenBLAS's pthreads build the two pools fought for the cores (per-layer
 * regions made the residual MLP 6x slower at 2 threads) and this threshold
 * was 2^20. Measured at 2^15 vs 2^20 (bench_train_step, 2 threads): mlp
 * 42 -> 58 steps/s, U-Net 2.4 -> 2.5 steps/s. */
#define SGM_NN_PAR_MIN ((size_t)1 << 15)
#ifdef _OPENMP
#define SGM_NN_PRAGMA_(x) _Pragma(#x)
#define SGM_NN_OMP_FOR(work) \
    SGM_NN_PRAGMA_(omp parallel for schedule(static) if ((size_t)(work) >= SGM_NN_PAR_MIN))
#define SGM_NN_OMP_FOR2(work) \
    SGM_NN_PRAGMA_(omp parallel for collapse(2) schedule(static) if ((size_t)(work) >= SGM_NN_PAR_MIN))
#else
#define SGM_NN_OMP_FOR(work)
#define SGM_NN_OMP_FOR2(work)
#endif

/* Elementwise kernels that the compiler vectorises get AVX-512 and AVX2
 * clones next to the baseline x86-64 (SSE2) code, picked at load time (GCC
 * function multiversioning, ifunc): the build has no -march flag. Under
 * -std=c11 GCC does not contract a*b+c into FMA, and the reductions use a
 * fixed lane split, so every clone rounds alike. The AVX-512 clone halved
 * SiLU forward / backward on the U-Net's tensors (Zen 5). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SGM_NN_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SGM_NN_SIMD_CLONES
#endif

/* expf for vectorisable loops (glibc's expf is an opaque call that stops
 * the loop from vectorising): Cody-Waite reduction x = n ln2 + r, |r| <=
 * ln2/2, Cephes' degree-7 minimax polynomial for e^r (about 1 ulp), 2^n
 * built in the exponent bits. x is clamped to [-87, 88] (normal results;
 * e^-87 and e^88 stand in for 0 and inf, which changes x / (1 + e^-x) by
 * less than 1e-36). Plain IEEE arithmetic, no -ffast-math needed; round to
 * nearest by the 1.5 2^23 trick. NaN propagates. */
static inline float sgm__nn_expf(float x) {
    /* clamp in the integer domain: a float compare may trap (-ftrapping-math)
     * and keeps GCC from if-converting, hence from vectorising */
    union { float f; uint32_t u; } xb = {x};
    uint32_t sign = xb.u & 0x80000000u, mag = xb.u & 0x7FFFFFFFu;
    uint32_t lim = sign ? 0x42AE0000u : 0x42B00000u; /* 87.0f : 88.0f */
    mag = (mag > lim && mag <= 0x7F800000u) ? lim : mag; /* +-inf clamped, NaN kept */
    xb.u = sign | mag;
    x = xb.f;
    const float magic = 12582912.0f; /* 1.5 2^23 */
    float t = x * 1.44269504088896341f + magic;
    float n = t - magic;
    float r = x - n * 0.693359375f;  /* ln2 high part (exact in float) */
    r = r - n * -2.12194440e-4f;     /* ln2 low part */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { float f; uint32_t u; } tb = {t}, sc; /* unsigned: NaN bits wrap, no UB */
    sc.u = (tb.u - 0x4B400000u + 127u) << 23;     /* (n + 127) << 23 */
    return p * sc.f;
}

/* Overwrite variants of backward kernels (mode 0 = the public accumulate
 * semantics): with overwrite != 0 the input gradient is SET, not added to,
 * so a caller that knows the buffer holds no gradient yet (the U-Net, for
 * the first op that writes it in reverse order) skips clearing it and
 * reading it back. Parameter gradients still accumulate. */
void sgm__nn_silu_backward_mode(float *dinp, const float *dout, const float *inp, size_t n,
                                int overwrite);
void sgm__nn_groupnorm_backward_mode(float *dinp, float *dweight, float *dbias, const float *dout,
                                     const float *inp, const float *weight, const float *mean,
                                     const float *rstd, int N, int C, int HW, int G,
                                     int overwrite);
sgm_status sgm__nn_conv2d_plan_backward_mode(sgm_nn_conv2d_plan *plan, float *dinp,
                                             float *dweight, float *dbias, float *scratch,
                                             const float *dout, const float *inp,
                                             const float *weight, int N, int overwrite,
                                             sgm_error *err);

/* Batch- and thread-invariant products for forward passes (gemm_det.c):
 * C (M, N) [row stride ldc] = A (M, K) [lda] @ Bt (K, N) [ldb] (+ bias (N)),
 * each element summed over k in order; parallel: OpenMP over tiles (0
 * inside a caller's parallel region). */
void sgm__nn_gemm_det(float *C, size_t ldc, const float *A, size_t lda, const float *Bt,
                      size_t ldb, const float *bias, int M, int N, int K, int parallel);
/* Bt (K, N) = B (N, K)^T */
void sgm__nn_pack_transpose(float *Bt, const float *B, int N, int K);
/* linear forward through sgm__nn_gemm_det; wt: C * OC floats of scratch */
void sgm__nn_linear_forward_det(float *out, float *wt, const float *inp, const float *weight,
                                const float *bias, int N, int C, int OC);

/* ---- U-Net tape: unet.c builds it (init), unet_run.c runs it ---------- */
/* The network as a list of primitive ops over numbered activation tensors
 * (see unet.c). */
typedef enum sgm__unet_op_type {
    SGM__UOP_SINUS, SGM__UOP_LINEAR, SGM__UOP_SILU, SGM__UOP_ADD, SGM__UOP_CLASS, SGM__UOP_CONV,
    SGM__UOP_GN, SGM__UOP_FILM, SGM__UOP_CONCAT, SGM__UOP_UP, SGM__UOP_TRANS, SGM__UOP_ATTN
} sgm__unet_op_type;

typedef struct sgm__unet_op {
    sgm__unet_op_type type;
    int in0, in1, out; /* activation tensors (in1 -1 when unused) */
    int p;             /* first parameter tensor (weight; bias is p + 1), -1 none */
    int cache;         /* activation tensor used as a cache (GN stats, attention), -1 */
    int a, b, c, d;    /* op-specific sizes (see run_forward, unet_run.c) */
    sgm_nn_conv2d_dims cd;
    sgm_nn_conv2d_plan *plan; /* SGM__UOP_CONV: the layer's convolution backend */
} sgm__unet_op;

typedef struct sgm__unet_tape {
    int n_ops, cap_ops;
    sgm__unet_op *ops;
    int n_t, cap_t;
    size_t *t_per;   /* floats per sample of each activation tensor */
    size_t *t_off;   /* offset of each tensor in the activation block */
    int cap_p;
    double *p_bound; /* init: >0 uniform bound, 0 zeros, -1 ones, -2 normal */
    float *acts, *dacts, *scratch, *att_scratch;
    int *labels;
    float *pblock;   /* the parameter + gradient block init allocated */
    int x_t, c_t, out_t;
    int semb;        /* SiLU(embedding), input of every emb_proj */
    int n_emb_ops;   /* ops [0, n_emb_ops) compute the embedding */
    int fail;        /* allocation failure while building */
    int *first_writer; /* per tensor: the op that first accumulates into its
                        * gradient when backward runs the tape in reverse
                        * (-1 none); backward clears the gradient right
                        * before that op, when it is hot in cache for it */
    sgm_nn_conv2d_backend backend; /* the last sgm_unet_set_conv_backend request */
    sgm_nn_precision precision;    /* of the convolutions (sgm_unet_set_precision) */
} sgm__unet_tape;

/* 1 for the ops whose backward can set the input gradient instead of
 * adding to it (and whose in1, if any, is not in0) */
static inline int sgm__unet_can_overwrite(const sgm__unet_op *o) {
    return (o->type == SGM__UOP_SILU || o->type == SGM__UOP_GN || o->type == SGM__UOP_CONV) &&
           o->in1 != o->in0;
}

/* 1 when the op's backward accumulates into the gradient of in1 as well */
static inline int sgm__unet_writes_din1(const sgm__unet_op *o) {
    return o->in1 >= 0 &&
           (o->type == SGM__UOP_ADD || o->type == SGM__UOP_FILM || o->type == SGM__UOP_CONCAT);
}

#endif
