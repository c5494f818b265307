/* groupnorm.c - group normalisation (Wu & He 2018; torch.nn.GroupNorm):
 * per sample, the C/G channels x HW positions of a group share one mean and
 * one biased variance; the affine weight and bias are per channel. Mean and
 * reciprocal std (N, G) are forward outputs reused by backward.
 *
 * Sums run in float over 16 fixed lanes (element i goes to lane i % 16;
 * the lanes are then added in double), a loop the compiler turns into
 * vector adds, where one double accumulator is a serial dependency chain
 * (5x slower on the U-Net's layers). The lane split is fixed, so every
 * build and every SIMD clone rounds alike; each lane sums at most len/16
 * terms (200 for a 32-channel 28x28 group of 8), so the float error stays
 * around 1e-6 relative. The variance is the two-pass sum of (x - mean)^2, so
 * a large mean does not cancel. */
#include <math.h>
#include "nn/nn_internal.h"

#define LANES 16

/* sum of x[0..n) */
static inline double lane_sum(const float *x, size_t n) {
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) acc[k] += x[i + (size_t)k];
    for (int k = 0; i < n; i++, k++) acc[k] += x[i];
    double s = 0.0;
    for (int k = 0; k < LANES; k++) s += acc[k];
    return s;
}

/* sum of (x - m)^2 */
static inline double lane_sq(const float *x, float m, size_t n) {
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) {
            float d = x[i + (size_t)k] - m;
            acc[k] += d * d;
        }
    for (int k = 0; i < n; i++, k++) {
        float d = x[i] - m;
        acc[k] += d * d;
    }
    double s = 0.0;
    for (int k = 0; k < LANES; k++) s += acc[k];
    return s;
}

/* sums of dy and of dy (x - m) */
static inline void lane_dot(double *sdy, double *sdyx, const float *dy, const float *x, float m,
                            size_t n) {
    float a[LANES] = {0}, b[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) {
            float g = dy[i + (size_t)k];
            a[k] += g;
            b[k] += g * (x[i + (size_t)k] - m);
        }
    for (int k = 0; i < n; i++, k++) {
        a[k] += dy[i];
        b[k] += dy[i] * (x[i] - m);
    }
    double sa = 0.0, sb = 0.0;
    for (int k = 0; k < LANES; k++) sa += a[k], sb += b[k];
    *sdy = sa;
    *sdyx = sb;
}

SGM_NN_SIMD_CLONES
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
            double m = lane_sum(x, len) / (double)len;
            double v = lane_sq(x, (float)m, len) / (double)len;
            double rs = 1.0 / sqrt(v + (double)eps);
            for (int cc = 0; cc < Cg; cc++) {
                int c = g * Cg + cc;
                double w = weight ? weight[c] : 1.0, b = bias ? bias[c] : 0.0;
                /* y = (x - m) a + b, a = rs w (x - m first: no cancellation
                 * when the mean is large against the spread) */
                float a = (float)(rs * w), s = (float)b, mf = (float)m;
                const float *xc = x + (size_t)cc * (size_t)HW;
                float *yc = y + (size_t)cc * (size_t)HW;
                for (int p = 0; p < HW; p++) yc[p] = (xc[p] - mf) * a + s;
            }
            mean[(size_t)n * (size_t)G + (size_t)g] = (float)m;
            rstd[(size_t)n * (size_t)G + (size_t)g] = (float)rs;
        }
    }
}

SGM_NN_SIMD_CLONES
void sgm__nn_groupnorm_backward_mode(float *dinp, float *dweight, float *dbias, const float *dout,
                                     const float *inp, const float *weight, const float *mean,
                                     const float *rstd, int N, int C, int HW, int G,
                                     int overwrite) {
    /* forward: xh = (x - mean_g) rstd_g; y = xh w_c + b_c
     * dx = rstd_g (gr - mean_grp(gr) - xh mean_grp(gr xh)), gr = dy w_c;
     * per channel c of the group: sum(gr) = w_c S_c, sum(gr xh) = w_c rstd T_c
     * with S_c = sum(dy), T_c = sum(dy (x - mean)); dbias_c += sum_n S_c,
     * dweight_c += sum_n rstd T_c.
     * One pass: each thread owns whole groups (so whole channels) and walks
     * the samples in order, so dweight / dbias get their per-sample terms in
     * the same order whatever the thread count; the second sweep of a group
     * (dx) finds it in L1. */
    assert(N >= 0 && C > 0 && HW > 0 && G > 0 && C % G == 0);
    int Cg = C / G;
    size_t len = (size_t)Cg * (size_t)HW;
    SGM_NN_OMP_FOR((size_t)N * (size_t)C * (size_t)HW)
    for (int g = 0; g < G; g++) {
        for (int n = 0; n < N; n++) {
            size_t base = ((size_t)n * (size_t)G + (size_t)g) * len;
            const float *x = inp + base, *dy = dout + base;
            float m = mean[(size_t)n * (size_t)G + (size_t)g];
            double rs = rstd[(size_t)n * (size_t)G + (size_t)g];
            double sg = 0.0, sgx = 0.0;
            for (int cc = 0; cc < Cg; cc++) {
                int c = g * Cg + cc;
                double w = weight ? weight[c] : 1.0, S, T;
                size_t o = (size_t)cc * (size_t)HW;
                lane_dot(&S, &T, dy + o, x + o, m, (size_t)HW);
                sg += w * S;
                sgx += w * T * rs;
                if (dweight) dweight[c] += (float)(T * rs);
                if (dbias) dbias[c] += (float)S;
            }
            if (!dinp) continue;
            sg /= (double)len;
            sgx /= (double)len;
            /* dx += rs (dy w - sg - (x - m) rs sgx) = dy A + (x - m) B + D */
            float B = (float)(-rs * rs * sgx), D = (float)(-rs * sg);
            float *dx = dinp + base;
            for (int cc = 0; cc < Cg; cc++) {
                double w = weight ? weight[g * Cg + cc] : 1.0;
                float A = (float)(rs * w);
                size_t o = (size_t)cc * (size_t)HW;
                const float *dyc = dy + o, *xc = x + o;
                float *dxc = dx + o;
                if (overwrite)
                    for (int p = 0; p < HW; p++) dxc[p] = dyc[p] * A + (xc[p] - m) * B + D;
                else
                    for (int p = 0; p < HW; p++) dxc[p] += dyc[p] * A + (xc[p] - m) * B + D;
            }
        }
    }
}

void sgm_nn_groupnorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                               const float *inp, const float *weight, const float *mean,
                               const float *rstd, int N, int C, int HW, int G) {
    sgm__nn_groupnorm_backward_mode(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C,
                                    HW, G, 0);
}
