/* kd_dpm_solver.c - DPM-Solver-fast and adaptive DPM-Solver-12/23 as in
 * k-diffusion (crowsonkb/k-diffusion k_diffusion/sampling.py: class
 * DPMSolver, PIDStepSizeController, sample_dpm_fast, sample_dpm_adaptive).
 *
 * Lu et al. 2022, "DPM-Solver" (arXiv:2206.00927), in VE form: t = lambda =
 * -log sigma, eps = (x - D) / sigma, h = t_next - t.
 *   order 1 (eq. 3.7): x1 = x - sigma(t_next) expm1(h) eps
 *   order 2 (Alg. 4, r1): u1 = x - sigma(s1) expm1(r1 h) eps, s1 = t + r1 h,
 *           x2 = x1 - sigma(t_next) / (2 r1) expm1(h) (eps(u1) - eps)
 *   order 3 (Alg. 5, r1 = 1/3, r2 = 2/3): u2 = x - sigma(s2) expm1(r2 h) eps
 *           - sigma(s2) (r2 / r1) (phi1(r2 h) - 1) (eps(u1) - eps),
 *           x3 = x1 - sigma(t_next) / r2 (phi1(h) - 1) (eps(u2) - eps)
 * dpm_fast: nfe evaluations, K = floor(nfe / 3) + 1 steps uniform in lambda,
 *   orders 3,...,3,2,1 (nfe % 3 == 0) or 3,...,3,nfe % 3 (Sec. 3.4).
 * dpm_adaptive: embedded pairs 1/2 (r1 = 1/2) or 2/3 (r1 = 1/3), error
 *   RMS((x_low - x_high) / max(atol, rtol max(|x_low|, |x_prev|))), step
 *   control by k-diffusion's PID controller (limiter 1 + atan(f - 1), accept
 *   when the factor >= accept_safety; the shared controller of
 *   step_control.h); stops when within 1e-5 of t_end. A NaN / Inf error is
 *   rejected and h shrinks by 1 - pi/4 (k-diffusion would carry a NaN step
 *   size on); a run that keeps getting them fails with SGM_ERR_NONFINITE at
 *   step size underflow (1e-13) or at max_steps.
 *   Like k-diffusion, every attempt re-evaluates eps at its start (order NFE
 *   per attempt). With cfg.error_norm == SGM_NORM_BATCH the error is one RMS
 *   over the whole batch (k-diffusion); with SGM_NORM_PER_SAMPLE every row runs
 *   its own step sequence, so its result does not depend on the batch.
 *   Optional eta: ancestral split of each step (controller order 1.5).
 *   The per-row driver and the end of the run are adaptive_rows.h's, shared
 *   with sde_adaptive (sde_adaptive.c).
 * Both integrate from the current schedule point to the last nonzero sigma
 * and return x there (the schedule's sigma = 0 end point, if any, is not
 * reached) unless cfg.denoise_to_zero, which returns D at the end (one NFE).
 */
#include <stdint.h>
#include <stdlib.h>

#include "adaptive_rows.h"
#include "sampler_internal.h"

enum { B_D = 0, B_E0, B_E1, B_E2, B_U, B_XL, B_XH, B_XP, N_BUF };

typedef struct kd_state {
    double t_start, t_end; /* lambda range */
    size_t i_start, i_end; /* schedule indices of the range */
    int nfe, m;            /* dpm_fast budget and number of steps */
    size_t k;              /* dpm_fast steps taken */
    uint64_t rng_base;     /* rng counter at begin (per-sample noise) */
    int per_sample;
    sgm__ctl ctl;          /* dpm_adaptive step controller */
    double *rms;           /* [n] per-row error norms (dpm_adaptive) */
    size_t n_rows;
    sgm__arow rows[];      /* one (batch) or n (per sample); t is lambda */
} kd_state;

/* The vectors one solver step works on (whole batch or one row). */
typedef struct view {
    void *x, *D, *E0, *E1, *E2, *U, *XL, *XH, *XP;
} view;

