/* ipndm_v.c - iPNDM-v: the variable-step improved pseudo-numerical method
 * (Zhang & Chen 2022, arXiv:2204.13902; Zhou et al. 2024 diff-solvers
 * "ipndm_v"), as ComfyUI's sample_ipndm_v. Adams-Bashforth on the Karras ODE
 * dx~/ds = d = (x~ - D)/s whose coefficients are those of the variable-step
 * formula in the step sizes h_n = s_{n+1} - s_n, h_{n-1}, h_{n-2}, h_{n-3}
 * (orders 1..4, warm-up with the lower ones; cfg.order caps, default 4).
 * As coded, the order-4 weights on equal steps are (57, -65, 43, -11)/24, not
 * Adams-Bashforth's (55, -59, 37, -9)/24: the scheme is third order
 * (tests/test_convergence.c).
 * A step to s = 0 returns D. One NFE per step. */
#include "sampler_internal.h"

#define IPV_MAX 4

static int ipv_nbuf(const sgm_sampler_config *c) {
    (void)c;
    return IPV_MAX + 1; /* ring of d values, then D */
}

static sgm_status ipv_validate(const sgm_sampler_config *c, sgm_error *err) {
    if (c->order < 0 || c->order > IPV_MAX)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "ipndm_v: order must be 1..4 (got %d)",
                         c->order);
    return SGM_OK;
}

static sgm_status ipv_begin(sgm__s *s, void *x) {
    (void)x;
    sgm__hist_reset(s);
    return SGM_OK;
}

/* coefficients of d_n, d_{n-1}, ... for order o, steps h0 = h_n, h1..h3 earlier */
static void ipv_coef(int o, double h0, double h1, double h2, double h3, double *c) {
    if (o == 1) {
        c[0] = 1;
    } else if (o == 2) {
        c[0] = (2 + h0 / h1) / 2;
        c[1] = -(h0 / h1) / 2;
    } else if (o == 3) {
        double t = (1 - h0 / (3 * (h0 + h1)) * (h0 * (h0 + h1)) / (h1 * (h1 + h2))) / 2;
        c[0] = (2 + h0 / h1) / 2 + t;
        c[1] = -(h0 / h1) / 2 - (1 + h1 / h2) * t;
        c[2] = t * h1 / h2;
    } else {
        double t1 = (1 - h0 / (3 * (h0 + h1)) * (h0 * (h0 + h1)) / (h1 * (h1 + h2))) / 2;
        double t2 = ((1 - h0 / (3 * (h0 + h1))) / 2 +
                     (1 - h0 / (2 * (h0 + h1))) * h0 / (6 * (h0 + h1 + h2))) *
                    (h0 * (h0 + h1) * (h0 + h1 + h2)) / (h1 * (h1 + h2) * (h1 + h2 + h3));
        double q = h1 * (h1 + h2) / (h2 * (h2 + h3));
        c[0] = (2 + h0 / h1) / 2 + t1 + t2;
        c[1] = -(h0 / h1) / 2 - (1 + h1 / h2) * t1 - (1 + h1 / h2 + q) * t2;
        c[2] = t1 * h1 / h2 + (h1 / h2 + q * (1 + h2 / h3)) * t2;
        c[3] = -t2 * q * h1 / h2;
    }
}

static sgm_status ipv_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    int slot = sgm__hist_slot(s, 0, IPV_MAX);
    void *D = s->buf[IPV_MAX];
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    sgm__lc2(s, s->buf[slot], 1 / p.s, x, -1 / p.s, D);
    sgm__hist_push(s, slot, p.s, IPV_MAX);
    int cap = s->cfg.order > 0 ? s->cfg.order : IPV_MAX;
    int order = s->hn < cap ? s->hn : cap;
    if ((size_t)order > s->i + 1) order = (int)s->i + 1;
    if (q.s == 0) {
        sgm__copy(s, x, D);
        s->i++;
        return SGM_OK;
    }
    size_t i = s->i;
    double h0 = q.s - p.s;
    double h1 = i >= 1 ? p.s - s->pts[i - 1].s : 0;
    double h2 = i >= 2 ? s->pts[i - 1].s - s->pts[i - 2].s : 0;
    double h3 = i >= 3 ? s->pts[i - 2].s - s->pts[i - 3].s : 0;
    double cf[IPV_MAX], c[IPV_MAX + 1];
    const void *in[IPV_MAX + 1];
    ipv_coef(order, h0, h1, h2, h3, cf);
    c[0] = 1;
    in[0] = x;
    for (int j = 0; j < order; j++) {
        c[j + 1] = h0 * cf[j];
        in[j + 1] = s->buf[s->ibuf[j]];
    }
    sgm__lc(s, x, order + 1, c, in);
    s->i++;
    return SGM_OK;
}

const sgm__method sgm__m_ipndm_v = {
    {"ipndm_v", "ipndmv,i_pndm_v",
     "iPNDM-v: variable-step Adams-Bashforth on d, 3rd order as coded (ComfyUI ipndm_v)", 3,
     0, 0},
    NULL, ipv_validate, ipv_nbuf, ipv_begin, ipv_step};
