/* dpm_solver.c - DPM-Solver (Lu et al. 2022, arXiv:2206.00927, noise
 * prediction) and DPM-Solver++ (Lu et al. 2022, arXiv:2211.01095, data
 * prediction): singlestep and multistep, orders 1-3, 'dpmsolver' (midpoint) and
 * 'taylor' (heun) second-order terms. The adaptive DPM-Solver-12/23 (Alg. 4)
 * is in dpm_solver_adaptive.c and uses the singlestep updates of this file.
 *
 * Follows LuChengTHU/dpm-solver dpm_solver_pytorch.py (dpm_solver_first_update,
 * singlestep_dpm_solver_{second,third}_update, multistep_dpm_solver_{second,
 * third}_update, sample()) and huggingface/diffusers
 * v0.35.2 scheduling_dpmsolver_{multistep,singlestep}.py (step orders,
 * get_order_list, lower_order_final). Paper equations: DPM-Solver eqs. (3.7),
 * Alg. 1-2; DPM-Solver++ Alg. 1-2 and eq. (3.4).
 *
 * Everything runs in VE coordinates x~ = x / alpha, s = sigma / alpha =
 * exp(-lambda). The VP updates divide by alpha_t exactly:
 *   data  (++):  x~_t = (s_t/s_s) x~_s + (1 - e^-h) D_s + ...
 *   noise:       x~_t = x~_s - (s_s - s_t) eps_s + ...,  eps = (x~ - D)/s
 * with h = lambda_t - lambda_s; the higher-order terms keep DPM-Solver's
 * coefficients with alpha_t -> 1 and sigma_t -> s_t, written through the
 * stable phi functions (phi_2 = h phi2(-h) etc.). A step to s = 0 (h = inf)
 * is always first order, where both forms reduce to x~ = D.
 */
#include <stdlib.h>
#include <string.h>

#include "sampler_internal.h"

/* ------------------------------------------------------------ updates --- */

typedef struct {
    double cx, cm[3]; /* x_t = cx * x_base + sum_j cm[j] * M_j */
} dpm_coef;

enum { U_FIRST = 0, U_MS2, U_MS3, U_SS2, U_SS3 };

/* Coefficients of one update from P[0] (where the base state is) to T.
 * Multistep: P[0] newest, P[1], P[2] older points of the model values M_j.
 * Singlestep: P[0] base, P[1], P[2] the intermediate points. taylor selects
 * DPM-Solver's 'taylor' (diffusers 'heun') form, else 'dpmsolver'/'midpoint'. */
static void dpm_coefs(int noise, int kind, int taylor, const sgm__pt *P, sgm__pt T,
                      dpm_coef *c) {
    double h = T.lambda - P[0].lambda;
    double A1, A2 = 0, A3 = 0;
    memset(c, 0, sizeof *c);
    if (!noise) {
        c->cx = T.s / P[0].s;
        A1 = -expm1(-h); /* -phi_1 */
        if (kind != U_FIRST) {
            A2 = h * sgm__phi2(-h);  /* phi_2 = expm1(-h)/h + 1 */
            A3 = h * sgm__phi3(-h);  /* -phi_3 = -(phi_2/h - 1/2) */
        }
    } else {
        c->cx = 1;
        A1 = P[0].s * expm1(-h); /* -s_t (e^h - 1) = -(s_s - s_t) */
        if (kind != U_FIRST) {
            A2 = -T.s * h * sgm__phi2(h); /* -s_t (expm1(h)/h - 1) */
            A3 = -T.s * h * sgm__phi3(h); /* -s_t (phi_2/h - 1/2) */
        }
    }
    c->cm[0] = A1;
    if (kind == U_FIRST) return;
    double d1[3] = {0, 0, 0}, d2[3] = {0, 0, 0};
    double w1 = taylor ? A2 : 0.5 * A1; /* weight of the D1 term */
    switch (kind) {
    case U_MS2: {
        double r0 = (P[0].lambda - P[1].lambda) / h;
        d1[0] = 1 / r0;
        d1[1] = -1 / r0;
        break;
    }
    case U_MS3: {
        double r0 = (P[0].lambda - P[1].lambda) / h, r1 = (P[1].lambda - P[2].lambda) / h;
        double a[3] = {1 / r0, -1 / r0, 0}, b[3] = {0, 1 / r1, -1 / r1};
        for (int j = 0; j < 3; j++) {
            d1[j] = a[j] + r0 / (r0 + r1) * (a[j] - b[j]);
            d2[j] = (a[j] - b[j]) / (r0 + r1);
        }
        w1 = A2; /* one form for both solver types */
        break;
    }
    case U_SS2: {
        double r1 = (P[1].lambda - P[0].lambda) / h;
        d1[0] = -1 / r1;
        d1[1] = 1 / r1;
        break;
    }
    case U_SS3: {
        double r1 = (P[1].lambda - P[0].lambda) / h, r2 = (P[2].lambda - P[0].lambda) / h;
        if (!taylor) {
            /* 'dpmsolver': phi_2 (M2 - M0) / r2 */
            d1[0] = -1 / r2;
            d1[2] = 1 / r2;
            w1 = A2;
        } else {
            double a[3] = {-1 / r1, 1 / r1, 0}, b[3] = {-1 / r2, 0, 1 / r2};
            for (int j = 0; j < 3; j++) {
                d1[j] = (r2 * a[j] - r1 * b[j]) / (r2 - r1);
                d2[j] = 2 * (b[j] - a[j]) / (r2 - r1);
            }
        }
        break;
    }
    default:
        break;
    }
    for (int j = 0; j < 3; j++) c->cm[j] += w1 * d1[j] + A3 * d2[j];
}

