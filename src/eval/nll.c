/* nll.c - log-likelihood through the probability-flow ODE (instantaneous
 * change of variables), the PF-ODE encoding x_0 -> x_T, dequantization and
 * bits/dim. Follows Song et al. 2021 (arXiv:2011.13456, app. D.2; score_sde
 * likelihood.py: augmented state [x, delta logp], RK45, rtol = atol = 1e-5,
 * eps = 1e-5, Hutchinson-Skilling probes fixed per solve, bpd offset
 * 7 - inverse_scaler(-1)) and Chen et al. 2018 (arXiv:1806.07366, thm. 1).
 * The equations, coordinates and Jacobian terms are in sgm_likelihood.h.
 *
 * Here the integration variable is tau = -lambda (increasing from the data
 * to the prior), so with y = [x~, Delta]:
 *   dx~/dtau = x~ - D(x~, s),   dDelta/dtau = d - tr(dD/dx~),   s = e^tau,
 * and D(x~) = cx alpha x~ + cm m(alpha x~) for a model output m with
 * x0 = cx x + cm m (the coefficients of sgm_prediction_to_x0, read off by
 * converting unit inputs), so dD/dx~ = alpha (cx I + cm dm/dx).
 *
 * The solver is the DOPRI5 stepper of the rk45 sampler (src/sampler/dopri5.h)
 * on plain double vectors with the standard step controller
 * (src/sampler/step_control.h: HNW II.4, safety 0.9, factors [0.2, 5]).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../sampler/dopri5.h"
#include "../sampler/step_control.h"
#include "sgm/sgm_likelihood.h"

enum { MODE_ENCODE = 0, MODE_TRACE, MODE_JVP, MODE_VJP };

sgm_nll_config sgm_nll_config_default(void) {
    sgm_nll_config c;
    memset(&c, 0, sizeof c);
    c.divergence = SGM_DIV_EXACT;
    c.probe = SGM_PROBE_RADEMACHER;
    c.n_probes = 1;
    c.rtol = 1e-5;
    c.atol = 1e-5;
    c.h_init = 0.05;
    c.max_steps = 100000;
    return c;
}

void sgm_nll_times(const sgm_nll_config *cfg, const sgm_process *proc, double *t_eps,
                   double *t_end) {
    const sgm_process_config *pc = sgm_process_get_config(proc);
    double te = cfg->t_eps > 0 ? cfg->t_eps
                : pc->kind == SGM_PROCESS_VP_DISCRETE ? sgm_process_t_min(proc)
                                                      : 1e-5;
    double T = cfg->t_end > 0 ? cfg->t_end : sgm_process_t_max(proc);
    if (!(cfg->t_end > 0) && !(sgm_process_alpha(proc, T) > 0 &&
                               isfinite(sgm_process_lambda(proc, T))))
        T = sgm_process_t_max(proc) * (1 - 1e-5);
    *t_eps = te;
    *t_end = T;
}

typedef struct ctx {
    const sgm_nll_config *cfg;
    const sgm_process *proc;
    const sgm_denoiser *den;
    const sgm_denoiser_grad *grad;
    sgm_error *err;
    size_t d;
    int mode, hutch;
    size_t n_dir;      /* rows of one batched derivative call */
    uint64_t row;      /* global row being solved */
    double *xb;        /* [n_dir, d] process-coordinate inputs */
    double *vb;        /* [n_dir, d] directions */
    double *ob, *jb;   /* [n_dir, d] model outputs, derivatives */
    double *tb;        /* [n_dir] traces */
    double *pn2;       /* [n_probes] |eps_k|^2 */
    size_t nfe;
    /* the solve in progress (solve_row) */
    size_t m;          /* state length: d, plus 1 with the log-density term */
    double te, T;      /* process times at both ends */
    int last;          /* the attempt at hand lands on T */
} ctx;

