/* dpm_solver_v3_ems.c - the calibration pass of DPM-Solver-v3 (Zheng et al.
 * 2023, sec. 3.2 and Appendix C: empirical model statistics, EMS): for each
 * lambda of a uniform grid, over a calibration batch x~ = x0 + s z (VE
 * coordinates, s = e^{-lambda}), with N = x~ - D (the reference's
 * sigma eps / alpha) and f = N - l x~ = (1 - l) x~ - D:
 *   l = E[diag dN/dx~]                       (argmin_l E||dN/dx - diag l||^2)
 *   s, b = argmin E||f' - s f - b||^2 per dimension (least squares:
 *          s = Cov(f', f) / Var(f), b = E f' - s E f; s = 0 where Var f = 0),
 * where f' = df/dlambda along the probability-flow ODE (dx~/dlambda = D - x~):
 *   f' = -l'(lambda) x~ + (1 - l)(D - x~) - dD/dlambda|_ODE.
 * Estimates: the Jacobian diagonal by one Rademacher probe v per row,
 * v * (J v) with J v from a central difference of step 1e-4 s; dD/dlambda by
 * a central difference along the ODE (x~ +- e (D - x~) at lambda +- e,
 * e = 1e-4: the second-order position error cancels); l' by central
 * differences of the l grid. z and v are the same at every lambda (common
 * random numbers), so the statistics are smooth functions of lambda.
 * s is capped at |s| <= S_CLIP (below). The official code ships precomputed
 * statistics and leaves their computation as "TODO"; the formulas above are
 * the paper's, the estimators and the cap ours.
 */
#include <stdlib.h>
#include <string.h>

#include "sampler_internal.h"

/* |s| cap: where f is nearly constant over the batch (the noisy end, where
 * l -> 1 cancels x~ against D) the regression is ill-posed and Cov / Var
 * grows without bound (2.5e4 at sigma 2000 on the ring mixture), which would
 * make e^{-S} underflow over a step; b = E f' - s E f absorbs the cap. */
#define S_CLIP 10.0

void sgm_dpmv3_ems_free(sgm_dpmv3_ems *e) {
    if (!e) return;
    free(e->l);
    memset(e, 0, sizeof *e);
}

/* D of x (f64 [n, d], VE coordinates) at VE level lam, through the sampler's one denoiser path */
static sgm_status den_at(sgm__s *s, const double *x, double lam, double *D) {
    return sgm__denoise(s, x, sgm__pt_from_lambda(s, lam), D);
}

