/* test_step_control.c - the shared adaptive step controller
 * (src/sampler/step_control.h) and the shared Dormand-Prince 5(4) stepper
 * (src/sampler/dopri5.h):
 *  - controller, standard form (Hairer, Norsett & Wanner, Solving ODEs I,
 *    II.4 eq. 4.13): err <= 1 accepted with growth bounded by fac_max, err > 1
 *    rejected without growth, err = 0 gives fac_max;
 *  - controller, PID form (k-diffusion PIDStepSizeController): the factor
 *    from this attempt's and the last two accepted errors, the limiter's
 *    bounds, history moving only on acceptance;
 *  - NaN / Inf errors: rejected in both forms (also where the PID formula
 *    would have accepted), h shrinks by the form's smallest factor, the
 *    history is untouched, consecutive ones are counted;
 *  - stepper: tableau row sums, order 5 of the solution and order 5 of the
 *    local error estimate on y' = -y and on a rotation (halving h divides
 *    the error by ~32), FSAL (6 evaluations per step), an adaptive solve to
 *    the tolerance;
 *  - the samplers that use the controller recover from a NaN denoiser value
 *    (reject and shrink) and fail with SGM_ERR_NONFINITE, in a bounded
 *    number of evaluations, on a denoiser that only returns NaN.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/dopri5.h"
#include "sampler/step_control.h"
#include "sgm.h"
#include "test_util.h"

/* ------------------------------------------------- controller: standard --- */

static void test_standard(void) {
    const sgm__ctl c = sgm__ctl_standard(5, 0.9, 0.2, 5);
    sgm__ctl_state st;
    sgm__ctl_reset(&st);
    double h = 0.1;
    /* err < 1: accepted, h * 0.9 err^(-1/5) (exact: the same operations) */
    CHECK(sgm__ctl_propose(&c, &st, 0.5, &h) == 1, "err 0.5 accepted");
    CHECK(h == 0.1 * (0.9 * pow(0.5, -0.2)), "err 0.5: h = %.17g", h);
    /* err = 1 is the boundary: accepted, h * 0.9 */
    h = 0.1;
    CHECK(sgm__ctl_propose(&c, &st, 1.0, &h) == 1 && h == 0.1 * 0.9, "err 1: accept, %g", h);
    /* tiny and zero errors: growth capped at fac_max */
    h = 0.1;
    CHECK(sgm__ctl_propose(&c, &st, 1e-12, &h) == 1 && h == 0.1 * 5, "err 1e-12: %g", h);
    h = 0.1;
    CHECK(sgm__ctl_propose(&c, &st, 0.0, &h) == 1 && h == 0.1 * 5, "err 0: %g", h);
    /* err > 1: rejected, shrinks (0.9 2^(-1/5) = 0.78) */
    h = 0.1;
    CHECK(sgm__ctl_propose(&c, &st, 2.0, &h) == 0, "err 2 rejected");
    CHECK(h == 0.1 * (0.9 * pow(2.0, -0.2)) && h < 0.1, "err 2: h = %.17g", h);
    /* err just above 1: rejected and never grown (the factor is capped at 1 on
     * rejection; here 0.9 (1 + 1e-12)^(-1/5) < 1 anyway) */
    h = 0.1;
    CHECK(sgm__ctl_propose(&c, &st, 1 + 1e-12, &h) == 0 && h < 0.1, "err 1+: %g", h);
    /* huge error: shrink bounded by fac_min */
    h = 0.1;
    CHECK(sgm__ctl_propose(&c, &st, 1e30, &h) == 0 && h == 0.1 * 0.2, "err 1e30: %g", h);
    CHECK(st.n_nonfinite == 0, "finite errors are not counted");
    /* growth after a rejection is capped at 1: with safety 2, err 1.01
     * would give a factor of ~2 */
    const sgm__ctl c2 = sgm__ctl_standard(5, 2.0, 0.2, 5);
    h = 0.1;
    CHECK(sgm__ctl_propose(&c2, &st, 1.01, &h) == 0 && h == 0.1, "no growth on reject: %g", h);
}

/* ------------------------------------------------------ controller: PID --- */

