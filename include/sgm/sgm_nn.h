/* sgm_nn.h - the neural-network engine: layers with hand-written forward and
 * backward passes over flat float32 buffers (the style of karpathy/llm.c),
 * GEMM through cblas (OpenBLAS; forward products of the models in a fixed
 * order, batch- and thread-invariant), convolutions through oneDNN when
 * available, OpenMP on the outer loops; Adam / AdamW,
 * global-norm gradient clipping, warmup + cosine learning rate, EMA.
 *
 * It knows nothing of diffusion: model code assembles networks from these
 * kernels and owns the parameter / gradient / activation blocks.
 *
 * Conventions (every function below follows them):
 * - Buffers are caller-owned float32 arrays in C order. Every buffer argument
 *   carries its shape in a comment, e.g. (N, C, H, W).
 * - Argument order: outputs, caches / scratch, inputs, parameters, sizes.
 * - Forward caches that backward needs (norm statistics, attention weights)
 *   are explicit outputs of forward.
 * - backward ACCUMULATES (+=) into every gradient buffer it is given; the
 *   caller clears gradients (sgm_nn_zero) before a backward pass. Any gradient
 *   pointer may be NULL, and that gradient is then skipped. In particular the
 *   vector-Jacobian product with respect to the input alone (likelihoods,
 *   guidance) is backward with only dinp non-NULL.
 * - Weights use PyTorch's layouts (linear (OC, C), conv2d (OC, C, K, K)) so
 *   PyTorch state dicts map one to one.
 * - Kernels never allocate; a layer that needs scratch takes it as an argument
 *   and has a *_scratch_size function. Sizes are programmer input and are
 *   checked with assert only.
 * - Kernels are reentrant (no global state). They use OpenMP and OpenBLAS
 *   threads internally; do not call them from inside an OpenMP parallel region.
 * - No -ffast-math: the kernels rely on IEEE semantics.
 */
#ifndef SGM_NN_H
#define SGM_NN_H

#include <stddef.h>
#include <stdint.h>

#include "sgm_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ blocks --- */

/* Lays n tensors of the given element counts out in one flat block (llm.c):
 * fills offsets[i] (each a multiple of 16 floats, 64 bytes) and returns the
 * total number of floats to allocate. */
size_t sgm_nn_layout(size_t *offsets, const size_t *counts, size_t n);
/* x = 0 */
void sgm_nn_zero(float *x, size_t n);
/* Fills x with uniform values in [lo, hi) from Philox (seed, stream): a pure
 * function of its arguments (used for PyTorch-style default initialisation,
 * bound 1/sqrt(fan_in)). */
void sgm_nn_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed,
                         uint64_t stream);
/* Fills x with standard normals times `scale` (Philox, as above). */
void sgm_nn_fill_normal(float *x, size_t n, float scale, uint64_t seed, uint64_t stream);

/* Residual add: out = a + b; backward: da += dout, db += dout. out may alias a or b. */
void sgm_nn_add_forward(float *out, const float *a, const float *b, size_t n);
void sgm_nn_add_backward(float *da, float *db, const float *dout, size_t n);

/* Batched transpose: out (N, B, A) = inp (N, A, B) transposed per sample; used
 * to turn (N, C, H*W) feature maps into (N, H*W, C) tokens and back.
 * backward: dinp (N, A, B) += dout (N, B, A) transposed. */
void sgm_nn_transpose_forward(float *out, const float *inp, int N, int A, int B);
void sgm_nn_transpose_backward(float *dinp, const float *dout, int N, int A, int B);

/* ------------------------------------------------------------ linear --- */

/* out = inp @ weight^T + bias (torch.nn.Linear). bias may be NULL. One
 * OpenBLAS sgemm: a row's result may change in the last bits with N and the
 * thread count. The mlp and the U-Net run their forward products instead
 * in a fixed summation order (src/nn/gemm_det.c, about 90% of sgemm's
 * speed), so their outputs for a sample are the same bits in any batch and
 * with any thread count; attention's forward does the same. */
