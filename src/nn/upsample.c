/* upsample.c - nearest-neighbour upsampling by 2 (F.interpolate(x,
 * scale_factor=2, mode='nearest')), the U-Net upsampling before a 3x3 conv
 * (DDPM, Ho et al. 2020). */
#include "nn/nn_internal.h"

void sgm_nn_upsample2x_forward(float *out, const float *inp, int N, int C, int H, int W) {
    assert(N >= 0 && C > 0 && H > 0 && W > 0);
    size_t W2 = 2 * (size_t)W;
    SGM_NN_OMP_FOR((size_t)N * (size_t)C * (size_t)H * (size_t)W)
    for (int nc = 0; nc < N * C; nc++) {
        const float *x = inp + (size_t)nc * (size_t)H * (size_t)W;
        float *y = out + (size_t)nc * 4 * (size_t)H * (size_t)W;
        for (int iy = 0; iy < H; iy++) {
            float *r0 = y + (size_t)(2 * iy) * W2, *r1 = r0 + W2;
            for (int ix = 0; ix < W; ix++) {
                float v = x[(size_t)iy * (size_t)W + (size_t)ix];
                r0[2 * ix] = r0[2 * ix + 1] = r1[2 * ix] = r1[2 * ix + 1] = v;
            }
        }
    }
}

void sgm_nn_upsample2x_backward(float *dinp, const float *dout, int N, int C, int H, int W) {
    /* forward: y[2iy + a][2ix + b] = x[iy][ix], a, b in {0, 1} */
    assert(N >= 0 && C > 0 && H > 0 && W > 0);
    size_t W2 = 2 * (size_t)W;
    SGM_NN_OMP_FOR((size_t)N * (size_t)C * (size_t)H * (size_t)W)
    for (int nc = 0; nc < N * C; nc++) {
        float *dx = dinp + (size_t)nc * (size_t)H * (size_t)W;
        const float *dy = dout + (size_t)nc * 4 * (size_t)H * (size_t)W;
        for (int iy = 0; iy < H; iy++) {
            const float *r0 = dy + (size_t)(2 * iy) * W2, *r1 = r0 + W2;
            for (int ix = 0; ix < W; ix++)
                dx[(size_t)iy * (size_t)W + (size_t)ix] +=
                    r0[2 * ix] + r0[2 * ix + 1] + r1[2 * ix] + r1[2 * ix + 1];
        }
    }
}
