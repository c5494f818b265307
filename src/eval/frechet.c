/* frechet.c - Frechet (2-Wasserstein) distance between Gaussians (Dowson &
 * Landau 1982, "The Frechet distance between multivariate normal
 * distributions"; used on features as FID by Heusel et al. 2017, eq. 6):
 *   FD = |m1 - m2|^2 + tr(C1) + tr(C2) - 2 tr((C1^1/2 C2 C1^1/2)^1/2),
 * and the fitted version on two sample sets (sample means, unbiased
 * covariances with n - 1, as numpy.cov and pytorch-fid).
 *
 * Matrix square roots come from a symmetric eigendecomposition (LAPACK
 * dsyevd: Householder tridiagonalisation and divide and conquer, Golub &
 * Van Loan, "Matrix Computations", 4th ed., sec. 8.3 and 8.4.4). C1^1/2 = V
 * diag(sqrt(max(lambda, 0))) V^T; tr(M^1/2) = sum sqrt(max(lambda_i(M), 0))
 * for the symmetric PSD M = C1^1/2 C2 C1^1/2 (not the non-symmetric C1 C2,
 * whose general square root is less stable). Cost O(d^3).
 * Sharded (sgm_metric_config.shard_*): the rows of the two covariances (each
 * entry the same sum over the samples in order), then the bootstrap
 * replicates; the means and eigendecompositions run on every shard.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_internal.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* LAPACK (Fortran interface, exported by Debian's OpenBLAS, which sgm links
 * for cblas anyway): divide-and-conquer symmetric eigensolver. LP64
 * integers (Debian's 64-bit-integer build has suffixed names, dsyevd_64_);
 * the trailing size_t are gfortran's hidden lengths of the two strings. */
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a,
                    const int *lda, double *w, double *work, const int *lwork, int *iwork,
                    const int *liwork, int *info, size_t jobz_len, size_t uplo_len);

sgm_status sgm_sym_eigen(size_t d, const double *in, double *evals, double *evecs,
                         sgm_error *err) {
    if (!in || !evals)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "eigen: NULL argument");
    if (d < 1 || d > 65536)
        return sgm__set_error(err, SGM_ERR_SHAPE, "eigen: bad dimension %zu", d);
    for (size_t i = 0; i < d; i++)
        for (size_t j = i; j < d; j++)
            if (!isfinite(in[i * d + j]))
                return sgm__set_error(err, SGM_ERR_NONFINITE,
                                      "eigen: matrix has non-finite entries");
    /* The row-major upper triangle read column-major is the lower one: uplo
     * 'L' on the row-major copy; eigenvectors come back in its columns. */
    const char jobz = evecs ? 'V' : 'N', uplo = 'L';
    const int n = (int)d;
    int lwork = -1, liwork = -1, iwq = 0, info = 0;
    double wq = 0, a0 = 0, w0 = 0; /* workspace query: a, w not referenced */
    dsyevd_(&jobz, &uplo, &n, &a0, &n, &w0, &wq, &lwork, &iwq, &liwork, &info, 1, 1);
    /* 1 + 6d + 2d^2 doubles with eigenvectors: past int beyond d ~ 32767 */
    if (info != 0 || !(wq >= 1 && wq < 2147483647.0) || iwq < 1)
        return sgm__set_error(err, SGM_ERR_SHAPE, "eigen: dimension %zu too large for LAPACK", d);
    lwork = (int)wq;
    liwork = iwq;
    double *A = malloc(d * d * sizeof *A), *work = malloc((size_t)lwork * sizeof *work);
    int *iwork = malloc((size_t)liwork * sizeof *iwork);
    sgm_status st = SGM_OK;
    if (!A || !work || !iwork) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "eigen: out of memory");
        goto done;
    }
    memcpy(A, in, d * d * sizeof *A);
    /* One thread: the OpenMP OpenBLAS takes its thread count from this
     * thread's OpenMP setting, and its threaded kernels move the last bits
     * with the count; single-threaded, the FD is the same for any --threads
     * (a pthreads OpenBLAS, the fallback, follows OPENBLAS_NUM_THREADS). */
#ifdef _OPENMP
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
    dsyevd_(&jobz, &uplo, &n, A, &n, evals, work, &lwork, iwork, &liwork, &info, 1, 1);
#ifdef _OPENMP
    omp_set_num_threads(nt);
