/* gemm_det.c - a batch- and thread-invariant matrix product for the forward
 * passes of the engine's linear layers and attention.
 *
 * OpenBLAS's sgemm sums each output in an order that depends on the call's
 * shape and thread count (measured: a row's result differs by ~4e-6 with
 * the batch it is in, even over fixed-size blocks), so a network's output
 * for a sample changed, in the last bits, with the batch split and the
 * thread count. Here every output element C[i][j] is
 *   ((0 + A[i][0] Bt[0][j]) + A[i][1] Bt[1][j]) + ... + A[i][K-1] Bt[K-1][j]
 * (then + bias[j]), in exactly that order, whatever M, the tile the element
 * falls in, the SIMD clone or the thread that computes it: the "axpy" form
 * (a row of C is a sum of rows of Bt scaled by A's entries) vectorises over
 * j, so no reduction is ever split. With Bt packed once per call it runs at
 * about 90% of OpenBLAS's sgemm here (1024 x 256 x 256: 112 vs 125 GFLOP/s
 * on one Zen 5 core with the AVX-512 clone).
 *
 * Tiles of 4 rows x 64 columns keep 16 vector accumulators in registers
 * (AVX-512); edge tiles take the same per-element path one row at a time. */
#include <string.h>

#include "nn/nn_internal.h"

#define TM 4
#define TN 64

/* one row of C, columns [j0, j0 + nj), nj <= TN */
static inline void row_tile(float *c, const float *a, const float *Bt, size_t ldb, int j0,
                            int nj, int K) {
    float acc[TN] = {0};
    for (int k = 0; k < K; k++) {
        const float *b = Bt + (size_t)k * ldb + (size_t)j0;
        float x = a[k];
        for (int j = 0; j < nj; j++) acc[j] += x * b[j];
    }
    memcpy(c, acc, (size_t)nj * sizeof(float));
}

SGM_NN_SIMD_CLONES
void sgm__nn_gemm_det(float *C, size_t ldc, const float *A, size_t lda, const float *Bt,
                      size_t ldb, const float *bias, int M, int N, int K, int parallel) {
    assert(M >= 0 && N > 0 && K > 0);
    int mt = (M + TM - 1) / TM, nt = (N + TN - 1) / TN;
    size_t work = (size_t)M * (size_t)N * (size_t)K;
    (void)work;
    (void)parallel; /* without OpenMP */
#ifdef _OPENMP
#pragma omp parallel for collapse(2) schedule(static) if (parallel && work >= SGM_NN_PAR_MIN)
#endif
    for (int ib = 0; ib < mt; ib++) {
        for (int jb = 0; jb < nt; jb++) {
            int i0 = ib * TM, j0 = jb * TN;
            int mi = M - i0 < TM ? M - i0 : TM, nj = N - j0 < TN ? N - j0 : TN;
            if (mi == TM && nj == TN) {
                float c0[TN] = {0}, c1[TN] = {0}, c2[TN] = {0}, c3[TN] = {0};
                const float *a0 = A + (size_t)i0 * lda, *a1 = a0 + lda, *a2 = a1 + lda,
                            *a3 = a2 + lda;
                for (int k = 0; k < K; k++) {
                    const float *b = Bt + (size_t)k * ldb + (size_t)j0;
                    float x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];
                    for (int j = 0; j < TN; j++) {
                        c0[j] += x0 * b[j];
                        c1[j] += x1 * b[j];
                        c2[j] += x2 * b[j];
                        c3[j] += x3 * b[j];
                    }
                }
                memcpy(C + (size_t)i0 * ldc + (size_t)j0, c0, sizeof c0);
                memcpy(C + (size_t)(i0 + 1) * ldc + (size_t)j0, c1, sizeof c1);
                memcpy(C + (size_t)(i0 + 2) * ldc + (size_t)j0, c2, sizeof c2);
                memcpy(C + (size_t)(i0 + 3) * ldc + (size_t)j0, c3, sizeof c3);
            } else {
                for (int r = 0; r < mi; r++)
                    row_tile(C + (size_t)(i0 + r) * ldc + (size_t)j0, A + (size_t)(i0 + r) * lda,
                             Bt, ldb, j0, nj, K);
            }
            if (bias)
                for (int r = 0; r < mi; r++) {
                    float *c = C + (size_t)(i0 + r) * ldc + (size_t)j0;
                    for (int j = 0; j < nj; j++) c[j] += bias[j0 + j];
                }
        }
    }
}

void sgm__nn_pack_transpose(float *Bt, const float *B, int N, int K) {
    /* Bt (K, N) = B (N, K)^T, in 16 x 16 blocks for the caches */
    for (int n0 = 0; n0 < N; n0 += 16)
        for (int k0 = 0; k0 < K; k0 += 16) {
            int n1 = n0 + 16 < N ? n0 + 16 : N, k1 = k0 + 16 < K ? k0 + 16 : K;
            for (int n = n0; n < n1; n++)
                for (int k = k0; k < k1; k++)
                    Bt[(size_t)k * (size_t)N + (size_t)n] = B[(size_t)n * (size_t)K + (size_t)k];
        }
}

void sgm__nn_linear_forward_det(float *out, float *wt, const float *inp, const float *weight,
                                const float *bias, int N, int C, int OC) {
    assert(N >= 0 && C > 0 && OC > 0);
    if (N == 0) return;
    sgm__nn_pack_transpose(wt, weight, OC, C);
    /* out (N, OC) = inp (N, C) @ wt (C, OC) + bias */
    sgm__nn_gemm_det(out, (size_t)OC, inp, (size_t)C, wt, (size_t)OC, bias, N, OC, C, 1);
}
