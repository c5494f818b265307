/* conv2d.c - 2-D convolution with square kernels, zero padding and a stride
 * (torch.nn.Conv2d, weight (OC, C, K, K)), computed by im2col + cblas_sgemm
 * (Chellapilla et al. 2006, "High performance convolutional neural networks
 * for document processing") over blocks of nb samples at a time, the columns
 * of the block's samples side by side (Caffe / PyTorch's slow_conv2d run one
 * GEMM per sample; a block gives fewer, wider GEMMs, which helps the small
 * 7x7 and 14x14 layers of a U-Net most):
 *   col (C K K, nb Ho Wo) = [im2col(x_n0) ... im2col(x_n0+nb-1)]
 *   Y (OC, nb Ho Wo) = W (OC, C K K) @ col;   y_n (OC, Ho Wo) = Y[:, n slice] + b
 * backward, with dY (OC, nb Ho Wo) the block's dy_n side by side:
 *   dW += dY @ col^T;  dcol = W^T @ dY;  dx_n += col2im(dcol[:, n slice]).
 * nb is the largest block whose scratch (col + Y) fits SGM_NN_CONV2D_SCRATCH_MAX
 * floats (at least one sample); with nb = 1 the sample's own arrays are used
 * where they can (a 1x1, stride-1, unpadded conv then needs no copy at all).
 * Threading comes from OpenBLAS inside sgemm only: im2col / col2im and the
 * gathers are serial (written when sgm linked the pthreads OpenBLAS, whose
 * thread pool fought OpenMP regions between sgemm calls: 5-8x slower on 2
 * cores; sgm now links the OpenMP build, nn_internal.h). This is the
 * backend of sgm_nn_conv2d_plan without oneDNN (conv2d_plan.c). */
#include <string.h>
#include "nn/nn_internal.h"

/* scratch budget in floats (256 Ki floats = 1 MB, one core's L2 here): bounds
 * the block of samples per GEMM; a single sample may exceed it. Measured on
 * the default U-Net at batch 64 (bench_train_step, 2026-11-22): budgets of
 * 0.25-4 MB ran 5-7% faster than one sample per GEMM, 16 MB as fast and
 * 64 MB 10-15% slower (the block's columns no longer stay in cache between
 * im2col and the GEMM's packing). Overridable at compile time
 * (-DSGM_NN_CONV2D_SCRATCH_MAX=...), e.g. to test blocks smaller than N. */
#ifndef SGM_NN_CONV2D_SCRATCH_MAX
#define SGM_NN_CONV2D_SCRATCH_MAX ((size_t)1 << 18)
#endif

int sgm_nn_conv2d_out_size(int in, int K, int stride, int pad) {
    return (in + 2 * pad - K) / stride + 1;
}

static int is_pointwise(const sgm_nn_conv2d_dims *d) {
    return d->K == 1 && d->stride == 1 && d->pad == 0;
}

/* floats of scratch per sample of a block: col (C K K, P) + Y (OC, P) */
static size_t per_sample(const sgm_nn_conv2d_dims *d) {
    size_t Ho = (size_t)sgm_nn_conv2d_out_size(d->H, d->K, d->stride, d->pad);
    size_t Wo = (size_t)sgm_nn_conv2d_out_size(d->W, d->K, d->stride, d->pad);
    return ((size_t)d->C * (size_t)d->K * (size_t)d->K + (size_t)d->OC) * Ho * Wo;
}

/* samples per block: as many as the budget allows, at least 1, at most N;
 * nondecreasing in N, so scratch sized for N serves every smaller batch */
static int block_size(const sgm_nn_conv2d_dims *d) {
    size_t b = SGM_NN_CONV2D_SCRATCH_MAX / per_sample(d);
    size_t n = d->N > 1 ? (size_t)d->N : 1;
    if (b > n) b = n;
    return b < 1 ? 1 : (int)b;
}

size_t sgm_nn_conv2d_scratch_size(const sgm_nn_conv2d_dims *d) {
    int nb = block_size(d);
    if (nb == 1 && is_pointwise(d)) return 0;
    return (size_t)nb * per_sample(d);
}

static void check_dims(const sgm_nn_conv2d_dims *d) {
    (void)d;
    assert(d->N >= 0 && d->C > 0 && d->H > 0 && d->W > 0 && d->OC > 0 && d->K > 0);
    assert(d->stride > 0 && d->pad >= 0);
    assert(d->H + 2 * d->pad >= d->K && d->W + 2 * d->pad >= d->K);
}

/* the output columns ox in [lo, hi) whose input column ox s - pad + kj lies in
 * [0, W) (the others read the zero padding); hi <= lo when there are none */
static void ox_range(int *lo, int *hi, const sgm_nn_conv2d_dims *d, int Wo, int kj) {
    int s = d->stride, off = kj - d->pad; /* ix = ox s + off */
    int l = off >= 0 ? 0 : (-off + s - 1) / s;
    int h = d->W - 1 - off < 0 ? 0 : (d->W - 1 - off) / s + 1;
    *lo = l < Wo ? l : Wo;
    *hi = h < Wo ? h : Wo;
}