static view view_at(const sgm__s *s, void *x, size_t row) {
    size_t off = row * s->d * s->esz;
    view v;
    v.x = (char *)x + off;
    v.D = (char *)s->buf[B_D] + off;
    v.E0 = (char *)s->buf[B_E0] + off;
    v.E1 = (char *)s->buf[B_E1] + off;
    v.E2 = (char *)s->buf[B_E2] + off;
    v.U = (char *)s->buf[B_U] + off;
    v.XL = (char *)s->buf[B_XL] + off;
    v.XH = (char *)s->buf[B_XH] + off;
    v.XP = (char *)s->buf[B_XP] + off;
    return v;
}

static int nbuf(const sgm_sampler_config *c) {
    (void)c;
    return N_BUF;
}

/* the point at lambda, exact schedule points at the ends of the range */
static sgm__pt pt_at(const sgm__s *s, const kd_state *k, double lam) {
    if (lam == k->t_start) return s->pts[k->i_start];
    if (lam == k->t_end) return s->pts[k->i_end];
    return sgm__pt_from_lambda(s, lam);
}

/* E = eps(X) = (X - D(X)) / sigma at lambda; D goes to Dbuf (may be E). */
static sgm_status eps_at(sgm__s *s, const kd_state *k, const void *X, double lam, void *Dbuf,
                         void *E) {
    sgm__pt p = pt_at(s, k, lam);
    sgm_status st = sgm__denoise(s, X, p, Dbuf);
    if (st) return st;
    sgm__lc2(s, E, 1 / p.s, X, -1 / p.s, Dbuf);
    return SGM_OK;
}

/* E0 must hold eps(x, t). out = DPM-Solver-1 step t -> tn. */
static void dpm1(sgm__s *s, const view *v, double t, double tn, void *out) {
    double h = tn - t;
    sgm__lc2(s, out, 1, v->x, -exp(-tn) * expm1(h), v->E0);
}

/* E0 = eps(x, t); computes E1 = eps(u1, t + r1 h) unless *have_e1.
 * out = DPM-Solver-2 step t -> tn. */
static sgm_status dpm2(sgm__s *s, const kd_state *k, const view *v, double t, double tn,
                       double r1, int *have_e1, void *out) {
    double h = tn - t;
    if (!*have_e1) {
        double s1 = t + r1 * h;
        sgm__lc2(s, v->U, 1, v->x, -exp(-s1) * expm1(r1 * h), v->E0);
        sgm_status st = eps_at(s, k, v->U, s1, v->E1, v->E1);
        if (st) return st;
        *have_e1 = 1;
    }
    double a = exp(-tn) * expm1(h), b = exp(-tn) / (2 * r1) * expm1(h);
    sgm__lc3(s, out, 1, v->x, -a + b, v->E0, -b, v->E1);
    return SGM_OK;
}

/* DPM-Solver-3 step (r1 = 1/3, r2 = 2/3); E1 at r1 reused when *have_e1. */
static sgm_status dpm3(sgm__s *s, const kd_state *k, const view *v, double t, double tn,
                       int *have_e1, void *out) {
    const double r1 = 1.0 / 3, r2 = 2.0 / 3;
    double h = tn - t, s1 = t + r1 * h, s2 = t + r2 * h;
    sgm_status st;
    if (!*have_e1) {
        sgm__lc2(s, v->U, 1, v->x, -exp(-s1) * expm1(r1 * h), v->E0);
        if ((st = eps_at(s, k, v->U, s1, v->E1, v->E1))) return st;
        *have_e1 = 1;
    }
    /* u2 = x - sig(s2) expm1(r2 h) E0 - sig(s2) (r2/r1) (phi1(r2 h) - 1) (E1 - E0) */
    double a = exp(-s2) * expm1(r2 * h), b = exp(-s2) * (r2 / r1) * (sgm__phi1(r2 * h) - 1);
    sgm__lc3(s, v->U, 1, v->x, -a + b, v->E0, -b, v->E1);
    if ((st = eps_at(s, k, v->U, s2, v->E2, v->E2))) return st;
    /* x3 = x - sig(tn) expm1(h) E0 - sig(tn)/r2 (phi1(h) - 1) (E2 - E0) */
    double c = exp(-tn) * expm1(h), e = exp(-tn) / r2 * (sgm__phi1(h) - 1);
    sgm__lc3(s, out, 1, v->x, -c + e, v->E0, -e, v->E2);
    return SGM_OK;
}