void sgm_nn_linear_forward(float *out,          /* (N, OC) */
                           const float *inp,    /* (N, C) */
                           const float *weight, /* (OC, C) */
                           const float *bias,   /* (OC) or NULL */
                           int N, int C, int OC);
void sgm_nn_linear_backward(float *dinp,         /* (N, C) or NULL */
                            float *dweight,      /* (OC, C) or NULL */
                            float *dbias,        /* (OC) or NULL */
                            const float *dout,   /* (N, OC) */
                            const float *inp,    /* (N, C) */
                            const float *weight, /* (OC, C) */
                            int N, int C, int OC);

/* ------------------------------------------------------- activations --- */

/* SiLU / swish: out = x * sigmoid(x) (torch.nn.SiLU). out may alias inp in
 * forward (but backward needs the input). */
void sgm_nn_silu_forward(float *out, const float *inp, size_t n);
void sgm_nn_silu_backward(float *dinp, const float *dout, const float *inp, size_t n);

typedef enum sgm_nn_gelu_mode {
    SGM_NN_GELU_ERF = 0,  /* exact x * Phi(x): torch.nn.GELU(approximate='none') */
    SGM_NN_GELU_TANH = 1  /* tanh approximation: torch.nn.GELU(approximate='tanh') */
} sgm_nn_gelu_mode;
void sgm_nn_gelu_forward(float *out, const float *inp, size_t n, sgm_nn_gelu_mode mode);
void sgm_nn_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n,
                          sgm_nn_gelu_mode mode);

/* ------------------------------------------------------ normalisation --- */

/* LayerNorm over the last dimension (torch.nn.LayerNorm(C, eps)), biased
 * variance. weight/bias may be NULL (elementwise_affine=False). */
void sgm_nn_layernorm_forward(float *out,          /* (N, C) */
                              float *mean,         /* (N) cache */
                              float *rstd,         /* (N) cache */
                              const float *inp,    /* (N, C) */
                              const float *weight, /* (C) or NULL */
                              const float *bias,   /* (C) or NULL */
                              int N, int C, float eps);
void sgm_nn_layernorm_backward(float *dinp,         /* (N, C) or NULL */
                               float *dweight,      /* (C) or NULL */
                               float *dbias,        /* (C) or NULL */
                               const float *dout,   /* (N, C) */
                               const float *inp,    /* (N, C) */
                               const float *weight, /* (C) or NULL */
                               const float *mean,   /* (N) */
                               const float *rstd,   /* (N) */
                               int N, int C);

/* GroupNorm (torch.nn.GroupNorm(G, C, eps)): statistics over C/G channels
 * times HW positions per sample; per-channel affine. C % G == 0. */
void sgm_nn_groupnorm_forward(float *out,          /* (N, C, HW) */
                              float *mean,         /* (N, G) cache */
                              float *rstd,         /* (N, G) cache */
                              const float *inp,    /* (N, C, HW) */
                              const float *weight, /* (C) or NULL */
                              const float *bias,   /* (C) or NULL */
                              int N, int C, int HW, int G, float eps);
void sgm_nn_groupnorm_backward(float *dinp,         /* (N, C, HW) or NULL */
                               float *dweight,      /* (C) or NULL */
                               float *dbias,        /* (C) or NULL */
                               const float *dout,   /* (N, C, HW) */
                               const float *inp,    /* (N, C, HW) */
                               const float *weight, /* (C) or NULL */
                               const float *mean,   /* (N, G) */
                               const float *rstd,   /* (N, G) */
                               int N, int C, int HW, int G);

/* -------------------------------------------------------------- conv2d --- */

/* 2-D convolution (torch.nn.Conv2d(C, OC, K, stride, padding=pad), zero
 * padding, no dilation, no groups) by im2col + sgemm. The usual cases:
 * 3x3 stride 1 pad 1, 1x1 stride 1 pad 0, and 3x3 stride 2 pad 1 (a strided
 * downsampling conv). */
