/* test_rk45.c - the adaptive Dormand-Prince PF-ODE solver (src/sampler/rk45.c)
 * against a closed form: for data N(mu, s0^2) per element the denoiser is
 * D(x~, s) = mu + s0^2 / (s0^2 + s^2) (x~ - mu) and the PF-ODE solution in VE
 * coordinates is x~(s) = mu + sqrt((s^2 + s0^2) / (s1^2 + s0^2)) (x~(s1) - mu).
 * Checks accuracy (VE and VP processes, per-sample and batch norms, ending at
 * sigma_min or at 0), NFE growing as rtol tightens, batch independence of the
 * per-sample mode, and the max_steps budget.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgm.h"
#include "test_util.h"

#define D_DIM 3
static const double MU[D_DIM] = {1.5, -0.5, 0.0};
static const double S0[D_DIM] = {0.7, 1.3, 0.2};

/* x0 prediction of a Gaussian N(MU, S0^2) at (x_t, alpha, sigma) */
static int gauss_fn(const sgm_eval *q, void *out, void *ud) {
    (void)ud;
    const double *x = q->x;
    double *o = out;
    double s = q->sigma / q->alpha;
    for (size_t r = 0; r < q->n; r++)
        for (size_t j = 0; j < q->d; j++) {
            double s02 = S0[j] * S0[j];
            double xv = x[r * q->d + j] / q->alpha;
            o[r * q->d + j] = MU[j] + s02 / (s02 + s * s) * (xv - MU[j]);
        }
    return 0;
}

/* exact PF-ODE map from VE sigma s1 to s2 (s2 > 0), or the final D when s2 = 0
 * (then the result is D(x~(s_last), s_last)) */
static double exact(double x1, size_t j, double s1, double s_last, int to_zero) {
    double s02 = S0[j] * S0[j];
    double xl = MU[j] + sqrt((s_last * s_last + s02) / (s1 * s1 + s02)) * (x1 - MU[j]);
    if (to_zero) xl = MU[j] + s02 / (s02 + s_last * s_last) * (xl - MU[j]);
    return xl;
}

typedef struct run_out {
    sgm_status st;
    size_t nfe, steps, rej;
    double max_rel; /* max |got - exact| / max(1, |exact|) */
} run_out;

static run_out run(sgm_process_kind pk, sgm_final fin, double tol, sgm_error_norm norm,
                   size_t n, uint64_t row0, double *x_io, size_t max_steps) {
    run_out ro = {SGM_OK, 0, 0, 0, 0};
    sgm_error err = {0};
    sgm_process_config pc = sgm_process_config_default(pk);
    sgm_process *proc = NULL;
    ro.st = sgm_process_create(&pc, &proc, &err);
    if (ro.st) {
        fprintf(stderr, "process: %s\n", err.msg);
        return ro;
    }
    sgm_schedule_config sc = sgm_schedule_config_default(
        pk == SGM_PROCESS_VE ? SGM_SCHEDULE_KARRAS : SGM_SCHEDULE_TIME_UNIFORM);
    sc.steps = 10;
    sc.final_point = fin;
    sgm_schedule *sched = NULL;
    if ((ro.st = sgm_schedule_create(&sc, proc, &sched, &err))) {
        fprintf(stderr, "schedule: %s\n", err.msg);
        sgm_process_free(proc);
        return ro;
    }
    sgm_sampler_config cfg;
    sgm_sampler_config_default("rk45", &cfg, &err);
    if (tol > 0) cfg.rtol = cfg.atol = tol;
    cfg.error_norm = norm;
    if (max_steps) cfg.max_steps = max_steps;
    sgm_sampler *smp = NULL;
    if ((ro.st = sgm_sampler_create(&cfg, proc, n, D_DIM, &smp, &err))) {
        fprintf(stderr, "sampler: %s\n", err.msg);
        sgm_schedule_free(sched);
        sgm_process_free(proc);
        return ro;
    }
    /* initial state: process coordinates at t_0 */
    double *x0 = malloc(n * D_DIM * sizeof *x0);
    memcpy(x0, x_io, n * D_DIM * sizeof *x0);
    sgm_denoiser den = {gauss_fn, NULL, SGM_PRED_X0};
    sgm_rng rng = sgm_rng_init(7);
    ro.st = sgm_sampler_run(smp, sched, &den, &rng, row0, n, x_io, &err);
    if (ro.st) fprintf(stderr, "run: %s\n", err.msg);
    sgm_sampler_stats stats;
    sgm_sampler_get_stats(smp, &stats);
    ro.nfe = stats.nfe;
    ro.steps = stats.steps;
    ro.rej = stats.n_reject;
    double s1 = sched->sigma[0], a1 = sched->alpha[0];
    size_t last = sched->n - 1;
    int to_zero = sched->sigma[last] == 0;
    double s_last = to_zero ? sched->sigma[last - 1] : sched->sigma[last];
    double a_last = sched->alpha[last];
    for (size_t i = 0; i < n * D_DIM && !ro.st; i++) {
        double want = a_last * exact(x0[i] / a1, i % D_DIM, s1, s_last, to_zero);
        double rel = fabs(x_io[i] - want) / fmax(1, fabs(want));
        if (!(rel <= ro.max_rel)) ro.max_rel = isnan(rel) ? INFINITY : fmax(ro.max_rel, rel);
    }
    free(x0);
    sgm_sampler_free(smp);
    sgm_schedule_free(sched);
    sgm_process_free(proc);
    return ro;
}

