/* deis.c - DEIS, the diffusion exponential integrator sampler (Zhang & Chen
 * 2022, arXiv:2204.13902, "rhoAB" / log-rho multistep variant), as
 * huggingface/diffusers v0.35.2 scheduling_deis_multistep.py
 * (algorithm_type 'deis', solver_type 'logrho').
 *
 * In VE coordinates the probability-flow ODE is dx~/drho = eps(x~, rho) with
 * rho = s = sigma/alpha and eps = (x~ - D)/s. A step from rho_0 to rho_t
 * integrates the Lagrange polynomial through the last k eps values, taken as
 * a polynomial in log rho:
 *   x~_t = x~_0 + sum_j c_j eps_j,  c_j = int_{rho_0}^{rho_t} l_j(log rho) drho,
 * which are diffusers' closed forms (ind_fn) for k = 2, 3; k = 1 is DDIM,
 * x~_t = x~_0 + (rho_t - rho_0) eps_0.
 * Order ramp: step k uses at most k + 1 values (warm-up). lower_order_final:
 * SGM_LOF_DIFFUSERS (default) makes the last step first order and the one
 * before at most second order when the schedule has fewer than 15 steps;
 * SGM_LOF_DPMSOLVER the same below 10 steps. A step to s = 0 is first order
 * (x = D; the log-rho integrals do not exist there).
 */
#include <math.h>

#include "sampler_internal.h"

static void defaults(sgm_sampler_config *c) {
    c->order = 2;
    c->solver_type = SGM_SOLVER_LOGRHO;
    c->lower_order_final = SGM_LOF_DIFFUSERS;
}

static sgm_status validate(const sgm_sampler_config *c, sgm_error *err) {
    if (c->order < 1 || c->order > 3)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "deis: order must be 1..3 (got %d)",
                         c->order);
    if (c->solver_type != SGM_SOLVER_LOGRHO)
        return sgm__fail(err, SGM_ERR_UNSUPPORTED, "deis: only solver_type logrho exists");
    return SGM_OK;
}

static int nbuf(const sgm_sampler_config *c) { return c->order; }

/* int of the linear Lagrange basis through log b, log c (node b), antiderivative at t */
static double ind2(double t, double b, double c) {
    return t * (-log(c) + log(t) - 1) / (log(b) - log(c));
}

/* quadratic basis through log b, log c, log d (node b), antiderivative at t */
static double ind3(double t, double b, double c, double d) {
    double lt = log(t), lc = log(c), ld = log(d), lb = log(b);
    double num = t * (lc * (ld - lt + 1) - ld * lt + ld + lt * lt - 2 * lt + 2);
    return num / ((lb - lc) * (lb - ld));
}

/* order of the step from point i, with warm-up and lower_order_final */
static int step_order(const sgm__s *s, int have) {
    int k = s->cfg.order < have ? s->cfg.order : have;
    size_t n_steps = s->n_pts - 1, left = sgm__left(s);
    size_t lim = s->cfg.lower_order_final == SGM_LOF_DIFFUSERS   ? 15
                 : s->cfg.lower_order_final == SGM_LOF_DPMSOLVER ? 10
                                                                 : 0;
    if (n_steps < lim) {
        if (left == 1) k = 1;
        else if (left == 2 && k > 2) k = 2;
    }
    if (sgm__next(s).s == 0) k = 1;
    return k;
}

static sgm_status deis_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    int depth = s->cfg.order;
    int slot = sgm__hist_slot(s, 0, depth);
    void *e = s->buf[slot];
    sgm_status st = sgm__denoise(s, x, p, e);
    if (st) return st;
    sgm__lc2(s, e, 1 / p.s, x, -1 / p.s, e); /* eps = (x - D)/s */
    sgm__hist_push(s, slot, p.s, depth);
    int k = step_order(s, s->hn);
    const void *e0 = s->buf[s->ibuf[0]];
    double rt = q.s, r0 = s->hs[0];
    if (k == 1) {
        sgm__lc2(s, x, 1, x, rt - r0, e0);
    } else if (k == 2) {
        double r1 = s->hs[1];
        double c1 = ind2(rt, r0, r1) - ind2(r0, r0, r1);
        double c2 = ind2(rt, r1, r0) - ind2(r0, r1, r0);
        sgm__lc3(s, x, 1, x, c1, e0, c2, s->buf[s->ibuf[1]]);
    } else {
        double r1 = s->hs[1], r2 = s->hs[2];
        double c1 = ind3(rt, r0, r1, r2) - ind3(r0, r0, r1, r2);
        double c2 = ind3(rt, r1, r2, r0) - ind3(r0, r1, r2, r0);
        double c3 = ind3(rt, r2, r0, r1) - ind3(r0, r2, r0, r1);
        sgm__lc4(s, x, 1, x, c1, e0, c2, s->buf[s->ibuf[1]], c3, s->buf[s->ibuf[2]]);
    }
    s->i++;
    return SGM_OK;
}

const sgm__method sgm__m_deis = {
    {"deis", "deis_multistep",
     "DEIS exponential-integrator Adams (logrho), orders 1-3", 2, 0, 0},
    defaults, validate, nbuf, NULL, deis_step};
