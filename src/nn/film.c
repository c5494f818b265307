/* film.c - feature-wise linear modulation of a feature map by a per-sample
 * (scale, shift) pair (Perez et al. 2018, "FiLM"), in the form of
 * improved-diffusion's ResBlock use_scale_shift_norm (Nichol & Dhariwal
 * 2021): out = h (1 + scale) + shift, channel by channel. The backward sums
 * over positions use 16 float lanes (as groupnorm.c) so that they vectorise;
 * the lanes are added in double. */
#include "nn/nn_internal.h"

#define LANES 16

SGM_NN_SIMD_CLONES
void sgm_nn_film_forward(float *out, const float *h, const float *ss, int N, int C, int HW) {
    assert(N >= 0 && C > 0 && HW > 0);
    SGM_NN_OMP_FOR2((size_t)N * (size_t)C * (size_t)HW)
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const float *sn = ss + (size_t)n * 2 * (size_t)C;
            float sc = 1.0f + sn[c], sh = sn[C + c];
            size_t o = ((size_t)n * (size_t)C + (size_t)c) * (size_t)HW;
            const float *hi = h + o;
            float *oi = out + o;
            for (int k = 0; k < HW; k++) oi[k] = hi[k] * sc + sh;
        }
}

SGM_NN_SIMD_CLONES
void sgm_nn_film_backward(float *dh, float *dss, const float *dout, const float *h,
                          const float *ss, int N, int C, int HW) {
    assert(N >= 0 && C > 0 && HW > 0);
    SGM_NN_OMP_FOR2((size_t)N * (size_t)C * (size_t)HW)
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const float *sn = ss + (size_t)n * 2 * (size_t)C;
            size_t o = ((size_t)n * (size_t)C + (size_t)c) * (size_t)HW;
            const float *g = dout + o, *hi = h + o;
            if (dh) {
                float sc = 1.0f + sn[c];
                float *d = dh + o;
                for (int k = 0; k < HW; k++) d[k] += g[k] * sc;
            }
            if (dss) { /* d scale = sum g h, d shift = sum g */
                float a[LANES] = {0}, b[LANES] = {0};
                int k = 0;
                for (; k + LANES <= HW; k += LANES)
                    for (int l = 0; l < LANES; l++) {
                        a[l] += g[k + l] * hi[k + l];
                        b[l] += g[k + l];
                    }
                for (int l = 0; k < HW; k++, l++) {
                    a[l] += g[k] * hi[k];
                    b[l] += g[k];
                }
                double sa = 0.0, sb = 0.0;
                for (int l = 0; l < LANES; l++) sa += a[l], sb += b[l];
                float *dn = dss + (size_t)n * 2 * (size_t)C;
                dn[c] += (float)sa;
                dn[C + c] += (float)sb;
            }
        }
}