/* col[(c K + ki) K + kj][oy Wo + ox] = x[c][oy s - pad + ki][ox s - pad + kj]
 * (0 outside), rows ld floats apart */
static void im2col(float *col, size_t ld, const float *x, const sgm_nn_conv2d_dims *d, int Ho,
                   int Wo) {
    int K = d->K, H = d->H, W = d->W, s = d->stride, pad = d->pad;
    if (is_pointwise(d)) { /* col = x: a copy of each channel plane */
        size_t P = (size_t)H * (size_t)W;
        for (int c = 0; c < d->C; c++)
            memcpy(col + (size_t)c * ld, x + (size_t)c * P, P * sizeof(float));
        return;
    }
    for (int c = 0; c < d->C; c++) {
        const float *xc = x + (size_t)c * (size_t)H * (size_t)W;
        for (int ki = 0; ki < K; ki++) {
            for (int kj = 0; kj < K; kj++) {
                float *row = col + ((size_t)(c * K + ki) * (size_t)K + (size_t)kj) * ld;
                int lo, hi;
                ox_range(&lo, &hi, d, Wo, kj);
                for (int oy = 0; oy < Ho; oy++) {
                    int iy = oy * s - pad + ki;
                    float *r = row + (size_t)oy * (size_t)Wo;
                    if (iy < 0 || iy >= H) {
                        memset(r, 0, (size_t)Wo * sizeof(float));
                        continue;
                    }
                    const float *xr = xc + (size_t)iy * (size_t)W;
                    for (int ox = 0; ox < lo; ox++) r[ox] = 0.0f;
                    if (s == 1 && hi > lo)
                        memcpy(r + lo, xr + (lo - pad + kj), (size_t)(hi - lo) * sizeof(float));
                    else
                        for (int ox = lo; ox < hi; ox++) r[ox] = xr[ox * s - pad + kj];
                    for (int ox = hi > lo ? hi : lo; ox < Wo; ox++) r[ox] = 0.0f;
                }
            }
        }
    }
}

/* dx[c][iy][ix] += dcol[...] over every (ki, kj, oy, ox) that read it; dcol
 * rows ld floats apart */
static void col2im_add(float *dx, const float *dcol, size_t ld, const sgm_nn_conv2d_dims *d,
                       int Ho, int Wo) {
    int K = d->K, H = d->H, W = d->W, s = d->stride, pad = d->pad;
    for (int c = 0; c < d->C; c++) { /* channels own disjoint planes of dx */
        float *dxc = dx + (size_t)c * (size_t)H * (size_t)W;
        for (int ki = 0; ki < K; ki++) {
            for (int kj = 0; kj < K; kj++) {
                const float *row = dcol + ((size_t)(c * K + ki) * (size_t)K + (size_t)kj) * ld;
                int lo, hi;
                ox_range(&lo, &hi, d, Wo, kj);
                for (int oy = 0; oy < Ho; oy++) {
                    int iy = oy * s - pad + ki;
                    if (iy < 0 || iy >= H) continue;
                    const float *r = row + (size_t)oy * (size_t)Wo;
                    float *dxr = dxc + (size_t)iy * (size_t)W;
                    if (s == 1) { /* contiguous: vectorises */
                        float *dq = dxr + (kj - pad);
                        for (int ox = lo; ox < hi; ox++) dq[ox] += r[ox];
                    } else {
                        for (int ox = lo; ox < hi; ox++) dxr[ox * s - pad + kj] += r[ox];
                    }
                }
            }
        }
    }
}

