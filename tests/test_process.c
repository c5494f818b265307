/* test_process.c - the forward processes (src/process/process.c):
 *   - DPM-Solver's NoiseScheduleVP.inverse_lambda for 'linear', 'discrete'
 *     and the clipped discrete cosine table against ref_inverse_lambda.npy of
 *     the dpm-solver schedule cases (and the forward columns of ref.npy);
 *   - lambda(t_of_lambda(l)) = l for every process kind (and every discrete
 *     interpolation);
 *   - alpha^2 + sigma^2 = 1 for the VP kinds, sigma = 1 - alpha^2 for sub-VP
 *     (Song et al. 2021, eq. 29), alpha = 1 - t, sigma = t for flow;
 *   - sigma_ve = sigma / alpha and alpha_of_sigma_ve inverting it;
 *   - f, g^2 of dx = f x dt + g dW against finite differences of the
 *     marginal: f = d log alpha / dt, g^2 = d sigma^2/dt - 2 f sigma^2
 *     (Sarkka & Solin 2019, eq. 5.51 for the variance of a linear SDE), and
 *     d alpha/dt, d sigma/dt likewise;
 *   - discrete timestep labels <-> t round trips. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sgm.h"
#include "test_util.h"

/* ---- the DPM-Solver reference tables ---------------------------------- */

static sgm_process *dpm_process(const char *name) {
    sgm_process_config pc;
    if (strcmp(name, "linear") == 0) {
        pc = sgm_process_config_default(SGM_PROCESS_VP_LINEAR);
    } else {
        pc = sgm_process_config_default(SGM_PROCESS_VP_DISCRETE);
        pc.betas = strcmp(name, "discrete") == 0 ? SGM_BETAS_LINEAR : SGM_BETAS_SQUAREDCOS_CAP_V2;
        pc.interp = SGM_INTERP_LOG_ALPHA;
        pc.clip_lambda = 1;
    }
    sgm_process *p = NULL;
    sgm_error err;
    if (sgm_process_create(&pc, &p, &err)) fprintf(stderr, "process %s: %s\n", name, err.msg);
    return p;
}

static void check_reference(const char *name) {
    char rel[256], path[4096];
    sgm_error err;
    sgm_process *p = dpm_process(name);
    CHECK(p != NULL, "%s: no process", name);
    if (!p) return;
    if (strcmp(name, "discrete_cosine") == 0)
        /* numerical_clip_alpha drops the 4 trailing entries with lambda < -5.1 */
        CHECK(sgm_process_n_train(p) == 996, "cosine table has %d entries",
              sgm_process_n_train(p));

    snprintf(rel, sizeof rel, "tests/data/reference/cases/dpm-solver/schedule-%s/ref_inverse_lambda.npy",
             name);
    sgm_array a;
    int ok = sgm_npy_load(tu_src(rel, path, sizeof path), &a, &err) == SGM_OK;
    CHECK(ok, "%s: %s", path, err.msg);
    if (ok) {
        CHECK(a.ndim == 2 && a.shape[1] == 2, "%s: shape", rel);
        double worst = 0;
        for (size_t i = 0; i < a.shape[0]; i++) {
            double l = a.data[2 * i], t = a.data[2 * i + 1];
            double e = fabs(sgm_process_t_of_lambda(p, l) - t);
            if (e > worst || isnan(e)) worst = e;
        }
        /* closed form (linear) or piecewise-linear interpolation of the same float64
         * table (discrete): only rounding differs, t is O(1) */
        CHECK(worst <= 1e-12, "%s inverse_lambda: max error %.3g", name, worst);
        sgm_array_free(&a);
    }

    snprintf(rel, sizeof rel, "tests/data/reference/cases/dpm-solver/schedule-%s/ref.npy", name);
    ok = sgm_npy_load(tu_src(rel, path, sizeof path), &a, &err) == SGM_OK;
    CHECK(ok, "%s: %s", path, err.msg);
    if (ok) {
        double worst[3] = {0, 0, 0};
        for (size_t i = 0; i < a.shape[0]; i++) {
            const double *r = a.data + 4 * i;
            double got[3] = {sgm_process_log_alpha(p, r[0]), sgm_process_sigma(p, r[0]),
                             sgm_process_lambda(p, r[0])};
            for (int k = 0; k < 3; k++) {
                double e = fabs(got[k] - r[k + 1]) / (1 + fabs(r[k + 1]));
                if (e > worst[k] || isnan(e)) worst[k] = e;
            }
        }
        /* same formulas in float64; lambda near t = 1/N loses a few digits to
         * log(1 - alpha^2) in both implementations */
        CHECK(worst[0] <= 1e-12, "%s log alpha: %.3g", name, worst[0]);
        CHECK(worst[1] <= 1e-12, "%s sigma: %.3g", name, worst[1]);
        CHECK(worst[2] <= 1e-10, "%s lambda: %.3g", name, worst[2]);
        sgm_array_free(&a);
    }
    sgm_process_free(p);
}

/* ---- properties of every kind --------------------------------------- */

typedef struct {
    const char *name;
    sgm_process_config cfg;
} pcase;

