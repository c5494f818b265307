/* cfg_adapters.c - class-conditional denoisers (sgm_cond_denoiser) for the
 * exact mixture (class k = component k: p(x | k) = N(mu_k, diag s_k^2), whose
 * exact denoiser is mu_k + s_k^2 / (s_k^2 + s^2) (x~ - mu_k) in VE form; the
 * null class is the whole mixture) and for a class-conditional trained model
 * (labels through sgm_model_set_labels, row r of a call -> labels[r % n]). */
#include <stdlib.h>

#include "edit_internal.h"

static int gmm_cond_fn(const sgm_eval *q, const int *labels, void *out, void *user) {
    const sgm_gmm *g = user;
    size_t d = sgm_gmm_dim(g), K = sgm_gmm_components(g);
    if (q->d != d || !(q->alpha > 0)) return 1;
    const double *mu = sgm_gmm_means(g), *sd = sgm_gmm_stds(g);
    double s = q->sigma / q->alpha;
    double *xr = malloc(2 * d * sizeof(double));
    if (!xr) return 1;
    double *dr = xr + d;
    for (size_t i = 0; i < q->n; i++) {
        for (size_t j = 0; j < d; j++) xr[j] = sgm__eget(q->dtype, q->x, i * d + j) / q->alpha;
        int k = labels[i];
        if (k < 0) {
            sgm_gmm_denoise(g, 1, xr, s, dr);
        } else if ((size_t)k < K) {
            for (size_t j = 0; j < d; j++) {
                double v = sd[(size_t)k * d + j] * sd[(size_t)k * d + j], m = mu[(size_t)k * d + j];
                dr[j] = m + v / (v + s * s) * (xr[j] - m);
            }
        } else {
            free(xr);
            return 1;
        }
        for (size_t j = 0; j < d; j++) sgm__eset(q->dtype, out, i * d + j, dr[j]);
    }
    free(xr);
    return 0;
}

sgm_cond_denoiser sgm_gmm_cond_denoiser(const sgm_gmm *g) {
    sgm_cond_denoiser c = {gmm_cond_fn, (void *)(uintptr_t)g, SGM_PRED_X0,
                           (int)sgm_gmm_components(g)};
    return c;
}

static int model_cond_fn(const sgm_eval *q, const int *labels, void *out, void *user) {
    sgm_model *m = user;
    if (q->n == 0) return 0;
    int *L = malloc(q->n * sizeof(int));
    if (!L) return 1;
    for (size_t i = 0; i < q->n; i++) L[(q->row0 + i) % q->n] = labels[i];
    sgm_status st = sgm_model_set_labels(m, L, q->n, 0, NULL);
    free(L);
    if (st) return 1;
    sgm_denoiser den = sgm_model_denoiser(m);
    return den.fn(q, out, den.user_data);
}

sgm_cond_denoiser sgm_model_cond_denoiser(sgm_model *m) {
    sgm_cond_denoiser c = {model_cond_fn, m, sgm_model_denoiser(m).prediction,
                           sgm_model_n_classes(m)};
    return c;
}
