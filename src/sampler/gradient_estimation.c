/* gradient_estimation.c - the gradient-estimation sampler of Permenter & Yuan
 * 2024 ("Interpreting and Improving Diffusion Models from an Optimization
 * Perspective", ICML, Alg. 2), as ComfyUI's sample_gradient_estimation:
 *   d_i = (x~ - D(x~, s_i)) / s_i,  x~ <- x~ + (s_{i+1} - s_i) (d_i + (gamma - 1)(d_i - d_{i-1}))
 * (plain Euler on the first step), gamma = cfg.ge_gamma (default 2); a step
 * to s = 0 returns D. One NFE per step. */
#include <math.h>

#include "sampler_internal.h"

enum { GE_D = 0, GE_DOLD, GE_DEN, GE_NBUF };

static int ge_nbuf(const sgm_sampler_config *c) {
    (void)c;
    return GE_NBUF;
}

static sgm_status ge_validate(const sgm_sampler_config *c, sgm_error *err) {
    if (!isfinite(c->ge_gamma))
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "gradient_estimation: gamma must be finite");
    return SGM_OK;
}

static sgm_status ge_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    void *D = s->buf[GE_DEN], *d = s->buf[GE_D], *dold = s->buf[GE_DOLD];
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    sgm__lc2(s, d, 1 / p.s, x, -1 / p.s, D);
    if (q.s == 0) {
        sgm__copy(s, x, D);
    } else {
        double dt = q.s - p.s;
        if (s->i >= 1) {
            double g = s->cfg.ge_gamma - 1;
            sgm__lc3(s, x, 1, x, dt * (1 + g), d, -dt * g, dold);
        } else {
            sgm__lc2(s, x, 1, x, dt, d);
        }
    }
    sgm__copy(s, dold, d);
    s->i++;
    return SGM_OK;
}

const sgm__method sgm__m_gradient_estimation = {
    {"gradient_estimation", "ge,gradient-estimation",
     "Permenter & Yuan 2024 gradient estimation: Euler plus (gamma-1)(d_i - d_{i-1})", 1, 0,
     0},
    NULL, ge_validate, ge_nbuf, NULL, ge_step};
