/* reddiff.c - RED-Diff (Mardani et al. 2023, "A variational perspective on
 * solving inverse problems with diffusion models", Algorithm 1): Adam on
 * the mean mu of q(x0 | y) = N(mu, 0) over the schedule from noisy to clean;
 * at each point x_t = alpha (mu + s eps), and the gradient
 *   A'(mu)^T (A(mu) - y) / m + lambda w_t (eps_hat(x_t) - eps) / d,
 * w_t = s = sigma / alpha (SNR^-1/2, the paper's 'linear' weighting), the
 * per-element means as in the authors' code; eps_hat from the model's x0
 * (no gradient through the network). mu starts at A^T (A A^T + sigma_y^2 /
 * data_var I)^+ y (linear A; the damped pseudo-inverse) or 0.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "guidance_internal.h"

sgm_status sgm__reddiff_run(sgm__post *c, const sgm_schedule *sched, double *x) {
    sgm_error *err = c->err;
    size_t n = c->n, d = c->d, m = c->m, nd = n * d;
    const sgm_posterior_config *pc = c->pc;
    double *mu = sgm__calloc(nd, sizeof *mu), *m1 = sgm__calloc(nd, sizeof *m1);
    double *m2 = sgm__calloc(nd, sizeof *m2), *eps = malloc(nd * sizeof *eps);
    double *xt = malloc(nd * sizeof *xt);
    sgm_status st = SGM_OK;
    if (!mu || !m1 || !m2 || !eps || !xt) st = sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    if (!st && sgm_operator_is_linear(c->op))
        st = sgm__op_project_rows(c->op, n, mu, c->y, c->ys, sgm__post_reg(pc), mu, err);
    size_t it = 0;
    for (size_t i = 0; i + 1 < sched->n && !st; i++) {
        double s = sched->sigma[i], a = sched->alpha[i];
        if (!(s > 0 && isfinite(s) && a > 0)) continue;
        sgm_rng_normal(c->rng, c->row0, n, d, SGM_F64, eps);
        for (size_t j = 0; j < nd; j++) xt[j] = a * (mu[j] + s * eps[j]);
        sgm_eval q;
        q.n = n;
        q.d = d;
        q.row0 = c->row0;
        q.dtype = SGM_F64;
        q.x = xt;
        q.t = sched->t[i];
        q.alpha = a;
        q.sigma = a * s;
        if (sgm__post_x0(c, &q)) {
            st = sgm__set_error(err, SGM_ERR_CALLBACK, "reddiff: the denoiser failed");
            break;
        }
        st = sgm_operator_forward(c->op, n, mu, c->r, err);
        if (st) break;
        for (size_t r = 0; r < n; r++)
            for (size_t j = 0; j < m; j++)
                c->r[r * m + j] = (c->r[r * m + j] - c->y[r * c->ys + j]) / (double)m;
        st = sgm_operator_vjp(c->op, n, mu, c->r, c->g, err);
        if (st) break;
        it++;
        double b1 = pc->beta1, b2 = pc->beta2, lw = pc->lambda * s / (double)d;
        double c1 = 1 - pow(b1, (double)it), c2 = 1 - pow(b2, (double)it);
        for (size_t j = 0; j < nd; j++) {
            double eh = (xt[j] / a - c->x0[j]) / s; /* eps_hat in VE units */
            double gr = c->g[j] + lw * (eh - eps[j]);
            m1[j] = b1 * m1[j] + (1 - b1) * gr;
            m2[j] = b2 * m2[j] + (1 - b2) * gr * gr;
            mu[j] -= pc->lr * (m1[j] / c1) / (sqrt(m2[j] / c2) + 1e-8);
        }
    }
    if (!st) {
        double al = sched->alpha[sched->n - 1];
        for (size_t j = 0; j < nd; j++) x[j] = al * mu[j];
    }
    free(mu);
    free(m1);
    free(m2);
    free(eps);
    free(xt);
    return st;
}