#endif
    if (info != 0) {
        st = info > 0 ? sgm__set_error(err, SGM_ERR_NO_CONVERGENCE,
                                       "eigen: LAPACK dsyevd did not converge (info %d)", info)
                      : sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                       "eigen: LAPACK dsyevd argument %d invalid", -info);
        goto done;
    }
    if (evecs) /* column-major Z(k, j) = A[j d + k] to row-major evecs[k d + j] */
        for (size_t j = 0; j < d; j++)
            for (size_t k = 0; k < d; k++) evecs[k * d + j] = A[j * d + k];
done:
    free(A);
    free(work);
    free(iwork);
    return st;
}

sgm_status sgm_frechet_gaussians(size_t d, const double *m1, const double *c1,
                                 const double *m2, const double *c2, double *out,
                                 sgm_error *err) {
    if (!m1 || !c1 || !m2 || !c2 || !out)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "fd: NULL argument");
    if (d < 1 || d > 65536) return sgm__set_error(err, SGM_ERR_SHAPE, "fd: bad dimension %zu", d);
    for (size_t i = 0; i < d * d; i++)
        if (!isfinite(c1[i]) || !isfinite(c2[i]) || (i < d && (!isfinite(m1[i]) || !isfinite(m2[i]))))
            return sgm__set_error(err, SGM_ERR_NONFINITE, "fd: non-finite mean or covariance");
    double *ev = malloc(d * sizeof *ev), *V = malloc(d * d * sizeof *V);
    double *S = malloc(d * d * sizeof *S), *T = malloc(d * d * sizeof *T);
    double *M = malloc(d * d * sizeof *M);
    sgm_status st = SGM_OK;
    if (!ev || !V || !S || !T || !M) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "fd: out of memory");
        goto done;
    }
    st = sgm_sym_eigen(d, c1, ev, V, err);
    if (st) goto done;
    for (size_t j = 0; j < d; j++) ev[j] = sqrt(ev[j] > 0 ? ev[j] : 0);
    for (size_t i = 0; i < d; i++) /* S = V diag(ev) V^T = C1^1/2 */
        for (size_t k = i; k < d; k++) {
            double s = 0;
            for (size_t j = 0; j < d; j++) s += V[i * d + j] * ev[j] * V[k * d + j];
            S[i * d + k] = S[k * d + i] = s;
        }
    for (size_t i = 0; i < d; i++) /* T = S C2 (C2 symmetrised) */
        for (size_t k = 0; k < d; k++) {
            double s = 0;
            for (size_t j = 0; j < d; j++)
                s += S[i * d + j] * 0.5 * (c2[j * d + k] + c2[k * d + j]);
            T[i * d + k] = s;
        }
    for (size_t i = 0; i < d; i++) /* M = T S, symmetric */
        for (size_t k = i; k < d; k++) {
            double s = 0;
            for (size_t j = 0; j < d; j++) s += T[i * d + j] * S[j * d + k];
            M[i * d + k] = M[k * d + i] = s;
        }
    st = sgm_sym_eigen(d, M, ev, NULL, err);
    if (st) goto done;
    double trs = 0, tr = 0, dm = 0;
    for (size_t j = 0; j < d; j++) {
        trs += sqrt(ev[j] > 0 ? ev[j] : 0);
        tr += c1[j * d + j] + c2[j * d + j];
        dm += (m1[j] - m2[j]) * (m1[j] - m2[j]);
    }
    *out = dm + tr - 2 * trs;
done:
    free(ev);
    free(V);
    free(S);
    free(T);
    free(M);
    return st;
}

/* Weighted mean and covariance (multiplicities w, NULL = 1; divisor n - 1):
 * the mean and the upper triangle of rows [j0, j1) of n - 1 times the
 * covariance (cov_finish completes it). */
static void mean_cov_rows(const double *x, size_t n, size_t d, const uint32_t *w, double *m,
                          double *cov, size_t j0, size_t j1) {
    memset(m, 0, d * sizeof *m);
    memset(cov, 0, d * d * sizeof *cov);
    for (size_t i = 0; i < n; i++) {
        double wi = w ? (double)w[i] : 1;
        for (size_t j = 0; j < d; j++) m[j] += wi * x[i * d + j];
    }
    for (size_t j = 0; j < d; j++) m[j] /= (double)n;
    SGM__EV_PRAGMA("omp parallel for schedule(static) if(d >= 16)")
    for (size_t j = j0; j < j1; j++)
        for (size_t i = 0; i < n; i++) {
            double wi = w ? (double)w[i] : 1;
            if (wi == 0) continue;
            double cj = wi * (x[i * d + j] - m[j]);
            for (size_t k = j; k < d; k++) cov[j * d + k] += cj * (x[i * d + k] - m[k]);
        }
}

