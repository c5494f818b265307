/* sa_solver.c - SA-Solver: stochastic Adams predictor-corrector in
 * data-prediction form (Xue et al. 2023, "SA-Solver: Stochastic Adams Solver
 * for Fast Sampling of Diffusion Models", arXiv:2309.05019, Alg. 1, eqs. 14
 * and 17), following diffusers' SASolverScheduler (scheduling_sasolver.py:
 * stochastic_adams_bashforth_update / stochastic_adams_moulton_update / step).
 *
 * Variables: lambda = -log s (s = sigma / alpha, VE coordinates x~ = x / alpha),
 * kappa = 1 + tau^2, h = lambda_t - lambda_s. One step from s to t is
 *   x~_t = e^{-kappa h} x~_s + sum_i c_i D_i + s_t sqrt(1 - e^{-2 tau^2 h}) s_noise z,
 *   c_i  = int_{lambda_s}^{lambda_t} kappa e^{kappa (u - lambda_t)} l_i(u) du,
 * with l_i the Lagrange basis over the nodes of the D_i. This is diffusers'
 * update divided by alpha_t (its sigma_t e^{-tau^2 lambda_t} e^{kappa lambda}
 * factor becomes e^{kappa (lambda - lambda_t)} / alpha_t). The integral is
 * taken in w = (u - lambda_t) / h, in [-1, 0]: c_i = sum_m a_im J_m(kappa h),
 * J_m(a) = int_{-1}^0 a e^{a w} w^m dw (series for small a, recurrence
 * otherwise), which stays accurate for small steps and large lambda where the
 * reference's monomials in absolute lambda lose precision.
 *
 * Predictor (SA-Predictor, order p): nodes lambda_i, lambda_{i-1}, ... from the
 * current point; the next point's D is not used. Corrector (SA-Corrector,
 * order c): at the next step, after evaluating D there, the same interval is
 * redone from the saved x~_i with nodes lambda_{i+1}, lambda_i, ... and the
 * same noise z. The last point is never corrected (one NFE per step).
 * For p = 2 (predictor) and c = 2 (corrector) the reference adds its O(h^3)
 * UniPC-like term; kept here:
 *   predictor: c_0 += Delta, c_1 -= Delta, Delta = kappa h^2 (1/2 - phi_2(-kappa h)) / (lambda_i - lambda_{i-1})
 *   corrector: c_0 += Delta, c_1 -= Delta, Delta = kappa h (1/2 - phi_2(-kappa h)).
 *
 * Orders: warm-up p_i = min(p, i + 1), c_{i+1} = min(c, i + 2); with
 * lower_order_final != SGM_LOF_NONE (the default here, as diffusers'
 * lower_order_final=True) also p_i <= N - i and c_{i+1} <= N - i + 1 (N steps).
 * A step to s = 0 is first order (x = D). ODE order with tau = 0 and no final
 * lowering: min(c, p + 1).
 *
 * tau: cfg.tau where the step's starting s lies in [tau_sigma_min, tau_sigma_max],
 * else 0 (deterministic, UniPC-like). diffusers' default tau_func is 1 for
 * discrete timesteps 200..800 of its default linear betas (1e-4 .. 0.02, 1000
 * steps); the VE sigmas of those timesteps, 0.7236 and 25.74, are the default
 * window here. tau = 0 everywhere gives the deterministic solver.
 * Only data prediction is implemented (cfg.algorithm must be SGM_DPM_DATA).
 */
#include <stdlib.h>

#include "sampler_internal.h"

#define SA_MAX 4

/* default tau window: VE sigma at timesteps 200 and 800 of linear betas 1e-4..0.02 */
#define SA_TAU_SIGMA_MIN 0.7236
#define SA_TAU_SIGMA_MAX 25.74

typedef struct sa_state {
    int have_prev;     /* a predictor step was taken that the next step corrects */
    int corr_order;    /* corrector order for the next step */
    double tau_prev;   /* tau of that predictor step */
    int had_noise;     /* it drew noise into the noise buffer */
} sa_state;

static int sa_depth(const sgm_sampler_config *c) {
    int p = c->predictor_order, q = c->corrector_order;
    int m = p > q ? p : q;
    return m < 1 ? 1 : (m > SA_MAX ? SA_MAX : m);
}