typedef struct sgm_nn_conv2d_dims {
    int N, C, H, W;      /* input (N, C, H, W) */
    int OC, K;           /* output channels, square kernel size */
    int stride, pad;
} sgm_nn_conv2d_dims;
/* Output size along one axis: (in + 2 pad - K) / stride + 1. */
int sgm_nn_conv2d_out_size(int in, int K, int stride, int pad);
/* Floats of scratch that forward/backward need for up to d->N samples: the
 * samples are processed in blocks of nb (one GEMM per block), nb the most
 * that fit a fixed budget (1 MB; at least 1, at most N), and the scratch is
 * nb (C K K + OC) Ho Wo (0 for a 1x1, stride 1, pad 0 conv with nb = 1).
 * Nondecreasing in N: scratch sized for N serves any smaller batch. */
size_t sgm_nn_conv2d_scratch_size(const sgm_nn_conv2d_dims *d);
void sgm_nn_conv2d_forward(float *out,          /* (N, OC, Ho, Wo) */
                           float *scratch,      /* sgm_nn_conv2d_scratch_size floats */
                           const float *inp,    /* (N, C, H, W) */
                           const float *weight, /* (OC, C, K, K) */
                           const float *bias,   /* (OC) or NULL */
                           const sgm_nn_conv2d_dims *d);
void sgm_nn_conv2d_backward(float *dinp,         /* (N, C, H, W) or NULL */
                            float *dweight,      /* (OC, C, K, K) or NULL */
                            float *dbias,        /* (OC) or NULL */
                            float *scratch,      /* sgm_nn_conv2d_scratch_size floats */
                            const float *dout,   /* (N, OC, Ho, Wo) */
                            const float *inp,    /* (N, C, H, W) */
                            const float *weight, /* (OC, C, K, K) */
                            const sgm_nn_conv2d_dims *d);

/* A conv2d plan: one layer's shape bound to the backend that runs it.
 * - SGM_NN_CONV2D_GEMM: the im2col + sgemm kernels above (always built).
 * - SGM_NN_CONV2D_DNNL: oneDNN's direct convolutions (Debian libdnnl-dev,
 *   the library PyTorch's CPU convolutions use), with its own blocked memory
 *   formats: tensors stay (N, C, H, W) at the interface and are reordered at
 *   the boundary, as PyTorch does. Only when sgm was built with oneDNN
 *   (sgm_nn_conv2d_have_dnnl()); on the default U-Net's convolutions 2.2x
 *   (1 thread) to 2.8x (2 threads) faster than GEMM (bench/bench_conv.c).
 * - SGM_NN_CONV2D_AUTO: DNNL when built with it, else GEMM.
 * The plan makes its primitives at the first call with a batch size and
 * keeps them until a call with another one (a fresh batch size costs a
 * primitive creation, milliseconds). Same semantics as the kernels above:
 * backward accumulates, NULL gradients are skipped. Results of the two
 * backends agree to float32 rounding (summation orders differ). Forward
 * outputs of both are the same bits for a sample in any batch and with any
 * thread count (GEMM: the fixed-order product of gemm_det.c); backward
 * results are deterministic for a given batch size and thread count. Plans are not
 * thread-safe: one plan per concurrent user. */
typedef enum sgm_nn_conv2d_backend {
    SGM_NN_CONV2D_AUTO = 0,
    SGM_NN_CONV2D_GEMM = 1,
    SGM_NN_CONV2D_DNNL = 2
} sgm_nn_conv2d_backend;
typedef struct sgm_nn_conv2d_plan sgm_nn_conv2d_plan;
/* 1 when this build of sgm has the oneDNN backend */
int sgm_nn_conv2d_have_dnnl(void);
/* d->N is the largest batch the plan will see (scratch is sized for it).
 * SGM_ERR_UNSUPPORTED for DNNL in a build without oneDNN or a shape oneDNN
 * refuses; SGM_ERR_INVALID_ARG for bad dims. */
sgm_status sgm_nn_conv2d_plan_create(sgm_nn_conv2d_plan **plan, const sgm_nn_conv2d_dims *d,
                                     sgm_nn_conv2d_backend backend, sgm_error *err);
