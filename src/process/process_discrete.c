/* process_discrete.c - the discrete-beta VP process of sgm_process.h
 * (SGM_PROCESS_VP_DISCRETE): the beta tables (linear, scaled linear,
 * squaredcos_cap_v2 = Nichol & Dhariwal 2021 eq. 17, user), alphas_cumprod
 * with the zero-terminal-SNR rescale (Lin et al. 2024, alg. 1), and the two
 * continuous-time readings of the table: DPM-Solver's piecewise-linear log
 * alpha (Lu et al. 2022, App. D) and diffusers' interpolation of sigma or
 * log sigma in the timestep (with their inverses in lambda).
 */
#include <math.h>
#include <stdlib.h>

#include "process_internal.h"

/* ---------------------------------------------------- discrete tables --- */

static double glide_abar(double t) {
    double c = cos((t + 0.008) / 1.008 * PI / 2);
    return c * c;
}

sgm_status sgm__process_build_discrete(sgm_process *p, sgm_error *err) {
    const sgm_process_config *c = &p->cfg;
    int N = c->n_train;
    if (N < 2 || N > 1000000)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "vp-discrete: n_train must be in [2, 1000000], got %d", N);
    double *betas = malloc((size_t)N * sizeof *betas);
    if (!betas) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    for (int i = 0; i < N; i++) {
        double f = (double)i / (double)(N - 1);
        switch (c->betas) {
        case SGM_BETAS_LINEAR:
            betas[i] = c->beta_start + f * (c->beta_end - c->beta_start);
            break;
        case SGM_BETAS_SCALED_LINEAR: {
            double a = sqrt(c->beta_start), b = sqrt(c->beta_end);
            double v = a + f * (b - a);
            betas[i] = v * v;
            break;
        }
        case SGM_BETAS_SQUAREDCOS_CAP_V2: {
            double t1 = (double)i / N, t2 = (double)(i + 1) / N;
            double b = 1.0 - glide_abar(t2) / glide_abar(t1);
            betas[i] = b < 0.999 ? b : 0.999;
            break;
        }
        case SGM_BETAS_USER:
            if (!c->user_betas) {
                free(betas);
                return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                      "vp-discrete: user betas requested but none given");
            }
            betas[i] = c->user_betas[i];
            break;
        }
        if (!(betas[i] > 0 && betas[i] < 1)) {
            double b = betas[i];
            free(betas);
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "vp-discrete: beta[%d] = %g is not in (0, 1)", i, b);
        }
    }
    if (c->betas == SGM_BETAS_USER) {
        p->user_betas = betas;
        p->cfg.user_betas = betas;
    }
    double *abar = malloc((size_t)N * sizeof *abar);
    double *la = malloc((size_t)N * sizeof *la);
    if (!abar || !la) {
        free(abar);
        free(la);
        if (!p->user_betas) free(betas);
        return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    }
    /* log alpha as DPM-Solver computes it: 0.5 * cumsum(log(1 - beta)) */
    double acc = 0, prod = 1;
    for (int i = 0; i < N; i++) {
        acc += log1p(-betas[i]);
        prod *= 1.0 - betas[i];
        la[i] = 0.5 * acc;
        abar[i] = prod;
    }
    if (c->rescale_zero_snr) {
        /* Lin et al. 2024 alg. 1: shift sqrt(abar) so the last is 0, rescale so the
         * first is unchanged; the last abar becomes 2^-24 so sigma stays finite
         * (as diffusers does). */
        double a0 = sqrt(abar[0]), aT = sqrt(abar[N - 1]);
        for (int i = 0; i < N; i++) {
            double v = (sqrt(abar[i]) - aT) * a0 / (a0 - aT);
            abar[i] = v * v;
        }
        abar[N - 1] = 0x1.0p-24;
        for (int i = 0; i < N; i++) la[i] = 0.5 * log(abar[i]);
    }
    if (!p->user_betas) free(betas);
    if (c->clip_lambda) {
        /* DPM-Solver numerical_clip_alpha: drop trailing entries with lambda < -5.1 */
        int keep = N;
        while (keep > 2) {
            double l = la[keep - 1] - 0.5 * log(-expm1(2 * la[keep - 1]));
            if (l < -5.1) keep--;
            else break;
        }
        N = keep;
    }
    p->N = N;
    p->abar = abar;
    p->la = la;
    p->ls = malloc((size_t)N * sizeof(double));
    p->sv = malloc((size_t)N * sizeof(double));
    if (!p->ls || !p->sv) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    for (int i = 0; i < N; i++) {
        /* sigma_ve^2 = (1 - abar) / abar = expm1(-2 la) */
        double s2 = c->interp == SGM_INTERP_LOG_ALPHA ? expm1(-2 * la[i])
                                                       : (1.0 - abar[i]) / abar[i];
        p->sv[i] = sqrt(s2);
        p->ls[i] = log(p->sv[i]);
    }
    if (p->cfg.t_eps <= 0) p->cfg.t_eps = 1.0 / N;
    return SGM_OK;
}

/* ------------------------------------------------------ interpolation --- */

/* index coordinate tau = t N - 1 of the discrete table */
static double tau_of_t(const sgm_process *p, double t) { return t * p->N - 1.0; }

