/* gmm_mr.c - the exact denoiser of the mean-reverting process
 * (SGM_PROCESS_MR, IR-SDE of Luo et al. 2023) for a Gaussian-mixture x_0:
 * with y = x - mu, y_t = alpha y_0 + sigma n, so z = y_t + alpha mu =
 * alpha x_0 + sigma n is the ordinary noisy observation of x_0 and
 *     E[y_0 | y_t] = E_gmm[x_0 | z] - mu,
 * i.e. p(x_t | mu) = sum_k w_k N(mu + alpha (m_k - mu), alpha^2 s_k^2 + sigma^2)
 * and its posterior mean are closed form (the mixture denoiser of gmm.c at
 * (z / alpha, sigma / alpha)). mu is one vector per row: row r of a run
 * (sgm_eval.row0 + i) uses mu[r % rows], as class labels do. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "sgm/sgm_model.h"

struct sgm_gmm_mr {
    const sgm_gmm *g; /* borrowed */
    size_t rows, d;
    double *mu;       /* [rows, d] */
};

sgm_status sgm_gmm_mr_create(const sgm_gmm *g, const double *mu, size_t rows,
                             sgm_gmm_mr **out, sgm_error *err) {
    *out = NULL;
    if (!g || !mu || rows == 0)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "gmm mr: need a mixture and mu rows");
    size_t d = sgm_gmm_dim(g);
    for (size_t i = 0; i < rows * d; i++)
        if (!isfinite(mu[i]))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "gmm mr: mu has a non-finite value (row %zu)", i / d);
    sgm_gmm_mr *m = calloc(1, sizeof *m);
    if (!m || !(m->mu = malloc(rows * d * sizeof *m->mu))) {
        free(m);
        return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    }
    memcpy(m->mu, mu, rows * d * sizeof *m->mu);
    m->g = g;
    m->rows = rows;
    m->d = d;
    *out = m;
    return SGM_OK;
}

void sgm_gmm_mr_free(sgm_gmm_mr *m) {
    if (!m) return;
    free(m->mu);
    free(m);
}

const double *sgm_gmm_mr_mu(const sgm_gmm_mr *m, uint64_t row) {
    return m->mu + (size_t)(row % m->rows) * m->d;
}

int sgm_gmm_mr_denoise_fn(const sgm_eval *q, void *out, void *user_data) {
    const sgm_gmm_mr *m = user_data;
    if (!m || q->d != m->d) return -1;
    size_t n = q->n, d = m->d;
    double *z = malloc(2 * n * d * sizeof *z);
    if (!z) return -1;
    double *o = z + n * d;
    for (size_t i = 0; i < n; i++) {
        const double *mu = sgm_gmm_mr_mu(m, q->row0 + i);
        for (size_t j = 0; j < d; j++) {
            size_t k = i * d + j;
            double y = q->dtype == SGM_F64 ? ((const double *)q->x)[k]
                                           : (double)((const float *)q->x)[k];
            z[k] = y + q->alpha * mu[j];
        }
    }
    sgm_eval qz = *q;
    qz.dtype = SGM_F64;
    qz.x = z;
    int rc = sgm_gmm_denoise_fn(&qz, o, (void *)(uintptr_t)m->g);
    if (rc == 0)
        for (size_t i = 0; i < n; i++) {
            const double *mu = sgm_gmm_mr_mu(m, q->row0 + i);
            for (size_t j = 0; j < d; j++) {
                size_t k = i * d + j;
                double v = o[k] - mu[j];
                if (q->dtype == SGM_F64) ((double *)out)[k] = v;
                else ((float *)out)[k] = (float)v;
            }
        }
    free(z);
    return rc;
}

sgm_denoiser sgm_gmm_mr_denoiser(const sgm_gmm_mr *m) {
    sgm_denoiser den;
    den.fn = sgm_gmm_mr_denoise_fn;
    den.user_data = (void *)(uintptr_t)m;
    den.prediction = SGM_PRED_X0;
    return den;
}