void sgm_nn_conv2d_plan_free(sgm_nn_conv2d_plan *plan);
/* the backend the plan runs (never AUTO) */
sgm_nn_conv2d_backend sgm_nn_conv2d_plan_backend(const sgm_nn_conv2d_plan *plan);
/* Training: with on != 0, a forward keeps its input in the backend's own
 * format (oneDNN: one blocked copy at the largest batch, allocated at the
 * first backward) and the backward that follows it, with the same inp
 * pointer and batch, computes the weight gradient from that copy instead of
 * converting inp again. The caller promises that the contents of inp do not
 * change between the forward and that backward. No effect on GEMM plans. */
void sgm_nn_conv2d_plan_keep_input(sgm_nn_conv2d_plan *plan, int on);
/* Mixed precision of the products (convolutions): SGM_NN_FP32 (default)
 * or SGM_NN_BF16: the products read bfloat16 copies of their operands
 * (input, weights, output gradient; round to nearest even, 8-bit
 * significand) and accumulate and write float32; every array at the
 * interface (activations, master weights, gradients) stays float32, and so
 * does everything that is not a product (norms, softmax, losses, Adam).
 * bf16 runs only on oneDNN plans on CPUs with AVX512-BF16. Results are
 * deterministic for a given batch size and thread count (run to run), but
 * not batch-invariant as fp32 forwards are, and differ from fp32 by bf16
 * rounding (relative ~2^-9 per operand). */
typedef enum sgm_nn_precision { SGM_NN_FP32 = 0, SGM_NN_BF16 = 1 } sgm_nn_precision;
/* "fp32", "bf16" (and back, also "float32", "bfloat16"; SGM_ERR_UNKNOWN_NAME) */
const char *sgm_nn_precision_name(sgm_nn_precision p);
sgm_status sgm_nn_precision_from_name(const char *name, sgm_nn_precision *out);
/* 1 when bf16 products run natively here: sgm was built with oneDNN and the
 * CPU has AVX512-BF16 (as oneDNN sees it; its DNNL_MAX_CPU_ISA lowers it) */
int sgm_nn_have_bf16(void);
/* The precision a request runs at: BF16 when want is BF16, no_bf16 is 0
 * and sgm_nn_have_bf16(); FP32 otherwise (the fallback). no_bf16 != 0
 * makes the check fail as on a CPU without bf16 (tests of the fallback). */
sgm_nn_precision sgm_nn_precision_resolve(sgm_nn_precision want, int no_bf16);
/* Switches the plan's precision (remakes its primitives; the scratch size
 * may change: query it again). SGM_ERR_UNSUPPORTED for BF16 on a GEMM plan
 * or a shape oneDNN has no bf16 kernel for. It does not check the CPU:
 * callers resolve the precision first (sgm_nn_precision_resolve). */
sgm_status sgm_nn_conv2d_plan_set_precision(sgm_nn_conv2d_plan *plan, sgm_nn_precision p,
                                            sgm_error *err);
sgm_nn_precision sgm_nn_conv2d_plan_precision(const sgm_nn_conv2d_plan *plan);
/* floats of caller scratch forward/backward need, for any batch up to d->N */
size_t sgm_nn_conv2d_plan_scratch_size(const sgm_nn_conv2d_plan *plan);
sgm_status sgm_nn_conv2d_plan_forward(sgm_nn_conv2d_plan *plan,
                                      float *out,          /* (N, OC, Ho, Wo) */
                                      float *scratch,      /* plan_scratch_size floats */
                                      const float *inp,    /* (N, C, H, W) */
                                      const float *weight, /* (OC, C, K, K) */
                                      const float *bias,   /* (OC) or NULL */
                                      int N, sgm_error *err);
sgm_status sgm_nn_conv2d_plan_backward(sgm_nn_conv2d_plan *plan,
                                       float *dinp,         /* (N, C, H, W) or NULL */
                                       float *dweight,      /* (OC, C, K, K) or NULL */
                                       float *dbias,        /* (OC) or NULL */
                                       float *scratch,      /* plan_scratch_size floats */
                                       const float *dout,   /* (N, OC, Ho, Wo) */
                                       const float *inp,    /* (N, C, H, W) */
                                       const float *weight, /* (OC, C, K, K) */
                                       int N, sgm_error *err);

