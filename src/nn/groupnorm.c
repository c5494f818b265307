/* groupnorm.c - group normalisation (Wu & He 2018; torch.nn.GroupNorm):
 * per sample, the C/G channels x HW positions of a group share one mean and
 * one biased variance; the affine weight and bias are per channel. Mean and
 * reciprocal std (N, G) are forward outputs reused by backward; statistics
 * are accumulated in double. */
#include <math.h>
#include "nn/nn_internal.h"

void sgm_nn_groupnorm_forward(float *out, float *mean, float *rstd, const float *inp,
                              const float *weight, const float *bias, int N, int C, int HW,
                              int G, float eps) {
    assert(N >= 0 && C > 0 && HW > 0 && G > 0 && C % G == 0);
    int Cg = C / G;
    size_t len = (size_t)Cg * (size_t)HW; /* elements of one group, contiguous */
    SGM_NN_OMP_FOR2((size_t)N * (size_t)C * (size_t)HW)
    for (int n = 0; n < N; n++) {
        for (int g = 0; g < G; g++) {
            size_t base = ((size_t)n * (size_t)G + (size_t)g) * len;
            const float *x = inp + base;
            float *y = out + base;
            double m = 0.0, v = 0.0;
            for (size_t i = 0; i < len; i++) m += x[i];
            m /= (double)len;
            for (size_t i = 0; i < len; i++) {
                double d = x[i] - m;
                v += d * d;
            }
            v /= (double)len;
            double rs = 1.0 / sqrt(v + (double)eps);
            for (int cc = 0; cc < Cg; cc++) {
                int c = g * Cg + cc;
                double w = weight ? weight[c] : 1.0, b = bias ? bias[c] : 0.0;
                const float *xc = x + (size_t)cc * (size_t)HW;
                float *yc = y + (size_t)cc * (size_t)HW;
                for (int p = 0; p < HW; p++) yc[p] = (float)((xc[p] - m) * rs * w + b);
            }
            mean[(size_t)n * (size_t)G + (size_t)g] = (float)m;
            rstd[(size_t)n * (size_t)G + (size_t)g] = (float)rs;
        }
    }
}

void sgm_nn_groupnorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                               const float *inp, const float *weight, const float *mean,
                               const float *rstd, int N, int C, int HW, int G) {
    /* forward: xh = (x - mean_g) rstd_g; y = xh w_c + b_c
     * dx = rstd_g (gr - mean_grp(gr) - xh mean_grp(gr xh)), gr = dy w_c */
    assert(N >= 0 && C > 0 && HW > 0 && G > 0 && C % G == 0);
    int Cg = C / G;
    size_t len = (size_t)Cg * (size_t)HW;
    if (dinp) {
        SGM_NN_OMP_FOR2((size_t)N * (size_t)C * (size_t)HW)
        for (int n = 0; n < N; n++) {
            for (int g = 0; g < G; g++) {
                size_t base = ((size_t)n * (size_t)G + (size_t)g) * len;
                const float *x = inp + base, *dy = dout + base;
                float *dx = dinp + base;
                double m = mean[(size_t)n * (size_t)G + (size_t)g];
                double rs = rstd[(size_t)n * (size_t)G + (size_t)g];
                double sg = 0.0, sgx = 0.0;
                for (int cc = 0; cc < Cg; cc++) {
                    double w = weight ? weight[g * Cg + cc] : 1.0;
                    size_t o = (size_t)cc * (size_t)HW;
                    for (int p = 0; p < HW; p++) {
                        double gr = dy[o + (size_t)p] * w;
                        sg += gr;
                        sgx += gr * (x[o + (size_t)p] - m) * rs;
                    }
                }
                sg /= (double)len;
                sgx /= (double)len;
                for (int cc = 0; cc < Cg; cc++) {
                    double w = weight ? weight[g * Cg + cc] : 1.0;
                    size_t o = (size_t)cc * (size_t)HW;
                    for (int p = 0; p < HW; p++) {
                        double gr = dy[o + (size_t)p] * w;
                        double xh = (x[o + (size_t)p] - m) * rs;
                        dx[o + (size_t)p] += (float)(rs * (gr - sg - xh * sgx));
                    }
                }
            }
        }
    }
    if (dweight || dbias) {
        SGM_NN_OMP_FOR((size_t)N * (size_t)C * (size_t)HW)
        for (int c = 0; c < C; c++) {
            int g = c / Cg;
            double sw = 0.0, sb = 0.0;
            for (int n = 0; n < N; n++) {
                size_t o = ((size_t)n * (size_t)C + (size_t)c) * (size_t)HW;
                double m = mean[(size_t)n * (size_t)G + (size_t)g];
                double rs = rstd[(size_t)n * (size_t)G + (size_t)g];
                for (int p = 0; p < HW; p++) {
                    sw += dout[o + (size_t)p] * (inp[o + (size_t)p] - m) * rs;
                    sb += dout[o + (size_t)p];
                }
            }
            if (dweight) dweight[c] += (float)sw;
            if (dbias) dbias[c] += (float)sb;
        }
    }
}
