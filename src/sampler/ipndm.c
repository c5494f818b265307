/* ipndm.c - iPNDM: improved pseudo-numerical method (Zhang & Chen 2022,
 * "Fast Sampling of Diffusion Models with Exponential Integrator",
 * arXiv:2204.13902, Sec. 5 / App. "iPNDM"), as stable-diffusion.cpp's
 * `ipndm` sampler (denoiser.hpp, after zju-pi/diff-sampler).
 *
 * Explicit Adams-Bashforth on the Karras ODE dx~/ds = d = (x~ - D(x~, s)) / s
 * with the fixed (uniform-step) coefficients
 *   order 1: 1
 *   order 2: 3/2, -1/2
 *   order 3: 23/12, -16/12, 5/12
 *   order 4: 55/24, -59/24, 37/24, -9/24
 * x_{i+1} = x_i + (s_{i+1} - s_i) sum_j c_j d_{i-j}. The order is
 * min(cfg.order, steps taken + 1) (warm-up with the lower orders); cfg.order
 * (default 4) caps it. The coefficients are the constant-step ones whatever
 * the grid, as in the reference (iPNDM-v is the variable-step variant), so the
 * full order is reached on grids uniform in s. Unlike stable-diffusion.cpp, a
 * step to s = 0 is a plain first-order step (x = D): the history of d is not
 * extrapolated to the data end. One NFE per step.
 */
#include "sampler_internal.h"

#define IPNDM_MAX 4

static int ipndm_nbuf(const sgm_sampler_config *c) {
    (void)c;
    return IPNDM_MAX + 1; /* ring of d values (newest first via s->ibuf), then D */
}

static sgm_status ipndm_validate(const sgm_sampler_config *c, sgm_error *err) {
    if (c->order < 0 || c->order > IPNDM_MAX)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "ipndm: order must be 1..4 (got %d)",
                         c->order);
    return SGM_OK;
}

static sgm_status ipndm_begin(sgm__s *s, void *x) {
    (void)x;
    sgm__hist_reset(s);
    return SGM_OK;
}

static sgm_status ipndm_step(sgm__s *s, void *x) {
    static const double coef[IPNDM_MAX][IPNDM_MAX] = {
        {1, 0, 0, 0},
        {3.0 / 2, -1.0 / 2, 0, 0},
        {23.0 / 12, -16.0 / 12, 5.0 / 12, 0},
        {55.0 / 24, -59.0 / 24, 37.0 / 24, -9.0 / 24},
    };
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    int slot = sgm__hist_slot(s, 0, IPNDM_MAX);
    void *D = s->buf[IPNDM_MAX];
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    /* d = (x - D) / s; D stays intact for the step callback */
    sgm__lc2(s, s->buf[slot], 1 / p.s, x, -1 / p.s, D);
    sgm__hist_push(s, slot, p.s, IPNDM_MAX);

    int cap = s->cfg.order > 0 ? s->cfg.order : IPNDM_MAX;
    int order = s->hn < cap ? s->hn : cap;
    if (q.s == 0) { /* first-order step to the data end: x - s d = D exactly */
        sgm__copy(s, x, D);
        s->i++;
        return SGM_OK;
    }
    double h = q.s - p.s;
    double c[IPNDM_MAX + 1];
    const void *in[IPNDM_MAX + 1];
    c[0] = 1;
    in[0] = x;
    for (int j = 0; j < order; j++) {
        c[j + 1] = h * coef[order - 1][j];
        in[j + 1] = s->buf[s->ibuf[j]];
    }
    sgm__lc(s, x, order + 1, c, in);
    s->i++;
    return SGM_OK;
}

const sgm__method sgm__m_ipndm = {
    {"ipndm", "i_pndm",
     "iPNDM: 4th-order Adams-Bashforth on d with fixed coefficients", 4, 0, 0},
    NULL, ipndm_validate, ipndm_nbuf, ipndm_begin, ipndm_step};
