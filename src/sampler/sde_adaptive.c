/* sde_adaptive.c - the adaptive reverse-SDE solver of Jolicoeur-Martineau et
 * al. 2021, "Gotta Go Fast When Generating Data with Score-Based Models"
 * (arXiv:2105.14080), Algorithm 1, in process coordinates X = alpha x~ and
 * process time t (going down from the current schedule point to the last
 * point with sigma > 0):
 *
 *   z ~ N(0, I)
 *   X'   = X - h [f(t) X - g2(t) s(X, t)] + sqrt(h g2(t)) z          (Euler-Maruyama)
 *   X~'' = X - h [f(t-h) X' - g2(t-h) s(X', t-h)] + sqrt(h g2(t-h)) z (same z)
 *   X''  = (X' + X~'') / 2                                            (improved Euler)
 *   delta = max(atol, rtol max(|X'|, |X'_prev|))      (mixed tolerance, elementwise)
 *   E = RMS((X' - X'') / delta)
 *   accept when E <= 1: X <- X'' (extrapolation: the higher-order result),
 *     t <- t - h, X'_prev <- X'
 *   h <- min(t - t_end, theta h E^(-r))
 *
 * with score s = (alpha D - X) / sigma^2 from the data prediction. Defaults
 * are the paper's: rtol 0.05, atol 0.0078 (data in [-1, 1]), h_init 0.01
 * (time units), theta 0.9 (cfg.accept_safety), r 0.9 (cfg.icoeff). The score
 * at (X, t) is kept across a rejected attempt (X and t are unchanged), so an
 * attempt costs 2 evaluations after an acceptance and 1 after a rejection.
 * Per-sample step sizes (the paper's choice; cfg.error_norm =
 * SGM_NORM_PER_SAMPLE, the default): every row runs its own t and h, with
 * its own denoiser calls and noise draws, so a row's result does not depend
 * on the batch; SGM_NORM_BATCH takes one step size for the batch (E = RMS
 * over all rows). At t_end the run returns the data prediction D(X, t_end)
 * when cfg.denoise_to_zero (default, the paper's final denoising step).
 * The step size rule is step_control.h's (sgm__ctl_dpm_solver); the per-row
 * driver and the end of the run are adaptive_rows.h's, shared with
 * dpm_adaptive (kd_dpm_solver.c).
 */
#include <stdint.h>
#include <stdlib.h>

#include "adaptive_rows.h"
#include "sampler_internal.h"

enum { B_D1 = 0, B_D2, B_X1, B_X2, B_XP, B_U, N_BUF };

typedef struct ggf_state {
    double t_start, t_end;
    size_t i_start, i_end;
    uint64_t rng_base;
    int per_sample;
    sgm__ctl ctl;
    double *rms;
    size_t n_rows;
    sgm__arow rows[];
} ggf_state;

typedef struct gview {
    void *x, *D1, *D2, *X1, *X2, *XP, *U;
} gview;

static gview gview_at(const sgm__s *s, void *x, size_t row) {
    size_t off = row * s->d * s->esz;
    gview v;
    v.x = (char *)x + off;
    v.D1 = (char *)s->buf[B_D1] + off;
    v.D2 = (char *)s->buf[B_D2] + off;
    v.X1 = (char *)s->buf[B_X1] + off;
    v.X2 = (char *)s->buf[B_X2] + off;
    v.XP = (char *)s->buf[B_XP] + off;
    v.U = (char *)s->buf[B_U] + off;
    return v;
}

static int ggf_nbuf(const sgm_sampler_config *c) {
    (void)c;
    return N_BUF;
}

static void ggf_defaults(sgm_sampler_config *c) {
    c->rtol = 0.05;
    c->atol = 0.0078;
    c->h_init = 0.01;
    c->accept_safety = 0.9; /* theta */
    c->icoeff = 0.9;        /* r */
    c->denoise_to_zero = 1;
}

