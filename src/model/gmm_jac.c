/* gmm_jac.c - closed-form derivatives of the Gaussian-mixture denoiser:
 * Jacobian-vector and vector-Jacobian products and the exact divergence
 * (trace of the Jacobian), used by the likelihood (sgm_likelihood.h).
 *
 * D(x) = sum_k r_k m_k with m_k = mu_k + c_k (x - mu_k), c_k = s_k^2 / v_k,
 * v_k = s_k^2 + sigma^2 (diagonal), r_k = softmax_k(log w_k + log N(x; mu_k,
 * v_k)). With g_k = grad log N = -(x - mu_k) / v_k and gbar = sum_k r_k g_k,
 * grad r_k = r_k (g_k - gbar), so
 *   dD/dx = sum_k r_k diag(c_k) + sum_k r_k (m_k - D) g_k^T
 * (the gbar terms cancel because sum_k r_k (m_k - D) = 0). Its trace is
 * sum_k r_k (sum_i c_ki + (m_k - D) . g_k); it is symmetric up to the
 * ordering of the rank-one terms, and both products are written out.
 */
#include <stdint.h>
#include <stdlib.h>

#include "sgm/sgm_model.h"

enum { JVP = 0, VJP = 1, DIV = 2 };

/* One row: mode JVP/VJP writes res[d], DIV writes *tr. D into Dout[d]. */
static void row_deriv(const sgm_gmm *g, const double *x, double sigma, const double *v,
                      int mode, double *r, double *Dout, double *res, double *tr) {
    size_t K = sgm_gmm_components(g), d = sgm_gmm_dim(g);
    const double *mu = sgm_gmm_means(g), *sd = sgm_gmm_stds(g);
    double s2 = sigma * sigma;
    sgm_gmm_responsibilities(g, 1, x, sigma, r);
    for (size_t i = 0; i < d; i++) Dout[i] = 0;
    for (size_t k = 0; k < K; k++) {
        if (r[k] == 0) continue;
        for (size_t i = 0; i < d; i++) {
            double sk2 = sd[k * d + i] * sd[k * d + i];
            double c = sk2 / (sk2 + s2);
            Dout[i] += r[k] * (mu[k * d + i] + c * (x[i] - mu[k * d + i]));
        }
    }
    double t = 0;
    if (mode != DIV)
        for (size_t i = 0; i < d; i++) res[i] = 0;
    for (size_t k = 0; k < K; k++) {
        if (r[k] == 0) continue;
        /* dot = g_k . v (JVP), (m_k - D) . v (VJP), (m_k - D) . g_k + sum c (DIV) */
        double dot = 0;
        for (size_t i = 0; i < d; i++) {
            double sk2 = sd[k * d + i] * sd[k * d + i], vk = sk2 + s2, c = sk2 / vk;
            double dx = x[i] - mu[k * d + i];
            double mk = mu[k * d + i] + c * dx, gk = -dx / vk;
            if (mode == JVP) {
                dot += gk * v[i];
                res[i] += r[k] * c * v[i];
            } else if (mode == VJP) {
                dot += (mk - Dout[i]) * v[i];
                res[i] += r[k] * c * v[i];
            } else {
                dot += (mk - Dout[i]) * gk + c;
            }
        }
        if (mode == DIV) {
            t += r[k] * dot;
            continue;
        }
        double w = r[k] * dot;
        for (size_t i = 0; i < d; i++) {
            double sk2 = sd[k * d + i] * sd[k * d + i], vk = sk2 + s2, c = sk2 / vk;
            double dx = x[i] - mu[k * d + i];
            if (mode == JVP) res[i] += w * (mu[k * d + i] + c * dx - Dout[i]);
            else res[i] += w * (-dx / vk);
        }
    }
    if (tr) *tr = t;
}

/* Runs mode over n rows; returns -1 when scratch cannot be allocated. */
static int run_rows(const sgm_gmm *g, size_t n, const double *x, double sigma,
                    const double *v, int mode, double *out, double *res) {
    size_t K = sgm_gmm_components(g), d = sgm_gmm_dim(g);
    double *r = malloc((K + d) * sizeof *r);
    if (!r) return -1;
    double *Dt = r + K;
    for (size_t i = 0; i < n; i++) {
        double *Do = out ? out + i * d : Dt;
        if (mode == DIV)
            row_deriv(g, x + i * d, sigma, NULL, mode, r, Do, NULL, res + i);
        else
            row_deriv(g, x + i * d, sigma, v + i * d, mode, r, Do, res + i * d, NULL);
    }
    free(r);
    return 0;
}

void sgm_gmm_denoise_jvp(const sgm_gmm *g, size_t n, const double *x, double sigma,
                         const double *v, double *out, double *jv) {
    (void)run_rows(g, n, x, sigma, v, JVP, out, jv);
}

void sgm_gmm_denoise_vjp(const sgm_gmm *g, size_t n, const double *x, double sigma,
                         const double *v, double *out, double *vj) {
    (void)run_rows(g, n, x, sigma, v, VJP, out, vj);
}

void sgm_gmm_denoise_div(const sgm_gmm *g, size_t n, const double *x, double sigma,
                         double *out, double *div) {
    (void)run_rows(g, n, x, sigma, NULL, DIV, out, div);
}

/* Process-coordinate wrappers: x~ = x / alpha, s = sigma / alpha; the
 * derivative with respect to x is J_D / alpha. */
static int grad_common(const sgm_eval *q, const double *v, double *out, double *res,
                       void *ud, int mode) {
    const sgm_gmm *g = ud;
    if (!g || q->d != sgm_gmm_dim(g) || !(q->alpha > 0) || q->dtype != SGM_F64) return -1;
    size_t d = q->d, cnt = q->n * d;
    double inv_a = 1 / q->alpha, s = q->sigma / q->alpha;
    double *xt = malloc(cnt * sizeof *xt);
    if (!xt) return -2;
    const double *xq = q->x;
    for (size_t i = 0; i < cnt; i++) xt[i] = inv_a * xq[i];
    int e = run_rows(g, q->n, xt, s, v, mode, out, res);
    free(xt);
    if (e) return -2;
    size_t m = mode == DIV ? q->n : cnt;
    for (size_t i = 0; i < m; i++) res[i] *= inv_a;
    return 0;
}

static int gmm_jvp(const sgm_eval *q, const double *v, double *out, double *jv, void *ud) {
    return grad_common(q, v, out, jv, ud, JVP);
}
static int gmm_vjp(const sgm_eval *q, const double *v, double *out, double *vj, void *ud) {
    return grad_common(q, v, out, vj, ud, VJP);
}
static int gmm_div(const sgm_eval *q, double *out, double *div, void *ud) {
    return grad_common(q, NULL, out, div, ud, DIV);
}

sgm_denoiser_grad sgm_gmm_denoiser_grad(const sgm_gmm *g) {
    sgm_denoiser_grad gr;
    gr.jvp = gmm_jvp;
    gr.vjp = gmm_vjp;
    gr.div = gmm_div;
    gr.user_data = (void *)(uintptr_t)g;
    return gr;
}