/* piecewise-linear value of table y at tau, clamped (diffusers np.interp) */
static double interp_clamped(const double *y, int N, double tau) {
    if (!(tau > 0)) return y[0]; /* also NaN */
    if (tau >= N - 1) return y[N - 1];
    int i = (int)floor(tau);
    double w = tau - i;
    return y[i] + w * (y[i + 1] - y[i]);
}

/* DPM-Solver interpolate_fn: piecewise linear with linear extrapolation, in t */
static double dpm_la(const sgm_process *p, double t, double *slope) {
    int N = p->N;
    double tau = tau_of_t(p, t);
    /* clamped before the conversion: a t far outside [0, 1] (a user time
       list, fuzz_cli_args) or NaN does not fit an int */
    int i = tau >= 0 ? (tau <= N - 2 ? (int)floor(tau) : N - 2) : 0;
    double t0 = (double)(i + 1) / N, t1 = (double)(i + 2) / N;
    double sl = (p->la[i + 1] - p->la[i]) / (t1 - t0); /* per unit t */
    if (slope) *slope = sl;
    (void)tau;
    return p->la[i] + (t - t0) * sl;
}

/* log alpha of the discrete process and d(log alpha)/dt */
double sgm__process_disc_la(const sgm_process *p, double t, double *dla) {
    int N = p->N;
    switch (p->cfg.interp) {
    case SGM_INTERP_LOG_ALPHA:
        return dpm_la(p, t, dla);
    case SGM_INTERP_LOG_SIGMA:
    case SGM_INTERP_SIGMA: {
        double tau = tau_of_t(p, t);
        double s, ds_dtau = 0;
        if (p->cfg.interp == SGM_INTERP_LOG_SIGMA) {
            double ls = interp_clamped(p->ls, N, tau);
            s = exp(ls);
            if (tau > 0 && tau < N - 1) {
                int i = (int)floor(tau);
                ds_dtau = s * (p->ls[i + 1] - p->ls[i]);
            }
        } else {
            s = interp_clamped(p->sv, N, tau);
            if (tau > 0 && tau < N - 1) {
                int i = (int)floor(tau);
                ds_dtau = p->sv[i + 1] - p->sv[i];
            }
        }
        /* alpha = 1/sqrt(1 + s^2): la = -0.5 log1p(s^2); dla/ds = -s/(1+s^2) */
        if (dla) *dla = -s / (1 + s * s) * ds_dtau * N;
        return -0.5 * log1p(s * s);
    }
    }
    return 0;
}

/* sigma_ve = sigma / alpha: the interpolated table (diffusers), or from
 * log alpha (DPM-Solver) */
double sgm__process_disc_sigma_ve(const sgm_process *p, double t) {
    if (p->cfg.interp != SGM_INTERP_LOG_ALPHA) {
        double tau = tau_of_t(p, t);
        if (p->cfg.interp == SGM_INTERP_LOG_SIGMA)
            return exp(interp_clamped(p->ls, p->N, tau));
        return interp_clamped(p->sv, p->N, tau);
    }
    return sqrt(expm1(-2 * sgm_process_log_alpha(p, t)));
}

/* t of lambda: inverse of the interpolation the process uses */
double sgm__process_disc_t_of_lambda(const sgm_process *p, double lambda) {
    const sgm_process_config *c = &p->cfg;
    int N = p->N;
    if (c->interp == SGM_INTERP_LOG_ALPHA) {
        /* DPM-Solver inverse_lambda: interpolate t against log alpha (flipped
         * table, linear extrapolation) */
        double la = lambda > 0 ? -0.5 * log1p(exp(-2 * lambda))
                               : lambda - 0.5 * log1p(exp(2 * lambda));
        /* la decreasing in index; find segment */
        int i = 0;
        if (la >= p->la[0]) i = 0;
        else if (la <= p->la[N - 1]) i = N - 2;
        else {
            int lo = 0, hi = N - 1;
            while (hi - lo > 1) {
                int mid = (lo + hi) / 2;
                if (p->la[mid] >= la) lo = mid;
                else hi = mid;
            }
            i = lo;
        }
        double t0 = (double)(i + 1) / N, t1 = (double)(i + 2) / N;
        return t0 + (la - p->la[i]) * (t1 - t0) / (p->la[i + 1] - p->la[i]);
    }
    /* diffusers _sigma_to_t: invert log sigma (or sigma) linearly, clamped */
    double s = exp(-lambda);
    const double *y = c->interp == SGM_INTERP_LOG_SIGMA ? p->ls : p->sv;
    double v = c->interp == SGM_INTERP_LOG_SIGMA ? -lambda : s;
    double tau;
    if (v <= y[0]) tau = 0;
    else if (v >= y[N - 1]) tau = N - 1;
    else {
        int lo = 0, hi = N - 1;
        while (hi - lo > 1) {
            int mid = (lo + hi) / 2;
            if (y[mid] <= v) lo = mid;
            else hi = mid;
        }
        double w = (v - y[lo]) / (y[lo + 1] - y[lo]);
        tau = lo + w;
    }
    return (tau + 1) / N;
}