/* the PID factor from three errors (the formula of k-diffusion, written out) */
static double pid_factor(double p, double i, double d, double q, double e0, double e1,
                         double e2) {
    double b1 = (p + i + d) / q, b2 = -(p + 2 * d) / q, b3 = d / q;
    double u = pow(1 / (e0 + 1e-8), b1) * pow(1 / (e1 + 1e-8), b2) * pow(1 / (e2 + 1e-8), b3);
    return 1 + atan(u - 1);
}

static void test_pid(void) {
    const double P = 0.2, I = 0.6, D = 0.1, q = 3, safety = 0.81;
    const sgm__ctl c = sgm__ctl_pid(q, P, I, D, safety);
    sgm__ctl_state st;
    sgm__ctl_reset(&st);
    double h = 1, want;
    /* first proposal: the history is filled with this error */
    CHECK(sgm__ctl_propose(&c, &st, 0.3, &h) == 1, "0.3 accepted");
    want = pid_factor(P, I, D, q, 0.3, 0.3, 0.3);
    /* the same formula, operations in another order: a few ulp apart */
    CHECK_CLOSE(h, want, 1e-14, 0, "first factor");
    /* second: e0 = 0.5, e1 = e2 = 0.3 (the accepted one twice) */
    h = 1;
    CHECK(sgm__ctl_propose(&c, &st, 0.5, &h) == 1, "0.5 accepted");
    CHECK_CLOSE(h, pid_factor(P, I, D, q, 0.5, 0.3, 0.3), 1e-14, 0, "second factor");
    /* a rejected attempt (error 4) does not enter the history ... */
    h = 1;
    CHECK(sgm__ctl_propose(&c, &st, 4.0, &h) == 0, "4 rejected");
    want = pid_factor(P, I, D, q, 4.0, 0.5, 0.3);
    CHECK_CLOSE(h, want, 1e-14, 0, "rejected factor");
    CHECK(h < safety, "rejected factor %g below accept_safety", h);
    /* ... so the next attempt still sees 0.5 and 0.3 */
    h = 1;
    CHECK(sgm__ctl_propose(&c, &st, 0.2, &h) == 1, "0.2 accepted");
    CHECK_CLOSE(h, pid_factor(P, I, D, q, 0.2, 0.5, 0.3), 1e-14, 0, "after a rejection");
    h = 1;
    sgm__ctl_propose(&c, &st, 0.4, &h);
    CHECK_CLOSE(h, pid_factor(P, I, D, q, 0.4, 0.2, 0.5), 1e-14, 0, "history shifted");

    /* the limiter bounds the factor: at most 1 + pi/2 for a tiny error, at
     * least 1 - pi/4 for a huge one (integral controller) */
    const sgm__ctl ci = sgm__ctl_pid(5, 0, 1, 0, safety);
    sgm__ctl_reset(&st);
    h = 1;
    CHECK(sgm__ctl_propose(&ci, &st, 1e-30, &h) == 1 && h <= 1 + 1.5707963267948966 && h > 2,
          "tiny error: factor %g", h);
    sgm__ctl_reset(&st);
    h = 1;
    CHECK(sgm__ctl_propose(&ci, &st, 1e30, &h) == 0 && h >= 1 - 0.7853981633974483 && h < 0.25,
          "huge error: factor %g", h);
    /* error 1: the integral controller's factor is limiter(1/(1 + 1e-8))^... ~ 1 */
    sgm__ctl_reset(&st);
    h = 1;
    CHECK(sgm__ctl_propose(&ci, &st, 1.0, &h) == 1 && fabs(h - 1) < 1e-8, "err 1: %g", h);
}

/* ----------------------------------------------------- non-finite errors --- */

