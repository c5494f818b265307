/* rk45.c - adaptive Dormand-Prince 5(4) on the probability-flow ODE
 * (Dormand & Prince 1980, "A family of embedded Runge-Kutta formulae",
 * J. Comp. Appl. Math. 6; the tableau of Hairer, Norsett & Wanner, Solving
 * ODEs I, table II.5.2; score_sde get_ode_sampler uses scipy's RK45, the same
 * pair, with rtol = atol = 1e-5, which are our defaults).
 *
 * Integration variable: lambda = -log s (s = sigma / alpha, VE coordinates),
 * in which the PF-ODE is dx~/dlambda = D(x~, lambda) - x~ (from
 * dx~/ds = (x~ - D)/s): smooth and well scaled at both ends, so one
 * tolerance works from the prior to the data. We integrate from the first
 * schedule point (the second after the core's first step from pure noise,
 * alpha = 0) to the last nonzero one; intermediate schedule points are
 * ignored (the solver picks its own steps). If the schedule ends at s = 0,
 * the result is x = D(x, s_last) (the Euler step to 0), which FSAL gives
 * without an extra evaluation.
 *
 * The step itself is the shared DOPRI5 stepper (dopri5.h), on the samplers'
 * dtype-generic kernels (ops.c); the step control is the shared controller
 * (step_control.h) in its PID form, k-diffusion's PIDStepSizeController
 * (Soderlind 2003) with exponent denominator 5: error = RMS over elements of
 * (x5 - x4)/(atol + rtol max(|x5|, |x_old|)) (sgm__err_rms), accept when
 * the limited factor >= accept_safety, h <- h * factor either way; a NaN or
 * Inf error is rejected and h shrinks by 1 - pi/4. cfg.h_init is the first
 * step in lambda, cfg.max_steps bounds the attempts of one integration.
 *
 * Error norm: SGM_NORM_PER_SAMPLE (default) integrates every row on its own
 * (s->n = 1 views, one denoiser call per row and stage), so a sample's
 * result does not depend on the rest of the batch; stats then sum steps and
 * rejections over rows. SGM_NORM_BATCH takes one step sequence for the whole
 * batch with the RMS over all elements (k-diffusion's norm), one accepted
 * step per sgm_sampler_step call.
 */
#include <stdlib.h>
#include <string.h>

#include "adaptive_rows.h"
#include "dopri5.h"
#include "sampler_internal.h"
#include "step_control.h"

enum { B_D = 9, NBUF = 10 }; /* buffers 0..8: the stepper's (dopri5.h) */

typedef struct rk_state {
    double lam, lam_end, h;
    int last;     /* the attempt at hand lands on lam_end */
    int k_valid;  /* dp.k[0] holds f at (x, lam) */
    sgm__dp5 dp;
    sgm__ctl ctl;
    sgm__ctl_state cs;
    size_t attempts, accepted;
    size_t i0;              /* start index (1 after the core's pure-noise first step) */
    sgm__pt p_start, p_end; /* exact schedule points at both ends */
    double *rms;            /* [n_max] */
} rk_state;

static void rk_defaults(sgm_sampler_config *c) {
    /* the order is fixed (5); 0 leaves the generic 1..4 order check out of it
     * (sgm_sampler_create then fills in the registry's 5) */
    c->order = 0;
    c->rtol = 1e-5;
    c->atol = 1e-5;
    c->h_init = 0.05;
}

static sgm_status rk_validate(const sgm_sampler_config *c, sgm_error *err) {
    if (!(c->h_init > 0 && isfinite(c->h_init)))
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "rk45: h_init must be > 0 (got %g)",
                         c->h_init);
    if (c->max_steps < 1)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "rk45: max_steps must be >= 1");
    if (!(c->accept_safety > 0 && c->accept_safety < 1 + 1.5707963267948966))
        return sgm__fail(err, SGM_ERR_INVALID_ARG,
                         "rk45: accept_safety must be in (0, 1 + pi/2) (got %g)",
                         c->accept_safety);
    if (!isfinite(c->pcoeff) || !isfinite(c->icoeff) || !isfinite(c->dcoeff))
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "rk45: PID coefficients must be finite");
    return SGM_OK;
}

static int rk_nbuf(const sgm_sampler_config *c) {
    (void)c;
    return NBUF;
}

/* index of the last point with s > 0 */
static size_t last_nonzero(const sgm__s *s) {
    return s->pts[s->n_pts - 1].s > 0 ? s->n_pts - 1 : s->n_pts - 2;
}

/* K = D(xin, p) - xin */
static sgm_status eval_f(sgm__s *s, const void *xin, sgm__pt p, void *K) {
    sgm_status e = sgm__denoise(s, xin, p, s->buf[B_D]);
    if (e) return e;
    sgm__lc2(s, K, 1, s->buf[B_D], -1, xin);
    return SGM_OK;
}

/* ---- the stepper's callbacks (ctx = the sampler) ---- */
static void op_lc(void *ctx, void *out, int k, const double *c, const void *const *in) {
    sgm__lc(ctx, out, k, c, in);
}

/* f at lambda; the exact schedule points at the start and at the end */
static sgm_status op_f(void *ctx, int stage, double lam, const void *y, void *dy) {
    sgm__s *s = ctx;
    const rk_state *st = s->mstate;
    sgm__pt p = stage == 0                         ? st->p_start
                : stage == SGM__DP5_END && st->last ? st->p_end
                                                    : sgm__pt_from_lambda(s, lam);
    return eval_f(s, y, p, dy);
}

