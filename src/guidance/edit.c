/* edit.c - noising and SDEdit: x_t = alpha x0 + sigma eps (the forward
 * marginal of the process), and SDEdit / img2img (Meng et al. 2022,
 * "SDEdit", Alg. 1) with diffusers' StableDiffusionImg2ImgPipeline strength
 * (get_timesteps: keep the last floor(steps * strength) steps). Also the
 * denoiser call in VE coordinates shared by inversion and the reversible
 * solver. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "edit_internal.h"

void sgm_add_noise(sgm_rng *rng, uint64_t row0, size_t n, size_t d, sgm_dtype dt,
                   const void *x0, double alpha, double sigma, void *out) {
    size_t count = n * d;
    if (count == 0) return;
    if (dt == SGM_F64) {
        double *e = malloc(count * sizeof(double));
        if (!e) return;
        sgm_rng_normal(rng, row0, n, d, dt, e);
        const double *a = x0;
        double *o = out;
        for (size_t i = 0; i < count; i++) o[i] = alpha * a[i] + sigma * e[i];
        free(e);
    } else {
        float *e = malloc(count * sizeof(float));
        if (!e) return;
        sgm_rng_normal(rng, row0, n, d, dt, e);
        const float *a = x0;
        float *o = out;
        for (size_t i = 0; i < count; i++)
            o[i] = (float)(alpha * (double)a[i] + sigma * (double)e[i]);
        free(e);
    }
}

sgm_status sgm_schedule_tail(const sgm_schedule *full, const sgm_process *proc,
                             double strength, sgm_schedule **out, sgm_error *err) {
    *out = NULL;
    if (!full || !proc || full->n < 2)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "sdedit: no schedule");
    if (!(strength >= 0 && strength <= 1))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "strength %g is outside [0, 1]", strength);
    size_t steps = full->n - 1;
    size_t k = (size_t)floor((double)steps * strength);
    if (k > steps) k = steps;
    if (k == 0) return SGM_OK;
    size_t i0 = steps - k;
    sgm_status st = sgm_schedule_from_arrays(proc, k + 1, full->t + i0, full->sigma + i0, out, err);
    if (st) return st;
    /* keep the schedule's own alphas (discrete tables) */
    memcpy((*out)->alpha, full->alpha + i0, (k + 1) * sizeof(double));
    return SGM_OK;
}

sgm_status sgm_sdedit(sgm_sampler *s, const sgm_schedule *full, const sgm_process *proc,
                      double strength, const sgm_denoiser *den, sgm_rng *rng, uint64_t row0,
                      size_t n, size_t d, void *x, sgm_error *err) {
    sgm_schedule *tail;
    sgm_status st = sgm_schedule_tail(full, proc, strength, &tail, err);
    if (st || !tail) return st;
    const sgm_sampler_config *c = sgm_sampler_get_config(s);
    double a = tail->alpha[0], sig = tail->sigma[0] * a;
    sgm_add_noise(rng, row0, n, d, c->dtype, x, a, sig, x);
    st = sgm_sampler_run(s, tail, den, rng, row0, n, x, err);
    sgm_schedule_free(tail);
    return st;
}

/* ------------------------------------------------ shared denoiser call --- */

sgm__ept sgm__edit_pt(const sgm_schedule *s, size_t i) {
    sgm__ept p = {s->t[i], s->sigma[i], s->alpha[i]};
    return p;
}

void sgm__edit_scale(sgm_dtype dt, size_t count, void *v, double a) {
    for (size_t i = 0; i < count; i++) sgm__eset(dt, v, i, a * sgm__eget(dt, v, i));
}

sgm_status sgm__edit_denoise(sgm__ecall *c, const void *x, double xscale, sgm__ept p,
                             void *D) {
    size_t count = c->n * c->d;
    sgm_dtype xdt = c->x_f64 ? SGM_F64 : c->dt;
    for (size_t i = 0; i < count; i++) sgm__eset(c->dt, c->xt, i, xscale * sgm__eget(xdt, x, i));
    sgm_eval q;
    q.n = c->n;
    q.d = c->d;
    q.row0 = c->row0;
    q.dtype = c->dt;
    q.x = c->xt;
    q.t = p.t;
    q.alpha = p.alpha;
    q.sigma = p.s * p.alpha;
    int rc = c->den->fn(&q, D, c->den->user_data);
    c->nfe++;
    if (rc)
        return sgm__set_error(c->err, SGM_ERR_CALLBACK, "denoiser returned %d at t=%g (sigma=%g)",
                              rc, p.t, q.sigma);
    if (c->den->prediction != SGM_PRED_X0) {
        double da = 0, ds = 0;
        if (c->den->prediction == SGM_PRED_FLOW) {
            da = sgm_process_dalpha(c->proc, p.t);
            ds = sgm_process_dsigma(c->proc, p.t);
        }
        sgm_prediction_to_x0(c->den->prediction, c->dt, count, c->xt, D, p.alpha, q.sigma, da,
                             ds, D);
    }
    return SGM_OK;
}

sgm_status sgm__edit_check(const sgm_schedule *sched, const sgm_process *proc,
                           const sgm_denoiser *den, size_t n, size_t d, sgm_dtype dt,
                           sgm_error *err) {
    if (!sched || !proc || !den || !den->fn)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "NULL schedule, process or denoiser");
    if (sched->n < 2) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule has no step");
    if (d == 0 || n == 0) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "empty batch");
    if (dt != SGM_F64 && dt != SGM_F32)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "unknown dtype %d", (int)dt);
    return SGM_OK;
}