static void test_nonfinite(void) {
    const double nf[3] = {NAN, INFINITY, -INFINITY};
    const sgm__ctl std5 = sgm__ctl_standard(5, 0.9, 0.2, 5);
    /* proportional-only PID: the factor is (e_prev / e)^(1/q), which was 1 for
     * an error replaced by a big constant on a first attempt, so a formula-
     * based treatment would accept; the controller must not */
    const sgm__ctl pid = sgm__ctl_pid(5, 1, 0, 0, 0.81);
    const sgm__ctl *cs[2] = {&std5, &pid};
    const double fmin_[2] = {0.2, 1 - 0.7853981633974483};
    for (int k = 0; k < 2; k++) {
        sgm__ctl_state st;
        sgm__ctl_reset(&st);
        for (int j = 0; j < 3; j++) {
            double h = 0.5;
            CHECK(sgm__ctl_propose(cs[k], &st, nf[j], &h) == 0, "form %d: %g rejected", k, nf[j]);
            /* 0.5 times the smallest factor (1 - pi/4 is rounded twice) */
            CHECK(fabs(h - 0.5 * fmin_[k]) <= 1e-15, "form %d: shrink on %g: %.17g", k, nf[j], h);
            CHECK(st.n_nonfinite == (unsigned)j + 1, "form %d: counted (%u)", k, st.n_nonfinite);
        }
        CHECK(!st.have_errs, "form %d: non-finite errors leave the history empty", k);
        /* a finite error resets the count and is handled normally (the
         * proportional-only PID keeps h: its first error is its own history) */
        double h = 0.5;
        CHECK(sgm__ctl_propose(cs[k], &st, 0.1, &h) == 1 && st.n_nonfinite == 0 && h >= 0.5,
              "form %d: recovery", k);
    }
    /* PID with a history: a NaN does not change it */
    sgm__ctl_state st;
    sgm__ctl_reset(&st);
    double h = 1;
    sgm__ctl_propose(&pid, &st, 0.3, &h);
    sgm__ctl_propose(&pid, &st, 0.6, &h);
    double before[3];
    memcpy(before, st.errs, sizeof before);
    h = 1;
    CHECK(sgm__ctl_propose(&pid, &st, NAN, &h) == 0, "NaN rejected with a history");
    CHECK(memcmp(before, st.errs, sizeof before) == 0, "history untouched by NaN");
}

static void test_clip(void) {
    int last = -1;
    CHECK(sgm__ctl_clip(0.0, 1.0, 0.25, &last) == 0.25 && last == 0, "step inside");
    CHECK(sgm__ctl_clip(0.9, 1.0, 0.25, &last) == 1.0 - 0.9 && last == 1, "step clipped");
    CHECK(sgm__ctl_clip(0.75, 1.0, 0.25, &last) == 0.25 && last == 1, "step lands on the end");
    CHECK(!sgm__ctl_underflow(10, 1e-11) && sgm__ctl_underflow(10, 1e-13) &&
              sgm__ctl_underflow(0, NAN) && sgm__ctl_underflow(0.5, 1e-14),
          "underflow relative to max(1, |t|)");
}

/* ------------------------------------------------------- DOPRI5 stepper --- */

/* y' = A y on double vectors of length m (A: m x m, row-major) */
typedef struct lin {
    size_t m;
    const double *A;
    size_t nf;
    double atol, rtol;
} lin;

static void lin_lc(void *ctx, void *out, int k, const double *c, const void *const *in) {
    sgm__dp5_lc_f64(((const lin *)ctx)->m, out, k, c, in);
}

static sgm_status lin_f(void *ctx, int stage, double t, const void *yv, void *dyv) {
    (void)stage;
    (void)t;
    lin *L = ctx;
    const double *y = yv;
    double *dy = dyv;
    for (size_t i = 0; i < L->m; i++) {
        double acc = 0;
        for (size_t j = 0; j < L->m; j++) acc += L->A[i * L->m + j] * y[j];
        dy[i] = acc;
    }
    L->nf++;
    return SGM_OK;
}

static double lin_err(void *ctx, const void *y5, const void *y4, const void *y0) {
    const lin *L = ctx;
    return sgm__dp5_err_f64(L->m, L->atol, L->rtol, y5, y4, y0);
}

static const sgm__dp5_ops lin_ops = {lin_lc, lin_f, lin_err};

#define MAXM 2
/* n fixed steps of size T / n from y0; y <- y(T); returns the max over steps
 * of max |y5 - y4| (the raw local error estimate, atol = 1, rtol = 0) */