/* f(tau, y) into dy; t is the process time at tau. */
static sgm_status rhs(ctx *c, double t, const double *y, double *dy) {
    const size_t d = c->d;
    const sgm_process *p = c->proc;
    double alpha = sgm_process_alpha(p, t), sigma = sgm_process_sigma(p, t);
    double da = sgm_process_dalpha(p, t), ds = sgm_process_dsigma(p, t);
    double one = 1, zero = 0, cx, cm;
    sgm_prediction_to_x0(c->den->prediction, SGM_F64, 1, &one, &zero, alpha, sigma, da, ds,
                         &cx);
    sgm_prediction_to_x0(c->den->prediction, SGM_F64, 1, &zero, &one, alpha, sigma, da, ds,
                         &cm);
    size_t nr = c->mode == MODE_ENCODE || c->mode == MODE_TRACE ? 1 : c->n_dir;
    for (size_t r = 0; r < nr; r++)
        for (size_t i = 0; i < d; i++) c->xb[r * d + i] = alpha * y[i];
    sgm_eval q;
    q.n = nr;
    q.d = d;
    q.row0 = c->row;
    q.dtype = SGM_F64;
    q.x = c->xb;
    q.t = t;
    q.alpha = alpha;
    q.sigma = sigma;
    int rc;
    void *ud = c->grad ? c->grad->user_data : NULL;
    switch (c->mode) {
    case MODE_ENCODE: rc = c->den->fn(&q, c->ob, c->den->user_data); break;
    case MODE_TRACE: rc = c->grad->div(&q, c->ob, c->tb, ud); break;
    case MODE_JVP: rc = c->grad->jvp(&q, c->vb, c->ob, c->jb, ud); break;
    default: rc = c->grad->vjp(&q, c->vb, c->ob, c->jb, ud); break;
    }
    c->nfe++;
    if (rc)
        return sgm__set_error(c->err, SGM_ERR_CALLBACK,
                              "model callback failed (code %d) at t=%g for row %llu", rc, t,
                              (unsigned long long)c->row);
    /* dx~/dtau = x~ - D,  D = cx x + cm m */
    for (size_t i = 0; i < d; i++) dy[i] = y[i] - (cx * c->xb[i] + cm * c->ob[i]);
    if (c->mode != MODE_ENCODE) {
        double tr; /* estimate of tr(dD/dx~) - d = div of dx~/dlambda */
        if (c->mode == MODE_TRACE) {
            tr = alpha * (cx * (double)d + cm * c->tb[0]) - (double)d;
        } else if (!c->hutch) {
            double s = 0; /* directions are the basis vectors */
            for (size_t i = 0; i < d; i++) s += c->jb[i * d + i];
            tr = alpha * (cx * (double)d + cm * s) - (double)d;
        } else {
            double acc = 0;
            for (size_t k = 0; k < c->n_dir; k++) {
                double ejm = 0;
                for (size_t i = 0; i < d; i++) ejm += c->vb[k * d + i] * c->jb[k * d + i];
                acc += alpha * (cx * c->pn2[k] + cm * ejm) - c->pn2[k];
            }
            tr = acc / (double)c->n_dir;
        }
        dy[d] = -tr;
    }
    for (size_t i = 0; i < d + (c->mode != MODE_ENCODE); i++)
        if (!isfinite(dy[i]))
            return sgm__set_error(c->err, SGM_ERR_NONFINITE,
                                  "non-finite model output or divergence at t=%g for row %llu",
                                  t, (unsigned long long)c->row);
    return SGM_OK;
}

/* ---- the DOPRI5 stepper's callbacks (ctx = the solve) ---- */

static void op_lc(void *vc, void *out, int k, const double *cf, const void *const *in) {
    sgm__dp5_lc_f64(((const ctx *)vc)->m, out, k, cf, in);
}

/* f at tau; te and T exactly at the start and at the end */
static sgm_status op_f(void *vc, int stage, double tau, const void *y, void *dy) {
    ctx *c = vc;
    double t = stage == 0                         ? c->te
               : stage == SGM__DP5_END && c->last ? c->T
                                                  : sgm_process_t_of_lambda(c->proc, -tau);
    return rhs(c, t, y, dy);
}