static void cov_finish(double *cov, size_t n, size_t d) {
    for (size_t j = 0; j < d; j++)
        for (size_t k = j; k < d; k++) {
            cov[j * d + k] /= (double)(n - 1);
            cov[k * d + j] = cov[j * d + k];
        }
}

static void mean_cov(const double *x, size_t n, size_t d, const uint32_t *w, double *m,
                     double *cov) {
    mean_cov_rows(x, n, d, w, m, cov, 0, d);
    cov_finish(cov, n, d);
}

sgm_status sgm_metric_fd(const double *a, size_t na, const double *b, size_t nb, size_t d,
                         const sgm_metric_config *cfg, sgm_metric_result *out,
                         sgm_error *err) {
    sgm_metric_config c;
    sgm_status st = sgm__ev_config(cfg, &c, err);
    if (st) return st;
    if (!out) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "fd: out is NULL");
    st = sgm__ev_check_pair("fd", a, na, b, nb, d, 2, err);
    if (st) return st;
    if (d > 4096) return sgm__set_error(err, SGM_ERR_SHAPE, "fd: dimension %zu > 4096", d);
    size_t B = c.n_bootstrap, nmax = na > nb ? na : nb;
    double *ma = malloc(d * sizeof *ma), *mb = malloc(d * sizeof *mb);
    double *ca = malloc(d * d * sizeof *ca), *cb = malloc(d * d * sizeof *cb);
    uint32_t *cnt = B ? malloc(nmax * sizeof *cnt) : NULL;
    double *u = B ? malloc(nmax * sizeof *u) : NULL, *rep = B ? malloc(B * sizeof *rep) : NULL;
    sgm_metric_result r = sgm__ev_result_nan();
    if (!ma || !mb || !ca || !cb || (B && (!cnt || !u || !rep))) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "fd: out of memory");
        goto done;
    }
    size_t lo, hi;
    sgm__ev_share(&c, d, &lo, &hi);
    mean_cov_rows(a, na, d, NULL, ma, ca, lo, hi);
    mean_cov_rows(b, nb, d, NULL, mb, cb, lo, hi);
    if ((st = sgm__ev_gather(&c, ca, d, d, "fd", err)) ||
        (st = sgm__ev_gather(&c, cb, d, d, "fd", err)))
        goto done;
    cov_finish(ca, na, d);
    cov_finish(cb, nb, d);
    st = sgm_frechet_gaussians(d, ma, ca, mb, cb, &r.value, err);
    if (st) goto done;
    sgm__ev_share(&c, B, &lo, &hi);
    size_t bad = B; /* sharded: the first replicate of this shard that failed */
    sgm_status bad_st = SGM_OK;
    for (size_t rr = lo; rr < hi; rr++) {
        if (bad < B) { /* keep the first failure's message */
            rep[rr] = NAN;
            continue;
        }
        sgm__ev_boot_counts(c.seed, rr, 0, na, cnt, u);
        mean_cov(a, na, d, cnt, ma, ca);
        sgm__ev_boot_counts(c.seed, rr, 1, nb, cnt, u);
        mean_cov(b, nb, d, cnt, mb, cb);
        st = sgm_frechet_gaussians(d, ma, ca, mb, cb, &rep[rr], err);
        if (st && c.shard_size <= 1) goto done;
        if (st) { /* the other shards wait in the gather: fail after it */
            rep[rr] = NAN;
            bad = rr;
            bad_st = st;
            st = SGM_OK;
        }
    }
    if (B && (st = sgm__ev_gather(&c, rep, B, 1, "fd", err))) goto done;
    for (size_t rr = 0; rr < B; rr++)
        if (isnan(rep[rr])) { /* the message of this shard's failure, else a plain one */
            st = rr == bad ? bad_st
                           : sgm__set_error(err, SGM_ERR_NONFINITE,
                                            "fd: bootstrap replicate %zu failed", rr);
            goto done;
        }
    if (B) {
        sgm__ev_interval(rep, B, c.level, &r.lo, &r.hi);
        r.n_boot = B;
    }
    *out = r;
done:
    free(ma);
    free(mb);
    free(ca);
    free(cb);
    free(cnt);
    free(u);
    free(rep);
    return st;
}
