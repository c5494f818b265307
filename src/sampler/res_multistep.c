/* res_multistep.c - RES multistep: the second-order exponential multistep
 * method of Zhang et al. 2023 ("Improved Order Analysis and Design of
 * Exponential Integrator for Diffusion Models Sampling", arXiv:2308.02157,
 * "RES"), with an optional ancestral split, as ComfyUI's res_multistep /
 * res_multistep_ancestral. With lambda = -log s, s_down / s_up the ancestral
 * split of s_i -> s_{i+1} (eta; 0 for res_multistep), h = lambda(s_down) -
 * lambda(s_i), c2 = (lambda(s_{i-1}) - lambda(s_down_{i-1})) / h:
 *   x~ <- e^{-h} x~ + h ((phi1(-h) - phi2(-h)/c2) D_i + phi2(-h)/c2 D_{i-1}),
 * Euler (x~ + (s_down - s_i) d) on the first step and when s_down = 0; then
 * x~ += s_noise s_up z when s_{i+1} > 0. One NFE per step. */
#include <math.h>

#include "sampler_internal.h"

enum { RM_D = 0, RM_DOLD, RM_NBUF };

static int rm_nbuf(const sgm_sampler_config *c) {
    (void)c;
    return RM_NBUF;
}

static sgm_status rm_begin(sgm__s *s, void *x) {
    (void)x;
    s->hn = 0;
    return SGM_OK;
}

static sgm_status rm_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    void *D = s->buf[RM_D], *Dold = s->buf[RM_DOLD];
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    double sdown, sup;
    sgm__ancestral(p.s, q.s, s->cfg.eta, &sdown, &sup);
    if (sdown == 0 || s->hn == 0) {
        double r = (sdown - p.s) / p.s; /* x + (x - D)/s (sdown - s) */
        sgm__lc2(s, x, 1 + r, x, -r, D);
    } else {
        double t = -log(p.s), told = -log(s->hs[0]), tnext = -log(sdown);
        double tprev = -log(s->pts[s->i - 1].s);
        double h = tnext - t, c2 = (tprev - told) / h;
        double phi1 = sgm__phi1(-h), phi2 = sgm__phi2(-h);
        double b1 = phi1 - phi2 / c2, b2 = phi2 / c2;
        if (!isfinite(b1)) b1 = 0;
        if (!isfinite(b2)) b2 = 0;
        sgm__lc3(s, x, exp(-h), x, h * b1, D, h * b2, Dold);
    }
    if (q.s > 0 && sup > 0) {
        sgm__lc2_noise(s, x, 1, x, s->cfg.s_noise * sup, p.s, q.s);
    }
    sgm__copy(s, Dold, D);
    s->hs[0] = sdown;
    s->hn = 1;
    s->i++;
    return SGM_OK;
}

static void rm_a_defaults(sgm_sampler_config *c) { c->eta = 1; }
static void rm_defaults(sgm_sampler_config *c) { c->eta = 0; }

const sgm__method sgm__m_res_multistep = {
    {"res_multistep", "res_2m,res-multistep",
     "RES 2nd-order exponential multistep (Zhang et al. 2023; ComfyUI res_multistep)", 2, 0,
     0},
    rm_defaults, NULL, rm_nbuf, rm_begin, rm_step};

const sgm__method sgm__m_res_multistep_a = {
    {"res_multistep_a", "res_multistep_ancestral,res_2m_a",
     "RES multistep with ancestral noise (eta 1; ComfyUI res_multistep_ancestral)", 2, 1, 0},
    rm_a_defaults, NULL, rm_nbuf, rm_begin, rm_step};
