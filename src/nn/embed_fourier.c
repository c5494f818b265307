/* embed_fourier.c - Gaussian Fourier feature embedding of a scalar (Tancik et
 * al. 2020), as score_sde's GaussianFourierProjection (models/layerspp.py):
 * p = 2 pi x W, out = [sin p, cos p], W ~ N(0, scale^2) drawn once at init
 * and usually frozen (NCSN++: scale 16, x = log sigma). The phase is
 * computed in double. */
#include <math.h>
#include "nn/nn_internal.h"

#define TWO_PI 6.283185307179586

void sgm_nn_fourier_forward(float *out, const float *x, const float *W, int N, int E) {
    assert(N >= 0 && E > 0);
    SGM_NN_OMP_FOR((size_t)N * (size_t)E)
    for (int n = 0; n < N; n++) {
        float *y = out + (size_t)n * 2 * (size_t)E;
        for (int j = 0; j < E; j++) {
            double p = TWO_PI * (double)x[n] * (double)W[j];
            y[j] = (float)sin(p);
            y[E + j] = (float)cos(p);
        }
    }
}

void sgm_nn_fourier_backward(float *dx, float *dW, const float *dout, const float *x,
                             const float *W, int N, int E) {
    /* forward: y_j = sin(p_j), y_{E+j} = cos(p_j), p_j = 2 pi x W_j
     * dp_j = dy_j cos p_j - dy_{E+j} sin p_j; dx += sum_j dp_j 2 pi W_j;
     * dW_j += sum_n dp_j 2 pi x_n */
    assert(N >= 0 && E > 0);
    if (dx) {
        SGM_NN_OMP_FOR((size_t)N * (size_t)E)
        for (int n = 0; n < N; n++) {
            const float *dy = dout + (size_t)n * 2 * (size_t)E;
            double s = 0.0;
            for (int j = 0; j < E; j++) {
                double p = TWO_PI * (double)x[n] * (double)W[j];
                s += (dy[j] * cos(p) - dy[E + j] * sin(p)) * TWO_PI * (double)W[j];
            }
            dx[n] += (float)s;
        }
    }
    if (dW) {
        SGM_NN_OMP_FOR((size_t)N * (size_t)E)
        for (int j = 0; j < E; j++) {
            double s = 0.0;
            for (int n = 0; n < N; n++) {
                const float *dy = dout + (size_t)n * 2 * (size_t)E;
                double p = TWO_PI * (double)x[n] * (double)W[j];
                s += (dy[j] * cos(p) - dy[E + j] * sin(p)) * TWO_PI * (double)x[n];
            }
            dW[j] += (float)s;
        }
    }
}
