/* layernorm.c - layer normalisation over the last dimension (Ba et al. 2016;
 * torch.nn.LayerNorm: biased variance, eps inside the square root). Mean and
 * reciprocal std are forward outputs that backward reuses (llm.c
 * layernorm_forward / layernorm_backward); statistics are accumulated in
 * double. */
#include <math.h>
#include "nn/nn_internal.h"

void sgm_nn_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                              const float *weight, const float *bias, int N, int C, float eps) {
    assert(N >= 0 && C > 0);
    SGM_NN_OMP_FOR((size_t)N * (size_t)C)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * (size_t)C;
        float *y = out + (size_t)n * (size_t)C;
        double m = 0.0, v = 0.0;
        for (int c = 0; c < C; c++) m += x[c];
        m /= C;
        for (int c = 0; c < C; c++) {
            double d = x[c] - m;
            v += d * d;
        }
        v /= C;
        double rs = 1.0 / sqrt(v + (double)eps);
        for (int c = 0; c < C; c++) {
            double xh = (x[c] - m) * rs;
            double w = weight ? weight[c] : 1.0, b = bias ? bias[c] : 0.0;
            y[c] = (float)(xh * w + b);
        }
        mean[n] = (float)m;
        rstd[n] = (float)rs;
    }
}

void sgm_nn_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                               const float *inp, const float *weight, const float *mean,
                               const float *rstd, int N, int C) {
    /* forward: xh = (x - mean) rstd; y = xh w + b
     * dx = rstd (g - mean(g) - xh mean(g xh)), g = dy w */
    assert(N >= 0 && C > 0);
    if (dinp) {
        SGM_NN_OMP_FOR((size_t)N * (size_t)C)
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * (size_t)C;
            const float *dy = dout + (size_t)n * (size_t)C;
            float *dx = dinp + (size_t)n * (size_t)C;
            double m = mean[n], rs = rstd[n], sg = 0.0, sgx = 0.0;
            for (int c = 0; c < C; c++) {
                double g = dy[c] * (weight ? (double)weight[c] : 1.0);
                sg += g;
                sgx += g * (x[c] - m) * rs;
            }
            sg /= C;
            sgx /= C;
            for (int c = 0; c < C; c++) {
                double g = dy[c] * (weight ? (double)weight[c] : 1.0);
                double xh = (x[c] - m) * rs;
                dx[c] += (float)(rs * (g - sg - xh * sgx));
            }
        }
    }
    if (dweight || dbias) {
        SGM_NN_OMP_FOR((size_t)N * (size_t)C)
        for (int c = 0; c < C; c++) {
            double sw = 0.0, sb = 0.0;
            for (int n = 0; n < N; n++) {
                size_t i = (size_t)n * (size_t)C + (size_t)c;
                sw += dout[i] * ((inp[i] - (double)mean[n]) * rstd[n]);
                sb += dout[i];
            }
            if (dweight) dweight[c] += (float)sw;
            if (dbias) dbias[c] += (float)sb;
        }
    }
}
