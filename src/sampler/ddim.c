/* ddim.c - DDIM (Song, Meng & Ermon 2020, arXiv:2010.02502, eq. 12 and 16),
 * as huggingface/diffusers v0.35.2 scheduling_ddim.py DDIMScheduler.step:
 *   x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev - std^2) eps + std z,
 *   std = eta sqrt((1 - abar_prev)/(1 - abar_t)) sqrt(1 - abar_t/abar_prev).
 * In VE coordinates (x~ = x/alpha, s = sigma/alpha) this is the ancestral
 * split of k-diffusion: std / alpha_prev = s_up of sgm__ancestral(s, s_prev,
 * eta) and sqrt(s_prev^2 - s_up^2) = s_down, so
 *   x~_prev = D + (s_down / s) (x~ - D) + s_up z,
 * one fused update; eta = 0 is the deterministic DDIM (= Euler in s). The
 * noise is a fresh sgm__randn draw per step and no noise is added on a step
 * to s = 0. diffusers' clip_sample / thresholding are not applied (they are
 * off in the reference cases; the data prediction is used as the model gives
 * it). diffusers steps to timestep t - N // n whatever the spacing: such
 * schedules carry landing points (sgm_schedule.land_*), which sgm__next and
 * the core handle.
 */
#include "sampler_internal.h"

static int nbuf1(const sgm_sampler_config *c) {
    (void)c;
    return 1;
}

static sgm_status validate(const sgm_sampler_config *c, sgm_error *err) {
    if (c->eta > 1)
        return sgm__fail(err, SGM_ERR_INVALID_ARG,
                         "ddim: eta must be in [0, 1] (got %g; eta = 1 is the DDPM posterior)",
                         c->eta);
    return SGM_OK;
}

static sgm_status ddim_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    void *D = s->buf[0];
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    double down = q.s, up = 0;
    if (s->cfg.eta > 0 && q.s > 0) sgm__ancestral(p.s, q.s, s->cfg.eta, &down, &up);
    double r = down / p.s;
    if (up > 0) {
        sgm__randn(s, s->noise);
        sgm__lc3(s, x, r, x, 1 - r, D, s->cfg.s_noise * up, s->noise);
    } else {
        sgm__lc2(s, x, r, x, 1 - r, D);
    }
    s->i++;
    return SGM_OK;
}

const sgm__method sgm__m_ddim = {
    {"ddim", "ddim_discrete",
     "DDIM (eta; eta = 0 is deterministic)", 1, 0, 0},
    NULL, validate, nbuf1, NULL, ddim_step};