/* RMS over the rows' RMS errors (one row: that row's) */
static double op_err(void *ctx, const void *y5, const void *y4, const void *y0) {
    const sgm__s *s = ctx;
    rk_state *st = s->mstate;
    sgm__err_rms(s, y5, y4, y0, s->cfg.atol, s->cfg.rtol, st->rms);
    if (s->n == 1) return st->rms[0];
    double acc = 0;
    for (size_t r = 0; r < s->n; r++) acc += st->rms[r] * st->rms[r];
    return sqrt(acc / (double)s->n);
}

static const sgm__dp5_ops rk_ops = {op_lc, op_f, op_err};

static void state_reset(sgm__s *s, rk_state *st) {
    st->p_start = s->pts[st->i0];
    st->p_end = s->pts[last_nonzero(s)];
    st->lam = st->p_start.lambda;
    st->lam_end = st->p_end.lambda;
    st->h = s->cfg.h_init;
    st->last = 0;
    st->k_valid = 0;
    st->attempts = 0;
    st->accepted = 0;
    sgm__ctl_reset(&st->cs);
    sgm__dp5_init(&st->dp, &rk_ops, s, s->buf);
}

static sgm_status rk_begin(sgm__s *s, void *x) {
    (void)x;
    rk_state *st = malloc(sizeof *st + s->n_max * sizeof(double));
    if (!st) return sgm__fail(s->err, SGM_ERR_NOMEM, "rk45: out of memory");
    st->rms = (double *)(st + 1);
    st->i0 = s->i;
    st->ctl = sgm__ctl_pid(5, s->cfg.pcoeff, s->cfg.icoeff, s->cfg.dcoeff, s->cfg.accept_safety);
    s->mstate = st;
    state_reset(s, st);
    return SGM_OK;
}

/* Attempts steps from (x, lam) until one is accepted (or the end is reached). */
static sgm_status rk_advance(sgm__s *s, void *x, rk_state *st) {
    sgm_status e;
    if (!st->k_valid) {
        if ((e = sgm__dp5_start(&st->dp, st->lam, x))) return e;
        st->k_valid = 1;
    }
    while (st->lam < st->lam_end) {
        if (++st->attempts > s->cfg.max_steps)
            return sgm__fail(s->err,
                             st->cs.n_nonfinite ? SGM_ERR_NONFINITE : SGM_ERR_NO_CONVERGENCE,
                             "rk45: %zu step attempts without reaching sigma=%g (at sigma=%g%s); "
                             "loosen rtol/atol or raise max_steps",
                             s->cfg.max_steps, st->p_end.s, exp(-st->lam),
                             st->cs.n_nonfinite ? ", non-finite error estimates" : "");
        double h = sgm__ctl_clip(st->lam, st->lam_end, st->h, &st->last);
        if (sgm__ctl_underflow(st->lam, h))
            return sgm__fail(s->err,
                             st->cs.n_nonfinite ? SGM_ERR_NONFINITE : SGM_ERR_NO_CONVERGENCE,
                             "rk45: step size underflow at sigma=%g%s", exp(-st->lam),
                             st->cs.n_nonfinite ? " (non-finite error estimates)" : "");
        double error;
        if ((e = sgm__dp5_step(&st->dp, st->lam, h, x, &error))) return e;
        if (sgm__ctl_propose(&st->ctl, &st->cs, error, &st->h)) {
            sgm__copy(s, x, st->dp.y5);
            sgm__dp5_accept(&st->dp);
            st->lam = st->last ? st->lam_end : st->lam + h;
            s->stats.last_h = h;
            st->accepted++;
            return SGM_OK;
        }
        s->stats.n_reject++;
    }
    return SGM_OK;
}

/* At the end: if the schedule ends at s = 0, x = x + K (= D at the last
 * nonzero point); then mark the run finished. */
static void rk_finish(sgm__s *s, void *x, rk_state *st) {
    if (s->pts[s->n_pts - 1].s == 0) sgm__lc2(s, x, 1, x, 1, st->dp.k[0]);
}

static sgm_status rk_step(sgm__s *s, void *x) {
    rk_state *st = s->mstate;
    sgm_status e;
    if (s->cfg.error_norm == SGM_NORM_BATCH) {
        if ((e = rk_advance(s, x, st))) return e;
        if (st->lam >= st->lam_end) {
            rk_finish(s, x, st);
            s->i = s->n_pts - 1;
        }
        return SGM_OK;
    }
    /* per sample: integrate every row on its own with 1-row views */
    size_t k0 = s->k, steps = 0;
    e = SGM_OK;
    sgm__batch b = sgm__rows_view(s);
    for (size_t r = 0; r < b.n && !e; r++) {
        void *xr = (char *)x + r * s->d * s->esz;
        s->row0 = b.row0 + r;
        state_reset(s, st);
        while (!e && st->lam < st->lam_end) e = rk_advance(s, xr, st);
        steps += st->accepted;
        if (!e && !st->k_valid) e = sgm__dp5_start(&st->dp, st->lam, xr);
        if (!e) rk_finish(s, xr, st);
    }
    sgm__rows_restore(s, &b);
    s->last_D = NULL; /* the D buffer holds only the last row's value */
    if (e) return e;
    /* the core adds 1 to s->k after this call: report accepted steps summed over rows */
    s->k = k0 + (steps > 0 ? steps - 1 : 0);
    s->i = s->n_pts - 1;
    return SGM_OK;
}

const sgm__method sgm__m_rk45 = {
    {"rk45", "dopri5,ode,rk45_ode",
     "adaptive Dormand-Prince RK45 on the probability-flow ODE (rtol, atol, PID)", 5, 0, 1},
    rk_defaults, rk_validate, rk_nbuf, rk_begin, rk_step};
