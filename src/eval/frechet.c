/* frechet.c - Frechet (2-Wasserstein) distance between Gaussians (Dowson &
 * Landau 1982, "The Frechet distance between multivariate normal
 * distributions"; used on features as FID by Heusel et al. 2017, eq. 6):
 *   FD = |m1 - m2|^2 + tr(C1) + tr(C2) - 2 tr((C1^1/2 C2 C1^1/2)^1/2),
 * and the fitted version on two sample sets (sample means, unbiased
 * covariances with n - 1, as numpy.cov and pytorch-fid).
 *
 * Matrix square roots come from a symmetric eigendecomposition: Householder
 * tridiagonalisation and implicit QR steps with the Wilkinson shift (Golub &
 * Van Loan, "Matrix Computations", 4th ed., sec. 8.3). C1^1/2 = V diag(sqrt
 * (max(lambda, 0))) V^T; tr(M^1/2) = sum sqrt(max(lambda_i(M), 0)) for the
 * symmetric PSD M = C1^1/2 C2 C1^1/2. Cost O(d^3) (single-threaded).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_internal.h"

/* A = Z^T T Z: Householder reduction of the symmetric a (full storage,
 * destroyed) to tridiagonal (diag dg, sub-diagonal off), Z accumulated with
 * orthonormal rows (Golub & Van Loan, sec. 8.3.1). Row-major, contiguous
 * inner loops. v, p: scratch [d]. */
static void tridiag(size_t d, double *a, double *z, double *dg, double *off, double *v,
                    double *p) {
    for (size_t i = 0; i < d * d; i++) z[i] = 0;
    for (size_t i = 0; i < d; i++) z[i * d + i] = 1;
    for (size_t k = 0; k + 2 < d; k++) {
        size_t m = d - k - 1, o = k + 1; /* trailing block [o, d) */
        const double *x = a + k * d + o;  /* row k right of the diagonal = column k */
        double nrm = 0;
        for (size_t i = 0; i < m; i++) nrm += x[i] * x[i];
        nrm = sqrt(nrm);
        if (nrm == 0) continue;
        double alpha = x[0] > 0 ? -nrm : nrm; /* sign avoids cancellation in v0 */
        for (size_t i = 0; i < m; i++) v[i] = x[i];
        v[0] -= alpha;
        double vn = 0;
        for (size_t i = 0; i < m; i++) vn += v[i] * v[i];
        vn = sqrt(vn);
        if (vn == 0) continue;
        for (size_t i = 0; i < m; i++) v[i] /= vn;
        /* S <- H S H = S - 2 (v w^T + w v^T), w = S v - (v^T S v) v */
        double kk = 0;
        for (size_t i = 0; i < m; i++) {
            const double *row = a + (o + i) * d + o;
            double t = 0;
            for (size_t j = 0; j < m; j++) t += row[j] * v[j];
            p[i] = t;
            kk += v[i] * t;
        }
        for (size_t i = 0; i < m; i++) p[i] -= kk * v[i];
        for (size_t i = 0; i < m; i++) {
            double *row = a + (o + i) * d + o;
            for (size_t j = 0; j < m; j++) row[j] -= 2 * (v[i] * p[j] + p[i] * v[j]);
        }
        a[k * d + o] = a[o * d + k] = alpha;
        for (size_t i = 1; i < m; i++) a[k * d + o + i] = a[(o + i) * d + k] = 0;
        /* Z <- H Z on rows [o, d) */
        double *u = p;
        for (size_t j = 0; j < d; j++) u[j] = 0;
        for (size_t i = 0; i < m; i++) {
            const double *zr = z + (o + i) * d;
            for (size_t j = 0; j < d; j++) u[j] += v[i] * zr[j];
        }
        for (size_t i = 0; i < m; i++) {
            double *zr = z + (o + i) * d;
            for (size_t j = 0; j < d; j++) zr[j] -= 2 * v[i] * u[j];
        }
    }
    for (size_t i = 0; i < d; i++) dg[i] = a[i * d + i];
    for (size_t i = 0; i + 1 < d; i++) off[i] = a[(i + 1) * d + i];
}