static sgm_status ggf_validate(const sgm_sampler_config *c, sgm_error *err) {
    if (!(c->h_init > 0 && isfinite(c->h_init)))
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "sde_adaptive: h_init must be > 0 (got %g)",
                         c->h_init);
    if (!(c->accept_safety > 0 && c->accept_safety <= 1))
        return sgm__fail(err, SGM_ERR_INVALID_ARG,
                         "sde_adaptive: safety theta (accept_safety) must be in (0, 1] (got %g)",
                         c->accept_safety);
    if (!(c->icoeff >= 0.5 && c->icoeff <= 1))
        return sgm__fail(err, SGM_ERR_INVALID_ARG,
                         "sde_adaptive: exponent r (icoeff) must be in [0.5, 1] (got %g)",
                         c->icoeff);
    if (c->error_norm != SGM_NORM_PER_SAMPLE && c->error_norm != SGM_NORM_BATCH)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "sde_adaptive: unknown error_norm");
    return SGM_OK;
}

static sgm__pt ggf_pt(const sgm__s *s, const ggf_state *k, double t) {
    if (t == k->t_start) return s->pts[k->i_start];
    if (t == k->t_end) return s->pts[k->i_end];
    return sgm__pt_from_t(s, t);
}

static sgm_status ggf_begin(sgm__s *s, void *x) {
    int per_sample = s->cfg.error_norm == SGM_NORM_PER_SAMPLE;
    size_t n_rows = per_sample ? s->n : 1;
    ggf_state *k = calloc(1, sizeof *k + n_rows * sizeof(sgm__arow) + s->n * sizeof(double));
    if (!k) return sgm__fail(s->err, SGM_ERR_NOMEM, "out of memory");
    s->mstate = k;
    k->rms = (double *)(k->rows + n_rows);
    k->n_rows = n_rows;
    k->per_sample = per_sample;
    k->i_start = s->i;
    k->i_end = s->n_pts - 1;
    while (k->i_end > k->i_start && !(s->pts[k->i_end].s > 0)) k->i_end--;
    k->t_start = s->pts[k->i_start].t;
    k->t_end = s->pts[k->i_end].t;
    k->rng_base = s->rng->counter;
    k->ctl = sgm__ctl_dpm_solver(1 / s->cfg.icoeff, s->cfg.accept_safety);
    for (size_t r = 0; r < n_rows; r++) {
        k->rows[r].t = k->t_start;
        k->rows[r].h = s->cfg.h_init;
        sgm__ctl_reset(&k->rows[r].cs);
        k->rows[r].finished = !(k->t_start > k->t_end);
    }
    /* X'_prev starts as X (process coordinates) */
    double a = s->pts[k->i_start].alpha;
    sgm__lc(s, s->buf[B_XP], 1, &a, (const void *const *)&x);
    return SGM_OK;
}

/* z for one attempt; per-sample Philox rows keep their own draw counters */
static void draw(sgm__s *s, ggf_state *k, sgm__arow *rs, void *z) {
    if (k->per_sample && s->cfg.noise == SGM_NOISE_INDEPENDENT)
        s->rng->counter = k->rng_base + rs->draws;
    sgm__randn(s, z);
    rs->draws++;
}

/* drift-and-noise update: out = X - h [f X_at - g2 (alpha_q D - X_at) / sig_q^2] + c z,
 * with X_at = alpha_q xv (xv in VE coordinates at q). */
static void em_update(sgm__s *s, void *out, const void *X, const void *xv, const void *D,
                      sgm__pt q, double h, double cz, const void *z) {
    double f = sgm_process_f(s->proc, q.t), g2 = sgm_process_g2(s->proc, q.t);
    double sig = q.alpha * q.s;
    /* X_at = a xv: -h f a xv + h g2 (a D - a xv) / sig^2 */
    double k2 = h * g2 / (sig * sig);
    double cxv = -h * f * q.alpha - k2 * q.alpha, cD = k2 * q.alpha;
    sgm__lc4(s, out, 1, X, cxv, xv, cD, D, cz, z);
}

