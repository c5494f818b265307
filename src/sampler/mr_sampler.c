/* mr_sampler.c - MR Sampler (Li et al. 2025, "MRS: A Fast Sampler for Mean
 * Reverting Diffusion based on ODE and SDE Solvers", arXiv:2502.07856): the
 * semi-analytical solutions of the PF-ODE and the reverse-time SDE of the
 * mean-reverting process (SGM_PROCESS_MR), with the network integral
 * approximated by exponential integrators of order 1 or 2 (multistep: the
 * derivative from the previous model value), in noise-prediction
 * (cfg.algorithm = SGM_DPM_NOISE) or data-prediction (SGM_DPM_DATA) form.
 * A velocity-predicting denoiser enters through the one conversion to x0
 * (sgm_prediction_to_x0), as MRS converts a velocity network's output.
 *
 * In x the MRS updates carry a mu term, e.g. the data-prediction ODE step
 *     x_t = (sigma_t/sigma_s) x_s + alpha_t (1 - e^{-h}) x_theta
 *           + mu ((1 - alpha_t) - (sigma_t/sigma_s)(1 - alpha_s)),
 * which is the same update written on y = x - mu (the process coordinates
 * of SGM_PROCESS_MR, where y_t = alpha y_0 + sigma n): the mu terms are what
 * the shift by mu produces. Here it runs on y in VE coordinates
 * (x~ = y / alpha, s = sigma / alpha, lambda = -log s, h = lambda_t - lambda_s,
 * D = the data prediction of y_0, eps = (x~ - D) / s), M the model value
 * (D or eps), dM = (M - M_prev) / r, r = h_prev / h:
 *   ODE data:   x~_t = e^{-h} x~_s + (1 - e^{-h}) D + h phi_2(-h) dM
 *   ODE noise:  x~_t = x~_s - (s_s - s_t) eps - s_t h phi_2(h) dM
 *   SDE data:   x~_t = e^{-2h} x~_s + (1 - e^{-2h}) D + 2h phi_2(-2h) dM
 *                      + s_t sqrt(1 - e^{-2h}) z
 *   SDE noise:  x~_t = x~_s - 2 (s_s - s_t) eps - 2 s_t h phi_2(h) dM
 *                      + sqrt(s_s^2 - s_t^2) z
 * (phi_2(h) = (e^h - 1 - h)/h^2; the dM terms are the Taylor terms of the
 * exponential integrals, e.g. h phi_2(-h) = (e^{-h} - 1)/h + 1.) The first
 * step, and a step to s = 0, are first order. z comes from
 * sgm__noise_interval (Philox or Brownian tree), times cfg.s_noise.
 */
#include "sampler_internal.h"

enum { B_M0 = 0, B_M1, B_D, MRS_NBUF };

static int mrs_nbuf(const sgm_sampler_config *c) {
    (void)c;
    return MRS_NBUF;
}

static sgm_status mrs_check(const sgm_sampler_config *c, int max_order, const char *name,
                            sgm_error *err) {
    if (c->order < 1 || c->order > max_order)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "%s: order must be 1 or 2 (got %d)", name,
                         c->order);
    if (c->algorithm != SGM_DPM_DATA && c->algorithm != SGM_DPM_NOISE)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "%s: algorithm must be data or noise",
                         name);
    return SGM_OK;
}

static sgm_status mrs_ode_validate(const sgm_sampler_config *c, sgm_error *err) {
    return mrs_check(c, 2, "mrs_ode", err);
}
static sgm_status mrs_sde_validate(const sgm_sampler_config *c, sgm_error *err) {
    return mrs_check(c, 2, "mrs_sde", err);
}

static void mrs_defaults(sgm_sampler_config *c) {
    c->order = 2;
    c->algorithm = SGM_DPM_DATA;
}

static sgm_status mrs_step(sgm__s *s, void *x, int sde) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    const int noise = s->cfg.algorithm == SGM_DPM_NOISE;
    int slot = sgm__hist_slot(s, B_M0, 2);
    void *M = s->buf[slot];
    void *D = noise ? s->buf[B_D] : M;
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    if (noise) sgm__lc2(s, M, 1 / p.s, x, -1 / p.s, D); /* eps = (x~ - D) / s */
    double h = q.lambda - p.lambda;
    const void *Mold = NULL;
    double r = 1;
    if (s->cfg.order >= 2 && s->hn > 0 && q.s > 0) {
        Mold = s->buf[s->ibuf[0]];
        r = s->hs[0] / h;
    }
    double cx, cm, cd = 0, cn = 0;
    if (!sde && !noise) {
        cx = q.s / p.s;
        cm = -expm1(-h);
        if (Mold) cd = h * sgm__phi2(-h);
    } else if (!sde) {
        cx = 1;
        cm = -(p.s - q.s);
        if (Mold) cd = -q.s * h * sgm__phi2(h);
    } else if (!noise) {
        double e = q.s / p.s;
        cx = e * e;
        cm = -expm1(-2 * h);
        if (Mold) cd = 2 * h * sgm__phi2(-2 * h);
        cn = q.s * sqrt(cm);
    } else {
        cx = 1;
        cm = -2 * (p.s - q.s);
        if (Mold) cd = -2 * q.s * h * sgm__phi2(h);
        cn = sqrt((p.s - q.s) * (p.s + q.s));
    }
    cn *= s->cfg.s_noise;
    if (cn > 0) sgm__noise_interval(s, p.s, q.s, s->noise);
    double cc[4];
    const void *in[4];
    int k = 0;
    cc[k] = cx, in[k++] = x;
    cc[k] = cm + cd / r, in[k++] = M;
    if (Mold) cc[k] = -cd / r, in[k++] = Mold;
    if (cn > 0) cc[k] = cn, in[k++] = s->noise;
    sgm__lc(s, x, k, cc, in);
    sgm__hist_push(s, slot, h, 2);
    s->i++;
    return SGM_OK;
}

static sgm_status mrs_ode_step(sgm__s *s, void *x) { return mrs_step(s, x, 0); }
static sgm_status mrs_sde_step(sgm__s *s, void *x) { return mrs_step(s, x, 1); }

const sgm__method sgm__m_mrs_ode = {
    {"mrs_ode", "mrs,mr_sampler,mr_ode",
     "MR Sampler PF-ODE, order 1-2, noise or data form (Li et al. 2025)", 2, 0, 0},
    mrs_defaults, mrs_ode_validate, mrs_nbuf, NULL, mrs_ode_step};
const sgm__method sgm__m_mrs_sde = {
    {"mrs_sde", "mr_sde",
     "MR Sampler reverse SDE, order 1-2, noise or data form (Li et al. 2025)", 2, 1, 0},
    mrs_defaults, mrs_sde_validate, mrs_nbuf, NULL, mrs_sde_step};
