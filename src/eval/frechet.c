/* frechet.c - Frechet (2-Wasserstein) distance between Gaussians (Dowson &
 * Landau 1982, "The Frechet distance between multivariate normal
 * distributions"; used on features as FID by Heusel et al. 2017, eq. 6):
 *   FD = |m1 - m2|^2 + tr(C1) + tr(C2) - 2 tr((C1^1/2 C2 C1^1/2)^1/2),
 * and the fitted version on two sample sets (sample means, unbiased
 * covariances with n - 1, as numpy.cov and pytorch-fid).
 *
 * Matrix square roots come from a symmetric eigendecomposition by the
 * cyclic Jacobi method (Golub & Van Loan, "Matrix Computations", 4th ed.,
 * sec. 8.5.2-8.5.3: symmetric Schur rotation with the smaller root t, row
 * sweeps until the off-diagonal norm is negligible). C1^1/2 = V diag(sqrt
 * (max(lambda, 0))) V^T; tr(M^1/2) = sum sqrt(max(lambda_i(M), 0)) for the
 * symmetric PSD M = C1^1/2 C2 C1^1/2. Cost O(d^3) per sweep, a handful of
 * sweeps: meant for d up to a few hundred.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_internal.h"

sgm_status sgm_sym_eigen(size_t d, const double *in, double *evals, double *evecs,
                         sgm_error *err) {
    if (!in || !evals)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "eigen: NULL argument");
    if (d < 1 || d > 65536)
        return sgm__set_error(err, SGM_ERR_SHAPE, "eigen: bad dimension %zu", d);
    double *A = malloc(d * d * sizeof *A), *V = malloc(d * d * sizeof *V);
    size_t *ord = malloc(d * sizeof *ord);
    if (!A || !V || !ord) {
        free(A);
        free(V);
        free(ord);
        return sgm__set_error(err, SGM_ERR_NOMEM, "eigen: out of memory");
    }
    double fro = 0;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double v = j >= i ? in[i * d + j] : in[j * d + i]; /* upper triangle */
            A[i * d + j] = v;
            V[i * d + j] = i == j;
            fro += v * v;
        }
    sgm_status st = SGM_OK;
    if (!isfinite(fro)) {
        st = sgm__set_error(err, SGM_ERR_NONFINITE, "eigen: matrix has non-finite entries");
        goto done;
    }
    int converged = 0;
    for (int sweep = 0; sweep < 100 && !converged; sweep++) {
        double off = 0;
        for (size_t p = 0; p < d; p++)
            for (size_t q = p + 1; q < d; q++) off += A[p * d + q] * A[p * d + q];
        /* stop when the off-diagonal part is below round-off of the matrix */
        if (off <= 1e-32 * fro) {
            converged = 1;
            break;
        }
        for (size_t p = 0; p < d; p++)
            for (size_t q = p + 1; q < d; q++) {
                double apq = A[p * d + q];
                if (apq == 0) continue;
                double theta = (A[q * d + q] - A[p * d + p]) / (2 * apq);
                double t = fabs(theta) > 1e150
                               ? 0.5 / theta
                               : (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double cs = 1 / sqrt(t * t + 1), sn = t * cs;
                for (size_t k = 0; k < d; k++) { /* A <- A J (columns p, q) */
                    double akp = A[k * d + p], akq = A[k * d + q];
                    A[k * d + p] = cs * akp - sn * akq;
                    A[k * d + q] = sn * akp + cs * akq;
                }
                for (size_t k = 0; k < d; k++) { /* A <- J^T A (rows p, q) */
                    double apk = A[p * d + k], aqk = A[q * d + k];
                    A[p * d + k] = cs * apk - sn * aqk;
                    A[q * d + k] = sn * apk + cs * aqk;
                }
                A[p * d + q] = A[q * d + p] = 0;
                for (size_t k = 0; k < d; k++) { /* V <- V J */
                    double vkp = V[k * d + p], vkq = V[k * d + q];
                    V[k * d + p] = cs * vkp - sn * vkq;
                    V[k * d + q] = sn * vkp + cs * vkq;
                }
            }
    }
    if (!converged) {
        st = sgm__set_error(err, SGM_ERR_NO_CONVERGENCE, "eigen: Jacobi did not converge");
        goto done;
    }
    for (size_t i = 0; i < d; i++) ord[i] = i;
    for (size_t i = 1; i < d; i++) { /* insertion sort of the eigenvalues */
        size_t o = ord[i], j = i;
        while (j > 0 && A[ord[j - 1] * d + ord[j - 1]] > A[o * d + o]) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = o;
    }
    for (size_t j = 0; j < d; j++) {
        evals[j] = A[ord[j] * d + ord[j]];
        if (evecs)
            for (size_t k = 0; k < d; k++) evecs[k * d + j] = V[k * d + ord[j]];
    }
done:
    free(A);
    free(V);
    free(ord);
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

/* Weighted mean and covariance (multiplicities w, NULL = 1; divisor n - 1). */
static void mean_cov(const double *x, size_t n, size_t d, const uint32_t *w, double *m,
                     double *cov) {
    memset(m, 0, d * sizeof *m);
    memset(cov, 0, d * d * sizeof *cov);
    for (size_t i = 0; i < n; i++) {
        double wi = w ? (double)w[i] : 1;
        for (size_t j = 0; j < d; j++) m[j] += wi * x[i * d + j];
    }
    for (size_t j = 0; j < d; j++) m[j] /= (double)n;
    SGM__EV_PRAGMA("omp parallel for schedule(static) if(d >= 16)")
    for (size_t j = 0; j < d; j++)
        for (size_t i = 0; i < n; i++) {
            double wi = w ? (double)w[i] : 1;
            if (wi == 0) continue;
            double cj = wi * (x[i * d + j] - m[j]);
            for (size_t k = j; k < d; k++) cov[j * d + k] += cj * (x[i * d + k] - m[k]);
        }
    for (size_t j = 0; j < d; j++)
        for (size_t k = j; k < d; k++) {
            cov[j * d + k] /= (double)(n - 1);
            cov[k * d + j] = cov[j * d + k];
        }
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
    mean_cov(a, na, d, NULL, ma, ca);
    mean_cov(b, nb, d, NULL, mb, cb);
    st = sgm_frechet_gaussians(d, ma, ca, mb, cb, &r.value, err);
    if (st) goto done;
    for (size_t rr = 0; rr < B; rr++) {
        sgm__ev_boot_counts(c.seed, rr, 0, na, cnt, u);
        mean_cov(a, na, d, cnt, ma, ca);
        sgm__ev_boot_counts(c.seed, rr, 1, nb, cnt, u);
        mean_cov(b, nb, d, cnt, mb, cb);
        st = sgm_frechet_gaussians(d, ma, ca, mb, cb, &rep[rr], err);
        if (st) goto done;
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