/* ancestral split of the step t -> t_next (eta > 0): returns the lambda the
 * deterministic part goes to (at most t_end) and the noise std */
static void split(double t, double t_next, double t_end, double eta, double *t_det,
                  double *su) {
    double sd, up;
    sgm__ancestral(exp(-t), exp(-t_next), eta, &sd, &up);
    double td = sd > 0 ? -log(sd) : INFINITY;
    *t_det = td < t_end ? td : t_end;
    double a = exp(-t_next), b = exp(-*t_det);
    double v = a * a - b * b;
    *su = v > 0 ? sqrt(v) : 0;
}

/* draws the noise for (sigma_from -> sigma_to) into s->noise; in per-sample
 * mode each row has its own counter so rows do not depend on each other */
static void draw_noise(sgm__s *s, kd_state *k, sgm__arow *rs, double sf, double st,
                       void *z) {
    if (k->per_sample && s->cfg.noise != SGM_NOISE_BROWNIAN) {
        s->rng->counter = k->rng_base + rs->draws;
        sgm__noise_interval(s, sf, st, z);
        rs->draws++;
    } else {
        sgm__noise_interval(s, sf, st, z);
    }
}

/* Sets s->i to the last schedule point at or above the noise level reached
 * (below the end until the method has finished). */
static void set_index(sgm__s *s, const kd_state *k, double lam) {
    size_t i = k->i_start;
    while (i + 1 <= k->i_end && s->pts[i + 1].lambda <= lam) i++;
    if (i > s->n_pts - 2) i = s->n_pts - 2;
    if (i > s->i) s->i = i;
}

/* common begin: the lambda range from the current point to the last nonzero
 * sigma */
static sgm_status range_begin(sgm__s *s, size_t n_rows, kd_state **out) {
    kd_state *k = calloc(1, sizeof *k + n_rows * sizeof(sgm__arow) + s->n * sizeof(double));
    if (!k) return sgm__fail(s->err, SGM_ERR_NOMEM, "out of memory");
    s->mstate = k;
    k->rms = (double *)(k->rows + n_rows);
    k->i_start = s->i;
    k->i_end = s->n_pts - 1;
    while (k->i_end > k->i_start && !(s->pts[k->i_end].s > 0)) k->i_end--;
    k->t_start = s->pts[k->i_start].lambda;
    k->t_end = s->pts[k->i_end].lambda;
    k->n_rows = n_rows;
    k->rng_base = s->rng->counter;
    if (!(isfinite(k->t_start) && isfinite(k->t_end)))
        return sgm__fail(s->err, SGM_ERR_INVALID_ARG,
                         "%s: needs finite nonzero sigmas at both ends of the range",
                         s->m->info.name);
    *out = k;
    return SGM_OK;
}

/* ------------------------------------------------------------- dpm_fast --- */

static sgm_status fast_validate(const sgm_sampler_config *c, sgm_error *err) {
    if (c->nfe < 0) return sgm__fail(err, SGM_ERR_INVALID_ARG, "dpm_fast: nfe must be >= 0");
    return SGM_OK;
}

static sgm_status fast_begin(sgm__s *s, void *x) {
    (void)x;
    kd_state *k;
    sgm_status st = range_begin(s, 1, &k);
    if (st) return st;
    size_t steps = s->n_pts - 1 - s->i;
    k->nfe = s->cfg.nfe > 0 ? s->cfg.nfe : (int)(steps < 1000000 ? steps : 1000000);
    if (k->nfe < 1) k->nfe = 1;
    k->m = k->nfe / 3 + 1;
    return SGM_OK;
}

static int fast_order(const kd_state *k, int i) {
    if (k->nfe % 3 == 0) return i < k->m - 2 ? 3 : (i == k->m - 2 ? 2 : 1);
    return i < k->m - 1 ? 3 : k->nfe % 3;
}