/* Implicit symmetric QR steps with the Wilkinson shift on the tridiagonal
 * (dg, off) (Golub & Van Loan, Alg. 8.3.2 and 8.3.3), chasing the bulge with
 * Givens rotations P in planes (k, k + 1): T <- P T P^T, Z <- P Z. */
static int tridiag_qr(size_t d, double *dg, double *off, double *z) {
    const double eps = 2.220446049250313e-16;
    size_t hi = d - 1, iter = 0, max_iter = 60 * d + 60;
    while (hi > 0) {
        if (fabs(off[hi - 1]) <= eps * (fabs(dg[hi - 1]) + fabs(dg[hi]))) {
            off[hi - 1] = 0; /* deflate: dg[hi] is an eigenvalue */
            hi--;
            continue;
        }
        if (++iter > max_iter) return -1;
        size_t lo = hi - 1;
        while (lo > 0 && fabs(off[lo - 1]) > eps * (fabs(dg[lo - 1]) + fabs(dg[lo]))) lo--;
        if (lo > 0) off[lo - 1] = 0;
        double dd = 0.5 * (dg[hi - 1] - dg[hi]), bb = off[hi - 1];
        double mu = dg[hi] - bb * bb / (dd + (dd >= 0 ? 1 : -1) * hypot(dd, bb));
        double x = dg[lo] - mu, zz = off[lo];
        for (size_t k = lo; k < hi; k++) {
            double r = hypot(x, zz), c = 1, s = 0;
            if (r > 0) {
                c = x / r;
                s = zz / r;
            }
            if (k > lo) off[k - 1] = r;
            double ak = dg[k], ak1 = dg[k + 1], bk = off[k];
            dg[k] = c * c * ak + 2 * c * s * bk + s * s * ak1;
            dg[k + 1] = s * s * ak - 2 * c * s * bk + c * c * ak1;
            off[k] = c * s * (ak1 - ak) + (c * c - s * s) * bk;
            if (k + 1 < hi) { /* the bulge moves to (k + 2, k) */
                x = off[k];
                zz = s * off[k + 1];
                off[k + 1] *= c;
            }
            double *z0 = z + k * d, *z1 = z + (k + 1) * d;
            for (size_t j = 0; j < d; j++) {
                double u0 = z0[j], u1 = z1[j];
                z0[j] = c * u0 + s * u1;
                z1[j] = -s * u0 + c * u1;
            }
        }
    }
    return 0;
}

sgm_status sgm_sym_eigen(size_t d, const double *in, double *evals, double *evecs,
                         sgm_error *err) {
    if (!in || !evals)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "eigen: NULL argument");
    if (d < 1 || d > 65536)
        return sgm__set_error(err, SGM_ERR_SHAPE, "eigen: bad dimension %zu", d);
    double *A = malloc(d * d * sizeof *A), *Z = malloc(d * d * sizeof *Z);
    double *w = malloc(4 * d * sizeof *w);
    size_t *ord = malloc(d * sizeof *ord);
    sgm_status st = SGM_OK;
    if (!A || !Z || !w || !ord) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "eigen: out of memory");
        goto done;
    }
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double v = j >= i ? in[i * d + j] : in[j * d + i]; /* upper triangle */
            if (!isfinite(v)) {
                st = sgm__set_error(err, SGM_ERR_NONFINITE, "eigen: matrix has non-finite entries");
                goto done;
            }
            A[i * d + j] = v;
        }
    double *dg = w, *off = w + d, *v = w + 2 * d, *p = w + 3 * d;
    tridiag(d, A, Z, dg, off, v, p);
    if (tridiag_qr(d, dg, off, Z)) {
        st = sgm__set_error(err, SGM_ERR_NO_CONVERGENCE, "eigen: QR iteration did not converge");
        goto done;
    }
    for (size_t i = 0; i < d; i++) ord[i] = i;
    for (size_t i = 1; i < d; i++) { /* insertion sort of the eigenvalues */
        size_t o = ord[i], j = i;
        while (j > 0 && dg[ord[j - 1]] > dg[o]) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = o;
    }
    for (size_t j = 0; j < d; j++) {
        evals[j] = dg[ord[j]];
        if (evecs)
            for (size_t k = 0; k < d; k++) evecs[k * d + j] = Z[ord[j] * d + k];
    }
done:
    free(A);
    free(Z);
    free(w);
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