/* out = cx * xb + sum_{j<k} cm[j] M[j], one fused pass */
static void apply(sgm__s *s, void *out, const dpm_coef *c, const void *xb,
                  const void *const *M, int k) {
    double cc[4] = {c->cx, c->cm[0], c->cm[1], c->cm[2]};
    const void *in[4] = {xb, M[0], k > 1 ? M[1] : NULL, k > 2 ? M[2] : NULL};
    sgm__lc(s, out, k + 1, cc, in);
}

/* Model value at p: D (dpmsolver++) or eps = (x~ - D)/s (dpmsolver). */
sgm_status sgm__dpm_eval_model(sgm__s *s, const void *x, sgm__pt p, void *M, void *Dbuf) {
    if (s->cfg.algorithm == SGM_DPM_DATA) return sgm__denoise(s, x, p, M);
    sgm_status st = sgm__denoise(s, x, p, Dbuf);
    if (st) return st;
    sgm__lc2(s, M, 1 / p.s, x, -1 / p.s, Dbuf);
    return SGM_OK;
}

/* ------------------------------------------------------ state / plans --- */

typedef struct {
    size_t i0, steps;  /* first point of the run, intervals from there */
    int ring[3];       /* multistep: buffers of M, newest first */
    sgm__pt rpt[3];
    int nh;
    size_t base;       /* singlestep: point index of the current block's base */
    unsigned char *ord, *var; /* singlestep per-interval order and taylor flag */
} dpm_state;

static int is_noise(const sgm__s *s) { return s->cfg.algorithm == SGM_DPM_NOISE; }

/* DPM-Solver get_orders_and_timesteps_for_singlestep_solver (macro orders) */
static size_t dpm_orders(int order, size_t steps, int *o) {
    size_t K = 0;
    if (order == 3) {
        size_t q = steps / 3;
        for (size_t k = 0; k < q; k++) o[K++] = 3;
        if (steps % 3 == 0) {
            if (K > 0) K--; /* [3]*(K-2) + [2, 1] with K = steps/3 + 1 */
            o[K++] = 2;
            o[K++] = 1;
        } else {
            o[K++] = (int)(steps % 3);
        }
    } else if (order == 2) {
        for (size_t k = 0; k < steps / 2; k++) o[K++] = 2;
        if (steps % 2) o[K++] = 1;
    } else {
        for (size_t k = 0; k < steps; k++) o[K++] = 1;
    }
    return K;
}

/* diffusers DPMSolverSinglestepScheduler.get_order_list (per step) */
static void diffusers_orders(int order, size_t steps, int lof, unsigned char *o) {
    size_t n = 0;
    static const unsigned char cyc3[3] = {1, 2, 3}, cyc2[2] = {1, 2};
    if (order == 3) {
        size_t reps = steps / 3;
        if (lof && steps % 3 == 0) reps = reps > 0 ? reps - 1 : 0;
        for (size_t k = 0; k < reps; k++)
            for (int j = 0; j < 3; j++) o[n++] = cyc3[j];
        if (lof) {
            if (steps % 3 == 0) {
                o[n++] = 1;
                o[n++] = 2;
                o[n++] = 1;
            } else if (steps % 3 == 1) {
                o[n++] = 1;
            } else {
                o[n++] = 1;
                o[n++] = 2;
            }
        }
    } else if (order == 2) {
        size_t reps = steps / 2;
        if (lof && steps % 2 == 0) reps = reps > 0 ? reps - 1 : 0;
        for (size_t k = 0; k < reps; k++)
            for (int j = 0; j < 2; j++) o[n++] = cyc2[j];
        if (lof) {
            if (steps % 2 == 0) {
                o[n++] = 1;
                o[n++] = 1;
            } else {
                o[n++] = 1;
            }
        }
    }
    while (n < steps) o[n++] = 1; /* order 1, or the tail diffusers leaves short */
}