/* ts[i] of torch.linspace(t_start, t_end, m + 1) */
static double fast_grid(const kd_state *k, int i) {
    if (i == 0) return k->t_start;
    if (i == k->m) return k->t_end;
    double step = (k->t_end - k->t_start) / k->m;
    return i < (k->m + 1) / 2 ? k->t_start + step * i : k->t_end - step * (k->m - i);
}

static sgm_status fast_step(sgm__s *s, void *x) {
    kd_state *k = s->mstate;
    if (k->k >= (size_t)k->m) return sgm__arows_finish(s, x, k->i_end, s->buf[B_D]);
    int i = (int)k->k;
    double t = fast_grid(k, i), tn = fast_grid(k, i + 1);
    double t_det = tn, su = 0;
    if (s->cfg.eta > 0) split(t, tn, k->t_end, s->cfg.eta, &t_det, &su);
    view v = view_at(s, x, 0);
    sgm_status st = eps_at(s, k, x, t, v.D, v.E0);
    if (st) return st;
    int have_e1 = 0, order = fast_order(k, i);
    if (order == 1) dpm1(s, &v, t, t_det, x);
    else if (order == 2) st = dpm2(s, k, &v, t, t_det, 0.5, &have_e1, x);
    else st = dpm3(s, k, &v, t, t_det, &have_e1, x);
    if (st) return st;
    if (su > 0) {
        draw_noise(s, k, &k->rows[0], exp(-t), exp(-tn), s->noise);
        sgm__lc2(s, x, 1, x, su * s->cfg.s_noise, s->noise);
    }
    s->last_D = v.D;
    k->k++;
    if (k->k >= (size_t)k->m) return sgm__arows_finish(s, x, k->i_end, s->buf[B_D]);
    set_index(s, k, tn);
    return SGM_OK;
}

/* --------------------------------------------------------- dpm_adaptive --- */

static sgm_status adaptive_validate(const sgm_sampler_config *c, sgm_error *err) {
    if (c->order != 0 && c->order != 2 && c->order != 3)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "dpm_adaptive: order must be 2 or 3 (got %d)",
                         c->order);
    if (!(c->h_init > 0 && isfinite(c->h_init)))
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "dpm_adaptive: h_init must be > 0");
    if (!(c->accept_safety > 0))
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "dpm_adaptive: accept_safety must be > 0");
    if (c->error_norm != SGM_NORM_PER_SAMPLE && c->error_norm != SGM_NORM_BATCH)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "dpm_adaptive: unknown error_norm");
    return SGM_OK;
}

static sgm_status adaptive_begin(sgm__s *s, void *x) {
    int per_sample = s->cfg.error_norm == SGM_NORM_PER_SAMPLE;
    size_t n_rows = per_sample ? s->n : 1;
    kd_state *k;
    sgm_status st = range_begin(s, n_rows, &k);
    if (st) return st;
    k->per_sample = per_sample;
    /* exponent denominator: the order of the pair, 1.5 with ancestral noise */
    const sgm_sampler_config *c = &s->cfg;
    double pid_order = c->eta > 0 ? 1.5 : (c->order == 2 ? 2 : 3);
    k->ctl = sgm__ctl_pid(pid_order, c->pcoeff, c->icoeff, c->dcoeff, c->accept_safety);
    for (size_t r = 0; r < n_rows; r++) {
        k->rows[r].t = k->t_start;
        k->rows[r].h = fabs(s->cfg.h_init);
        sgm__ctl_reset(&k->rows[r].cs);
        k->rows[r].finished = !(k->t_start < k->t_end - 1e-5);
    }
    /* x_prev starts as x */
    sgm__copy(s, s->buf[B_XP], x);
    return SGM_OK;
}

/* Attempts steps on the current view (s->n rows) until one is accepted or
 * the range is done. */
