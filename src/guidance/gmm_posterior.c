/* gmm_posterior.c - the exact posterior of a Gaussian-mixture prior
 * (diagonal covariances, sgm_gmm) under a linear-Gaussian measurement
 * y = A x + sigma_y n (Bishop, PRML sec. 2.3.3, per component, with the
 * evidence N(y; A mu_k, A S_k A^T + sigma_y^2 I) weighting the components,
 * computed in information form so that zero rows of A are harmless), and its
 * noisy-posterior denoiser E[x0 | x0 + sigma n = x, y] (Tweedie's formula for
 * a full-covariance mixture: each C_k = U_k diag(l_k) U_k^T once, then
 * E_k = m_k + U_k diag(l / (l + sigma^2)) U_k^T (x - m_k) for every sigma).
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "sgm/sgm_eval.h"
#include "sgm/sgm_guidance.h"

struct sgm_gmm_posterior {
    size_t k, d;
    double *w, *logw; /* [k] */
    double *m;        /* [k, d] */
    double *C;        /* [k, d, d] */
    double *U;        /* [k, d, d] eigenvectors of C_k in columns */
    double *l;        /* [k, d] eigenvalues of C_k */
    double *mean;     /* [d] mixture mean */
};

static const double LOG2PI = 1.8378770664093454836;
#define CHUNK 256

void sgm_gmm_posterior_free(sgm_gmm_posterior *p) {
    if (!p) return;
    free(p->w);
    free(p->logw);
    free(p->m);
    free(p->C);
    free(p->U);
    free(p->l);
    free(p->mean);
    free(p);
}

size_t sgm_gmm_posterior_dim(const sgm_gmm_posterior *p) { return p->d; }
size_t sgm_gmm_posterior_components(const sgm_gmm_posterior *p) { return p->k; }
const double *sgm_gmm_posterior_weights(const sgm_gmm_posterior *p) { return p->w; }
const double *sgm_gmm_posterior_means(const sgm_gmm_posterior *p) { return p->m; }
const double *sgm_gmm_posterior_covs(const sgm_gmm_posterior *p) { return p->C; }

/* One component: P = diag(1 / s^2) + AtA / sy2 = V diag(pe) V^T,
 * C = V diag(1 / pe) V^T, m = C b with b = mu / s^2 + Aty / sy2; returns the
 * k-dependent part of log N(y; A mu, A S A^T + sy2 I). */
static sgm_status component(sgm_gmm_posterior *p, size_t c, const double *AtA,
                            const double *Aty, double yy, double sy2, double logw_prior,
                            const double *mu, const double *sd, double *P, double *b,
                            sgm_error *err) {
    size_t d = p->d;
    double *U = p->U + c * d * d, *l = p->l + c * d, *C = p->C + c * d * d, *m = p->m + c * d;
    double quad_mu = 0, logdet_s = 0;
    for (size_t i = 0; i < d; i++) {
        for (size_t j = 0; j < d; j++) P[i * d + j] = AtA[i * d + j] / sy2;
        double v = sd[i] * sd[i];
        P[i * d + i] += 1 / v;
        b[i] = mu[i] / v + Aty[i] / sy2;
        quad_mu += mu[i] * mu[i] / v;
        logdet_s += log(v);
    }
    sgm_status st = sgm_sym_eigen(d, P, l, U, err);
    if (st) return st;
    double logdet_p = 0;
    for (size_t j = 0; j < d; j++) {
        if (!(l[j] > 0))
            return sgm__set_error(err, SGM_ERR_NONFINITE,
                                  "posterior: precision of component %zu not positive", c);
        logdet_p += log(l[j]);
        l[j] = 1 / l[j];
    }
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double s = 0;
            for (size_t q = 0; q < d; q++) s += U[i * d + q] * l[q] * U[j * d + q];
            C[i * d + j] = s;
        }
    double bm = 0;
    for (size_t i = 0; i < d; i++) {
        double s = 0;
        for (size_t j = 0; j < d; j++) s += C[i * d + j] * b[j];
        m[i] = s;
    }
    for (size_t i = 0; i < d; i++) bm += b[i] * m[i];
    p->logw[c] = logw_prior - 0.5 * (quad_mu + yy / sy2 - bm) - 0.5 * logdet_s - 0.5 * logdet_p;
    return SGM_OK;
}