/* ---------------------------------------------------------------- FiLM --- */

/* Feature-wise scale and shift (Perez et al. 2018) as improved-diffusion's
 * scale-shift norm: out[n, c] = h[n, c] (1 + ss[n, c]) + ss[n, C + c] for
 * every position, ss (N, 2C) the per-sample (scale, shift). */
void sgm_nn_film_forward(float *out,       /* (N, C, HW) */
                         const float *h,   /* (N, C, HW) */
                         const float *ss,  /* (N, 2 C) */
                         int N, int C, int HW);
void sgm_nn_film_backward(float *dh,        /* (N, C, HW) or NULL */
                          float *dss,       /* (N, 2 C) or NULL */
                          const float *dout, /* (N, C, HW) */
                          const float *h,   /* (N, C, HW) */
                          const float *ss,  /* (N, 2 C) */
                          int N, int C, int HW);

/* ---------------------------------------------------------- resampling --- */

/* 2x2 average pooling, stride 2 (F.avg_pool2d(x, 2)); odd sizes are floored
 * as in PyTorch: Ho = H / 2, Wo = W / 2. */
void sgm_nn_avgpool2x_forward(float *out,       /* (N, C, H/2, W/2) */
                              const float *inp, /* (N, C, H, W) */
                              int N, int C, int H, int W);
void sgm_nn_avgpool2x_backward(float *dinp,       /* (N, C, H, W) */
                               const float *dout, /* (N, C, H/2, W/2) */
                               int N, int C, int H, int W);
/* Nearest-neighbour upsampling by 2 (F.interpolate(x, scale_factor=2,
 * mode='nearest')). */
void sgm_nn_upsample2x_forward(float *out,       /* (N, C, 2H, 2W) */
                               const float *inp, /* (N, C, H, W) */
                               int N, int C, int H, int W);
void sgm_nn_upsample2x_backward(float *dinp,       /* (N, C, H, W) */
                                const float *dout, /* (N, C, 2H, 2W) */
                                int N, int C, int H, int W);

/* ----------------------------------------------------------- attention --- */

/* Multi-head self-attention core over T tokens, no mask:
 *   q, k, v = qkv[..., 0:C], qkv[..., C:2C], qkv[..., 2C:3C]; head h uses
 *   channels [h hs, (h+1) hs) of each, hs = C / NH;
 *   att = softmax(q k^T / sqrt(hs)), out = att v  (heads concatenated).
 * This is what torch computes for a Linear(C, 3C) output split by
 * .chunk(3, -1) and viewed as (T, NH, hs). For feature maps, tokens are the
 * H*W positions (sgm_nn_transpose_forward turns (N, C, HW) into (N, HW, C)). */
void sgm_nn_attention_forward(float *out,       /* (N, T, C) */
                              float *att,       /* (N, NH, T, T) cache */
                              const float *qkv, /* (N, T, 3C) */
                              int N, int T, int C, int NH);
void sgm_nn_attention_backward(float *dqkv,       /* (N, T, 3C) */
                               float *scratch,    /* (T, T) */
                               const float *dout, /* (N, T, C) */
                               const float *qkv,  /* (N, T, 3C) */
                               const float *att,  /* (N, NH, T, T) */
                               int N, int T, int C, int NH);

/* ---------------------------------------------------------- embeddings --- */

/* Sinusoidal embedding of a scalar per sample, in the convention of
 * diffusers' get_timestep_embedding (embeddings.py):
 *   half = D / 2, f_i = exp(-ln(max_period) i / (half - downscale_freq_shift)),
 *   a_i = scale t f_i, out = [sin a, cos a] (or [cos a, sin a] when
 *   flip_sin_to_cos), zero-padded by one column when D is odd.
 * diffusers' defaults: flip 0, shift 1, scale 1, max_period 10000; its
 * UNet2DModel uses flip 1, shift 0. The phase is computed in double. */
