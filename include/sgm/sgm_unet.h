/* sgm_unet.h - the image denoiser backbone: a U-Net in the style of DDPM /
 * improved-diffusion (Ho et al. 2020; Nichol & Dhariwal 2021, "use_scale_
 * shift_norm"), assembled from the NN engine's kernels (sgm_nn.h) with
 * forward, backward (accumulating) and the input VJP written by hand.
 *
 *   e   = Linear(SiLU(Linear(sinusoidal(c, base_ch))))      (N, E) noise-level embedding
 *   e  += class_embed[label]      (optional; label -1 or n_classes = the null class)
 *   h   = conv_in(x)                                       3x3, in_ch -> base_ch
 *   down level l (0..L-1): n_res x [ResBlock -> base_ch mult[l] (+ attention if
 *       attn[l])], then (l < L-1) a 3x3 stride-2 conv; every output is kept as a skip
 *   mid: ResBlock, attention (if mid_attn), ResBlock
 *   up level l (L-1..0): (n_res + 1) x [concat(h, skip) -> ResBlock (+ attention)],
 *       then (l > 0) nearest 2x upsampling + 3x3 conv
 *   out = conv_out(SiLU(GroupNorm(h)))                     3x3 -> out_ch
 * ResBlock(x): h = conv1(SiLU(norm1(x))); (scale, shift) = emb_proj(SiLU(e));
 *   h = conv2(SiLU(norm2(h) (1 + scale) + shift)); out = skip(x) + h
 *   (skip: identity, or a 1x1 conv when the channel count changes).
 * Attention: out = x + tokens^-1(proj(MHA(qkv(tokens(norm(x)))))) over the
 *   H*W positions, `heads` heads.
 * GroupNorm eps 1e-5, `groups` groups everywhere (every channel count must
 * be a multiple). Parameters live in one flat block; each named tensor has
 * PyTorch's layout and the name of the twin module in tools/ref/gen_unet.py,
 * so a state dict maps one to one (e.g. "down.1.res.0.conv1.weight"). */
#ifndef SGM_UNET_H
#define SGM_UNET_H

#include <stddef.h>
#include <stdint.h>

#include "sgm_core.h"
#include "sgm_nn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SGM_UNET_MAX_LEVELS 6
/* the null (unconditional) label for classifier-free guidance */
#define SGM_UNET_NULL_LABEL (-1)

typedef struct sgm_unet_config {
    int in_ch, out_ch;          /* image channels (out_ch 0: same as in_ch) */
    int height, width;          /* divisible by 2^(n_levels - 1) */
    int base_ch;                /* channels of level 0 */
    int n_levels;               /* 1 .. SGM_UNET_MAX_LEVELS */
    int mult[SGM_UNET_MAX_LEVELS];  /* channel multipliers per level */
    int attn[SGM_UNET_MAX_LEVELS];  /* 1: attention after each res block of the level */
    int mid_attn;               /* 1: attention in the middle block */
    int n_res;                  /* res blocks per level on the way down (>= 1) */
    int groups;                 /* GroupNorm groups */
    int heads;                  /* attention heads (divides every attended width) */
    int emb_dim;                /* E: noise-level embedding width (0: 4 base_ch) */
    int n_classes;              /* 0: unconditional */
    sgm_nn_sinusoidal emb;      /* sinusoidal convention of the noise level */
} sgm_unet_config;

/* A Fashion-MNIST / CIFAR-sized default: 1 channel 28x28, base 32, mult
 * (1, 2, 2), attention at the lowest level (7x7) and in the middle, 2 res
 * blocks per level, 8 groups, 1 head, E = 128, unconditional; embedding
 * [cos, sin] with frequencies exp(-ln(10^4) i / half) (flip 1, shift 0). */
sgm_unet_config sgm_unet_config_default(void);

typedef struct sgm_unet_tensor_info {
    char name[64];
    size_t off, count;
} sgm_unet_tensor_info;

typedef struct sgm_unet {
    sgm_unet_config cfg;
    int max_batch;
    size_t n_params;       /* floats in the parameter block (with alignment padding) */
    float *params;         /* may be re-pointed at a caller block of n_params floats */
    float *grads;          /* accumulated by backward; may be re-pointed too */
    int n_tensors;
    sgm_unet_tensor_info *tensors; /* (n_tensors) named views of the parameter block */
    size_t n_acts;         /* floats of activations + activation gradients */
    int last_n;            /* batch of the last forward (0: none) */
    void *impl_;           /* private: the op tape and buffers */
} sgm_unet;

/* Allocates everything for batches of up to max_batch. Initialisation is
 * PyTorch's default (conv / linear weight and bias U(+-1/sqrt(fan_in)),
 * GroupNorm 1 / 0, class table N(0, 1)) from Philox with `seed`.
 * Errors: SGM_ERR_INVALID_ARG (bad config, with the reason), SGM_ERR_NOMEM. */
sgm_status sgm_unet_init(sgm_unet *u, const sgm_unet_config *cfg, int max_batch, uint64_t seed,
                         sgm_error *err);
void sgm_unet_free(sgm_unet *u);
/* Chooses the convolution backend of every conv layer (sgm_nn.h; init picks
 * SGM_NN_CONV2D_AUTO: oneDNN when sgm is built with it). For tests and
 * benchmarks that compare the two. SGM_ERR_UNSUPPORTED: DNNL in a build
 * without oneDNN, or GEMM while the precision is BF16 (the U-Net then has
 * no usable backend until a call with a backend that works succeeds). The
 * new plans keep the U-Net's precision (sgm_unet_set_precision). */
sgm_status sgm_unet_set_conv_backend(sgm_unet *u, sgm_nn_conv2d_backend backend,
                                     sgm_error *err);
/* Precision of the convolutions (sgm_nn.h, sgm_nn_precision; init:
 * FP32): BF16 needs the oneDNN backend (SGM_ERR_UNSUPPORTED otherwise, the
 * U-Net then keeps its previous precision). It does not check the CPU:
 * resolve the request first (sgm_nn_precision_resolve). Linear layers,
 * attention, GroupNorm and the rest stay float32. */
sgm_status sgm_unet_set_precision(sgm_unet *u, sgm_nn_precision p, sgm_error *err);
sgm_nn_precision sgm_unet_precision(const sgm_unet *u);
/* index of the tensor with this name, or -1 */
int sgm_unet_find(const sgm_unet *u, const char *name);
/* out (N, out_ch, H, W) = unet(x (N, in_ch, H, W), c (N), labels (N) or
 * NULL (all null)); keeps activations for backward. SGM_ERR_SHAPE if N is
 * outside [1, max_batch]. */
sgm_status sgm_unet_forward(sgm_unet *u, float *out, const float *x, const float *c,
                            const int *labels, int N, sgm_error *err);
/* Backward of the last forward with upstream dout (N, out_ch, H, W):
 * accumulates parameter gradients into u->grads when param_grads is
 * non-zero, and input gradients into dx (N, in_ch, H, W) and dc (N) when
 * they are not NULL (the VJP w.r.t. the input: param_grads 0, dc NULL). */
sgm_status sgm_unet_backward(sgm_unet *u, float *dx, float *dc, const float *dout, int N,
                             int param_grads, sgm_error *err);

#ifdef __cplusplus
}
#endif
#endif
