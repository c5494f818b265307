/* refcase_diffusers_model.c - what every diffusers case shares: the
 * vp-discrete process built from the scheduler config (betas, zero-SNR
 * rescale; log-sigma interpolation as the cases' model uses) and the exact-GMM
 * model that answers eps or v at the model's own noise level sigma_ve(t)
 * (see the cases' parameterization.doc). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "refcase.h"

int rc_dmodel_fn(const sgm_eval *q, void *out, void *user) {
    const rc_dmodel *m = user;
    if (q->dtype != SGM_F64) return 1;
    double s = sgm_process_sigma_ve(m->p, q->t); /* log sigma linear in the timestep */
    double a = 1 / sqrt(1 + s * s), sg = s * a;
    size_t cnt = q->n * q->d;
    const double *x = q->x;
    double *o = out;
    double *xs = malloc((cnt ? cnt : 1) * sizeof *xs);
    if (!xs) return 1;
    for (size_t i = 0; i < cnt; i++) xs[i] = x[i] / a;
    sgm_gmm_denoise(m->g, q->n, xs, s, o); /* o = x0_hat */
    free(xs);
    for (size_t i = 0; i < cnt; i++) {
        double x0 = o[i], eps = (x[i] - a * x0) / sg;
        o[i] = m->pred == SGM_PRED_V ? a * eps - sg * x0 : eps;
    }
    return 0;
}

int rc_diffusers_process(refcase *rc, const cJSON *cfg, sgm_process **p) {
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VP_DISCRETE);
    pc.n_train = (int)rc_num(cfg, "num_train_timesteps", 1000);
    pc.beta_start = rc_num(cfg, "beta_start", 1e-4);
    pc.beta_end = rc_num(cfg, "beta_end", 0.02);
    const char *bs = rc_str(cfg, "beta_schedule", "linear");
    if (strcmp(bs, "linear") == 0) pc.betas = SGM_BETAS_LINEAR;
    else if (strcmp(bs, "scaled_linear") == 0) pc.betas = SGM_BETAS_SCALED_LINEAR;
    else if (strcmp(bs, "squaredcos_cap_v2") == 0) pc.betas = SGM_BETAS_SQUAREDCOS_CAP_V2;
    else return rc_fail(rc, "beta_schedule '%s' not supported", bs);
    if (cJSON_IsArray(rc_get(cfg, "trained_betas")))
        return rc_fail(rc, "trained_betas not supported");
    pc.rescale_zero_snr = (int)rc_num(cfg, "rescale_betas_zero_snr", 0);
    pc.interp = SGM_INTERP_LOG_SIGMA;
    return sgm_process_create(&pc, p, &rc->err) != SGM_OK;
}

/* consecutive duplicates removed (PNDM's PLMS list, Heun's interleaved arrays) */
double *rc_uniq_vec(const cJSON *j, const char *path, size_t *n) {
    double *v = rc_vec(j, path, n);
    if (!v) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
        if (k == 0 || v[k - 1] != v[i]) v[k++] = v[i];
    *n = k;
    return v;
}

int rc_diffusers_array_schedule(refcase *rc, const sgm_process *p, int uniq,
                                sgm_schedule **out) {
    size_t nt = 0, ns = 0;
    double *ts = uniq ? rc_uniq_vec(rc->json, "timesteps", &nt) : rc_vec(rc->json, "timesteps", &nt);
    double *sg = uniq ? rc_uniq_vec(rc->json, "sigmas", &ns) : rc_vec(rc->json, "sigmas", &ns);
    int bad = 0;
    if (!ts || !sg || ns != nt + 1) {
        bad = rc_fail(rc, "case needs timesteps [n] and sigmas [n + 1] (got %zu, %zu)", nt, ns);
    } else {
        double *t = malloc(ns * sizeof *t);
        if (!t) bad = rc_fail(rc, "out of memory");
        for (size_t i = 0; !bad && i < nt; i++) t[i] = sgm_process_timestep_to_t(p, ts[i]);
        /* Karras sigmas with final_sigmas_type='sigma_min' repeat sigma_min: diffusers'
         * last step then has h = 0 and leaves the sample unchanged (after one more
         * model call). The library needs strictly decreasing sigmas, so the repeated
         * value is lowered by a relative 1e-12: a step whose effect is ~1e-12. */
        if (!bad && nt > 0 && sg[nt] > 0 && sg[nt] >= sg[nt - 1]) sg[nt] = sg[nt - 1] * (1 - 1e-12);
        if (!bad) {
            /* the model is never called at the final point */
            t[nt] = sg[nt] > 0 ? sgm_process_t_of_lambda(p, -log(sg[nt])) : 0;
            bad = sgm_schedule_from_arrays(p, ns, t, sg, out, &rc->err) != SGM_OK;
        }
        free(t);
    }
    free(ts);
    free(sg);
    return bad;
}
