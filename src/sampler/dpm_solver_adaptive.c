/* dpm_solver_adaptive.c - adaptive-step DPM-Solver (Lu et al. 2022,
 * arXiv:2206.00927, Alg. 4: DPM-Solver-12 and -23 with the combined
 * atol/rtol error norm and step control h <- theta h E^(-1/order)),
 * after LuChengTHU/dpm-solver dpm_solver_pytorch.py dpm_solver_adaptive, for
 * noise and data prediction. Its lower- and higher-order results are
 * singlestep updates of dpm_solver.c (sgm__dpm_ss_update).
 */
#include <stdlib.h>

#include "adaptive_rows.h"
#include "sampler_internal.h"
#include "step_control.h"

/* DPM-Solver dpm_solver_adaptive: DPM-Solver-12 (order 2) or -23 (order 3)
 * in lambda; E = max over the batch (or the one row) of
 * RMS((x_high - x_low) / max(atol, rtol max(|x_low|, |x_prev|))); accept when
 * E <= 1; h <- min(theta h E^(-1/order), lambda_end - lambda). theta = 0.9,
 * t_err = 1e-5 (stop when |t - t_end| <= t_err), h_init from cfg. The error
 * is measured in process coordinates (alpha x~), where DPM-Solver works.
 * Unlike DPM-Solver, a rejected attempt reuses the model value at s (same x,
 * same t), so the NFE count is lower with identical results. With
 * SGM_NORM_PER_SAMPLE every row runs its own controller through a one-row
 * view (s->n = 1), so results do not depend on the batch; one call of step
 * makes one attempt on every unfinished row. The step rule is the shared
 * controller's (step_control.h, sgm__ctl_dpm_solver); a non-finite error
 * estimate rejects the attempt and shrinks h, and the row fails with
 * SGM_ERR_NONFINITE once h underflows. */
typedef struct {
    sgm__pt cur;     /* where the row's state is */
    double h;        /* next trial step in lambda */
    int done, have_m;
    size_t attempts;
    sgm__ctl_state cs;
} ad_row;

typedef struct {
    sgm__pt target;  /* end of the adaptive integration (s > 0) */
    int zero_end;    /* schedule ends at s = 0: a final x = D step */
    size_t nrows;    /* 1 (batch norm) or n (per sample) */
    sgm__ctl ctl;
    double *rv;      /* [n] per-row error norms (in the same block) */
    ad_row rows[];
} ad_state;

static const double AD_THETA = 0.9, AD_T_ERR = 1e-5;

static int ad_row_done(const ad_state *a, const ad_row *r) {
    return fabs(r->cur.t - a->target.t) <= AD_T_ERR || r->cur.lambda >= a->target.lambda;
}

static sgm_status ad_begin(sgm__s *s, void *x) {
    size_t nr = s->cfg.error_norm == SGM_NORM_BATCH ? 1 : s->n;
    ad_state *a = calloc(1, sizeof *a + nr * sizeof(ad_row) + (s->n + 1) * sizeof(double));
    if (!a) return sgm__fail(s->err, SGM_ERR_NOMEM, "out of memory");
    s->mstate = a;
    a->nrows = nr;
    a->rv = (double *)(void *)(a->rows + nr);
    a->ctl = sgm__ctl_dpm_solver(s->cfg.order, AD_THETA);
    sgm__pt last = s->pts[s->n_pts - 1];
    a->target = last;
    if (last.s == 0) {
        if (s->n_pts - 2 <= s->i)
            return sgm__fail(s->err, SGM_ERR_INVALID_ARG,
                             "dpm_solver_adaptive: the schedule ends at sigma = 0; give a "
                             "positive final sigma (t_end) before it");
        a->target = s->pts[s->n_pts - 2];
        a->zero_end = 1;
    }
    for (size_t r = 0; r < nr; r++) {
        a->rows[r].cur = sgm__cur(s);
        a->rows[r].h = s->cfg.h_init;
        sgm__ctl_reset(&a->rows[r].cs);
        a->rows[r].done = ad_row_done(a, &a->rows[r]);
    }
    /* x_prev starts as x; it is kept in process coordinates (alpha x~), where
     * DPM-Solver measures the error */
    sgm__lc2(s, s->buf[SGM__DPM_XP], sgm__cur(s).alpha, x, 0, x);
    return SGM_OK;
}