static size_t make_cases(pcase *c) {
    size_t n = 0;
    c[n].name = "ve";
    c[n++].cfg = sgm_process_config_default(SGM_PROCESS_VE);
    c[n].name = "vp";
    c[n++].cfg = sgm_process_config_default(SGM_PROCESS_VP_LINEAR);
    c[n].name = "vp-cosine";
    c[n++].cfg = sgm_process_config_default(SGM_PROCESS_VP_COSINE);
    c[n].name = "subvp";
    c[n++].cfg = sgm_process_config_default(SGM_PROCESS_SUBVP);
    c[n].name = "flow";
    c[n++].cfg = sgm_process_config_default(SGM_PROCESS_FLOW);
    static const struct {
        const char *name;
        sgm_beta_schedule b;
        sgm_vp_interp in;
    } disc[] = {{"vp-discrete linear log-alpha", SGM_BETAS_LINEAR, SGM_INTERP_LOG_ALPHA},
                {"vp-discrete linear log-sigma", SGM_BETAS_LINEAR, SGM_INTERP_LOG_SIGMA},
                {"vp-discrete linear sigma", SGM_BETAS_LINEAR, SGM_INTERP_SIGMA},
                {"vp-discrete scaled-linear log-sigma", SGM_BETAS_SCALED_LINEAR,
                 SGM_INTERP_LOG_SIGMA},
                {"vp-discrete cosine log-alpha", SGM_BETAS_SQUAREDCOS_CAP_V2,
                 SGM_INTERP_LOG_ALPHA}};
    for (size_t k = 0; k < sizeof disc / sizeof disc[0]; k++) {
        c[n].name = disc[k].name;
        c[n].cfg = sgm_process_config_default(SGM_PROCESS_VP_DISCRETE);
        c[n].cfg.betas = disc[k].b;
        if (disc[k].b == SGM_BETAS_SCALED_LINEAR) {
            c[n].cfg.beta_start = 0.00085;
            c[n].cfg.beta_end = 0.012;
        }
        c[n].cfg.interp = disc[k].in;
        if (disc[k].b == SGM_BETAS_SQUAREDCOS_CAP_V2) c[n].cfg.clip_lambda = 1;
        n++;
    }
    return n;
}

static int is_vp(sgm_process_kind k) {
    return k == SGM_PROCESS_VP_LINEAR || k == SGM_PROCESS_VP_COSINE || k == SGM_PROCESS_VP_DISCRETE;
}