static double op_err(void *vc, const void *y5, const void *y4, const void *y0) {
    const ctx *c = vc;
    return sgm__dp5_err_f64(c->m, c->cfg->atol, c->cfg->rtol, y5, y4, y0);
}

static const sgm__dp5_ops nll_ops = {op_lc, op_f, op_err};

/* Dormand-Prince 5(4) (dopri5.h) from tau0 (time te) to tau1 (time T) on
 * y [m], with the standard controller of HNW II.4 (safety 0.9, factors in
 * [0.2, 5], exponent 1/5). work: 9 m doubles. */
static sgm_status solve_row(ctx *c, double te, double T, double *y, size_t m, double *work) {
    const sgm_nll_config *cfg = c->cfg;
    double tau = -sgm_process_lambda(c->proc, te), tau1 = -sgm_process_lambda(c->proc, T);
    void *bufs[9];
    for (int i = 0; i < 9; i++) bufs[i] = work + (size_t)i * m;
    c->m = m;
    c->te = te;
    c->T = T;
    c->last = 0;
    sgm__dp5 dp;
    sgm__dp5_init(&dp, &nll_ops, c, bufs);
    const sgm__ctl ctl = sgm__ctl_standard(5, 0.9, 0.2, 5);
    sgm__ctl_state cs;
    sgm__ctl_reset(&cs);
    sgm_status e = sgm__dp5_start(&dp, tau, y);
    if (e) return e;
    double h = cfg->h_init;
    size_t attempts = 0;
    while (tau < tau1) {
        sgm_status fail = cs.n_nonfinite ? SGM_ERR_NONFINITE : SGM_ERR_NO_CONVERGENCE;
        const char *why = cs.n_nonfinite ? " (non-finite error estimates)" : "";
        if (++attempts > cfg->max_steps)
            return sgm__set_error(c->err, fail,
                                  "likelihood ODE: %zu step attempts without reaching t=%g "
                                  "for row %llu%s; loosen rtol/atol or raise max_steps",
                                  cfg->max_steps, T, (unsigned long long)c->row, why);
        double hh = sgm__ctl_clip(tau, tau1, h, &c->last);
        if (sgm__ctl_underflow(tau, hh))
            return sgm__set_error(c->err, fail,
                                  "likelihood ODE: step size underflow at lambda=%g for row "
                                  "%llu%s",
                                  -tau, (unsigned long long)c->row, why);
        double errn;
        if ((e = sgm__dp5_step(&dp, tau, hh, y, &errn))) return e;
        h = hh;
        if (sgm__ctl_propose(&ctl, &cs, errn, &h)) {
            memcpy(y, dp.y5, m * sizeof *y);
            sgm__dp5_accept(&dp);
            tau = c->last ? tau1 : tau + hh;
        }
    }
    return SGM_OK;
}

static sgm_status check_common(const sgm_nll_config *cfg, const sgm_process *proc,
                               const sgm_denoiser *den, size_t n, size_t d, const double *x,
                               double te, double T, sgm_error *err) {
    if (!cfg || !proc || !den || !x)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "likelihood: NULL argument");
    if (n == 0) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "likelihood: no samples");
    if (d == 0) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "likelihood: dimension 0");
    if (!(cfg->rtol > 0) || !(cfg->atol > 0) || !isfinite(cfg->rtol) || !isfinite(cfg->atol))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "likelihood: rtol and atol must be > 0 (got %g, %g)", cfg->rtol,
                              cfg->atol);
    if (!(cfg->h_init > 0) || !isfinite(cfg->h_init) || cfg->max_steps < 1)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "likelihood: h_init must be > 0 and max_steps >= 1");
    double le = sgm_process_lambda(proc, te), lT = sgm_process_lambda(proc, T);
    if (!(te > 0 && te < T) || !isfinite(le) || !isfinite(lT) || !(le > lT) ||
        !(sgm_process_alpha(proc, T) > 0))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "likelihood: need 0 < t_eps < t_end with finite half log-SNR at "
                              "both (got t_eps=%g, t_end=%g)",
                              te, T);
    for (size_t i = 0; i < n * d; i++)
        if (!isfinite(x[i]))
            return sgm__set_error(err, SGM_ERR_NONFINITE,
                                  "likelihood: non-finite input value (row %zu, column %zu)",
                                  i / d, i % d);
    return SGM_OK;
}

