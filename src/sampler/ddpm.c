/* ddpm.c - DDPM ancestral sampling (Ho et al. 2020, arXiv:2006.11239, Alg. 2,
 * with the posterior variance beta~_t = (1 - abar_{t-1})/(1 - abar_t) beta_t,
 * diffusers DDPMScheduler variance_type "fixed_small"; score_sde
 * AncestralSamplingPredictor for VP and its SMLD form for VE), for any process
 * and any schedule.
 *
 * In VE coordinates (x~ = x/alpha, s = sigma/alpha) the posterior
 * q(x~_next | x~, x0 = D) of the forward process between the schedule points
 * s > s_next is Gaussian with
 *   mean = D + (s_next^2 / s^2) (x~ - D),  var = s_next^2 (s^2 - s_next^2) / s^2,
 * which is exactly the ancestral split of notes section 2.5 with eta = 1:
 * sigma_down = s_next^2 / s, sigma_up = s_next sqrt(s^2 - s_next^2) / s. So a
 * step is one fused update x~ <- (1 - r) D + r x~ + s_noise sigma_up z with
 * r = sigma_down / s. cfg.eta (default 1) scales sigma_up as in DDIM, eta = 1
 * being DDPM. The step to s = 0 returns D (no noise). Noise comes from
 * sgm__noise_interval, so SGM_NOISE_BROWNIAN gives the Brownian-tree path.
 */
#include "sampler_internal.h"

static int ddpm_nbuf(const sgm_sampler_config *c) {
    (void)c;
    return 1;
}

static void ddpm_defaults(sgm_sampler_config *c) { c->eta = 1; }

static sgm_status ddpm_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    void *D = s->buf[0];
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    double down, up;
    sgm__ancestral(p.s, q.s, s->cfg.eta, &down, &up);
    double r = down / p.s;
    if (q.s > 0 && up > 0) {
        sgm__lc3_noise(s, x, r, x, 1 - r, D, s->cfg.s_noise * up, p.s, q.s);
    } else {
        sgm__lc2(s, x, r, x, 1 - r, D);
    }
    s->i++;
    return SGM_OK;
}

const sgm__method sgm__m_ddpm = {
    {"ddpm", "ancestral,ddpm_ancestral",
     "DDPM ancestral sampling (posterior variance)", 1, 1, 0},
    ddpm_defaults, NULL, ddpm_nbuf, NULL, ddpm_step};
