/* linear.c - fully connected layer, out = inp W^T + b, in PyTorch's
 * torch.nn.Linear layout (weight (OC, C)); both passes are single cblas_sgemm
 * calls (llm.c matmul_forward / matmul_backward, with BLAS in place of the
 * hand loops). Threading comes from OpenBLAS only; the O(N OC) bias loops
 * stay serial. The models' forward passes use the fixed-order product of
 * gemm_det.c instead (batch- and thread-invariant outputs). */
#include "nn/nn_internal.h"

void sgm_nn_linear_forward(float *out, const float *inp, const float *weight,
                           const float *bias, int N, int C, int OC) {
    assert(N >= 0 && C > 0 && OC > 0);
    if (N == 0) return;
    float beta = 0.0f;
    if (bias) {
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OC; o++) out[(size_t)n * (size_t)OC + (size_t)o] = bias[o];
        beta = 1.0f;
    }
    /* out (N, OC) = inp (N, C) @ weight^T (C, OC) (+ bias) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, weight, C,
                beta, out, OC);
}

void sgm_nn_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, int N, int C, int OC) {
    /* forward: out[n][o] = b[o] + sum_c inp[n][c] w[o][c] */
    assert(N >= 0 && C > 0 && OC > 0);
    if (N == 0) return;
    if (dinp) /* dinp (N, C) += dout (N, OC) @ weight (OC, C) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC,
                    weight, C, 1.0f, dinp, C);
    if (dweight) /* dweight (OC, C) += dout^T (OC, N) @ inp (N, C) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp,
                    C, 1.0f, dweight, C);
    if (dbias) {
        /* sum over the batch in double (N may be large); OC in blocks of 64 so
         * that the inner loop runs along a row of dout (contiguous, it
         * vectorises) rather than down a column; same order of summation */
        for (int o0 = 0; o0 < OC; o0 += 64) {
            int ob = OC - o0 < 64 ? OC - o0 : 64;
            double s[64] = {0};
            for (int n = 0; n < N; n++) {
                const float *r = dout + (size_t)n * (size_t)OC + (size_t)o0;
                for (int j = 0; j < ob; j++) s[j] += (double)r[j];
            }
            for (int j = 0; j < ob; j++) dbias[o0 + j] += (float)s[j];
        }
    }
}