static double fixed_steps(lin *L, const double *y0, double T, int n, double *y) {
    double bufs_[9][MAXM];
    void *bufs[9];
    for (int i = 0; i < 9; i++) bufs[i] = bufs_[i];
    sgm__dp5 dp;
    sgm__dp5_init(&dp, &lin_ops, L, bufs);
    memcpy(y, y0, L->m * sizeof *y);
    L->atol = 1;
    L->rtol = 0;
    double h = T / n, emax = 0;
    CHECK(sgm__dp5_start(&dp, 0, y) == SGM_OK, "start");
    for (int k = 0; k < n; k++) {
        double err;
        CHECK(sgm__dp5_step(&dp, k * h, h, y, &err) == SGM_OK, "step");
        emax = fmax(emax, err * sqrt((double)L->m)); /* RMS -> max for m <= 2 is an upper bound */
        memcpy(y, dp.y5, L->m * sizeof *y);
        sgm__dp5_accept(&dp);
    }
    return emax;
}

static void test_tableau(void) {
    for (int i = 1; i < 7; i++) {
        double s = 0;
        for (int j = 0; j < 6; j++) s += sgm__dp_a[i][j];
        /* six rounded fractions of size <= 12 summed: a few ulp of 12 */
        CHECK(fabs(s - sgm__dp_c[i]) < 1e-14, "row %d sums to c (%.3g)", i, s - sgm__dp_c[i]);
    }
    double s4 = 0;
    for (int j = 0; j < 7; j++) s4 += sgm__dp_b4[j];
    CHECK(fabs(s4 - 1) < 1e-15, "b4 sums to 1 (%.3g)", s4 - 1); /* seven fractions < 1 */
}

static void test_order(void) {
    /* y' = -y, y(0) = 1 on [0, 2]; and a rotation (y1' = y2, y2' = -y1) on
     * [0, 4], exact (cos 4, -sin 4) from (1, 0) */
    const double Ad[1] = {-1}, Ar[4] = {0, 1, -1, 0};
    lin L1 = {1, Ad, 0, 1, 0}, L2 = {2, Ar, 0, 1, 0};
    lin *Ls[2] = {&L1, &L2};
    const double T[2] = {2, 4};
    const double y0[2][2] = {{1, 0}, {1, 0}};
    for (int p = 0; p < 2; p++) {
        lin *L = Ls[p];
        double eg[3], el[3];
        const int n[3] = {16, 32, 64};
        for (int r = 0; r < 3; r++) {
            double y[MAXM], ex[MAXM];
            L->nf = 0;
            el[r] = fixed_steps(L, y0[p], T[p], n[r], y);
            /* FSAL: one evaluation at the start, then six per step */
            CHECK(L->nf == (size_t)(1 + 6 * n[r]), "problem %d: %zu evaluations for %d steps", p,
                  L->nf, n[r]);
            if (p == 0) {
                ex[0] = exp(-T[0]);
            } else {
                ex[0] = cos(T[1]);
                ex[1] = -sin(T[1]);
            }
            eg[r] = 0;
            for (size_t i = 0; i < L->m; i++) eg[r] = fmax(eg[r], fabs(y[i] - ex[i]));
        }
        for (int r = 0; r < 2; r++) {
            double rg = eg[r] / eg[r + 1], rl = el[r] / el[r + 1];
            printf("problem %d, n %d -> %d: global error %.3g -> %.3g (ratio %.2f), "
                   "error estimate %.3g -> %.3g (ratio %.2f)\n",
                   p, n[r], n[r + 1], eg[r], eg[r + 1], rg, el[r], el[r + 1], rl);
            /* order 5: ratio 2^5 = 32. At h = T/16 .. T/64 the next term of the
             * expansion (relative size O(h)) still moves the observed order
             * log2(ratio) by up to ~0.2 (ratios 33.7 to 36.9 here); 5 +- 0.3
             * (ratios 26 to 39) still separates order 5 from 4 and 6 */
            CHECK(fabs(log2(rg) - 5) < 0.3, "problem %d: global error ratio %.2f", p, rg);
            /* the estimate y5 - y4 is the local error of the 4th-order
             * solution, O(h^5) per step: the same bound, same reason */
            CHECK(fabs(log2(rl) - 5) < 0.3, "problem %d: error estimate ratio %.2f", p, rl);
        }
    }
}

/* adaptive solve of y' = -y on [0, 5] with the standard controller: error
 * within a small multiple of the tolerance, and tighter tolerance -> more steps */