/* buffers: [0, depth) ring of D, then x_prev, then the noise of the last step */
static int sa_nbuf(const sgm_sampler_config *c) { return sa_depth(c) + 2; }

static void sa_defaults(sgm_sampler_config *c) {
    c->predictor_order = 2;
    c->corrector_order = 2;
    c->tau = 1;
    c->tau_sigma_min = SA_TAU_SIGMA_MIN;
    c->tau_sigma_max = SA_TAU_SIGMA_MAX;
    c->lower_order_final = SGM_LOF_DIFFUSERS;
}

static sgm_status sa_validate(const sgm_sampler_config *c, sgm_error *err) {
    if (c->predictor_order < 1 || c->predictor_order > SA_MAX)
        return sgm__fail(err, SGM_ERR_INVALID_ARG,
                         "sa_solver: predictor_order must be 1..4 (got %d)", c->predictor_order);
    if (c->corrector_order < 1 || c->corrector_order > SA_MAX)
        return sgm__fail(err, SGM_ERR_INVALID_ARG,
                         "sa_solver: corrector_order must be 1..4 (got %d)", c->corrector_order);
    if (!(c->tau >= 0 && isfinite(c->tau)))
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "sa_solver: tau must be finite and >= 0");
    if (!(c->tau_sigma_min >= 0) || isnan(c->tau_sigma_max) ||
        c->tau_sigma_min > c->tau_sigma_max)
        return sgm__fail(err, SGM_ERR_INVALID_ARG,
                         "sa_solver: need 0 <= tau_sigma_min <= tau_sigma_max");
    if (c->algorithm != SGM_DPM_DATA)
        return sgm__fail(err, SGM_ERR_UNSUPPORTED,
                         "sa_solver: only the data-prediction form is implemented");
    return SGM_OK;
}

static sgm_status sa_begin(sgm__s *s, void *x) {
    (void)x;
    sgm__hist_reset(s);
    s->mstate = calloc(1, sizeof(sa_state));
    if (!s->mstate) return sgm__fail(s->err, SGM_ERR_NOMEM, "out of memory");
    return SGM_OK;
}

/* J_m(a) = int_{-1}^0 a e^{a w} w^m dw for m = 0..3 */
static void sa_jm(double a, double J[SA_MAX]) {
    if (a < 1) {
        /* a sum_k a^k (-1)^(k+m) / (k! (k + m + 1)): alternating, |a| < 1 */
        for (int m = 0; m < SA_MAX; m++) {
            double term = 1, sum = 0; /* term = a^k / k! */
            for (int k = 0; k < 40; k++) {
                double v = term / (double)(k + m + 1);
                sum += ((k + m) % 2 ? -v : v);
                term *= a / (double)(k + 1);
                if (term < 1e-18) break;
            }
            J[m] = a * sum;
        }
    } else {
        double e = exp(-a);
        J[0] = -expm1(-a);
        for (int m = 1; m < SA_MAX; m++)
            J[m] = (m % 2 ? e : -e) - (double)m / a * J[m - 1];
    }
}

/* c_i for nodes lam[0..k-1] (lam[0] the newest) over [lam_s, lam_t], kappa. */
static void sa_coeffs(int k, const double *lam, double lam_s, double lam_t, double kappa,
                      double *c) {
    double h = lam_t - lam_s;
    double J[SA_MAX];
    sa_jm(kappa * h, J);
    double w[SA_MAX];
    for (int j = 0; j < k; j++) w[j] = (lam[j] - lam_t) / h;
    for (int i = 0; i < k; i++) {
        /* monomial coefficients of prod_{j != i} (w - w_j) / (w_i - w_j) */
        double poly[SA_MAX] = {1, 0, 0, 0}, den = 1;
        int deg = 0;
        for (int j = 0; j < k; j++) {
            if (j == i) continue;
            /* poly *= (w - w_j) */
            for (int m = deg + 1; m >= 1; m--) poly[m] = poly[m - 1] - w[j] * poly[m];
            poly[0] = -w[j] * poly[0];
            deg++;
            den *= w[i] - w[j];
        }
        double acc = 0;
        for (int m = 0; m <= deg; m++) acc += poly[m] * J[m];
        c[i] = acc / den;
    }
}