/* Shared driver of sgm_nll (want_logp) and sgm_encode. */
static sgm_status run(const sgm_nll_config *cfg, const sgm_process *proc,
                      const sgm_denoiser *den, const sgm_denoiser_grad *grad, uint64_t row0,
                      size_t n, size_t d, const double *x, double *logp, double *z,
                      size_t *nfe, int want_logp, sgm_error *err) {
    double te = 0, T = 0;
    if (cfg) sgm_nll_times(cfg, proc, &te, &T);
    sgm_status e = check_common(cfg, proc, den, n, d, x, te, T, err);
    if (e) return e;
    ctx c;
    memset(&c, 0, sizeof c);
    c.cfg = cfg;
    c.proc = proc;
    c.den = den;
    c.grad = grad;
    c.err = err;
    c.d = d;
    c.n_dir = 1;
    if (!want_logp) {
        if (!den->fn)
            return sgm__set_error(err, SGM_ERR_INVALID_ARG, "encode: denoiser has no callback");
        c.mode = MODE_ENCODE;
    } else if (cfg->divergence == SGM_DIV_EXACT) {
        if (grad && grad->div) {
            c.mode = MODE_TRACE;
        } else if (grad && (grad->jvp || grad->vjp)) {
            c.mode = grad->jvp ? MODE_JVP : MODE_VJP;
            c.n_dir = d;
        } else {
            return sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                                  "likelihood: the exact divergence needs a trace, JVP or VJP "
                                  "callback (sgm_denoiser_grad)");
        }
    } else if (cfg->divergence == SGM_DIV_HUTCHINSON) {
        if (cfg->n_probes < 1)
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "likelihood: n_probes must be >= 1 (got %d)", cfg->n_probes);
        if (cfg->probe != SGM_PROBE_RADEMACHER && cfg->probe != SGM_PROBE_GAUSSIAN)
            return sgm__set_error(err, SGM_ERR_INVALID_ARG, "likelihood: unknown probe kind");
        if (!grad || !(grad->jvp || grad->vjp))
            return sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                                  "likelihood: the Hutchinson estimator needs a JVP or VJP "
                                  "callback (sgm_denoiser_grad)");
        c.mode = grad->jvp ? MODE_JVP : MODE_VJP;
        c.hutch = 1;
        c.n_dir = (size_t)cfg->n_probes;
    } else {
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "likelihood: unknown divergence kind");
    }
    size_t m = d + (want_logp ? 1 : 0), nd = c.n_dir;
    double *lp = want_logp ? malloc(n * sizeof *lp) : NULL;
    double *zz = malloc(n * d * sizeof *zz);
    size_t *nf = malloc(n * sizeof *nf);
    double *work = malloc((9 * m + m + 4 * nd * d + 2 * nd) * sizeof *work);
    if ((want_logp && !lp) || !zz || !nf || !work) {
        free(lp);
        free(zz);
        free(nf);
        free(work);
        return sgm__set_error(err, SGM_ERR_NOMEM, "likelihood: out of memory");
    }
    double *y = work + 9 * m;
    c.xb = y + m;
    c.vb = c.xb + nd * d;
    c.ob = c.vb + nd * d;
    c.jb = c.ob + nd * d;
    c.tb = c.jb + nd * d;
    c.pn2 = c.tb + nd;
    if (c.mode == MODE_JVP || c.mode == MODE_VJP) {
        memset(c.vb, 0, nd * d * sizeof *c.vb);
        if (!c.hutch)
            for (size_t i = 0; i < d; i++) c.vb[i * d + i] = 1;
    }
    double a_e = sgm_process_alpha(proc, te), a_T = sgm_process_alpha(proc, T);
    for (size_t r = 0; r < n && !e; r++) {
        c.row = row0 + r;
        c.nfe = 0;
        if (c.hutch) { /* probes fixed for the whole solve of this row */
            for (size_t k = 0; k < nd; k++) {
                double *v = c.vb + k * d;
                if (cfg->probe == SGM_PROBE_GAUSSIAN) {
                    sgm_rng_normal_rows_f64(cfg->seed, k, c.row, 1, d, v);
                } else {
                    sgm_rng_uniform_rows_f64(cfg->seed, k, c.row, 1, d, v);
                    for (size_t i = 0; i < d; i++) v[i] = v[i] < 0.5 ? -1.0 : 1.0;
                }
                double s = 0;
                for (size_t i = 0; i < d; i++) s += v[i] * v[i];
                c.pn2[k] = s;
            }
        }
        for (size_t i = 0; i < d; i++) y[i] = x[r * d + i] / a_e;
        if (want_logp) y[d] = 0;
        e = solve_row(&c, te, T, y, m, work);
        if (e) break;
        for (size_t i = 0; i < d; i++) zz[r * d + i] = a_T * y[i];
        nf[r] = c.nfe;
        if (want_logp) {
            double v = sgm_process_prior_logp(proc, zz + r * d, d) +
                       (double)d * (log(a_T) - log(a_e)) + y[d];
            if (!isfinite(v)) {
                e = sgm__set_error(err, SGM_ERR_NONFINITE,
                                   "likelihood: non-finite log-likelihood for row %llu",
                                   (unsigned long long)c.row);
                break;
            }
            lp[r] = v;
        }
    }
    if (!e) {
        if (want_logp) memcpy(logp, lp, n * sizeof *lp);
        if (z) memcpy(z, zz, n * d * sizeof *zz);
        if (nfe) memcpy(nfe, nf, n * sizeof *nf);
    }
    free(lp);
    free(zz);
    free(nf);
    free(work);
    return e;
}