sgm_status sgm_dpmv3_calibrate(const sgm_process *proc, const sgm_denoiser *den, size_t n,
                               size_t d, const double *x0, double sigma_max, double sigma_min,
                               size_t n_grid, uint64_t seed, sgm_dpmv3_ems *out,
                               sgm_error *err) {
    if (!out) return sgm__fail(err, SGM_ERR_INVALID_ARG, "dpmv3 calibrate: no output");
    memset(out, 0, sizeof *out);
    if (!proc || !den || !den->fn || !x0 || n < 2 || d == 0)
        return sgm__fail(err, SGM_ERR_INVALID_ARG,
                         "dpmv3 calibrate: need a process, a denoiser and >= 2 rows of data");
    if (!(sigma_min > 0 && sigma_min < sigma_max && isfinite(sigma_max)))
        return sgm__fail(err, SGM_ERR_INVALID_ARG,
                         "dpmv3 calibrate: need 0 < sigma_min < sigma_max < inf (got %g, %g)",
                         sigma_min, sigma_max);
    if (n_grid < 3 || n_grid > 100000)
        return sgm__fail(err, SGM_ERR_INVALID_ARG,
                         "dpmv3 calibrate: grid points must be in 3..100000 (got %zu)", n_grid);
    sgm_sampler_config cfg;
    sgm_status st = sgm_sampler_config_default("euler", &cfg, err);
    if (st) return st;
    sgm__s *s = NULL;
    if ((st = sgm_sampler_create(&cfg, proc, n, d, &s, err))) return st;
    s->den = den;
    s->n = n;
    s->count = n * d;
    s->err = err;
    size_t cnt = n * d, m = n_grid * d;
    double *blk = malloc(sizeof(double) * 3 * m);
    double *wk = malloc(sizeof(double) * 7 * cnt);
    if (!blk || !wk) {
        free(blk);
        free(wk);
        sgm_sampler_free(s);
        return sgm__fail(err, SGM_ERR_NOMEM, "out of memory");
    }
    double *L = blk, *S = blk + m, *B = blk + 2 * m;
    double *z = wk, *v = z + cnt, *x = v + cnt, *xp = x + cnt, *xm = xp + cnt, *Dp = xm + cnt,
           *Dm = Dp + cnt;
    sgm_rng_normal_rows_f64(seed, 0, 0, n, d, z);
    sgm_rng_uniform_rows_f64(seed, 1, 0, n, d, v);
    for (size_t i = 0; i < cnt; i++) v[i] = v[i] < 0.5 ? -1 : 1;
    double l0 = -log(sigma_max), l1 = -log(sigma_min), dl = (l1 - l0) / (double)(n_grid - 1);

    /* pass 1: l = E[v * (J v)], J = dN/dx = I - dD/dx */
    for (size_t k = 0; k < n_grid && !st; k++) {
        double lam = l0 + dl * (double)k, sg = exp(-lam), h = 1e-4 * sg;
        for (size_t i = 0; i < cnt; i++) {
            double xi = x0[i] + sg * z[i];
            xp[i] = xi + h * v[i];
            xm[i] = xi - h * v[i];
        }
        if ((st = den_at(s, xp, lam, Dp)) || (st = den_at(s, xm, lam, Dm))) break;
        for (size_t j = 0; j < d; j++) {
            double acc = 0;
            for (size_t r = 0; r < n; r++) {
                size_t q = r * d + j;
                acc += 1 - v[q] * (Dp[q] - Dm[q]) / (2 * h);
            }
            L[k * d + j] = acc / (double)n;
        }
    }
    /* pass 2: f, f' and the per-dimension regression */
    for (size_t k = 0; k < n_grid && !st; k++) {
        double lam = l0 + dl * (double)k, sg = exp(-lam), e = 1e-4;
        double *D = xp; /* reuse: D at x, then the +- points */
        for (size_t i = 0; i < cnt; i++) x[i] = x0[i] + sg * z[i];
        if ((st = den_at(s, x, lam, D))) break;
        for (size_t i = 0; i < cnt; i++) {
            xm[i] = x[i] + e * (D[i] - x[i]);   /* at lambda + e */
            Dm[i] = x[i] - e * (D[i] - x[i]);   /* at lambda - e (position, for now) */
        }
        if ((st = den_at(s, xm, lam + e, Dp))) break;
        memcpy(xm, Dm, sizeof(double) * cnt);
        if ((st = den_at(s, xm, lam - e, Dm))) break;
        size_t ka = k ? k - 1 : k, kb = k + 1 < n_grid ? k + 1 : k;
        for (size_t j = 0; j < d; j++) {
            double l = L[k * d + j];
            double lp = (L[kb * d + j] - L[ka * d + j]) / (dl * (double)(kb - ka));
            double mf = 0, mg = 0, sff = 0, sfg = 0;
            for (size_t r = 0; r < n; r++) {
                size_t q = r * d + j;
                double f = (1 - l) * x[q] - D[q];
                double g = -lp * x[q] + (1 - l) * (D[q] - x[q]) - (Dp[q] - Dm[q]) / (2 * e);
                mf += f, mg += g, sff += f * f, sfg += f * g;
            }
            mf /= (double)n, mg /= (double)n;
            double var = sff / (double)n - mf * mf, cov = sfg / (double)n - mf * mg;
            double sv = var > 1e-300 ? cov / var : 0;
            if (sv > S_CLIP) sv = S_CLIP;
            if (sv < -S_CLIP) sv = -S_CLIP;
            S[k * d + j] = sv;
            B[k * d + j] = mg - sv * mf;
        }
    }
    free(wk);
    sgm_sampler_free(s);
    if (st) {
        free(blk);
        return st;
    }
    out->n = n_grid;
    out->d = d;
    out->lambda_first = l0;
    out->lambda_last = l1;
    out->l = L;
    out->s = S;
    out->b = B;
    return SGM_OK;
}