/* prior-like start: x_t = prior_std * normal */
static void init_x(sgm_process_kind pk, size_t n, double *x) {
    sgm_process_config pc = sgm_process_config_default(pk);
    double sd = pk == SGM_PROCESS_VE ? pc.sigma_max : 1.0;
    sgm_rng_normal_rows_f64(123, 0, 0, n, D_DIM, x);
    for (size_t i = 0; i < n * D_DIM; i++) x[i] *= sd;
}

/* rk45 on the 2-D ring mixture (VP, uniform time, to sigma = 0) at tolerance
 * tol, per-sample norm, dtype dt; x in/out (f64 values). */
static sgm_status run_gmm(const sgm_gmm *g, double tol, sgm_dtype dt, size_t n, double *x,
                          size_t *nfe) {
    sgm_error err = {0};
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VP_LINEAR);
    sgm_process *proc = NULL;
    sgm_schedule *sched = NULL;
    sgm_sampler *smp = NULL;
    sgm_status st = sgm_process_create(&pc, &proc, &err);
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_TIME_UNIFORM);
    sc.steps = 10;
    sc.final_point = SGM_FINAL_ZERO;
    if (!st) st = sgm_schedule_create(&sc, proc, &sched, &err);
    sgm_sampler_config cfg;
    sgm_sampler_config_default("rk45", &cfg, &err);
    cfg.rtol = cfg.atol = tol;
    cfg.dtype = dt;
    if (!st) st = sgm_sampler_create(&cfg, proc, n, 2, &smp, &err);
    if (!st) {
        sgm_rng rng = sgm_rng_init(1);
        sgm_denoiser den = sgm_gmm_denoiser(g);
        if (dt == SGM_F32) {
            float *xf = malloc(n * 2 * sizeof *xf);
            for (size_t i = 0; i < 2 * n; i++) xf[i] = (float)x[i];
            st = sgm_sampler_run(smp, sched, &den, &rng, 0, n, xf, &err);
            for (size_t i = 0; i < 2 * n; i++) x[i] = xf[i];
            free(xf);
        } else {
            st = sgm_sampler_run(smp, sched, &den, &rng, 0, n, x, &err);
        }
        sgm_sampler_stats stats;
        sgm_sampler_get_stats(smp, &stats);
        *nfe = stats.nfe;
    }
    if (st) fprintf(stderr, "run_gmm: %s\n", err.msg);
    sgm_sampler_free(smp);
    sgm_schedule_free(sched);
    sgm_process_free(proc);
    return st;
}

