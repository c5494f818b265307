/* model.c - model specs for the CLI and the prediction wrapper (see model.h).
 *
 * The wrapper turns the mixture's exact x0 into the requested target with the
 * definitions of sgm_sampler.h (x = alpha x0 + sigma eps):
 *   eps   = (x - alpha x0) / sigma
 *   v     = alpha eps - sigma x0            (Salimans & Ho 2022, sec. 4)
 *   score = -eps / sigma                    (Song et al. 2021, Tweedie)
 *   flow  = alpha'(t) x0 + sigma'(t) eps    (Liu et al. 2022; Lipman et al. 2023)
 * At sigma = 0 (the data end) eps and the score are taken as 0, which the
 * conversion back maps to x0 = x / alpha, the exact value there. At alpha = 0
 * (pure noise: flow at t = 1, zero terminal SNR) x0 is the mixture mean.
 */
#include <stdio.h>
#include <string.h>

#include "model.h"

int cli_model_load(const char *spec, cli_model *m, char *msg, size_t msg_len) {
    memset(m, 0, sizeof *m);
    const char *colon = strchr(spec, ':');
    if (!colon) {
        snprintf(msg, msg_len, "model '%s': expected KIND:PATH, e.g. gmm:model.json", spec);
        return -1;
    }
    size_t kl = (size_t)(colon - spec);
    if (kl != 3 || strncmp(spec, "gmm", 3) != 0) {
        snprintf(msg, msg_len, "unknown model kind '%.*s' (supported: gmm:FILE.json)", (int)kl,
                 spec);
        return -1;
    }
    sgm_error err = {0};
    if (sgm_gmm_load(colon + 1, &m->gmm, &err)) {
        snprintf(msg, msg_len, "model %s: %s", colon + 1, err.msg);
        return -1;
    }
    m->dim = sgm_gmm_dim(m->gmm);
    return 0;
}

void cli_model_free(cli_model *m) {
    sgm_gmm_free(m->gmm);
    m->gmm = NULL;
}

static int wrapped_fn(const sgm_eval *q, void *out, void *user_data) {
    cli_model *m = user_data;
    int rc = 0;
    if (q->alpha == 0) { /* pure noise: E[x0 | x] is the mixture mean */
        const double *w = sgm_gmm_weights(m->gmm), *mu = sgm_gmm_means(m->gmm);
        size_t k = sgm_gmm_components(m->gmm);
        for (size_t j = 0; j < q->d; j++) {
            double mean = 0;
            for (size_t c = 0; c < k; c++) mean += w[c] * mu[c * q->d + j];
            for (size_t i = 0; i < q->n; i++) {
                if (q->dtype == SGM_F64) ((double *)out)[i * q->d + j] = mean;
                else ((float *)out)[i * q->d + j] = (float)mean;
            }
        }
    } else {
        rc = sgm_gmm_denoise_fn(q, out, m->gmm);
    }
    if (rc != 0 || m->pred == SGM_PRED_X0) return rc;
    double a = q->alpha, s = q->sigma;
    double inv_s = s > 0 ? 1 / s : 0;
    double da = 0, ds = 0;
    if (m->pred == SGM_PRED_FLOW) {
        da = sgm_process_dalpha(m->proc, q->t);
        ds = sgm_process_dsigma(m->proc, q->t);
    }
    size_t count = q->n * q->d;
    for (size_t i = 0; i < count; i++) {
        double x, x0;
        if (q->dtype == SGM_F64) {
            x = ((const double *)q->x)[i];
            x0 = ((double *)out)[i];
        } else {
            x = ((const float *)q->x)[i];
            x0 = ((float *)out)[i];
        }
        double eps = (x - a * x0) * inv_s, r;
        switch (m->pred) {
        case SGM_PRED_EPS: r = eps; break;
        case SGM_PRED_V: r = a * eps - s * x0; break;
        case SGM_PRED_SCORE: r = -eps * inv_s; break;
        case SGM_PRED_FLOW: r = da * x0 + ds * eps; break;
        default: r = x0; break;
        }
        if (q->dtype == SGM_F64) ((double *)out)[i] = r;
        else ((float *)out)[i] = (float)r;
    }
    return 0;
}

sgm_denoiser cli_model_denoiser(cli_model *m, const sgm_process *proc, sgm_prediction pred) {
    m->proc = proc;
    m->pred = pred;
    sgm_denoiser den;
    den.fn = wrapped_fn;
    den.user_data = m;
    den.prediction = pred;
    return den;
}