static void test_adaptive(void) {
    const double A[1] = {-1};
    size_t steps_prev = 0;
    for (int k = 0; k < 3; k++) {
        double tol = k == 0 ? 1e-4 : k == 1 ? 1e-7 : 1e-10;
        lin L = {1, A, 0, tol, tol};
        double bufs_[9][1];
        void *bufs[9];
        for (int i = 0; i < 9; i++) bufs[i] = bufs_[i];
        sgm__dp5 dp;
        sgm__dp5_init(&dp, &lin_ops, &L, bufs);
        sgm__ctl c = sgm__ctl_standard(5, 0.9, 0.2, 5);
        sgm__ctl_state st;
        sgm__ctl_reset(&st);
        double t = 0, y = 1, h = 0.05;
        size_t steps = 0, rej = 0;
        sgm__dp5_start(&dp, t, &y);
        while (t < 5 && steps + rej < 10000) {
            int last;
            double hh = sgm__ctl_clip(t, 5, h, &last), err;
            sgm__dp5_step(&dp, t, hh, &y, &err);
            h = hh;
            if (sgm__ctl_propose(&c, &st, err, &h)) {
                y = *(double *)dp.y5;
                sgm__dp5_accept(&dp);
                t = last ? 5 : t + hh;
                steps++;
            } else {
                rej++;
            }
        }
        double e = fabs(y - exp(-5));
        printf("adaptive tol %g: %zu steps, %zu rejected, error %.3g\n", tol, steps, rej, e);
        /* local error per unit step <= tol: the global error over [0, 5] of a
         * decaying problem stays within ~10 tol (HNW II.4: tolerance
         * proportionality is not exact, hence the margin) */
        CHECK(t == 5 && e < 10 * tol, "tol %g: error %.3g", tol, e);
        CHECK(steps > steps_prev, "tighter tolerance, more steps (%zu)", steps);
        steps_prev = steps;
    }
}

/* ------------------------------------ samplers: NaN from the denoiser --- */

/* Gaussian N(0.5, 0.8^2) per element (x0 prediction); returns NaN in every
 * element on calls in [nan_from, nan_to) */
typedef struct nanden {
    size_t calls, nan_from, nan_to;
} nanden;

static int nan_fn(const sgm_eval *q, void *out, void *ud) {
    nanden *nd = ud;
    size_t call = nd->calls++;
    const double mu = 0.5, s0 = 0.8;
    double s = q->sigma / q->alpha;
    for (size_t i = 0; i < q->n * q->d; i++) {
        double xv = (q->dtype == SGM_F64 ? ((const double *)q->x)[i]
                                         : (double)((const float *)q->x)[i]) /
                    q->alpha;
        double v = mu + s0 * s0 / (s0 * s0 + s * s) * (xv - mu);
        if (call >= nd->nan_from && call < nd->nan_to) v = NAN;
        if (q->dtype == SGM_F64) ((double *)out)[i] = v;
        else ((float *)out)[i] = (float)v;
    }
    return 0;
}

/* runs method on 2 rows x 3 (VE, Karras, 10 steps); returns the status,
 * max |x - exact| and the stats */
static sgm_status run_nan(const char *method, sgm_error_norm norm, nanden *nd, double *maxerr,
                          sgm_sampler_stats *stats, sgm_error *err) {
    const size_t n = 2, d = 3;
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VE);
    sgm_process *proc = NULL;
    sgm_schedule *sched = NULL;
    sgm_sampler *smp = NULL;
    sgm_status st = sgm_process_create(&pc, &proc, err);
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_KARRAS);
    sc.steps = 10;
    sc.final_point = SGM_FINAL_SIGMA_MIN;
    if (!st) st = sgm_schedule_create(&sc, proc, &sched, err);
    sgm_sampler_config cfg;
    if (!st) st = sgm_sampler_config_default(method, &cfg, err);
    cfg.error_norm = norm;
    cfg.max_steps = 1000;
    if (!st) st = sgm_sampler_create(&cfg, proc, n, d, &smp, err);
    double x[6] = {3, -20, 41, 0.5, 7, -60}, x0[6];
    memcpy(x0, x, sizeof x);
    sgm_denoiser den = {nan_fn, nd, SGM_PRED_X0};
    sgm_rng rng = sgm_rng_init(1);
    if (!st) st = sgm_sampler_run(smp, sched, &den, &rng, 0, n, x, err);
    memset(stats, 0, sizeof *stats);
    if (smp) sgm_sampler_get_stats(smp, stats);
    *maxerr = 0;
    if (!st) {
        /* exact PF-ODE map x~(s) = mu + sqrt((s^2 + s0^2) / (s1^2 + s0^2)) (x~(s1) - mu) */
        double s1 = sched->sigma[0], sl = sched->sigma[sched->n - 1], s02 = 0.64;
        for (size_t i = 0; i < n * d; i++) {
            double want = 0.5 + sqrt((sl * sl + s02) / (s1 * s1 + s02)) * (x0[i] - 0.5);
            *maxerr = fmax(*maxerr, fabs(x[i] - want));
        }
    }
    sgm_sampler_free(smp);
    sgm_schedule_free(sched);
    sgm_process_free(proc);
    return st;
}