int main(void) {
    enum { N = 6 };
    double x[N * D_DIM];
    const sgm_process_kind kinds[2] = {SGM_PROCESS_VE, SGM_PROCESS_VP_LINEAR};
    const sgm_final fins[2] = {SGM_FINAL_SIGMA_MIN, SGM_FINAL_ZERO};

    /* accuracy: tolerance 1e-11 gives errors around 1e-11..1e-10 relative
     * (rtol + atol applied per element, errors accumulate over ~100 steps);
     * we ask for 1e-9, the level the convergence-order tests rely on */
    for (int k = 0; k < 2; k++)
        for (int f = 0; f < 2; f++)
            for (int m = 0; m < 2; m++) {
                init_x(kinds[k], N, x);
                run_out ro = run(kinds[k], fins[f], 1e-11,
                                 m ? SGM_NORM_BATCH : SGM_NORM_PER_SAMPLE, N, 0, x, 0);
                char what[96];
                snprintf(what, sizeof what, "%s final=%d norm=%d",
                         kinds[k] == SGM_PROCESS_VE ? "ve" : "vp", (int)fins[f], m);
                CHECK(ro.st == SGM_OK, "%s: status %d", what, (int)ro.st);
                CHECK(ro.max_rel < 1e-9, "%s: max rel error %.3g (nfe %zu)", what, ro.max_rel,
                      ro.nfe);
                printf("%-28s rel err %.2e  nfe %zu  steps %zu  rejected %zu\n", what,
                       ro.max_rel, ro.nfe, ro.steps, ro.rej);
            }

    /* the default tolerance (1e-5) is accurate to about that level: 1e-4
     * leaves a factor 10 for error accumulation over the steps */
    init_x(SGM_PROCESS_VE, N, x);
    run_out rdef = run(SGM_PROCESS_VE, SGM_FINAL_ZERO, 0, SGM_NORM_PER_SAMPLE, N, 0, x, 0);
    CHECK(rdef.st == SGM_OK && rdef.max_rel < 1e-4, "default tol: rel err %.3g", rdef.max_rel);
    printf("default tolerances: rel err %.2e nfe %zu\n", rdef.max_rel, rdef.nfe);

    /* NFE grows as the tolerance tightens (and the error shrinks) */
    const double tols[4] = {1e-3, 1e-5, 1e-7, 1e-9};
    size_t prev_nfe = 0;
    double prev_err = INFINITY;
    for (int i = 0; i < 4; i++) {
        init_x(SGM_PROCESS_VP_LINEAR, N, x);
        run_out ro = run(SGM_PROCESS_VP_LINEAR, SGM_FINAL_ZERO, tols[i], SGM_NORM_BATCH, N, 0,
                         x, 0);
        CHECK(ro.st == SGM_OK, "tol %g", tols[i]);
        CHECK(ro.nfe > prev_nfe, "tol %g: nfe %zu not above %zu", tols[i], ro.nfe, prev_nfe);
        /* error scales with the tolerance; the factor 10 allows for the
         * non-monotone error of a single trajectory */
        CHECK(ro.max_rel < 10 * tols[i], "tol %g: err %.3g", tols[i], ro.max_rel);
        CHECK(ro.max_rel < prev_err, "tol %g: err %.3g not below %.3g", tols[i], ro.max_rel,
              prev_err);
        printf("tol %.0e: nfe %zu err %.2e\n", tols[i], ro.nfe, ro.max_rel);
        prev_nfe = ro.nfe;
        prev_err = ro.max_rel;
    }

    /* per-sample mode: a row's result does not depend on the batch (bitwise) */
    {
        double xb[N * D_DIM], xs[D_DIM];
        init_x(SGM_PROCESS_VE, N, xb);
        run(SGM_PROCESS_VE, SGM_FINAL_ZERO, 1e-6, SGM_NORM_PER_SAMPLE, N, 100, xb, 0);
        int same = 1;
        for (size_t r = 0; r < N; r++) {
            double x0[N * D_DIM];
            init_x(SGM_PROCESS_VE, N, x0);
            memcpy(xs, x0 + r * D_DIM, sizeof xs);
            run(SGM_PROCESS_VE, SGM_FINAL_ZERO, 1e-6, SGM_NORM_PER_SAMPLE, 1, 100 + r, xs, 0);
            same &= memcmp(xs, xb + r * D_DIM, sizeof xs) == 0;
        }
        CHECK(same, "per-sample rk45 depends on the batch");
    }

    /* the step budget is enforced */
    init_x(SGM_PROCESS_VE, N, x);
    run_out rb = run(SGM_PROCESS_VE, SGM_FINAL_ZERO, 1e-10, SGM_NORM_BATCH, N, 0, x, 5);
    CHECK(rb.st == SGM_ERR_NO_CONVERGENCE, "max_steps 5: status %d", (int)rb.st);

    /* a nonlinear ODE (the exact mixture denoiser): tolerances 1e-11 and
     * 1e-13 agree to 1e-9 relative (rk45 is the reference solution of the
     * convergence-order tests; measured 1e-11). At the default 1e-5, f64 and
     * f32 runs are within 1e-3 of it: the mixture's PF-ODE amplifies local
     * errors along the path (trajectories separate towards the components;
     * measured 2.7e-4 for both, so float rounding is not the limit). */
    {
        char path[512];
        sgm_error err = {0};
        sgm_gmm *g = NULL;
        CHECK(sgm_gmm_load(tu_src("tests/data/models/gmm2d.json", path, sizeof path), &g,
                           &err) == SGM_OK, "gmm: %s", err.msg);
        enum { NG = 8 };
        double xa[NG * 2], xb[NG * 2], xf[NG * 2], x5[NG * 2];
        sgm_rng_normal_rows_f64(9, 0, 0, NG, 2, xa);
        memcpy(xb, xa, sizeof xa);
        memcpy(xf, xa, sizeof xa);
        memcpy(x5, xa, sizeof xa);
        size_t na = 0, nb = 0, nf = 0, n5 = 0;
        CHECK(g && run_gmm(g, 1e-5, SGM_F64, NG, x5, &n5) == SGM_OK, "gmm 1e-5");
        CHECK(g && run_gmm(g, 1e-11, SGM_F64, NG, xa, &na) == SGM_OK, "gmm 1e-11");
        CHECK(g && run_gmm(g, 1e-13, SGM_F64, NG, xb, &nb) == SGM_OK, "gmm 1e-13");
        CHECK(g && run_gmm(g, 1e-5, SGM_F32, NG, xf, &nf) == SGM_OK, "gmm f32");
        double da = 0, df = 0, d5 = 0, d35 = 0;
        for (int i = 0; i < NG * 2; i++) {
            da = fmax(da, fabs(xa[i] - xb[i]) / fmax(1, fabs(xb[i])));
            df = fmax(df, fabs(xf[i] - xb[i]) / fmax(1, fabs(xb[i])));
            d5 = fmax(d5, fabs(x5[i] - xb[i]) / fmax(1, fabs(xb[i])));
            d35 = fmax(d35, fabs(xf[i] - x5[i]) / fmax(1, fabs(xb[i])));
        }
        printf("gmm: tol 1e-11 vs 1e-13 %.2e (nfe %zu, %zu); 1e-5: f64 %.2e (nfe %zu), f32 "
               "%.2e (nfe %zu), f32 vs f64 %.2e\n", da, na, nb, d5, n5, df, nf, d35);
        CHECK(da < 1e-9, "gmm: 1e-11 vs 1e-13 differ by %.3g", da);
        CHECK(d5 < 1e-3, "gmm: tol 1e-5 (f64) is off by %.3g", d5);
        CHECK(df < 1e-3, "gmm: tol 1e-5 (f32) is off by %.3g", df);
        sgm_gmm_free(g);
    }
    TEST_MAIN_END();
}