void sgm_nn_conv2d_forward(float *out, float *scratch, const float *inp, const float *weight,
                           const float *bias, const sgm_nn_conv2d_dims *d) {
    check_dims(d);
    int Ho = sgm_nn_conv2d_out_size(d->H, d->K, d->stride, d->pad);
    int Wo = sgm_nn_conv2d_out_size(d->W, d->K, d->stride, d->pad);
    int P = Ho * Wo, CKK = d->C * d->K * d->K, OC = d->OC;
    size_t in_sz = (size_t)d->C * (size_t)d->H * (size_t)d->W;
    size_t out_sz = (size_t)OC * (size_t)P;
    int nbmax = block_size(d), pw = is_pointwise(d);
    float *colbuf = scratch, *ybuf = NULL; /* scratch is NULL for a pointwise nb = 1 */
    if (scratch) ybuf = scratch + (size_t)nbmax * (size_t)CKK * (size_t)P;
    for (int n0 = 0; n0 < d->N; n0 += nbmax) {
        int nb = d->N - n0 < nbmax ? d->N - n0 : nbmax;
        size_t ld = (size_t)nb * (size_t)P; /* row length of col / Y */
        const float *x0 = inp + (size_t)n0 * in_sz;
        float *y0 = out + (size_t)n0 * out_sz;
        const float *col = x0;
        if (nb > 1 || !pw) {
            for (int j = 0; j < nb; j++)
                im2col(colbuf + (size_t)j * (size_t)P, ld, x0 + (size_t)j * in_sz, d, Ho, Wo);
            col = colbuf;
        }
        /* the forward product in a fixed order (gemm_det.c: each output summed
         * over the C K K taps in turn), so a sample's output does not depend
         * on its block, the batch or the thread count */
        if (nb == 1) { /* Y is y_n itself */
            sgm__nn_gemm_det(y0, (size_t)P, weight, (size_t)CKK, col, (size_t)P, NULL, OC, P, CKK,
                             1);
            if (bias)
                for (int o = 0; o < OC; o++)
                    for (int p = 0; p < P; p++) y0[(size_t)o * (size_t)P + (size_t)p] += bias[o];
            continue;
        }
        /* Y (OC, nb P) = W (OC, CKK) @ col (CKK, nb P), then y_n = Y[:, n] + b */
        sgm__nn_gemm_det(ybuf, ld, weight, (size_t)CKK, col, ld, NULL, OC, (int)ld, CKK, 1);
        for (int j = 0; j < nb; j++) {
            float *y = y0 + (size_t)j * out_sz;
            for (int o = 0; o < OC; o++) {
                const float *r = ybuf + (size_t)o * ld + (size_t)j * (size_t)P;
                float *yo = y + (size_t)o * (size_t)P, bo = bias ? bias[o] : 0.0f;
                for (int p = 0; p < P; p++) yo[p] = r[p] + bo;
            }
        }
    }
}

void sgm_nn_conv2d_backward(float *dinp, float *dweight, float *dbias, float *scratch,
                            const float *dout, const float *inp, const float *weight,
                            const sgm_nn_conv2d_dims *d) {
    check_dims(d);
    int Ho = sgm_nn_conv2d_out_size(d->H, d->K, d->stride, d->pad);
    int Wo = sgm_nn_conv2d_out_size(d->W, d->K, d->stride, d->pad);
    int P = Ho * Wo, CKK = d->C * d->K * d->K, OC = d->OC;
    size_t in_sz = (size_t)d->C * (size_t)d->H * (size_t)d->W;
    size_t out_sz = (size_t)OC * (size_t)P;
    int nbmax = block_size(d), pw = is_pointwise(d);
    float *colbuf = scratch, *dybuf = NULL;
    if (scratch) dybuf = scratch + (size_t)nbmax * (size_t)CKK * (size_t)P;
    for (int n0 = 0; n0 < d->N && (dweight || dinp); n0 += nbmax) {
        int nb = d->N - n0 < nbmax ? d->N - n0 : nbmax;
        size_t ld = (size_t)nb * (size_t)P;
        const float *x0 = inp + (size_t)n0 * in_sz;
        const float *dy0 = dout + (size_t)n0 * out_sz;
        const float *dY = dy0; /* dY (OC, nb P): the block's dy_n side by side */
        if (nb > 1) {
            for (int j = 0; j < nb; j++)
                for (int o = 0; o < OC; o++)
                    memcpy(dybuf + (size_t)o * ld + (size_t)j * (size_t)P,
                           dy0 + (size_t)j * out_sz + (size_t)o * (size_t)P,
                           (size_t)P * sizeof(float));
            dY = dybuf;
        }
        if (dweight) {
            const float *col = x0;
            if (nb > 1 || !pw) {
                for (int j = 0; j < nb; j++)
                    im2col(colbuf + (size_t)j * (size_t)P, ld, x0 + (size_t)j * in_sz, d, Ho,
                           Wo);
                col = colbuf;
            }
            /* dW (OC, CKK) += dY (OC, nb P) @ col^T (nb P, CKK) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, CKK, (int)ld, 1.0f, dY,
                        (int)ld, col, (int)ld, 1.0f, dweight, CKK);
        }
        if (dinp) {
            float *dx0 = dinp + (size_t)n0 * in_sz;
            if (nb == 1 && pw) { /* dx (C, P) += W^T (C, OC) @ dy (OC, P) */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, P, OC, 1.0f, weight,
                            CKK, dY, P, 1.0f, dx0, P);
            } else { /* dcol (CKK, nb P) = W^T @ dY, then scatter-add per sample */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, (int)ld, OC, 1.0f,
                            weight, CKK, dY, (int)ld, 0.0f, colbuf, (int)ld);
                for (int j = 0; j < nb; j++)
                    col2im_add(dx0 + (size_t)j * in_sz, colbuf + (size_t)j * (size_t)P, ld, d,
                               Ho, Wo);
            }
        }
    }
    if (dbias) {
        for (int n = 0; n < d->N; n++) {
            const float *dy = dout + (size_t)n * out_sz;
            for (int o = 0; o < OC; o++) {
                double s = 0.0;
                const float *r = dy + (size_t)o * (size_t)P;
                for (int p = 0; p < P; p++) s += r[p];
                dbias[o] += (float)s;
            }
        }
    }
}