static sgm_status dpm_begin(sgm__s *s, void *x) {
    (void)x;
    size_t i0 = s->i, steps = s->n_pts - 1 - s->i;
    dpm_state *st = calloc(1, sizeof *st + 2 * (steps + 1));
    if (!st) return sgm__fail(s->err, SGM_ERR_NOMEM, "out of memory");
    s->mstate = st;
    st->i0 = i0;
    st->steps = steps;
    st->base = i0;
    st->ord = (unsigned char *)(st + 1);
    st->var = st->ord + steps + 1;
    int order = s->cfg.order;
    int final_zero = s->pts[s->n_pts - 1].s == 0;
    if (s->cfg.multistep || steps == 0) return SGM_OK;
    switch (s->cfg.singlestep_plan) {
    case SGM_SSPLAN_DPMSOLVER:
    case SGM_SSPLAN_FIXED: {
        int *mo = malloc((steps + 2) * sizeof *mo);
        if (!mo) return sgm__fail(s->err, SGM_ERR_NOMEM, "out of memory");
        size_t K;
        if (s->cfg.singlestep_plan == SGM_SSPLAN_DPMSOLVER) {
            K = dpm_orders(order, steps, mo);
        } else {
            K = 0;
            for (size_t k = 0; k < steps / (size_t)order; k++) mo[K++] = order;
            if (steps % (size_t)order) mo[K++] = (int)(steps % (size_t)order);
        }
        /* a macro step ending at s = 0 gives its last interval to a first-order step */
        if (final_zero && K > 0 && mo[K - 1] > 1) {
            mo[K - 1]--;
            mo[K++] = 1;
        }
        size_t j = 0;
        for (size_t k = 0; k < K; k++)
            for (int q = 1; q <= mo[k]; q++) {
                st->ord[j] = (unsigned char)q;
                /* intermediate second-order states use the 'taylor' form */
                st->var[j] = (unsigned char)(q == mo[k] ? sgm__dpm_taylor(s) : 1);
                j++;
            }
        free(mo);
        break;
    }
    case SGM_SSPLAN_DIFFUSERS: {
        int lof = s->cfg.lower_order_final != SGM_LOF_NONE || steps % (size_t)order != 0 ||
                  final_zero;
        diffusers_orders(order, steps, lof, st->ord);
        if (final_zero) st->ord[steps - 1] = 1;
        for (size_t j = 0; j < steps; j++) st->var[j] = (unsigned char)sgm__dpm_taylor(s);
        break;
    }
    case SGM_SSPLAN_MACRO:
        break;
    }
    return SGM_OK;
}

/* The run's last action: one extra data prediction (denoise_to_zero). The
 * final point becomes t = 0 so the output is D itself. */
sgm_status sgm__dpm_finish(sgm__s *s, void *x) {
    sgm__pt last = s->pts[s->n_pts - 1];
    if (!s->cfg.denoise_to_zero || last.s == 0) return SGM_OK;
    sgm_status st = sgm__denoise(s, x, last, s->buf[SGM__DPM_D]);
    if (st) return st;
    sgm__copy(s, x, s->buf[SGM__DPM_D]);
    sgm__pt z = {0, 0, 1, INFINITY};
    s->pts[s->n_pts - 1] = z;
    return SGM_OK;
}

/* ---------------------------------------------------------- multistep --- */