static void test_sampler_nan(void) {
    const char *methods[3] = {"rk45", "dpm_adaptive", "dpm_solver_adaptive"};
    for (int m = 0; m < 3; m++)
        for (int nm = 0; nm < 2; nm++) {
            sgm_error_norm norm = nm ? SGM_NORM_BATCH : SGM_NORM_PER_SAMPLE;
            sgm_error err = {0};
            sgm_sampler_stats ref, got, bad;
            double e_ref, e_got, e_bad;
            nanden clean = {0, 0, 0};
            sgm_status st = run_nan(methods[m], norm, &clean, &e_ref, &ref, &err);
            CHECK(st == SGM_OK, "%s norm %d: clean run (%s)", methods[m], nm, err.msg);
            /* two NaN evaluations in the 3rd attempt's stages: rejected, shrunk,
             * retried; the run ends as accurately as the clean one */
            /* (dpm_solver_adaptive takes larger steps: its 2nd attempt) */
            nanden once = {0, m == 2 ? 4 : 14, m == 2 ? 6 : 16};
            st = run_nan(methods[m], norm, &once, &e_got, &got, &err);
            CHECK(st == SGM_OK, "%s norm %d: recovers from NaN (%s)", methods[m], nm, err.msg);
            /* an accepted NaN step would have made the run fail: it was rejected */
            CHECK(got.n_reject >= 1 && once.calls > once.nan_to, "%s norm %d: %zu rejections",
                  methods[m], nm, got.n_reject);
            /* local error control at rtol = atol = 1e-5 (rk45) and rtol 0.05
             * (dpm_adaptive and dpm_solver_adaptive, k-diffusion's and
             * DPM-Solver's defaults): over a few dozen steps of a contracting
             * ODE the global error stays below 100 rtol */
            double tol = m == 0 ? 1e-3 : 5;
            CHECK(e_ref < tol && e_got < tol, "%s norm %d: errors %.3g, %.3g", methods[m], nm,
                  e_ref, e_got);
            /* a denoiser that only returns NaN after the first call: a clear
             * non-finite failure after a few dozen shrinks, not max_steps */
            nanden always = {0, 1, (size_t)-1};
            st = run_nan(methods[m], norm, &always, &e_bad, &bad, &err);
            CHECK(st == SGM_ERR_NONFINITE, "%s norm %d: status %d (%s)", methods[m], nm, (int)st,
                  err.msg);
            /* from h ~ 0.05 to the 1e-13 underflow at 1 - pi/4 (PID) or 0.2
             * (DPM-Solver's rule) per attempt: ~20 attempts of at most 6
             * evaluations */
            CHECK(always.calls < 200, "%s norm %d: %zu evaluations before failing", methods[m],
                  nm, always.calls);
            printf("%s norm %d: NaN once: %zu rejections, error %.3g (clean %.3g); NaN always: "
                   "%zu evaluations, \"%s\"\n",
                   methods[m], nm, got.n_reject, e_got, e_ref, always.calls, err.msg);
        }
}

int main(void) {
    test_standard();
    test_pid();
    test_nonfinite();
    test_clip();
    test_tableau();
    test_order();
    test_adaptive();
    test_sampler_nan();
    TEST_MAIN_END();
}
