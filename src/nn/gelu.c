/* gelu.c - GELU activation (Hendrycks & Gimpel 2016) in both of PyTorch's
 * modes: SGM_NN_GELU_ERF is the exact x Phi(x) of torch.nn.GELU() /
 * approximate='none'; SGM_NN_GELU_TANH is the tanh approximation
 * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) of approximate='tanh'
 * (the GPT-2 form used by llm.c). */
#include <math.h>
#include "nn/nn_internal.h"

#define GELU_K 0.7978845608028654f   /* sqrt(2 / pi) */
#define GELU_A 0.044715f
#define INV_SQRT2 0.7071067811865476f
#define INV_SQRT_2PI 0.3989422804014327f

void sgm_nn_gelu_forward(float *out, const float *inp, size_t n, sgm_nn_gelu_mode mode) {
    long nn = (long)n;
    if (mode == SGM_NN_GELU_TANH) {
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n >= SGM_NN_PAR_MIN)
#endif
        for (long i = 0; i < nn; i++) {
            float x = inp[i];
            out[i] = 0.5f * x * (1.0f + tanhf(GELU_K * (x + GELU_A * x * x * x)));
        }
    } else {
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n >= SGM_NN_PAR_MIN)
#endif
        for (long i = 0; i < nn; i++) {
            float x = inp[i];
            out[i] = 0.5f * x * (1.0f + erff(x * INV_SQRT2));
        }
    }
}

void sgm_nn_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n,
                          sgm_nn_gelu_mode mode) {
    long nn = (long)n;
    if (mode == SGM_NN_GELU_TANH) {
        /* forward: y = 0.5 x (1 + tanh u), u = k (x + a x^3)
         * dy/dx = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) k (1 + 3 a x^2) */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n >= SGM_NN_PAR_MIN)
#endif
        for (long i = 0; i < nn; i++) {
            float x = inp[i];
            float th = tanhf(GELU_K * (x + GELU_A * x * x * x));
            float g = 0.5f * (1.0f + th) +
                      0.5f * x * (1.0f - th * th) * GELU_K * (1.0f + 3.0f * GELU_A * x * x);
            dinp[i] += dout[i] * g;
        }
    } else {
        /* forward: y = x Phi(x); dy/dx = Phi(x) + x phi(x) */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n >= SGM_NN_PAR_MIN)
#endif
        for (long i = 0; i < nn; i++) {
            float x = inp[i];
            float g = 0.5f * (1.0f + erff(x * INV_SQRT2)) + x * INV_SQRT_2PI * expf(-0.5f * x * x);
            dinp[i] += dout[i] * g;
        }
    }
}
