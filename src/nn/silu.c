/* silu.c - SiLU / swish activation, out = x sigmoid(x) (Elfwing et al. 2018;
 * torch.nn.SiLU). e^-x by sgm__nn_expf (nn_internal.h) so that the loops
 * vectorise. */
#include <math.h>
#include "nn/nn_internal.h"

SGM_NN_SIMD_CLONES void sgm_nn_silu_forward(float *out, const float *inp, size_t n) {
    long nn = (long)n;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n >= SGM_NN_PAR_MIN)
#endif
    for (long i = 0; i < nn; i++) {
        float x = inp[i];
        out[i] = x / (1.0f + sgm__nn_expf(-x));
    }
}

/* d silu / dx = s (1 + x (1 - s)), s = sigmoid(x) */
static inline float silu_grad(float x) {
    float s = 1.0f / (1.0f + sgm__nn_expf(-x));
    return s * (1.0f + x * (1.0f - s));
}

SGM_NN_SIMD_CLONES void sgm__nn_silu_backward_mode(float *dinp, const float *dout,
                                                   const float *inp, size_t n, int overwrite) {
    long nn = (long)n;
    if (overwrite) {
        SGM_NN_OMP_FOR(n)
        for (long i = 0; i < nn; i++) dinp[i] = dout[i] * silu_grad(inp[i]);
    } else {
        SGM_NN_OMP_FOR(n)
        for (long i = 0; i < nn; i++) dinp[i] += dout[i] * silu_grad(inp[i]);
    }
}

void sgm_nn_silu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
    sgm__nn_silu_backward_mode(dinp, dout, inp, n, 0);
}
