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
 * Step control: error = RMS over elements of (x5 - x4)/(atol + rtol
 * max(|x5|, |x_old|)) (sgm__err_rms), the PID controller of k-diffusion's
 * PIDStepSizeController (Soderlind 2003): factor = limiter(e0^b1 e1^b2
 * e2^b3) with e = 1/(error + 1e-8), b1 = (P + I + D)/5, b2 = -(P + 2D)/5,
 * b3 = D/5, limiter(u) = 1 + atan(u - 1); accept when factor >=
 * accept_safety; h <- h * factor either way. cfg.h_init is the first step in
 * lambda, cfg.max_steps bounds the attempts of one integration.
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

#include "sampler_internal.h"

enum { NB_K = 7, B_XS = 7, B_X5 = 8, B_D = 9, NBUF = 10 };

/* Dormand-Prince tableau (shared with the likelihood solver) */
#include "dopri5_tableau.h"
#define C sgm__dp_c
#define A sgm__dp_a
#define BS sgm__dp_b4

typedef struct rk_state {
    double lam, lam_end, h;
    double errs[3];
    int have_errs;
    int k_valid;  /* kb[0] holds f at (x, lam) */
    int kb[NB_K]; /* stage -> buffer index */
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

static void state_reset(const sgm__s *s, rk_state *st) {
    st->p_start = s->pts[st->i0];
    st->p_end = s->pts[last_nonzero(s)];
    st->lam = st->p_start.lambda;
    st->lam_end = st->p_end.lambda;
    st->h = s->cfg.h_init;
    st->have_errs = 0;
    st->k_valid = 0;
    st->attempts = 0;
    st->accepted = 0;
    for (int i = 0; i < NB_K; i++) st->kb[i] = i;
}

static sgm_status rk_begin(sgm__s *s, void *x) {
    (void)x;
    rk_state *st = malloc(sizeof *st + s->n_max * sizeof(double));
    if (!st) return sgm__fail(s->err, SGM_ERR_NOMEM, "rk45: out of memory");
    st->rms = (double *)(st + 1);
    st->i0 = s->i;
    s->mstate = st;
    state_reset(s, st);
    return SGM_OK;
}

/* K = D(xin, p) - xin */
static sgm_status eval_f(sgm__s *s, const void *xin, sgm__pt p, void *K) {
    sgm_status e = sgm__denoise(s, xin, p, s->buf[B_D]);
    if (e) return e;
    sgm__lc2(s, K, 1, s->buf[B_D], -1, xin);
    return SGM_OK;
}

/* PID proposal (k-diffusion PIDStepSizeController); returns 1 to accept. */
static int propose(const sgm__s *s, rk_state *st, double error) {
    const sgm_sampler_config *c = &s->cfg;
    const double order = 5;
    if (!(error >= 0) || !isfinite(error)) error = 1e10; /* NaN/Inf: shrink hard */
    double inv = 1 / (error + 1e-8);
    if (!st->have_errs) {
        st->errs[0] = st->errs[1] = st->errs[2] = inv;
        st->have_errs = 1;
    }
    st->errs[0] = inv;
    double b1 = (c->pcoeff + c->icoeff + c->dcoeff) / order;
    double b2 = -(c->pcoeff + 2 * c->dcoeff) / order;
    double b3 = c->dcoeff / order;
    double factor = pow(st->errs[0], b1) * pow(st->errs[1], b2) * pow(st->errs[2], b3);
    factor = 1 + atan(factor - 1);
    int accept = factor >= c->accept_safety;
    if (accept) {
        st->errs[2] = st->errs[1];
        st->errs[1] = st->errs[0];
    }
    st->h *= factor;
    return accept;
}

/* Attempts steps from (x, lam) until one is accepted (or the end is reached). */
static sgm_status rk_advance(sgm__s *s, void *x, rk_state *st) {
    void *xs = s->buf[B_XS], *x5 = s->buf[B_X5];
    sgm_status e;
    if (!st->k_valid) {
        if ((e = eval_f(s, x, st->p_start, s->buf[st->kb[0]]))) return e;
        st->k_valid = 1;
    }
    while (st->lam < st->lam_end) {
        if (++st->attempts > s->cfg.max_steps)
            return sgm__fail(s->err, SGM_ERR_NO_CONVERGENCE,
                             "rk45: %zu step attempts without reaching sigma=%g (at sigma=%g); "
                             "loosen rtol/atol or raise max_steps",
                             s->cfg.max_steps, st->p_end.s, exp(-st->lam));
        double left = st->lam_end - st->lam;
        int last = st->h >= left;
        double h = last ? left : st->h;
        if (!(h > 1e-13 * fmax(1, fabs(st->lam))))
            return sgm__fail(s->err, SGM_ERR_NO_CONVERGENCE,
                             "rk45: step size underflow at sigma=%g", exp(-st->lam));
        const void *in[8];
        double cf[8];
        void *K[NB_K];
        for (int i = 0; i < NB_K; i++) K[i] = s->buf[st->kb[i]];
        for (int i = 1; i < 6; i++) {
            in[0] = x;
            cf[0] = 1;
            for (int j = 0; j < i; j++) {
                in[j + 1] = K[j];
                cf[j + 1] = h * A[i][j];
            }
            sgm__lc(s, xs, i + 1, cf, in);
            if ((e = eval_f(s, xs, sgm__pt_from_lambda(s, st->lam + C[i] * h), K[i]))) return e;
        }
        /* 5th-order solution (b = last row of A; b2 = 0 is skipped) */
        in[0] = x;
        cf[0] = 1;
        int k = 1;
        for (int j = 0; j < 6; j++) {
            if (A[6][j] == 0) continue;
            in[k] = K[j];
            cf[k++] = h * A[6][j];
        }
        sgm__lc(s, x5, k, cf, in);
        sgm__pt pn = last ? st->p_end : sgm__pt_from_lambda(s, st->lam + h);
        if ((e = eval_f(s, x5, pn, K[6]))) return e;
        /* 4th-order embedded solution into xs */
        in[0] = x;
        cf[0] = 1;
        k = 1;
        for (int j = 0; j < 7; j++) {
            if (BS[j] == 0) continue;
            in[k] = K[j];
            cf[k++] = h * BS[j];
        }
        sgm__lc(s, xs, k, cf, in);
        sgm__err_rms(s, x5, xs, x, s->cfg.atol, s->cfg.rtol, st->rms);
        double error;
        if (s->n == 1) {
            error = st->rms[0];
        } else {
            double acc = 0;
            for (size_t r = 0; r < s->n; r++) acc += st->rms[r] * st->rms[r];
            error = sqrt(acc / (double)s->n);
        }
        if (propose(s, st, error)) {
            sgm__copy(s, x, x5);
            int t = st->kb[0];
            st->kb[0] = st->kb[6];
            st->kb[6] = t;
            st->lam = last ? st->lam_end : st->lam + h;
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
    if (s->pts[s->n_pts - 1].s == 0) sgm__lc2(s, x, 1, x, 1, s->buf[st->kb[0]]);
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
    size_t n = s->n, count = s->count, k0 = s->k, steps = 0;
    uint64_t row0 = s->row0;
    e = SGM_OK;
    for (size_t r = 0; r < n && !e; r++) {
        void *xr = (char *)x + r * s->d * s->esz;
        s->n = 1;
        s->count = s->d;
        s->row0 = row0 + r;
        state_reset(s, st);
        while (!e && st->lam < st->lam_end) e = rk_advance(s, xr, st);
        steps += st->accepted;
        if (!e && !st->k_valid) e = eval_f(s, xr, st->p_start, s->buf[st->kb[0]]);
        if (!e) rk_finish(s, xr, st);
    }
    s->n = n;
    s->count = count;
    s->row0 = row0;
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