static sgm_status adaptive_advance(sgm__s *s, kd_state *k, sgm__arow *rs, const view *v) {
    const sgm_sampler_config *c = &s->cfg;
    int order = c->order == 2 ? 2 : 3;
    double *rms = k->rms;
    sgm_status st = SGM_OK;
    while (!rs->finished) {
        sgm_status fail = rs->cs.n_nonfinite ? SGM_ERR_NONFINITE : SGM_ERR_NO_CONVERGENCE;
        const char *why = rs->cs.n_nonfinite ? ", non-finite error estimates" : "";
        if (rs->attempts >= c->max_steps) {
            st = sgm__fail(s->err, fail,
                           "dpm_adaptive: no convergence in %zu attempts (rtol %g, atol %g%s)",
                           rs->attempts, c->rtol, c->atol, why);
            break;
        }
        double t0 = rs->t;
        if (sgm__ctl_underflow(t0, rs->h)) {
            st = sgm__fail(s->err, fail, "dpm_adaptive: step size underflow at sigma %g%s",
                           exp(-t0), rs->cs.n_nonfinite ? " (non-finite error estimates)" : "");
            break;
        }
        double t = t0 + rs->h < k->t_end ? t0 + rs->h : k->t_end;
        double t_det = t, su = 0;
        if (c->eta > 0) split(t0, t, k->t_end, c->eta, &t_det, &su);
        if ((st = eps_at(s, k, v->x, t0, v->D, v->E0))) break;
        int have_e1 = 0;
        if (order == 2) {
            dpm1(s, v, t0, t_det, v->XL);
            st = dpm2(s, k, v, t0, t_det, 0.5, &have_e1, v->XH);
        } else {
            st = dpm2(s, k, v, t0, t_det, 1.0 / 3, &have_e1, v->XL);
            if (!st) st = dpm3(s, k, v, t0, t_det, &have_e1, v->XH);
        }
        if (st) break;
        sgm__err_rms_dpm(s, v->XL, v->XH, v->XP, c->atol, c->rtol, rms);
        double acc = 0;
        for (size_t r = 0; r < s->n; r++) acc += rms[r] * rms[r];
        double error = sqrt(acc / (double)s->n);
        rs->attempts++;
        int accept = sgm__ctl_propose(&k->ctl, &rs->cs, error, &rs->h);
        s->stats.last_h = rs->h;
        if (accept) {
            sgm__copy(s, v->XP, v->XL);
            if (su > 0) {
                draw_noise(s, k, rs, exp(-t0), exp(-t), s->noise);
                sgm__lc2(s, v->x, 1, v->XH, su * c->s_noise, s->noise);
            } else {
                sgm__copy(s, v->x, v->XH);
            }
            rs->t = t;
            if (!(rs->t < k->t_end - 1e-5)) rs->finished = 1;
            break;
        }
        s->stats.n_reject++;
    }
    return st;
}

static sgm_status adaptive_row(sgm__s *s, void *k, sgm__arow *rs, size_t row, void *x) {
    view v = view_at(s, x, row);
    return adaptive_advance(s, k, rs, &v);
}

static sgm_status adaptive_step(sgm__s *s, void *x) {
    kd_state *k = s->mstate;
    double lam_min = k->t_end;
    int all_done;
    sgm_status st = sgm__arows_step(s, k, k->rows, k->per_sample, adaptive_row, x, k->rng_base,
                                    s->cfg.noise != SGM_NOISE_BROWNIAN, &lam_min, &all_done);
    s->last_D = s->buf[B_D];
    if (st) return st;
    if (all_done) return sgm__arows_finish(s, x, k->i_end, s->buf[B_D]);
    set_index(s, k, lam_min);
    return SGM_OK;
}

const sgm__method sgm__m_dpm_fast = {
    {"dpm_fast", "dpm_solver_fast,k_dpm_fast",
     "DPM-Solver-fast: order plan 3,..,3,2,1 over NFE in lambda-uniform steps", 3, 0, 0},
    NULL, fast_validate, nbuf, fast_begin, fast_step};
const sgm__method sgm__m_dpm_adaptive = {
    {"dpm_adaptive", "k_dpm_adaptive",
     "adaptive DPM-Solver-12/23 with PID step control (rtol, atol)", 3, 0, 1},
    NULL, adaptive_validate, nbuf, adaptive_begin, adaptive_step};