static void check_kind(const pcase *pc) {
    sgm_process *p = NULL;
    sgm_error err;
    if (sgm_process_create(&pc->cfg, &p, &err)) {
        CHECK(0, "%s: %s", pc->name, err.msg);
        return;
    }
    sgm_process_kind kind = pc->cfg.kind;
    double t0 = sgm_process_t_min(p), t1 = sgm_process_t_max(p);
    CHECK(t0 < t1 && t0 >= 0, "%s: time range %g..%g", pc->name, t0, t1);
    int disc = kind == SGM_PROCESS_VP_DISCRETE;
    int N = disc ? sgm_process_n_train(p) : 0;
    char what[256];
    const int M = 97;
    for (int i = 0; i < M; i++) {
        double t;
        if (disc)
            /* the middle of a table segment, so finite differences stay on one piece */
            t = ((double)(1 + (size_t)i * (size_t)(N - 4) / (M - 1)) + 1.5) / N;
        else
            t = t0 + (t1 - t0) * (0.02 + 0.96 * i / (M - 1));
        double a = sgm_process_alpha(p, t), s = sgm_process_sigma(p, t);
        double la = sgm_process_log_alpha(p, t), lam = sgm_process_lambda(p, t);
        double sv = sgm_process_sigma_ve(p, t);
        snprintf(what, sizeof what, "%s t=%g", pc->name, t);

        /* identities: exact up to rounding of exp/log/sqrt */
        CHECK_CLOSE(a, exp(la), 1e-14, 0, what);
        CHECK_CLOSE(sv, s / a, 1e-12, 0, what);
        CHECK_CLOSE(lam, log(a / s), 1e-12, 1e-12, what);
        if (is_vp(kind)) CHECK_CLOSE(a * a + s * s, 1, 0, 1e-14, what);
        if (kind == SGM_PROCESS_SUBVP) CHECK_CLOSE(s, 1 - a * a, 0, 1e-14, what);
        if (kind == SGM_PROCESS_FLOW) {
            CHECK_CLOSE(a, 1 - t, 0, 1e-15, what);
            CHECK_CLOSE(s, t, 0, 1e-15, what);
        }
        if (kind == SGM_PROCESS_VE) {
            CHECK_CLOSE(a, 1, 0, 0, what);
            CHECK_CLOSE(s, t, 0, 0, what);
        }
        CHECK_CLOSE(sgm_process_alpha_of_sigma_ve(p, sv), a, 1e-12, 0, what);

        /* lambda(t_of_lambda(l)) = l and t_of_lambda(lambda(t)) = t: the inverses
         * are closed forms or interpolations of the same tables (rounding only);
         * the t tolerance allows for dt/dlambda up to ~1e3 at the ends */
        double tb = sgm_process_t_of_lambda(p, lam);
        CHECK_CLOSE(tb, t, 1e-9, 1e-12, what);
        CHECK_CLOSE(sgm_process_lambda(p, tb), lam, 0, 1e-10, what);
        for (int k = 0; k < 3; k++) {
            double l = lam + (k - 1) * 0.013; /* a lambda off the grid */
            double tl = sgm_process_t_of_lambda(p, l);
            if (!(tl > t0 && tl < t1)) continue;
            CHECK_CLOSE(sgm_process_lambda(p, tl), l, 0, 1e-10, what);
        }

        /* SDE coefficients and derivatives against central differences of the
         * marginal. e = 1e-6 t: truncation O(e^2) and rounding O(1e-16 / e)
         * are both below 1e-8 relative to the O(1..1e3) values */
        double e = 1e-6 * (t < 1 ? 1 : t);
        double ap = sgm_process_alpha(p, t + e), am = sgm_process_alpha(p, t - e);
        double sp = sgm_process_sigma(p, t + e), sm = sgm_process_sigma(p, t - e);
        double f_fd = (log(ap) - log(am)) / (2 * e);
        double v_fd = (sp * sp - sm * sm) / (2 * e);
        double f = sgm_process_f(p, t), g2 = sgm_process_g2(p, t);
        double scale = fabs(v_fd) + fabs(2 * f * s * s) + 1e-300;
        CHECK_CLOSE(f, f_fd, 1e-6, 1e-9, what);
        CHECK(fabs(g2 - (v_fd - 2 * f * s * s)) <= 1e-6 * scale,
              "%s: g2 %.17g, from the variance %.17g", what, g2, v_fd - 2 * f * s * s);
        CHECK(g2 >= 0, "%s: g2 = %g < 0", what, g2);
        CHECK_CLOSE(sgm_process_dalpha(p, t), (ap - am) / (2 * e), 1e-6, 1e-9, what);
        CHECK_CLOSE(sgm_process_dsigma(p, t), (sp - sm) / (2 * e), 1e-6, 1e-9, what);

        /* monotone: the noise level grows with t */
        double sv2 = sgm_process_sigma_ve(p, t + 1e-3 * (t1 - t0));
        if (t + 1e-3 * (t1 - t0) < t1) CHECK(sv2 > sv, "%s: sigma_ve not increasing", what);

        if (disc) {
            double ts = sgm_process_t_to_timestep(p, t);
            CHECK_CLOSE(ts, t * N - 1, 1e-14, 1e-12, what);
            CHECK_CLOSE(sgm_process_timestep_to_t(p, ts), t, 1e-14, 0, what);
        }
    }
    /* the data end */
    CHECK(sgm_process_alpha(p, 0) == 1 && sgm_process_sigma(p, 0) == 0,
          "%s: t = 0 is not the data", pc->name);
    CHECK(sgm_process_lambda(p, 0) == INFINITY, "%s: lambda(0) = %g", pc->name,
          sgm_process_lambda(p, 0));
    CHECK(sgm_process_t_of_lambda(p, INFINITY) == 0, "%s: t_of_lambda(inf) != 0", pc->name);
    if (disc) {
        /* at the table points the discrete VP is exactly sqrt(abar_n) */
        const double *ab = sgm_process_alphas_cumprod(p);
        for (int n = 0; n < N; n += N / 7) {
            double t = (double)(n + 1) / N;
            snprintf(what, sizeof what, "%s table point %d", pc->name, n);
            CHECK_CLOSE(sgm_process_alpha(p, t), sqrt(ab[n]), 1e-12, 0, what);
        }
    }
    sgm_process_free(p);
}

/* times far outside [0, 1] and NaN (a user --times list, fuzz_cli_args):
 * the discrete tables clamped the index only after converting 1e46 to an
 * int (undefined behaviour, caught by the sanitizer build); now a finite
 * value at the ends of the table, and no crash for NaN */
static void check_discrete_far(const pcase *pc) {
    if (pc->cfg.kind != SGM_PROCESS_VP_DISCRETE) return;
    sgm_process *p = NULL;
    sgm_error err;
    if (sgm_process_create(&pc->cfg, &p, &err)) return;
    const double far[] = {1e300, 2.2e46, -1e300, 1e10};
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++) {
        double la = sgm_process_log_alpha(p, far[i]), s = sgm_process_sigma_ve(p, far[i]);
        CHECK(!isnan(la) && !isnan(s), "%s: t = %g: log alpha %g, sigma %g", pc->name, far[i],
              la, s);
    }
    (void)sgm_process_sigma_ve(p, NAN);
    sgm_process_free(p);
}

int main(void) {
    check_reference("linear");
    check_reference("discrete");
    check_reference("discrete_cosine");
    pcase cases[16];
    size_t n = make_cases(cases);
    for (size_t i = 0; i < n; i++) check_kind(&cases[i]);
    for (size_t i = 0; i < n; i++) check_discrete_far(&cases[i]);
    TEST_MAIN_END();
}
