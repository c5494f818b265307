/* bench_core.c - error against a tight reference solve (bench_internal.h):
 * a sampler run from a given x_T, the rk45 reference of the same
 * probability-flow ODE from the same x_T (Dormand-Prince 5(4) at a tight
 * tolerance, as the solver comparisons of Lu et al. 2022, DPM-Solver,
 * arXiv:2206.00927 sec. 6, and Karras et al. 2022, EDM, fig. 2), the step
 * count that fits an NFE budget, and the RMS error. Used by the NFE-vs-error
 * bench (bench.c) and the schedule optimiser (schedule_opt.c). */
#include <math.h>
#include <string.h>

#include "../core/internal.h"
#include "bench_internal.h"

/* mala: the exact mixture's log-density */
static int gmm_logp(size_t n, size_t d, const double *x, double sigma, double *logp, void *ud) {
    (void)d;
    sgm_gmm_logpdf(ud, n, x, sigma, logp);
    return 0;
}

sgm_status sgm__bench_run_sampler(const sgm__bench_model *m, const sgm_sampler_config *scfg,
                                  const sgm_schedule *sch, const double *x_T, size_t n,
                                  double *x, sgm_sampler_stats *stats, sgm_error *err) {
    sgm_sampler *s = NULL;
    sgm_status st = sgm_sampler_create(scfg, m->proc, n, m->d, &s, err);
    if (st) return st;
    if (m->gmm) sgm_sampler_set_log_density(s, gmm_logp, (void *)m->gmm);
    memcpy(x, x_T, sizeof(double) * n * m->d);
    sgm_rng rng = sgm_rng_init(m->noise_seed);
    st = sgm_sampler_run(s, sch, &m->den, &rng, 0, n, x, err);
    if (!st) {
        sgm_sampler_get_stats(s, stats);
        for (size_t i = 0; i < n * m->d; i++)
            if (!isfinite(x[i])) {
                st = sgm__set_error(err, SGM_ERR_NONFINITE, "non-finite sample at row %zu",
                                    i / m->d);
                break;
            }
    }
    sgm_sampler_free(s);
    return st;
}

sgm_status sgm__bench_reference(const sgm__bench_model *m, double t0, double sigma0, double t1,
                                double sigma1, double rtol, double atol, sgm_error_norm norm,
                                int n_threads, const double *x_T, size_t n, double *ref,
                                sgm_sampler_stats *stats, sgm_error *err) {
    double t[2] = {t0, t1};
    double sg[2] = {sigma0, sigma1};
    sgm_schedule *s2 = NULL;
    sgm_status st = sgm_schedule_from_arrays(m->proc, 2, t, sg, &s2, err);
    if (st) return st;
    sgm_sampler_config rc;
    if ((st = sgm_sampler_config_default("rk45", &rc, err))) {
        sgm_schedule_free(s2);
        return st;
    }
    rc.rtol = rtol;
    rc.atol = atol;
    rc.error_norm = norm;
    rc.denoise_to_zero = 0;
    rc.n_threads = n_threads;
    st = sgm__bench_run_sampler(m, &rc, s2, x_T, n, ref, stats, err);
    sgm_schedule_free(s2);
    return st;
}

/* NFE of `steps` steps, from a one-row probe (NFE counts batch calls, so it
 * does not depend on the number of rows). */
static sgm_status probe_nfe(const sgm__bench_model *m, const sgm_sampler_config *scfg,
                            sgm__bench_make_fn mk, void *ud, int steps, const double *x_T,
                            double *scratch, size_t *nfe, sgm_error *err) {
    sgm_schedule *sch = NULL;
    sgm_status st = mk(steps, ud, &sch, err);
    if (st) return st;
    sgm_sampler_stats stats = {0};
    st = sgm__bench_run_sampler(m, scfg, sch, x_T, 1, scratch, &stats, err);
    sgm_schedule_free(sch);
    if (!st) *nfe = stats.nfe;
    return st;
}

sgm_status sgm__bench_steps_for_budget(const sgm__bench_model *m, const sgm_sampler_config *scfg,
                                       sgm__bench_make_fn mk, void *ud, int budget,
                                       const double *x_T, double *scratch, int *steps_out,
                                       sgm_error *err) {
    size_t nfe = 0;
    int s = budget;
    sgm_status st = probe_nfe(m, scfg, mk, ud, s, x_T, scratch, &nfe, err);
    if (st) return st;
    while (nfe > (size_t)budget && s > 1) {
        /* proportional guess, strictly decreasing */
        int g = (int)floor((double)s * budget / (double)nfe);
        s = g < s - 1 ? (g < 1 ? 1 : g) : s - 1;
        if ((st = probe_nfe(m, scfg, mk, ud, s, x_T, scratch, &nfe, err))) return st;
    }
    if (nfe > (size_t)budget) {
        *steps_out = 0;
        return SGM_OK;
    }
    /* climb while the next step count still fits */
    for (;;) {
        size_t nn = 0;
        if (probe_nfe(m, scfg, mk, ud, s + 1, x_T, scratch, &nn, err) || nn > (size_t)budget)
            break;
        s++;
    }
    *steps_out = s;
    return SGM_OK;
}

double sgm__bench_err_rms(const double *x, const double *ref, size_t n, size_t d,
                          double *err_max) {
    double s2 = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        double e2 = 0;
        for (size_t j = 0; j < d; j++) {
            double e = x[i * d + j] - ref[i * d + j];
            e2 += e * e;
        }
        s2 += e2;
        if (sqrt(e2) > mx) mx = sqrt(e2);
    }
    if (err_max) *err_max = mx;
    return sqrt(s2 / (double)n);
}