static sgm_status ms_step(sgm__s *s, void *x) {
    dpm_state *st = s->mstate;
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    /* push the new model value: the oldest buffer of the ring is reused */
    int slot = st->nh < 3 ? SGM__DPM_M0 + st->nh : st->ring[2];
    for (int j = 2; j > 0; j--) {
        st->ring[j] = st->ring[j - 1];
        st->rpt[j] = st->rpt[j - 1];
    }
    st->ring[0] = slot;
    st->rpt[0] = p;
    if (st->nh < 3) st->nh++;
    sgm_status e = sgm__dpm_eval_model(s, x, p, s->buf[slot], s->buf[SGM__DPM_D]);
    if (e) return e;

    int o = s->cfg.order < st->nh ? s->cfg.order : st->nh;
    size_t left = s->n_pts - 1 - s->i; /* steps left, this one included */
    size_t total = s->n_pts - 1;
    if ((s->cfg.lower_order_final == SGM_LOF_DPMSOLVER && total < 10) ||
        (s->cfg.lower_order_final == SGM_LOF_DIFFUSERS && total < 15))
        if ((size_t)o > left) o = (int)left;
    if (q.s == 0) o = 1;
    dpm_coef c;
    dpm_coefs(is_noise(s), o == 1 ? U_FIRST : o == 2 ? U_MS2 : U_MS3, sgm__dpm_taylor(s), st->rpt,
              q, &c);
    const void *M[3] = {s->buf[st->ring[0]], s->buf[st->ring[1 < st->nh ? 1 : 0]],
                        s->buf[st->ring[2 < st->nh ? 2 : 0]]};
    apply(s, x, &c, x, M, o);
    s->i++;
    if (s->i == s->n_pts - 1) return sgm__dpm_finish(s, x);
    return SGM_OK;
}

/* --------------------------------------------------------- singlestep --- */

/* One singlestep update of order o from xb at P[0] with model values M at
 * P[0..o-1] to T (the final formula of a macro step, or the intermediate). */
void sgm__dpm_ss_update(sgm__s *s, void *out, const void *xb, const sgm__pt *P,
                      const void *const *M, int o, int taylor, sgm__pt T) {
    dpm_coef c;
    if (T.s == 0) o = 1;
    dpm_coefs(is_noise(s), o == 1 ? U_FIRST : o == 2 ? U_SS2 : U_SS3, taylor, P, T, &c);
    apply(s, out, &c, xb, M, o);
}

/* fine-grid plans: one interval (one model evaluation) per call */
static sgm_status ss_grid_step(sgm__s *s, void *x) {
    dpm_state *st = s->mstate;
    size_t j = s->i - st->i0;
    int o = st->ord[j];
    if (o == 1) st->base = s->i;
    if ((size_t)o != s->i - st->base + 1)
        return sgm__fail(s->err, SGM_ERR_INVALID_ARG, "dpm_solver: broken order plan");
    int continues = j + 1 < st->steps && st->ord[j + 1] == o + 1;
    sgm__pt P[3];
    const void *M[3];
    for (int k = 0; k < o; k++) {
        P[k] = s->pts[st->base + (size_t)k];
        M[k] = s->buf[SGM__DPM_M0 + k];
    }
    sgm_status e =
        sgm__dpm_eval_model(s, x, P[o - 1], s->buf[SGM__DPM_M0 + o - 1], s->buf[SGM__DPM_D]);
    if (e) return e;
    if (o == 1 && continues) sgm__copy(s, s->buf[SGM__DPM_XB], x);
    const void *xb = o == 1 ? x : s->buf[SGM__DPM_XB];
    sgm__dpm_ss_update(s, x, xb, P, M, o, st->var[j], sgm__next(s));
    s->i++;
    if (s->i == s->n_pts - 1) return sgm__dpm_finish(s, x);
    return SGM_OK;
}

/* One macro step of order o from x at p to q with intermediate points at
 * fractions r1 (, r2) of h in lambda; result in x. Uses SGM__DPM_M0..2 and
 * SGM__DPM_XI. If have_m0, SGM__DPM_M0 already holds the model value at p. */
static sgm_status ss_macro(sgm__s *s, void *x, sgm__pt p, sgm__pt q, int o, double r1,
                           double r2, int taylor, void *out) {
    sgm__pt P[3] = {p, p, p};
    const void *M[3] = {s->buf[SGM__DPM_M0], s->buf[SGM__DPM_M1], s->buf[SGM__DPM_M2]};
    void *xi = s->buf[SGM__DPM_XI];
    sgm_status e = sgm__dpm_eval_model(s, x, p, s->buf[SGM__DPM_M0], s->buf[SGM__DPM_D]);
    if (e) return e;
    if (q.s == 0) o = 1;
    double h = q.lambda - p.lambda;
    if (o >= 2) {
        P[1] = sgm__pt_from_lambda(s, p.lambda + r1 * h);
        sgm__dpm_ss_update(s, xi, x, P, M, 1, 0, P[1]);
        e = sgm__dpm_eval_model(s, xi, P[1], s->buf[SGM__DPM_M1], s->buf[SGM__DPM_D]);
        if (e) return e;
    }
    if (o == 3) {
        P[2] = sgm__pt_from_lambda(s, p.lambda + r2 * h);
        sgm__dpm_ss_update(s, xi, x, P, M, 2, 1, P[2]);
        e = sgm__dpm_eval_model(s, xi, P[2], s->buf[SGM__DPM_M2], s->buf[SGM__DPM_D]);
        if (e) return e;
    }
    sgm__dpm_ss_update(s, out, x, P, M, o, taylor, q);
    return SGM_OK;
}

