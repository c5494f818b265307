/* avgpool.c - 2x2 average pooling with stride 2 (F.avg_pool2d(x, 2)), the
 * non-learned downsampling of DDPM / NCSN++ U-Nets. Odd sizes are floored as
 * in PyTorch: the last row / column of an odd map is dropped. */
#include "nn/nn_internal.h"

void sgm_nn_avgpool2x_forward(float *out, const float *inp, int N, int C, int H, int W) {
    assert(N >= 0 && C > 0 && H >= 2 && W >= 2);
    int Ho = H / 2, Wo = W / 2;
    SGM_NN_OMP_FOR((size_t)N * (size_t)C * (size_t)H * (size_t)W)
    for (int nc = 0; nc < N * C; nc++) {
        const float *x = inp + (size_t)nc * (size_t)H * (size_t)W;
        float *y = out + (size_t)nc * (size_t)Ho * (size_t)Wo;
        for (int oy = 0; oy < Ho; oy++) {
            const float *r0 = x + (size_t)(2 * oy) * (size_t)W, *r1 = r0 + W;
            for (int ox = 0; ox < Wo; ox++)
                y[(size_t)oy * (size_t)Wo + (size_t)ox] =
                    0.25f * (r0[2 * ox] + r0[2 * ox + 1] + r1[2 * ox] + r1[2 * ox + 1]);
        }
    }
}

void sgm_nn_avgpool2x_backward(float *dinp, const float *dout, int N, int C, int H, int W) {
    /* forward: y[oy][ox] = mean of x[2oy..2oy+1][2ox..2ox+1] */
    assert(N >= 0 && C > 0 && H >= 2 && W >= 2);
    int Ho = H / 2, Wo = W / 2;
    SGM_NN_OMP_FOR((size_t)N * (size_t)C * (size_t)H * (size_t)W)
    for (int nc = 0; nc < N * C; nc++) {
        float *dx = dinp + (size_t)nc * (size_t)H * (size_t)W;
        const float *dy = dout + (size_t)nc * (size_t)Ho * (size_t)Wo;
        for (int oy = 0; oy < Ho; oy++) {
            float *r0 = dx + (size_t)(2 * oy) * (size_t)W, *r1 = r0 + W;
            for (int ox = 0; ox < Wo; ox++) {
                float g = 0.25f * dy[(size_t)oy * (size_t)Wo + (size_t)ox];
                r0[2 * ox] += g;
                r0[2 * ox + 1] += g;
                r1[2 * ox] += g;
                r1[2 * ox + 1] += g;
            }
        }
    }
}