typedef struct sgm_nn_sinusoidal {
    int flip_sin_to_cos;
    double downscale_freq_shift;
    double scale;
    double max_period;
} sgm_nn_sinusoidal;
sgm_nn_sinusoidal sgm_nn_sinusoidal_defaults(void);
void sgm_nn_sinusoidal_forward(float *out,     /* (N, D) */
                               const float *t, /* (N) */
                               int N, int D, const sgm_nn_sinusoidal *cfg);
/* dt (N) += sum_j dout[n, j] d out[n, j] / d t[n] */
void sgm_nn_sinusoidal_backward(float *dt, const float *dout, const float *t, int N, int D,
                                const sgm_nn_sinusoidal *cfg);

/* Gaussian Fourier features (score_sde GaussianFourierProjection, Tancik et
 * al. 2020): p = 2 pi x W, out = [sin p, cos p]; W ~ N(0, scale^2) fixed at
 * init (NCSN++ uses scale 16 and feeds x = log sigma). */
void sgm_nn_fourier_forward(float *out,     /* (N, 2E) */
                            const float *x, /* (N) */
                            const float *W, /* (E) */
                            int N, int E);
void sgm_nn_fourier_backward(float *dx,        /* (N) or NULL */
                             float *dW,        /* (E) or NULL */
                             const float *dout, /* (N, 2E) */
                             const float *x, const float *W, int N, int E);

/* Class embedding: a lookup table with one extra row for the null class
 * (classifier-free guidance). Label l in [0, n_classes) selects row l; a
 * negative label or l == n_classes selects the null row n_classes. */
void sgm_nn_class_embed_forward(float *out,         /* (N, D) */
                                const int *labels,  /* (N) */
                                const float *table, /* (n_classes + 1, D) */
                                int N, int D, int n_classes);
void sgm_nn_class_embed_backward(float *dtable,     /* (n_classes + 1, D) */
                                 const float *dout, /* (N, D) */
                                 const int *labels, int N, int D, int n_classes);

/* ---------------------------------------------------------- optimisers --- */

/* Adam and AdamW with PyTorch's semantics (torch.optim.Adam / AdamW,
 * amsgrad=False, maximize=False):
 *   Adam:  g += wd p (L2 penalty in the gradient)
 *   AdamW: p *= 1 - lr wd (decoupled weight decay)
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps) */
typedef struct sgm_nn_adam {
    double beta1, beta2, eps, weight_decay;
    int decoupled; /* 0: Adam, 1: AdamW */
} sgm_nn_adam;
/* PyTorch defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0 (Adam) or
 * 1e-2 (AdamW). */
sgm_nn_adam sgm_nn_adam_defaults(int decoupled);
/* One step on a flat block; t is the 1-based step count (after this step).
 * m, v start at zero. Parallel over elements. */
void sgm_nn_adam_step(float *param, const float *grad, float *m, float *v, size_t n,
                      double lr, long t, const sgm_nn_adam *cfg);

/* Global 2-norm of a gradient block (accumulated in double). */
double sgm_nn_grad_norm(const float *grad, size_t n);
/* torch.nn.utils.clip_grad_norm_: scales grad by max_norm / (norm + 1e-6)
 * when that is below 1; returns the norm before clipping. */
double sgm_nn_clip_grad_norm(float *grad, size_t n, double max_norm);

/* Learning rate at 0-based step `step`: linear warmup lr_max (step+1)/warmup
 * for step < warmup, then cosine decay from lr_max to lr_min reached at
 * total_steps, lr_min afterwards (llm.c / nanoGPT schedule). */
double sgm_nn_lr_warmup_cosine(long step, long warmup, long total_steps, double lr_max,
                               double lr_min);

/* Exponential moving average of weights: ema = decay ema + (1 - decay) param. */
void sgm_nn_ema_update(float *ema, const float *param, size_t n, double decay);

/* ------------------------------------------------------ residual MLP --- */