/* One attempt on a view (s->n rows starting at x, xp, ms). */
static sgm_status ad_attempt(sgm__s *s, ad_state *a, ad_row *r, void *x, void *xp, void *ms) {
    int order = s->cfg.order, taylor = sgm__dpm_taylor(s);
    sgm__pt p = r->cur;
    sgm__pt q = sgm__pt_from_lambda(s, p.lambda + r->h);
    void *xi = s->buf[SGM__DPM_XI], *xl = s->buf[SGM__DPM_XL], *xh = s->buf[SGM__DPM_XH];
    sgm_status e;
    if (!r->have_m) {
        if ((e = sgm__dpm_eval_model(s, x, p, ms, s->buf[SGM__DPM_D]))) return e;
        r->have_m = 1;
    }
    double h = q.lambda - p.lambda;
    sgm__pt P[3] = {p, p, p};
    const void *M[3] = {ms, s->buf[SGM__DPM_M1], s->buf[SGM__DPM_M2]};
    if (order == 2) {
        sgm__dpm_ss_update(s, xl, x, P, M, 1, 0, q);
        P[1] = sgm__pt_from_lambda(s, p.lambda + 0.5 * h);
        sgm__dpm_ss_update(s, xi, x, P, M, 1, 0, P[1]);
        e = sgm__dpm_eval_model(s, xi, P[1], s->buf[SGM__DPM_M1], s->buf[SGM__DPM_D]);
        if (e) return e;
        sgm__dpm_ss_update(s, xh, x, P, M, 2, taylor, q);
    } else {
        P[1] = sgm__pt_from_lambda(s, p.lambda + h / 3);
        sgm__dpm_ss_update(s, xi, x, P, M, 1, 0, P[1]);
        e = sgm__dpm_eval_model(s, xi, P[1], s->buf[SGM__DPM_M1], s->buf[SGM__DPM_D]);
        if (e) return e;
        sgm__dpm_ss_update(s, xl, x, P, M, 2, taylor, q);
        P[2] = sgm__pt_from_lambda(s, p.lambda + 2 * h / 3);
        sgm__dpm_ss_update(s, xi, x, P, M, 2, 1, P[2]);
        e = sgm__dpm_eval_model(s, xi, P[2], s->buf[SGM__DPM_M2], s->buf[SGM__DPM_D]);
        if (e) return e;
        sgm__dpm_ss_update(s, xh, x, P, M, 3, taylor, q);
    }
    double E = 0, *rv = a->rv;
    /* the error in process coordinates: x_low, x_high times alpha_t */
    void *xl_p = s->buf[SGM__DPM_XI], *xh_p = s->buf[SGM__DPM_D];
    sgm__lc2(s, xl_p, q.alpha, xl, 0, xl);
    sgm__lc2(s, xh_p, q.alpha, xh, 0, xh);
    sgm__err_rms_dpm(s, xl_p, xh_p, xp, s->cfg.atol, s->cfg.rtol, rv);
    for (size_t i = 0; i < s->n; i++)
        if (rv[i] > E || isnan(rv[i])) E = rv[i];
    r->attempts++;
    double hn = r->h;
    if (sgm__ctl_propose(&a->ctl, &r->cs, E, &hn)) {
        sgm__copy(s, x, xh);
        sgm__copy(s, xp, xl_p);
        r->cur = q;
        r->have_m = 0;
        s->stats.last_h = h;
    } else {
        s->stats.n_reject++;
        if (r->cs.n_nonfinite) r->have_m = 0; /* the model value at s may be the bad one */
    }
    double rest = a->target.lambda - r->cur.lambda;
    r->h = hn < rest ? hn : rest;
    if (r->cs.n_nonfinite && sgm__ctl_underflow(r->cur.lambda, r->h))
        return sgm__fail(s->err, SGM_ERR_NONFINITE,
                         "dpm_solver_adaptive: non-finite error estimates at t=%g (the "
                         "denoiser returns NaN or Inf)",
                         p.t);
    if (ad_row_done(a, r)) r->done = 1;
    if (!r->done && r->attempts >= s->cfg.max_steps)
        return sgm__fail(s->err,
                         r->cs.n_nonfinite ? SGM_ERR_NONFINITE : SGM_ERR_NO_CONVERGENCE,
                         "dpm_solver_adaptive: no convergence after %zu attempts (t=%g)%s",
                         r->attempts, r->cur.t,
                         r->cs.n_nonfinite ? ", non-finite error estimates" : "");
    return SGM_OK;
}

static sgm_status ad_step(sgm__s *s, void *x) {
    ad_state *a = s->mstate;
    sgm_status e = SGM_OK;
    int all = 1;
    if (a->nrows == 1 && s->n >= 1 && s->cfg.error_norm == SGM_NORM_BATCH) {
        if (!a->rows[0].done)
            e = ad_attempt(s, a, &a->rows[0], x, s->buf[SGM__DPM_XP], s->buf[SGM__DPM_MS]);
        all = a->rows[0].done;
    } else {
        /* per sample: each row is its own problem, seen through a 1-row view */
        size_t stride = s->d * s->esz;
        sgm__batch b = sgm__rows_view(s);
        for (size_t r = 0; r < a->nrows && !e; r++) {
            if (a->rows[r].done) continue;
            s->row0 = b.row0 + r;
            e = ad_attempt(s, a, &a->rows[r], (char *)x + r * stride,
                           (char *)s->buf[SGM__DPM_XP] + r * stride,
                           (char *)s->buf[SGM__DPM_MS] + r * stride);
            if (!a->rows[r].done) all = 0;
        }
        sgm__rows_restore(s, &b);
    }
    if (e) return e;
    if (!all) return SGM_OK;
    if (a->zero_end) {
        if ((e = sgm__denoise(s, x, a->target, s->buf[SGM__DPM_D]))) return e;
        sgm__copy(s, x, s->buf[SGM__DPM_D]);
    }
    s->i = s->n_pts - 1;
    return sgm__dpm_finish(s, x);
}

static void ad_defaults(sgm_sampler_config *c) {
    c->order = 3;
    c->error_norm = SGM_NORM_PER_SAMPLE;
}

static sgm_status ad_validate(const sgm_sampler_config *c, sgm_error *err) {
    if (c->order != 0 && c->order != 2 && c->order != 3)
        return sgm__fail(err, SGM_ERR_INVALID_ARG,
                         "dpm_solver_adaptive: order must be 2 or 3 (got %d)", c->order);
    if (!(c->h_init > 0 && isfinite(c->h_init)))
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "dpm_solver_adaptive: h_init must be > 0");
    return sgm__dpm_check_common(c, err);
}

static int ad_nbuf(const sgm_sampler_config *c) {
    (void)c;
    return SGM__DPM_NBUF;
}

const sgm__method sgm__m_dpm_solver_adaptive = {
    {"dpm_solver_adaptive", "dpmsolver_adaptive",
     "DPM-Solver adaptive (orders 2/3, rtol/atol; Lu et al. 2022 alg. 4)", 3, 0, 1},
    ad_defaults, ad_validate, ad_nbuf, ad_begin, ad_step};