sgm_status sgm_gmm_posterior_create(const sgm_gmm *prior, const sgm_operator *op,
                                    const double *y, double sigma_y,
                                    sgm_gmm_posterior **out, sgm_error *err) {
    if (!out) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "posterior: NULL argument");
    *out = NULL;
    if (!prior || !op || !y)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "posterior: NULL argument");
    size_t d = sgm_gmm_dim(prior), K = sgm_gmm_components(prior), m = sgm_operator_out_dim(op);
    if (sgm_operator_in_dim(op) != d)
        return sgm__set_error(err, SGM_ERR_SHAPE,
                              "posterior: operator takes %zu values, the prior has %zu",
                              sgm_operator_in_dim(op), d);
    if (!sgm_operator_is_linear(op))
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                              "posterior: the exact posterior needs a linear operator");
    if (!(sigma_y > 0 && isfinite(sigma_y)))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "posterior: sigma_y is %g (the exact posterior needs > 0)", sigma_y);
    for (size_t i = 0; i < m; i++)
        if (!isfinite(y[i]))
            return sgm__set_error(err, SGM_ERR_NONFINITE, "posterior: y[%zu] is not finite", i);
    sgm_gmm_posterior *p = sgm__calloc(1, sizeof *p);
    double *A = malloc(m * d * sizeof *A), *AtA = malloc(d * d * sizeof *AtA);
    double *Aty = sgm__calloc(d, sizeof *Aty), *P = malloc(d * d * sizeof *P);
    double *b = malloc(d * sizeof *b);
    sgm_status st = SGM_OK;
    if (!p || !A || !AtA || !Aty || !P || !b) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
        goto done;
    }
    p->k = K;
    p->d = d;
    p->w = malloc(K * sizeof *p->w);
    p->logw = malloc(K * sizeof *p->logw);
    p->m = malloc(K * d * sizeof *p->m);
    p->C = malloc(K * d * d * sizeof *p->C);
    p->U = malloc(K * d * d * sizeof *p->U);
    p->l = malloc(K * d * sizeof *p->l);
    p->mean = sgm__calloc(d, sizeof *p->mean);
    if (!p->w || !p->logw || !p->m || !p->C || !p->U || !p->l || !p->mean) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
        goto done;
    }
    st = sgm_operator_matrix(op, A, err);
    if (st) goto done;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)m, 1.0, A, (int)d,
                A, (int)d, 0.0, AtA, (int)d);
    double yy = 0;
    for (size_t j = 0; j < m; j++) {
        yy += y[j] * y[j];
        for (size_t i = 0; i < d; i++) Aty[i] += A[j * d + i] * y[j];
    }
    const double *pw = sgm_gmm_weights(prior), *pm = sgm_gmm_means(prior),
                 *ps = sgm_gmm_stds(prior);
    double mx = -INFINITY;
    for (size_t c = 0; c < K && !st; c++) {
        double lw = pw[c] > 0 ? log(pw[c]) : -INFINITY;
        st = component(p, c, AtA, Aty, yy, sigma_y * sigma_y, lw, pm + c * d, ps + c * d, P, b,
                       err);
        if (!st && p->logw[c] > mx) mx = p->logw[c];
    }
    if (st) goto done;
    double z = 0;
    for (size_t c = 0; c < K; c++) z += exp(p->logw[c] - mx);
    for (size_t c = 0; c < K; c++) {
        p->logw[c] -= mx + log(z);
        p->w[c] = exp(p->logw[c]);
        for (size_t i = 0; i < d; i++) p->mean[i] += p->w[c] * p->m[c * d + i];
    }
done:
    free(A);
    free(AtA);
    free(Aty);
    free(P);
    free(b);
    if (st) sgm_gmm_posterior_free(p);
    else *out = p;
    return st;
}

void sgm_gmm_posterior_moments(const sgm_gmm_posterior *p, double *mean, double *cov) {
    size_t d = p->d;
    if (mean) memcpy(mean, p->mean, d * sizeof *mean);
    if (!cov) return;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double s = -p->mean[i] * p->mean[j];
            for (size_t c = 0; c < p->k; c++)
                s += p->w[c] * (p->C[(c * d + i) * d + j] + p->m[c * d + i] * p->m[c * d + j]);
            cov[i * d + j] = s;
        }
}

/* For rows [0, n) (n <= CHUNK): z[c] = (x - m_c) U_c ([n, d] per component) and
 * lq[n, k] = log w'_c + log N(x; m_c, C_c + s2 I). */
static void project_rows(const sgm_gmm_posterior *p, size_t n, const double *x, double s2,
                         double *z, double *lq) {
    size_t d = p->d, K = p->k;
    for (size_t c = 0; c < K; c++) {
        double *zc = z + c * n * d;
        for (size_t r = 0; r < n; r++)
            for (size_t i = 0; i < d; i++) zc[r * d + i] = x[r * d + i] - p->m[c * d + i];
        double *t = zc + 0; /* in place through a copy */
        double *tmp = lq + n * K; /* scratch after lq: n d values */
        memcpy(tmp, t, n * d * sizeof *tmp);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)d, 1.0, tmp,
                    (int)d, p->U + c * d * d, (int)d, 0.0, zc, (int)d);
        const double *l = p->l + c * d;
        double base = 0;
        for (size_t j = 0; j < d; j++) base += log(l[j] + s2);
        for (size_t r = 0; r < n; r++) {
            double q = 0;
            for (size_t j = 0; j < d; j++) q += zc[r * d + j] * zc[r * d + j] / (l[j] + s2);
            lq[r * K + c] = p->logw[c] - 0.5 * (q + base + (double)d * LOG2PI);
        }
    }
}

