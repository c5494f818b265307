/* attention.c - multi-head scaled dot-product self-attention without a mask
 * (Vaswani et al. 2017, eq. 1; the attention layer of the DDPM / NCSN++
 * U-Nets at low resolution). Input is the fused q|k|v projection (N, T, 3C),
 * laid out as llm.c's attention_forward; the softmax probabilities are kept
 * as the backward cache. The forward computes each (sample, head) pair
 * without BLAS, in a fixed summation order (so a sample's output does not
 * depend on its batch or the thread count; gemm_det.c), pairs in parallel;
 * the backward is four cblas_sgemm calls per pair. */
#include <math.h>
#include "nn/nn_internal.h"

/* row-wise softmax of a (T, T) matrix in place */
static void softmax_rows(float *a, int T) {
    for (int i = 0; i < T; i++) {
        float *r = a + (size_t)i * (size_t)T;
        float mx = r[0];
        for (int j = 1; j < T; j++) mx = r[j] > mx ? r[j] : mx;
        double s = 0.0;
        for (int j = 0; j < T; j++) {
            r[j] = expf(r[j] - mx);
            s += r[j];
        }
        float inv = (float)(1.0 / s);
        for (int j = 0; j < T; j++) r[j] *= inv;
    }
}

/* q . k over hs elements in 16 fixed float lanes, reduced pairwise: the
 * same order for every (i, j), batch and thread */
static inline float dot_lanes(const float *a, const float *b, int n) {
    float acc[16] = {0};
    int k = 0;
    for (; k + 16 <= n; k += 16)
        for (int l = 0; l < 16; l++) acc[l] += a[k + l] * b[k + l];
    for (int l = 0; k < n; k++, l++) acc[l] += a[k] * b[k];
    for (int w = 8; w > 0; w /= 2)
        for (int l = 0; l < w; l++) acc[l] += acc[l + w];
    return acc[0];
}

SGM_NN_SIMD_CLONES
void sgm_nn_attention_forward(float *out, float *att, const float *qkv, int N, int T, int C,
                              int NH) {
    /* batch- and thread-invariant (no BLAS): S = scale q k^T by lane dots,
     * o = A v by sgm__nn_gemm_det; (sample, head) pairs in parallel */
    assert(N >= 0 && T > 0 && C > 0 && NH > 0 && C % NH == 0);
    int hs = C / NH, C3 = 3 * C;
    float scale = (float)(1.0 / sqrt((double)hs));
    SGM_NN_OMP_FOR2((size_t)N * (size_t)T * (size_t)T * (size_t)C)
    for (int n = 0; n < N; n++) {
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)n * (size_t)T * (size_t)C3 + (size_t)h * (size_t)hs;
            const float *k = q + C, *v = q + 2 * C;
            float *A = att + ((size_t)n * (size_t)NH + (size_t)h) * (size_t)T * (size_t)T;
            float *o = out + (size_t)n * (size_t)T * (size_t)C + (size_t)h * (size_t)hs;
            for (int i = 0; i < T; i++)
                for (int j = 0; j < T; j++)
                    A[(size_t)i * (size_t)T + (size_t)j] =
                        scale * dot_lanes(q + (size_t)i * (size_t)C3, k + (size_t)j * (size_t)C3, hs);
            softmax_rows(A, T);
            /* o (T, hs) = A (T, T) @ v (T, hs), v's rows C3 apart */
            sgm__nn_gemm_det(o, (size_t)C, A, (size_t)T, v, (size_t)C3, NULL, T, hs, T, 0);
        }
    }
}

void sgm_nn_attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv,
                               const float *att, int N, int T, int C, int NH) {
    /* forward: S = scale q k^T; A = softmax_rows(S); o = A v
     * dA = do v^T; dv += A^T do; dS = A * (dA - rowsum(A * dA));
     * dq += scale dS k; dk += scale dS^T q */
    assert(N >= 0 && T > 0 && C > 0 && NH > 0 && C % NH == 0);
    int hs = C / NH, C3 = 3 * C;
    float scale = (float)(1.0 / sqrt((double)hs));
    for (int n = 0; n < N; n++) {
        for (int h = 0; h < NH; h++) {
            size_t qoff = (size_t)n * (size_t)T * (size_t)C3 + (size_t)h * (size_t)hs;
            const float *q = qkv + qoff, *k = q + C, *v = q + 2 * C;
            float *dq = dqkv + qoff, *dk = dq + C, *dv = dq + 2 * C;
            const float *A = att + ((size_t)n * (size_t)NH + (size_t)h) * (size_t)T * (size_t)T;
            const float *dO = dout + (size_t)n * (size_t)T * (size_t)C + (size_t)h * (size_t)hs;
            float *S = scratch;
            /* dA (T, T) = do (T, hs) @ v^T (hs, T) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, 1.0f, dO, C, v, C3,
                        0.0f, S, T);
            /* dv (T, hs) += A^T (T, T) @ do (T, hs) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1.0f, A, T, dO, C,
                        1.0f, dv, C3);
            for (int i = 0; i < T; i++) {
                const float *a = A + (size_t)i * (size_t)T;
                float *s = S + (size_t)i * (size_t)T;
                double dot = 0.0;
                for (int j = 0; j < T; j++) dot += (double)a[j] * s[j];
                for (int j = 0; j < T; j++) s[j] = a[j] * (s[j] - (float)dot);
            }
            /* dq (T, hs) += scale dS (T, T) @ k (T, hs) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, scale, S, T, k, C3,
                        1.0f, dq, C3);
            /* dk (T, hs) += scale dS^T (T, T) @ q (T, hs) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, scale, S, T, q, C3,
                        1.0f, dk, C3);
        }
    }
}
