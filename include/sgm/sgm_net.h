/* sgm_net.h - the network interface: one opaque handle for every denoiser
 * backbone (the residual MLP of sgm_nn.h, the U-Net of sgm_unet.h, ...).
 *
 * A network maps a batch of flattened rows x (N, d), one conditioning scalar
 * per row c (N) (the noise level c_noise) and optional class labels (N) to
 * an output of the same shape (N, d). It owns its parameters as ONE flat
 * float block (n_params floats, with alignment padding between tensors) and
 * a gradient block of the same size, and lists the named tensors inside the
 * block (PyTorch state-dict names and shapes). It knows nothing of
 * diffusion: the trainer (sgm_train.h), the trained-model denoiser
 * (sgm_model.h) and the likelihood code use only this interface, so a new
 * architecture is one new file in src/net plus one line in its registry.
 *
 * Backward accumulates: parameter gradients are added to the gradient block
 * (clear it with sgm_nn_zero first), input gradients are added to dx / dc.
 * A network is not reentrant: one forward/backward at a time per handle. */
#ifndef SGM_NET_H
#define SGM_NET_H

#include <stddef.h>
#include <stdint.h>

#include "sgm_core.h"
#include "sgm_nn.h"
#include "sgm_unet.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sgm_arch {
    SGM_ARCH_MLP = 0, /* residual MLP (sgm_nn.h), any data width */
    SGM_ARCH_UNET     /* U-Net (sgm_unet.h) on (C, H, W) images */
} sgm_arch;
#define SGM_ARCH_COUNT 2

/* "mlp", "unet" (and back; SGM_ERR_UNKNOWN_NAME for others). */
sgm_status sgm_arch_from_name(const char *name, sgm_arch *out);
const char *sgm_arch_name(sgm_arch a);

typedef struct sgm_net_config {
    sgm_arch arch;          /* default mlp */
    /* arch mlp: d_emb 128, width 256, n_blocks 4, sinusoidal embedding with
       scale 100 (d_in is ignored: the data width given to sgm_net_create) */
    sgm_nn_mlp_config mlp;
    /* arch unet: sgm_unet_config_default(); in_ch * height * width must equal
       the data width */
    sgm_unet_config unet;
} sgm_net_config;

sgm_net_config sgm_net_config_default(sgm_arch arch);
/* Rows per network call that suit the architecture when sampling (4096 for
 * the mlp; 64 images for the U-Net, whose activations take ~100 floats per
 * pixel and channel). */
int sgm_net_default_chunk(sgm_arch arch);

typedef struct sgm_net sgm_net;

/* Builds a network for rows of width d and batches of up to max_batch rows,
 * initialised from Philox with `seed` (each architecture's PyTorch-default
 * init). Errors: SGM_ERR_INVALID_ARG (bad configuration, with the reason),
 * SGM_ERR_SHAPE (d does not fit the architecture), SGM_ERR_NOMEM. */
sgm_status sgm_net_create(const sgm_net_config *cfg, int d, int max_batch, uint64_t seed,
                          sgm_net **out, sgm_error *err);
void sgm_net_free(sgm_net *n);

const char *sgm_net_name(const sgm_net *n);           /* the architecture's name */
const sgm_net_config *sgm_net_get_config(const sgm_net *n);
int sgm_net_dim(const sgm_net *n);                    /* d: the row width */
int sgm_net_max_batch(const sgm_net *n);
int sgm_net_n_classes(const sgm_net *n);              /* 0: no class input */
/* Condition columns of each input row (0: none): a U-Net with in_ch >
 * out_ch takes rows [x (d), condition ((in_ch - out_ch) H W)], i.e. the
 * condition as extra input channels (an MR restoration model's mu); an mlp
 * with mlp.d_cond > 0 takes [x (d), condition (d_cond)] as features. The
 * x of forward and the dx of backward are then (N, d + cond_dim); out and
 * dout stay (N, d); sgm_net_vjp is SGM_ERR_UNSUPPORTED. */
int sgm_net_cond_dim(const sgm_net *n);
/* (C, H, W) of an image network (returns 1), or 0 (c, h, w untouched). */
int sgm_net_image_shape(const sgm_net *n, int *c, int *h, int *w);

/* Mixed precision (sgm_nn.h, sgm_nn_precision; a new net runs FP32): asks
 * for `want`; *used (may be NULL) receives what the net runs now. BF16
 * falls back to FP32 - SGM_OK, *used FP32, nothing printed - when the CPU
 * or the build lacks bf16 (sgm_nn_have_bf16), when no_bf16 is nonzero (the
 * fallback forced, for tests) or when the architecture has no bf16 path
 * (the mlp). The U-Net runs its convolutions in bf16; everything else
 * stays float32, and so do the parameters and gradients. Errors:
 * SGM_ERR_INVALID_ARG, or the backend's (the net keeps its precision). */
sgm_status sgm_net_set_precision(sgm_net *n, sgm_nn_precision want, int no_bf16,
                                 sgm_nn_precision *used, sgm_error *err);
sgm_nn_precision sgm_net_precision(const sgm_net *n);

/* The flat parameter and gradient blocks (n_params floats each). */
size_t sgm_net_n_params(const sgm_net *n);
float *sgm_net_params(sgm_net *n);
float *sgm_net_grads(sgm_net *n);

#define SGM_NET_MAX_TENSOR_DIMS 4
typedef struct sgm_net_tensor {
    char name[96];          /* e.g. "blocks.0.fc1.weight", "down.1.res.0.conv1.weight" */
    size_t off, count;      /* position in the flat block, element count */
    int ndim;               /* shape as written to checkpoints */
    size_t shape[SGM_NET_MAX_TENSOR_DIMS];
} sgm_net_tensor;
int sgm_net_n_tensors(const sgm_net *n);
/* Fills *t for tensor i in [0, n_tensors); SGM_ERR_INVALID_ARG otherwise. */
sgm_status sgm_net_tensor_info(const sgm_net *n, int i, sgm_net_tensor *t, sgm_error *err);

/* out (N, d) = net(x (N, d), c (N), labels (N) or NULL = every row the
 * null class); keeps the activations for one backward. SGM_ERR_SHAPE if N
 * is outside [1, max_batch]. Labels are ignored by networks without classes. */
sgm_status sgm_net_forward(sgm_net *n, float *out, const float *x, const float *c,
                           const int *labels, int N, sgm_error *err);
/* Backward of the last forward with upstream dout (N, d): adds parameter
 * gradients to the gradient block when param_grads is non-zero, and input
 * gradients to dx (N, d) and dc (N) when they are not NULL. */
sgm_status sgm_net_backward(sgm_net *n, float *dx, float *dc, const float *dout, int N,
                            int param_grads, sgm_error *err);
/* The input VJP: out = net(x, c, labels) and vjp = v^T d net / d x (both
 * (N, d), vjp overwritten), no parameter gradients. */
sgm_status sgm_net_vjp(sgm_net *n, float *out, float *vjp, const float *x, const float *c,
                       const int *labels, const float *v, int N, sgm_error *err);

#ifdef __cplusplus
}
#endif
#endif
