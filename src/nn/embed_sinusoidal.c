/* embed_sinusoidal.c - sinusoidal embedding of a scalar (time step or noise
 * level) per sample (Vaswani et al. 2017 sec. 3.5; DDPM), in the convention
 * of diffusers' get_timestep_embedding (src/diffusers/models/embeddings.py):
 * frequencies exp(-ln(max_period) i / (half - downscale_freq_shift)),
 * i < half = D / 2, output [sin, cos] or [cos, sin] (flip_sin_to_cos), one
 * zero column appended when D is odd. The phase is computed in double, so
 * the result differs from diffusers' float32 arithmetic by ~|t| 2^-24. */
#include <math.h>
#include "nn/nn_internal.h"

sgm_nn_sinusoidal sgm_nn_sinusoidal_defaults(void) {
    sgm_nn_sinusoidal c = {0, 1.0, 1.0, 10000.0};
    return c;
}

static double freq(int i, int half, const sgm_nn_sinusoidal *cfg) {
    return exp(-log(cfg->max_period) * (double)i / ((double)half - cfg->downscale_freq_shift));
}

void sgm_nn_sinusoidal_forward(float *out, const float *t, int N, int D,
                               const sgm_nn_sinusoidal *cfg) {
    assert(N >= 0 && D >= 2);
    int half = D / 2;
    size_t so = cfg->flip_sin_to_cos ? (size_t)half : 0; /* column of sin */
    size_t co = cfg->flip_sin_to_cos ? 0 : (size_t)half; /* column of cos */
    SGM_NN_OMP_FOR((size_t)N * (size_t)D)
    for (int n = 0; n < N; n++) {
        float *y = out + (size_t)n * (size_t)D;
        for (int i = 0; i < half; i++) {
            double a = cfg->scale * (double)t[n] * freq(i, half, cfg);
            y[so + (size_t)i] = (float)sin(a);
            y[co + (size_t)i] = (float)cos(a);
        }
        if (D % 2) y[D - 1] = 0.0f;
    }
}

void sgm_nn_sinusoidal_backward(float *dt, const float *dout, const float *t, int N, int D,
                                const sgm_nn_sinusoidal *cfg) {
    /* forward: y_sin = sin(a_i), y_cos = cos(a_i), a_i = scale t f_i */
    assert(N >= 0 && D >= 2);
    int half = D / 2;
    size_t so = cfg->flip_sin_to_cos ? (size_t)half : 0;
    size_t co = cfg->flip_sin_to_cos ? 0 : (size_t)half;
    SGM_NN_OMP_FOR((size_t)N * (size_t)D)
    for (int n = 0; n < N; n++) {
        const float *dy = dout + (size_t)n * (size_t)D;
        double s = 0.0;
        for (int i = 0; i < half; i++) {
            double f = cfg->scale * freq(i, half, cfg);
            double a = (double)t[n] * f;
            s += f * (dy[so + (size_t)i] * cos(a) - dy[co + (size_t)i] * sin(a));
        }
        dt[n] += (float)s;
    }
}