static void default_r(const sgm__s *s, int o, double *r1, double *r2) {
    *r1 = s->cfg.r1 > 0 ? s->cfg.r1 : (o == 3 ? 1.0 / 3 : 0.5);
    *r2 = s->cfg.r2 > 0 ? s->cfg.r2 : 2.0 / 3;
}

static sgm_status ss_macro_step(sgm__s *s, void *x) {
    double r1, r2;
    default_r(s, s->cfg.order, &r1, &r2);
    sgm_status e = ss_macro(s, x, sgm__cur(s), sgm__next(s), s->cfg.order, r1, r2,
                            sgm__dpm_taylor(s), x);
    if (e) return e;
    s->i++;
    if (s->i == s->n_pts - 1) return sgm__dpm_finish(s, x);
    return SGM_OK;
}

static sgm_status dpm_step(sgm__s *s, void *x) {
    if (s->cfg.multistep) return ms_step(s, x);
    if (s->cfg.singlestep_plan == SGM_SSPLAN_MACRO) return ss_macro_step(s, x);
    return ss_grid_step(s, x);
}

/* ------------------------------------------------------ config checks --- */

static void dpm_defaults(sgm_sampler_config *c) {
    c->order = 2;
    c->multistep = 1;
    c->lower_order_final = SGM_LOF_DPMSOLVER;
}

sgm_status sgm__dpm_check_common(const sgm_sampler_config *c, sgm_error *err) {
    if (c->algorithm != SGM_DPM_DATA && c->algorithm != SGM_DPM_NOISE)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "dpm_solver: unknown algorithm %d",
                         (int)c->algorithm);
    if (c->solver_type != SGM_SOLVER_MIDPOINT && c->solver_type != SGM_SOLVER_HEUN)
        return sgm__fail(err, SGM_ERR_INVALID_ARG,
                         "dpm_solver: solver_type must be midpoint ('dpmsolver') or heun "
                         "('taylor')");
    if (c->r1 != 0 && !(c->r1 > 0 && c->r1 < 1))
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "dpm_solver: r1 must be in (0, 1)");
    if (c->r2 != 0 && !(c->r2 > 0 && c->r2 < 1 && (c->r1 == 0 || c->r2 > c->r1)))
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "dpm_solver: r2 must be in (r1, 1)");
    return SGM_OK;
}

static sgm_status dpm_validate(const sgm_sampler_config *c, sgm_error *err) {
    if (c->order < 0 || c->order > 3)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "dpm_solver: order must be 1, 2 or 3 (got %d)",
                         c->order);
    if (c->singlestep_plan < SGM_SSPLAN_DPMSOLVER || c->singlestep_plan > SGM_SSPLAN_MACRO)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "dpm_solver: unknown singlestep plan %d",
                         (int)c->singlestep_plan);
    if (!c->multistep && c->singlestep_plan == SGM_SSPLAN_MACRO && c->order == 3) {
        double r1 = c->r1 > 0 ? c->r1 : 1.0 / 3, r2 = c->r2 > 0 ? c->r2 : 2.0 / 3;
        if (!(r1 < r2))
            return sgm__fail(err, SGM_ERR_INVALID_ARG,
                             "dpm_solver: third order needs r1 < r2 (got %g, %g)", r1, r2);
    }
    if ((int)c->lower_order_final < SGM_LOF_NONE || c->lower_order_final > SGM_LOF_DIFFUSERS)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "dpm_solver: unknown lower_order_final");
    return sgm__dpm_check_common(c, err);
}

static int dpm_nbuf(const sgm_sampler_config *c) {
    (void)c;
    return SGM__DPM_XI + 1;
}

const sgm__method sgm__m_dpm_solver = {
    {"dpm_solver", "dpmsolver,dpm-solver,dpmsolver++,dpm_solver_pp,dpmsolver_multistep,dpmsolver_singlestep",
     "DPM-Solver / DPM-Solver++ singlestep or multistep, orders 1-3", 2, 0, 0},
    dpm_defaults, dpm_validate, dpm_nbuf, dpm_begin, dpm_step};