sgm_status sgm_nll(const sgm_nll_config *cfg, const sgm_process *proc,
                   const sgm_denoiser *den, const sgm_denoiser_grad *grad, uint64_t row0,
                   size_t n, size_t d, const double *x, double *logp, double *z,
                   size_t *nfe, sgm_error *err) {
    if (!logp) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "likelihood: NULL logp");
    return run(cfg, proc, den, grad, row0, n, d, x, logp, z, nfe, 1, err);
}

sgm_status sgm_encode(const sgm_nll_config *cfg, const sgm_process *proc,
                      const sgm_denoiser *den, size_t n, size_t d, const double *x,
                      double *z, size_t *nfe, sgm_error *err) {
    if (!z) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "encode: NULL output");
    return run(cfg, proc, den, NULL, 0, n, d, x, NULL, z, nfe, 0, err);
}

sgm_status sgm_dequantize_uniform(uint64_t seed, uint64_t row0, size_t n, size_t d,
                                  const double *k, int centered, double *out,
                                  sgm_error *err) {
    if (!k || !out || n == 0 || d == 0)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "dequantize: empty or NULL input");
    for (size_t i = 0; i < n * d; i++)
        if (!(k[i] >= 0 && k[i] <= 255 && k[i] == floor(k[i])))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "dequantize: value %g at row %zu is not an integer in 0..255",
                                  k[i], i / d);
    double *u = malloc(n * d * sizeof *u);
    if (!u) return sgm__set_error(err, SGM_ERR_NOMEM, "dequantize: out of memory");
    /* draw 2^40: disjoint from the probes' draws 0..n_probes-1 of the same seed */
    sgm_rng_uniform_rows_f64(seed, UINT64_C(1) << 40, row0, n, d, u);
    for (size_t i = 0; i < n * d; i++) {
        double yv = (k[i] + u[i]) / 256.0;
        out[i] = centered ? 2 * yv - 1 : yv;
    }
    free(u);
    return SGM_OK;
}

double sgm_bits_per_dim(double logp, size_t d, int centered) {
    return -logp / ((double)d * log(2.0)) + (centered ? 7.0 : 8.0);
}