static sgm_status ggf_advance(sgm__s *s, ggf_state *k, sgm__arow *rs, const gview *v) {
    const sgm_sampler_config *c = &s->cfg;
    sgm_status st = SGM_OK;
    while (!rs->finished) {
        sgm_status fail = rs->cs.n_nonfinite ? SGM_ERR_NONFINITE : SGM_ERR_NO_CONVERGENCE;
        if (rs->attempts >= c->max_steps)
            return sgm__fail(s->err, fail, "sde_adaptive: no convergence in %zu attempts",
                             rs->attempts);
        double left = rs->t - k->t_end;
        double h = rs->h < left ? rs->h : left;
        if (sgm__ctl_underflow(rs->t, h))
            return sgm__fail(s->err, fail, "sde_adaptive: step size underflow at t %g", rs->t);
        int last = !(rs->h < left);
        sgm__pt p = ggf_pt(s, k, rs->t), q = last ? s->pts[k->i_end] : sgm__pt_from_t(s, rs->t - h);
        if (!rs->d_valid) {
            if ((st = sgm__denoise(s, v->x, p, v->D1))) return st;
            rs->d_valid = 1;
        }
        draw(s, k, rs, s->noise);
        void *z = (char *)s->noise; /* the view's rows: noise is drawn for s->n rows */
        /* X (process coordinates) into U */
        sgm__lc(s, v->U, 1, &p.alpha, (const void *const *)&v->x);
        double g2p = sgm_process_g2(s->proc, p.t), g2q = sgm_process_g2(s->proc, q.t);
        em_update(s, v->X1, v->U, v->x, v->D1, p, h, sqrt(h * fmax(g2p, 0)), z);
        /* second stage at (X', t - h) */
        double ia = 1 / q.alpha;
        sgm__lc(s, v->X2, 1, &ia, (const void *const *)&v->X1); /* X2 = X' in VE coords */
        if ((st = sgm__denoise(s, v->X2, q, v->D2))) return st;
        em_update(s, v->X2, v->U, v->X2, v->D2, q, h, sqrt(h * fmax(g2q, 0)), z);
        sgm__lc2(s, v->X2, 0.5, v->X1, 0.5, v->X2); /* X'' */
        sgm__err_rms_dpm(s, v->X1, v->X2, v->XP, c->atol, c->rtol, k->rms);
        double acc = 0;
        for (size_t r = 0; r < s->n; r++) acc += k->rms[r] * k->rms[r];
        double E = sqrt(acc / (double)s->n);
        rs->attempts++;
        double hn = h;
        int accept = sgm__ctl_propose(&k->ctl, &rs->cs, E, &hn);
        rs->h = hn;
        s->stats.last_h = hn;
        if (accept) {
            sgm__copy(s, v->XP, v->X1);
            sgm__lc(s, v->x, 1, &ia, (const void *const *)&v->X2);
            rs->t = last ? k->t_end : rs->t - h;
            rs->d_valid = 0;
            if (last) rs->finished = 1;
            return SGM_OK;
        }
        s->stats.n_reject++;
    }
    return st;
}

static void ggf_set_index(sgm__s *s, const ggf_state *k, double t) {
    size_t i = k->i_start;
    while (i + 1 <= k->i_end && s->pts[i + 1].t >= t) i++;
    if (i > s->n_pts - 2) i = s->n_pts - 2;
    if (i > s->i) s->i = i;
}

static sgm_status ggf_row_step(sgm__s *s, void *k, sgm__arow *rs, size_t row, void *x) {
    gview v = gview_at(s, x, row);
    return ggf_advance(s, k, rs, &v);
}

static sgm_status ggf_step(sgm__s *s, void *x) {
    ggf_state *k = s->mstate;
    double t_min = k->t_start;
    int all_done;
    sgm_status st = sgm__arows_step(s, k, k->rows, k->per_sample, ggf_row_step, x, k->rng_base,
                                    s->cfg.noise == SGM_NOISE_INDEPENDENT, &t_min, &all_done);
    s->last_D = s->buf[B_D1];
    if (st) return st;
    if (all_done) return sgm__arows_finish(s, x, k->i_end, s->buf[B_D1]);
    ggf_set_index(s, k, t_min);
    return SGM_OK;
}

const sgm__method sgm__m_sde_adaptive = {
    {"sde_adaptive", "gotta_go_fast,ggf,adaptive_sde",
     "adaptive reverse-SDE solver: EM / improved-Euler pair, mixed tolerance, per-sample "
     "steps (Jolicoeur-Martineau et al. 2021)", 1, 1, 1},
    ggf_defaults, ggf_validate, ggf_nbuf, ggf_begin, ggf_step};