/* A small denoiser backbone assembled from the kernels above (a composition,
 * forward and backward by hand):
 *   e  = sinusoidal(c)                          (N, E)   c: conditioning scalar
 *   h  = Linear_in([x, e])                      (N, Hd)
 *   repeat n_blocks:  h = h + Linear2(SiLU(Linear1(SiLU(h))))
 *   out = Linear_out(SiLU(h))                   (N, D)
 * Parameter tensors in order (PyTorch state-dict order of the reference in
 * tools/ref/gen_nn.py): in.weight (Hd, D+E), in.bias, then per block
 * fc1.weight (Hd, Hd), fc1.bias, fc2.weight (Hd, Hd), fc2.bias, then
 * out.weight (D, Hd), out.bias (D); each starts at a 16-float boundary of the
 * flat block. */
typedef struct sgm_nn_mlp_config {
    int d_in;                 /* D: data dimension (also the output dimension) */
    int d_emb;                /* E: embedding width of the conditioning scalar (>= 2) */
    int width;                /* Hd: hidden width */
    int n_blocks;             /* residual blocks (>= 0) */
    sgm_nn_sinusoidal emb;    /* embedding convention */
    int d_cond;               /* Dc: condition columns appended to each input row (an
                                 MR restoration model's mu; default 0): x is (N, D + Dc),
                                 in.weight (Hd, D + Dc + E), the output stays (N, D) */
} sgm_nn_mlp_config;

#define SGM_NN_MLP_MAX_TENSORS 512

typedef struct sgm_nn_mlp {
    sgm_nn_mlp_config cfg;
    int max_batch;
    size_t n_params;   /* floats in the parameter block (with alignment padding) */
    float *params;     /* (n_params) the weights in use; may be pointed at a caller
                          block of n_params floats (e.g. EMA weights) */
    float *grads;      /* (n_params) accumulated by backward; may be re-pointed too */
    int n_tensors;
    size_t off[SGM_NN_MLP_MAX_TENSORS], count[SGM_NN_MLP_MAX_TENSORS];
    float *acts;       /* activations and backward scratch for max_batch rows */
    int last_n;        /* batch of the last forward (0: none yet) */
    void *owned_;      /* blocks allocated by init (freed by sgm_nn_mlp_free) */
} sgm_nn_mlp;

/* Allocates parameters (PyTorch's default Linear init, U(+-1/sqrt(fan_in)),
 * drawn from Philox with `seed`), zeroed gradients and activations for up to
 * max_batch rows. Errors: SGM_ERR_INVALID_ARG, SGM_ERR_NOMEM. */
sgm_status sgm_nn_mlp_init(sgm_nn_mlp *m, const sgm_nn_mlp_config *cfg, int max_batch,
                           uint64_t seed, sgm_error *err);
/* Frees what init allocated; accepts a zeroed or already freed struct. */
void sgm_nn_mlp_free(sgm_nn_mlp *m);
/* Name ("blocks.0.fc1.weight") and element count of tensor i; returns its
 * offset in the parameter block. */
size_t sgm_nn_mlp_tensor(const sgm_nn_mlp *m, int i, char *name, size_t name_len,
                         size_t *count);
/* out (N, D) = mlp(x (N, D), c (N)); keeps activations for backward.
 * SGM_ERR_SHAPE if N > max_batch. */
sgm_status sgm_nn_mlp_forward(sgm_nn_mlp *m, float *out, const float *x, const float *c, int N,
                              sgm_error *err);
/* Backward of the last forward with upstream dout (N, D): accumulates
 * parameter gradients into m->grads when param_grads is non-zero, and the
 * input gradients into dx (N, D) and dc (N) when they are not NULL (so the
 * VJP w.r.t. the input is param_grads = 0, dc = NULL). SGM_ERR_INVALID_ARG
 * if N differs from the last forward's batch. */
sgm_status sgm_nn_mlp_backward(sgm_nn_mlp *m, float *dx, float *dc, const float *dout, int N,
                               int param_grads, sgm_error *err);

#ifdef __cplusplus
}
#endif
#endif
