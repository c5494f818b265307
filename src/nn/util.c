/* util.c - flat-block helpers of the NN engine: block layout (llm.c's one
 * malloc per parameter set), zeroing, Philox-based initialisation, residual
 * add and the batched transpose between (N, C, HW) maps and (N, HW, C)
 * tokens. */
#include <math.h>
#include <string.h>
#include "nn/nn_internal.h"
#include "sgm/sgm_core.h"

size_t sgm_nn_layout(size_t *offsets, const size_t *counts, size_t n) {
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        offsets[i] = off;
        off += (counts[i] + 15) / 16 * 16; /* 64-byte aligned starts */
    }
    return off;
}

void sgm_nn_zero(float *x, size_t n) {
    if (n) memset(x, 0, n * sizeof(float));
}

void sgm_nn_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed,
                         uint64_t stream) {
    /* counter = (block index, stream); each block gives 4 uniforms with 24 bits */
    for (size_t b = 0; b * 4 < n; b++) {
        uint32_t ctr[4] = {(uint32_t)b, (uint32_t)((uint64_t)b >> 32), (uint32_t)stream,
                           (uint32_t)(stream >> 32)};
        uint32_t r[4];
        sgm_philox4x32(seed, ctr, r);
        for (size_t j = 0; j < 4 && b * 4 + j < n; j++) {
            double u = (double)(r[j] >> 8) * (1.0 / 16777216.0);
            x[b * 4 + j] = (float)(lo + (hi - lo) * u);
        }
    }
}

void sgm_nn_fill_normal(float *x, size_t n, float scale, uint64_t seed, uint64_t stream) {
    if (!n) return;
    sgm_rng_normal_rows_f32(seed, stream, 0, 1, n, x);
    for (size_t i = 0; i < n; i++) x[i] *= scale;
}

void sgm_nn_add_forward(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void sgm_nn_add_backward(float *da, float *db, const float *dout, size_t n) {
    if (da)
        for (size_t i = 0; i < n; i++) da[i] += dout[i];
    if (db)
        for (size_t i = 0; i < n; i++) db[i] += dout[i];
}

void sgm_nn_transpose_forward(float *out, const float *inp, int N, int A, int B) {
    /* out[n][b][a] = inp[n][a][b] */
    size_t sa = (size_t)A, sb = (size_t)B;
    SGM_NN_OMP_FOR((size_t)N * sa * sb)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * sa * sb;
        float *y = out + (size_t)n * sa * sb;
        for (size_t a = 0; a < sa; a++)
            for (size_t b = 0; b < sb; b++) y[b * sa + a] = x[a * sb + b];
    }
}

void sgm_nn_transpose_backward(float *dinp, const float *dout, int N, int A, int B) {
    /* forward: out[n][b][a] = inp[n][a][b] */
    size_t sa = (size_t)A, sb = (size_t)B;
    SGM_NN_OMP_FOR((size_t)N * sa * sb)
    for (int n = 0; n < N; n++) {
        const float *dy = dout + (size_t)n * sa * sb;
        float *dx = dinp + (size_t)n * sa * sb;
        for (size_t a = 0; a < sa; a++)
            for (size_t b = 0; b < sb; b++) dx[a * sb + b] += dy[b * sa + a];
    }
}