/* One SA update x_out = e^{-kappa h} x_src + sum c_j D_j [+ noise] over
 * [from, to] with the k newest history entries as nodes. corrector selects
 * the order-2 extra term of the SA-Corrector (else the predictor's). */
static void sa_update(sgm__s *s, void *x_out, const void *x_src, sgm__pt from, sgm__pt to,
                      int k, double tau, const void *noise, int corrector, int extra2) {
    double kappa = 1 + tau * tau;
    double h = to.lambda - from.lambda;
    double cd[SA_MAX];
    sa_coeffs(k, s->hs, from.lambda, to.lambda, kappa, cd);
    if (k == 2 && extra2) {
        double g = kappa * h * (0.5 - sgm__phi2(-kappa * h));
        double delta = corrector ? g : g * h / (s->hs[0] - s->hs[1]);
        cd[0] += delta;
        cd[1] -= delta;
    }
    double c[SA_MAX + 2];
    const void *in[SA_MAX + 2];
    int n = 0;
    c[n] = exp(-kappa * h);
    in[n++] = x_src;
    for (int j = 0; j < k; j++) {
        c[n] = cd[j];
        in[n++] = s->buf[s->ibuf[j]];
    }
    if (tau > 0 && noise) {
        c[n] = s->cfg.s_noise * to.s * sqrt(-expm1(-2 * tau * tau * h));
        in[n++] = noise;
    }
    sgm__lc(s, x_out, n, c, in);
}

static double sa_tau_at(const sgm__s *s, double sv) {
    const sgm_sampler_config *c = &s->cfg;
    return (sv >= c->tau_sigma_min && sv <= c->tau_sigma_max) ? c->tau : 0;
}

/* The SA-Predictor from p to q of order po with noise level tau; x before
 * the step and the noise drawn are kept for the next step's corrector.
 * extra2: the order-2 extra terms (sa_solver; not in ComfyUI's form). */
static void sa_predict(sgm__s *s, sa_state *ms, void *x, sgm__pt p, sgm__pt q, int po,
                       double tau, int extra2) {
    int depth = sa_depth(&s->cfg);
    int b_xprev = depth, b_noise = depth + 1;
    sgm__copy(s, s->buf[b_xprev], x);
    const void *noise = NULL;
    if (tau > 0 && s->cfg.s_noise > 0) {
        sgm__noise_interval(s, p.s, q.s, s->buf[b_noise]);
        noise = s->buf[b_noise];
    }
    sa_update(s, x, s->buf[b_xprev], p, q, po, tau, noise, 0, extra2);
    ms->tau_prev = tau;
    ms->had_noise = noise != NULL;
    s->i++;
}

static sgm_status sa_step(sgm__s *s, void *x) {
    sa_state *ms = s->mstate;
    const sgm_sampler_config *cfg = &s->cfg;
    int depth = sa_depth(cfg);
    int b_xprev = depth, b_noise = depth + 1;
    size_t i = s->i, n_steps = s->n_pts - 1;
    sgm__pt p = sgm__cur(s), q = sgm__next(s);

    int slot = sgm__hist_slot(s, 0, depth);
    sgm_status st = sgm__denoise(s, x, p, s->buf[slot]);
    if (st) return st;
    sgm__hist_push(s, slot, p.lambda, depth);

    /* SA-Corrector: redo the last interval with the D just computed */
    if (ms->have_prev && i > 0) {
        int k = ms->corr_order < s->hn ? ms->corr_order : s->hn;
        sa_update(s, x, s->buf[b_xprev], s->pts[i - 1], p, k, ms->tau_prev,
                  ms->had_noise ? s->buf[b_noise] : NULL, 1, 1);
    }
    ms->have_prev = 0;

    if (q.s == 0) { /* first-order step to the data end: x = D */
        sgm__copy(s, x, s->buf[s->ibuf[0]]);
        s->i++;
        return SGM_OK;
    }

    /* orders: warm-up, then (lower_order_final) ramp down at the end */
    int po = cfg->predictor_order, co = cfg->corrector_order;
    if (cfg->lower_order_final != SGM_LOF_NONE) {
        if ((size_t)po > n_steps - i) po = (int)(n_steps - i);
        if ((size_t)co > n_steps - i + 1) co = (int)(n_steps - i + 1);
    }
    if (po > s->hn) po = s->hn;
    if ((size_t)co > i + 2) co = (int)(i + 2);

    sa_predict(s, ms, x, p, q, po, sa_tau_at(s, p.s), 1);
    ms->have_prev = 1;
    ms->corr_order = co;
    return SGM_OK;
}

