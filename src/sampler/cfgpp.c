/* cfgpp.c - CFG++ samplers (Chung et al. 2024, "CFG++: manifold-constrained
 * classifier free guidance for diffusion models", Alg. 1-2), as ComfyUI's
 * sample_euler_cfg_pp, sample_euler_ancestral_cfg_pp and
 * sample_dpmpp_2m_cfg_pp: the step moves to the guided data prediction D but
 * re-noises with the unguided one U (sgm_sampler_set_unguided), in VE
 * coordinates:
 *   euler / euler_a: x' = D + s_down (x - U) / s (+ s_up z),
 *   dpmpp_2m:        x' = e^-h x + D - e^-h U  (first step, or to s = 0),
 *                    x' = e^-h x + D - e^-h U - expm1(-h) (D - U_prev) / (2r),
 *                    h = lambda' - lambda, r = h_prev / h.
 * With U = D (no hook, or guidance scale 1) they are euler, euler_a and
 * dpmpp_2m. The guidance scale of CFG++ lives in [0, 1] (ComfyUI divides
 * cond_scale by 12.5 for the legacy samplers); that is the wrapper's affair.
 */
#include "sampler_internal.h"

enum { B_D = 0, B_U, B_U2 };

static int nbuf3(const sgm_sampler_config *c) {
    (void)c;
    return 3;
}

static sgm_status euler_cfgpp_move(sgm__s *s, void *x, double eta) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    void *D = s->buf[B_D], *U = s->buf[B_U];
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    if ((st = sgm__denoise_unguided(s, x, p, D, U))) return st;
    double down = q.s, up = 0;
    if (eta > 0 && q.s > 0) sgm__ancestral(p.s, q.s, eta, &down, &up);
    double r = down / p.s;
    sgm__lc3(s, x, r, x, 1, D, -r, U);
    if (up > 0) {
        sgm__noise_interval(s, p.s, q.s, s->noise);
        sgm__lc2(s, x, 1, x, s->cfg.s_noise * up, s->noise);
    }
    s->last_D = D;
    s->i++;
    return SGM_OK;
}

static sgm_status euler_cfgpp_step(sgm__s *s, void *x) { return euler_cfgpp_move(s, x, 0); }
static sgm_status euler_a_cfgpp_step(sgm__s *s, void *x) {
    return euler_cfgpp_move(s, x, s->cfg.eta);
}

static sgm_status dpmpp_2m_cfgpp_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    int slot = sgm__hist_slot(s, B_U, 2);
    void *D = s->buf[B_D], *U = s->buf[slot];
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    if ((st = sgm__denoise_unguided(s, x, p, D, U))) return st;
    double h = q.lambda - p.lambda;
    if (q.s == 0) {
        sgm__copy(s, x, D);
    } else if (s->hn == 0) {
        double e = q.s / p.s; /* e^-h */
        sgm__lc3(s, x, e, x, 1, D, -e, U);
    } else {
        double r = s->hs[0] / h, e = q.s / p.s, m = expm1(-h) / (2 * r);
        const void *Uold = s->buf[s->ibuf[0]];
        sgm__lc4(s, x, e, x, 1 - m, D, -e, U, m, Uold);
    }
    sgm__hist_push(s, slot, h, 2);
    s->last_D = D;
    s->i++;
    return SGM_OK;
}

static void ancestral_defaults(sgm_sampler_config *c) { c->eta = 1; }

const sgm__method sgm__m_euler_cfgpp = {
    {"euler_cfgpp", "euler_cfg_pp",
     "Euler with CFG++ re-noising (Chung et al. 2024; needs sgm_sampler_set_unguided)", 1, 0,
     0},
    NULL, NULL, nbuf3, NULL, euler_cfgpp_step};

const sgm__method sgm__m_euler_a_cfgpp = {
    {"euler_a_cfgpp", "euler_ancestral_cfg_pp,euler_a_cfg_pp",
     "Euler ancestral with CFG++ re-noising (eta, s_noise)", 1, 1, 0},
    ancestral_defaults, NULL, nbuf3, NULL, euler_a_cfgpp_step};

const sgm__method sgm__m_dpmpp_2m_cfgpp = {
    {"dpmpp_2m_cfgpp", "dpmpp_2m_cfg_pp,dpm++_2m_cfgpp",
     "DPM-Solver++(2M) with CFG++ re-noising (ComfyUI sample_dpmpp_2m_cfg_pp)", 2, 0, 0},
    NULL, NULL, nbuf3, NULL, dpmpp_2m_cfgpp_step};
