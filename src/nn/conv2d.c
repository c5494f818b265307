/* conv2d.c - 2-D convolution with square kernels, zero padding and a stride
 * (torch.nn.Conv2d, weight (OC, C, K, K)), computed per sample as
 * im2col + one cblas_sgemm (Chellapilla et al. 2006, "High performance
 * convolutional neural networks for document processing"):
 *   col (C K K, Ho Wo) = im2col(x_n);   y_n (OC, Ho Wo) = W (OC, C K K) @ col + b
 * backward: dW += dy_n @ col^T;  dcol = W^T @ dy_n;  dx_n += col2im(dcol).
 * A 1x1, stride-1, unpadded conv uses x_n itself as col (no scratch).
 * Threading comes from OpenBLAS inside sgemm only: the sample loop and
 * im2col / col2im are serial, because OpenMP regions interleaved with
 * threaded sgemm calls make the two thread pools fight for the cores (a
 * 5-8x slowdown measured on 2 cores). */
#include <string.h>
#include "nn/nn_internal.h"

int sgm_nn_conv2d_out_size(int in, int K, int stride, int pad) {
    return (in + 2 * pad - K) / stride + 1;
}

static int is_pointwise(const sgm_nn_conv2d_dims *d) {
    return d->K == 1 && d->stride == 1 && d->pad == 0;
}

size_t sgm_nn_conv2d_scratch_size(const sgm_nn_conv2d_dims *d) {
    if (is_pointwise(d)) return 0;
    size_t Ho = (size_t)sgm_nn_conv2d_out_size(d->H, d->K, d->stride, d->pad);
    size_t Wo = (size_t)sgm_nn_conv2d_out_size(d->W, d->K, d->stride, d->pad);
    return (size_t)d->C * (size_t)d->K * (size_t)d->K * Ho * Wo;
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

/* col[(c K + ki) K + kj][oy Wo + ox] = x[c][oy s - pad + ki][ox s - pad + kj] (0 outside) */
static void im2col(float *col, const float *x, const sgm_nn_conv2d_dims *d, int Ho, int Wo) {
    int K = d->K, H = d->H, W = d->W, s = d->stride, pad = d->pad;
    size_t P = (size_t)Ho * (size_t)Wo;
    for (int c = 0; c < d->C; c++) {
        const float *xc = x + (size_t)c * (size_t)H * (size_t)W;
        for (int ki = 0; ki < K; ki++) {
            for (int kj = 0; kj < K; kj++) {
                float *row = col + ((size_t)(c * K + ki) * (size_t)K + (size_t)kj) * P;
                for (int oy = 0; oy < Ho; oy++) {
                    int iy = oy * s - pad + ki;
                    float *r = row + (size_t)oy * (size_t)Wo;
                    if (iy < 0 || iy >= H) {
                        memset(r, 0, (size_t)Wo * sizeof(float));
                        continue;
                    }
                    const float *xr = xc + (size_t)iy * (size_t)W;
                    int lo, hi;
                    ox_range(&lo, &hi, d, Wo, kj);
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

/* dx[c][iy][ix] += dcol[...] over every (ki, kj, oy, ox) that read it */
static void col2im_add(float *dx, const float *dcol, const sgm_nn_conv2d_dims *d, int Ho,
                       int Wo) {
    int K = d->K, H = d->H, W = d->W, s = d->stride, pad = d->pad;
    size_t P = (size_t)Ho * (size_t)Wo;
    for (int c = 0; c < d->C; c++) { /* channels own disjoint planes of dx */
        float *dxc = dx + (size_t)c * (size_t)H * (size_t)W;
        for (int ki = 0; ki < K; ki++) {
            for (int kj = 0; kj < K; kj++) {
                const float *row = dcol + ((size_t)(c * K + ki) * (size_t)K + (size_t)kj) * P;
                for (int oy = 0; oy < Ho; oy++) {
                    int iy = oy * s - pad + ki;
                    if (iy < 0 || iy >= H) continue;
                    const float *r = row + (size_t)oy * (size_t)Wo;
                    float *dxr = dxc + (size_t)iy * (size_t)W;
                    int lo, hi;
                    ox_range(&lo, &hi, d, Wo, kj);
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
    int P = Ho * Wo, CKK = d->C * d->K * d->K;
    size_t in_sz = (size_t)d->C * (size_t)d->H * (size_t)d->W;
    size_t out_sz = (size_t)d->OC * (size_t)P;
    for (int n = 0; n < d->N; n++) {
        const float *x = inp + (size_t)n * in_sz;
        float *y = out + (size_t)n * out_sz;
        const float *col = x;
        if (!is_pointwise(d)) {
            im2col(scratch, x, d, Ho, Wo);
            col = scratch;
        }
        float beta = 0.0f;
        if (bias) {
            for (int o = 0; o < d->OC; o++)
                for (int p = 0; p < P; p++) y[(size_t)o * (size_t)P + (size_t)p] = bias[o];
            beta = 1.0f;
        }
        /* y (OC, P) = W (OC, CKK) @ col (CKK, P) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d->OC, P, CKK, 1.0f, weight,
                    CKK, col, P, beta, y, P);
    }
}

void sgm_nn_conv2d_backward(float *dinp, float *dweight, float *dbias, float *scratch,
                            const float *dout, const float *inp, const float *weight,
                            const sgm_nn_conv2d_dims *d) {
    check_dims(d);
    int Ho = sgm_nn_conv2d_out_size(d->H, d->K, d->stride, d->pad);
    int Wo = sgm_nn_conv2d_out_size(d->W, d->K, d->stride, d->pad);
    int P = Ho * Wo, CKK = d->C * d->K * d->K;
    size_t in_sz = (size_t)d->C * (size_t)d->H * (size_t)d->W;
    size_t out_sz = (size_t)d->OC * (size_t)P;
    int pw = is_pointwise(d);
    for (int n = 0; n < d->N; n++) {
        const float *x = inp + (size_t)n * in_sz;
        const float *dy = dout + (size_t)n * out_sz;
        if (dweight) {
            const float *col = x;
            if (!pw) {
                im2col(scratch, x, d, Ho, Wo);
                col = scratch;
            }
            /* dW (OC, CKK) += dy (OC, P) @ col^T (P, CKK) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d->OC, CKK, P, 1.0f, dy, P,
                        col, P, 1.0f, dweight, CKK);
        }
        if (dinp) {
            float *dx = dinp + (size_t)n * in_sz;
            if (pw) { /* dx (C, P) += W^T (C, OC) @ dy (OC, P) */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, P, d->OC, 1.0f,
                            weight, CKK, dy, P, 1.0f, dx, P);
            } else { /* dcol (CKK, P) = W^T @ dy, then scatter-add */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, P, d->OC, 1.0f,
                            weight, CKK, dy, P, 0.0f, scratch, P);
                col2im_add(dx, scratch, d, Ho, Wo);
            }
        }
        if (dbias) {
            for (int o = 0; o < d->OC; o++) {
                double s = 0.0;
                const float *r = dy + (size_t)o * (size_t)P;
                for (int p = 0; p < P; p++) s += r[p];
                dbias[o] += (float)s;
            }
        }
    }
}