/* mode 0: denoise (out [n, d]); 1: logpdf (out [n]); 2: responsibilities (out [n, k]) */
static void run(const sgm_gmm_posterior *p, size_t n, const double *x, double sigma,
                double *out, int mode) {
    size_t d = p->d, K = p->k, s2n = CHUNK;
    double s2 = sigma * sigma;
    double *z = malloc(K * s2n * d * sizeof *z), *lq = malloc((s2n * K + s2n * d) * sizeof *lq);
    double *acc = malloc(s2n * d * sizeof *acc);
    if (!z || !lq || !acc) {
        for (size_t i = 0; i < n * (mode == 0 ? d : mode == 1 ? 1 : K); i++) out[i] = NAN;
        goto done;
    }
    for (size_t r0 = 0; r0 < n; r0 += CHUNK) {
        size_t nn = n - r0 < CHUNK ? n - r0 : CHUNK;
        const double *xr = x + r0 * d;
        project_rows(p, nn, xr, s2, z, lq);
        for (size_t r = 0; r < nn; r++) { /* softmax in place, log-normaliser kept */
            double mx = -INFINITY, s = 0;
            for (size_t c = 0; c < K; c++) mx = lq[r * K + c] > mx ? lq[r * K + c] : mx;
            for (size_t c = 0; c < K; c++) s += exp(lq[r * K + c] - mx);
            if (mode == 1) {
                out[r0 + r] = mx + log(s);
                continue;
            }
            for (size_t c = 0; c < K; c++) lq[r * K + c] = exp(lq[r * K + c] - mx) / s;
        }
        if (mode == 1) continue;
        if (mode == 2) {
            memcpy(out + r0 * K, lq, nn * K * sizeof *out);
            continue;
        }
        double *o = out + r0 * d;
        memset(o, 0, nn * d * sizeof *o);
        for (size_t c = 0; c < K; c++) {
            double *zc = z + c * nn * d;
            const double *l = p->l + c * d;
            for (size_t r = 0; r < nn; r++)
                for (size_t j = 0; j < d; j++)
                    zc[r * d + j] *= lq[r * K + c] * l[j] / (l[j] + s2);
            /* acc = zc U^T + r m_c */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nn, (int)d, (int)d, 1.0, zc,
                        (int)d, p->U + c * d * d, (int)d, 0.0, acc, (int)d);
            for (size_t r = 0; r < nn; r++)
                for (size_t i = 0; i < d; i++)
                    o[r * d + i] += acc[r * d + i] + lq[r * K + c] * p->m[c * d + i];
        }
    }
done:
    free(z);
    free(lq);
    free(acc);
}

void sgm_gmm_posterior_denoise(const sgm_gmm_posterior *p, size_t n, const double *x,
                               double sigma, double *out) {
    run(p, n, x, sigma, out, 0);
}
void sgm_gmm_posterior_logpdf(const sgm_gmm_posterior *p, size_t n, const double *x,
                              double sigma, double *out) {
    run(p, n, x, sigma, out, 1);
}
void sgm_gmm_posterior_responsibilities(const sgm_gmm_posterior *p, size_t n,
                                        const double *x, double sigma, double *out) {
    run(p, n, x, sigma, out, 2);
}

void sgm_gmm_posterior_sample(const sgm_gmm_posterior *p, uint64_t seed, uint64_t draw,
                              uint64_t row0, size_t n, double *out) {
    size_t d = p->d;
    double *z = malloc(d * sizeof *z);
    if (!z) {
        for (size_t i = 0; i < n * d; i++) out[i] = NAN;
        return;
    }
    for (size_t r = 0; r < n; r++) {
        double u;
        sgm_rng_uniform_rows_f64(seed, 2 * draw, row0 + r, 1, 1, &u);
        sgm_rng_normal_rows_f64(seed, 2 * draw + 1, row0 + r, 1, d, z);
        size_t c = 0;
        double cum = p->w[0];
        while (c + 1 < p->k && u >= cum) cum += p->w[++c];
        const double *U = p->U + c * d * d, *l = p->l + c * d;
        for (size_t i = 0; i < d; i++) {
            double s = p->m[c * d + i];
            for (size_t j = 0; j < d; j++) s += U[i * d + j] * sqrt(l[j]) * z[j];
            out[r * d + i] = s;
        }
    }
    free(z);
}

static int post_fn(const sgm_eval *q, void *out, void *ud) {
    const sgm_gmm_posterior *p = ud;
    if (!p || q->d != p->d || q->dtype != SGM_F64) return -1;
    if (!(q->alpha > 0)) { /* pure noise: x carries no information */
        for (size_t r = 0; r < q->n; r++)
            memcpy((double *)out + r * p->d, p->mean, p->d * sizeof(double));
        return 0;
    }
    size_t cnt = q->n * q->d;
    double *xt = malloc(cnt * sizeof *xt);
    if (!xt) return -2;
    const double *x = q->x;
    for (size_t i = 0; i < cnt; i++) xt[i] = x[i] / q->alpha;
    run(p, q->n, xt, q->sigma / q->alpha, out, 0);
    free(xt);
    return 0;
}

sgm_denoiser sgm_gmm_posterior_denoiser(const sgm_gmm_posterior *p) {
    sgm_denoiser den;
    den.fn = post_fn;
    den.user_data = (void *)(uintptr_t)p;
    den.prediction = SGM_PRED_X0;
    return den;
}