const sgm__method sgm__m_sa_solver = {
    {"sa_solver", "sasolver,sa-solver",
     "SA-Solver stochastic Adams predictor-corrector (tau)", 2, 1, 0},
    sa_defaults, sa_validate, sa_nbuf, sa_begin, sa_step};

/* ---- ComfyUI's sample_sa_solver / sample_sa_solver_pece ---------------
 * The same updates without the order-2 extra terms, as ComfyUI codes them:
 * tau = tau(sigma_{i+1}) of the step's END point (window [tau_sigma_min,
 * tau_sigma_max], default ComfyUI's percent_to_sigma(0.8) .. (0.2) on the
 * EDM range 0.002..80); orders p_i = min(p, i + 1), corrector at step i
 * min(c, i + 1) (none at i = 0), and when the schedule ends at 0 also
 * p_i <= N - 1 - i, c_i <= N - i; the step to 0 is not corrected (x = D of
 * the predicted state) unless PECE. PECE (sa_solver_pece) evaluates D again
 * at every corrected state (2 NFE per corrected step). Defaults p = 3, c = 4. */
extern const sgm__method sgm__m_sa_solver_pece;

static void sac_defaults(sgm_sampler_config *c) {
    c->predictor_order = 3;
    c->corrector_order = 4;
    c->tau = 1;
    c->tau_sigma_min = 0.01665106414803746; /* EDM percent_to_sigma(0.8) */
    c->tau_sigma_max = 9.60899547185145;    /* percent_to_sigma(0.2) */
}

static sgm_status sac_step(sgm__s *s, void *x) {
    sa_state *ms = s->mstate;
    const sgm_sampler_config *cfg = &s->cfg;
    int depth = sa_depth(cfg), pece = s->m == &sgm__m_sa_solver_pece;
    int b_xprev = depth, b_noise = depth + 1;
    size_t i = s->i, n_steps = s->n_pts - 1;
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    int slot = sgm__hist_slot(s, 0, depth);
    sgm_status st = sgm__denoise(s, x, p, s->buf[slot]);
    if (st) return st;
    sgm__hist_push(s, slot, p.lambda, depth);
    int po = cfg->predictor_order < s->hn ? cfg->predictor_order : s->hn;
    int co = (i == 0 || (q.s == 0 && !pece)) ? 0
             : cfg->corrector_order < s->hn ? cfg->corrector_order : s->hn;
    if (s->pts[n_steps].s == 0) {
        if ((size_t)po > n_steps - 1 - i) po = (int)(n_steps - 1 - i);
        if ((size_t)co > n_steps - i) co = (int)(n_steps - i);
    }
    if (co > 0) {
        sa_update(s, x, s->buf[b_xprev], s->pts[i - 1], p, co, ms->tau_prev,
                  ms->had_noise ? s->buf[b_noise] : NULL, 1, 0);
        if (pece && (st = sgm__denoise(s, x, p, s->buf[s->ibuf[0]]))) return st;
    }
    if (q.s == 0) {
        sgm__copy(s, x, s->buf[s->ibuf[0]]);
        s->i++;
        return SGM_OK;
    }
    sa_predict(s, ms, x, p, q, po, sa_tau_at(s, q.s), 0);
    return SGM_OK;
}

const sgm__method sgm__m_sa_solver_comfy = {
    {"sa_solver_comfy", "comfy_sa_solver",
     "SA-Solver as ComfyUI codes it: tau at the step end, orders 3/4", 3, 1, 0},
    sac_defaults, sa_validate, sa_nbuf, sa_begin, sac_step};

const sgm__method sgm__m_sa_solver_pece = {
    {"sa_solver_pece", "comfy_sa_solver_pece",
     "SA-Solver PECE (ComfyUI): D re-evaluated at every corrected state", 3, 1, 0},
    sac_defaults, sa_validate, sa_nbuf, sa_begin, sac_step};
