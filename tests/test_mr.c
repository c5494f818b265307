/* test_mr.c - the mean-reverting process (SGM_PROCESS_MR, IR-SDE of Luo et
 * al. 2023) and the MR Sampler (Li et al. 2025, arXiv:2502.07856) on an
 * exact mean-reverting mixture problem (issue 9, acceptance 4).
 *
 * Problem: x_0 ~ the ring of tests/data/models/gmm2d.json with component
 * std 1 (as test_convergence.c: smooth enough that 16..1024 steps are in
 * the asymptotic range), lambda = 2 (stationary std; != 1 so that the lam
 * factors are exercised), cosine theta with alpha(1) = 0.005, and a
 * different condition mu per row. p(x_t | mu) is a mixture in closed form
 * and sgm_gmm_mr_denoiser is its exact posterior mean.
 *
 * 1. Process: the marginal std against its ODE (g^2 = d sigma^2/dt - 2 f
 *    sigma^2, by central differences), t(lambda(t)) = t, alpha(sigma_ve),
 *    and bad configurations (lambda <= 0, NaN, alpha_T outside (0, 1)).
 * 2. ODE orders: mrs_ode, order 1 and 2, data and noise forms, and with a
 *    velocity-predicting denoiser (v = alpha eps - sigma y_0 of the exact
 *    model, converted to x0 by the sampler core) from s_max = sigma/alpha at
 *    t = 1 (~400) to s_min = 0.05 on grids uniform in lambda, against RK4 in
 *    lambda (8192 steps) on dx~/dlambda = D - x~. Empirical order = slope of
 *    log2(RMS error) over the last four levels above ERR_FLOOR, within 0.3
 *    of the theoretical order (the acceptance tolerance).
 * 3. SDE statistics: mrs_sde (order 1 and 2, data and noise) from exact
 *    samples of p(x_T | mu) (one mu for all rows, so that the target is one
 *    mixture) to s_end = 0.05, where the exact marginal is the mixture with
 *    means mu + alpha (m_k - mu) and variances alpha^2 s_k^2 + sigma^2: the
 *    sample mean and variance of each coordinate within 5 standard errors
 *    (400 steps for order 1, 100 for order 2, lambda-uniform).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgm.h"
#include "test_order.h"
#include "test_util.h"

#define ROWS 32
#define DIM 2
#define S_MIN 0.05
#define LAM 2.0
#define MAX_LEV 8
/* errors below this are within ~100x of the RK4 reference's own error */
#define ERR_FLOOR 1e-10
/* acceptance: |observed - theoretical| <= 0.3 */
#define ORDER_TOL 0.3

/* ---------------------------------------------------------- process --- */

static void test_process(void) {
    sgm_error err = {0};
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_MR);
    pc.mr_lambda = LAM;
    for (int th = 0; th < 2; th++) {
        pc.mr_theta = (sgm_mr_theta)th;
        sgm_process *p = NULL;
        CHECK(sgm_process_create(&pc, &p, &err) == SGM_OK, "mr: %s", err.msg);
        if (!p) continue;
        CHECK_CLOSE(sgm_process_alpha(p, 1.0), 0.005, 1e-12, 0, "alpha(1) = alpha_T");
        CHECK_CLOSE(sgm_process_prior_std(p), LAM * sqrt(1 - 0.005 * 0.005), 1e-12, 0,
                    "prior std");
        for (double t = 0.01; t < 1; t += 0.07) {
            double a = sgm_process_alpha(p, t), s = sgm_process_sigma(p, t);
            CHECK_CLOSE(s, LAM * sqrt(1 - a * a), 1e-12, 0, "sigma = lam sqrt(1 - alpha^2)");
            CHECK_CLOSE(sgm_process_t_of_lambda(p, sgm_process_lambda(p, t)), t, 1e-10, 0,
                        "t(lambda(t))");
            CHECK_CLOSE(sgm_process_alpha_of_sigma_ve(p, sgm_process_sigma_ve(p, t)), a, 1e-12,
                        0, "alpha(sigma_ve)");
            /* central differences, step 1e-5: truncation ~1e-10 relative */
            double e = 1e-5;
            double ds2 = (pow(sgm_process_sigma(p, t + e), 2) -
                          pow(sgm_process_sigma(p, t - e), 2)) / (2 * e);
            double g2 = ds2 - 2 * sgm_process_f(p, t) * s * s;
            CHECK_CLOSE(sgm_process_g2(p, t), g2, 1e-6, 1e-9, "g^2 against d sigma^2/dt");
            double da = (sgm_process_alpha(p, t + e) - sgm_process_alpha(p, t - e)) / (2 * e);
            CHECK_CLOSE(sgm_process_dalpha(p, t), da, 1e-6, 1e-9, "d alpha/dt");
            double dsg = (sgm_process_sigma(p, t + e) - sgm_process_sigma(p, t - e)) / (2 * e);
            CHECK_CLOSE(sgm_process_dsigma(p, t), dsg, 1e-6, 1e-9, "d sigma/dt");
            /* g^2 = 2 lam^2 theta with theta = -f (IR-SDE) */
            CHECK_CLOSE(sgm_process_g2(p, t), -2 * LAM * LAM * sgm_process_f(p, t), 1e-12, 0,
                        "sigma_t^2 = 2 lam^2 theta_t");
        }
        sgm_process_free(p);
    }
    const double bad_lam[] = {0, -1, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        sgm_process_config b = pc;
        b.mr_lambda = bad_lam[i];
        sgm_process *p = NULL;
        CHECK(sgm_process_create(&b, &p, &err) == SGM_ERR_INVALID_ARG && !p,
              "lambda %g accepted", bad_lam[i]);
    }
    const double bad_a[] = {0, 1, -0.5, NAN};
    for (int i = 0; i < 4; i++) {
        sgm_process_config b = pc;
        b.mr_alpha_T = bad_a[i];
        sgm_process *p = NULL;
        CHECK(sgm_process_create(&b, &p, &err) == SGM_ERR_INVALID_ARG && !p,
              "alpha_T %g accepted", bad_a[i]);
    }
    sgm_process_kind k;
    CHECK(sgm_process_kind_from_name("mr", &k) == SGM_OK && k == SGM_PROCESS_MR, "name mr");
}

/* ---------------------------------------------------- v denoiser --- */

/* the exact model as a velocity predictor: v = alpha eps - sigma y0 with
 * eps = (y - alpha y0) / sigma */
typedef struct {
    sgm_denoiser x0;
} vwrap;

static int v_fn(const sgm_eval *q, void *out, void *user) {
    vwrap *w = user;
    int rc = w->x0.fn(q, out, w->x0.user_data);
    if (rc) return rc;
    double *o = out;
    const double *x = q->x;
    for (size_t i = 0; i < q->n * q->d; i++) {
        double eps = (x[i] - q->alpha * o[i]) / q->sigma;
        o[i] = q->alpha * eps - q->sigma * o[i];
    }
    return 0;
}

/* ---------------------------------------------------------- orders --- */

typedef struct {
    const char *method;
    int order;
    sgm_dpm_algorithm alg;
    int vpred;
    double expect;
} ode_case;

static const ode_case ode_cases[] = {
    {"mrs_ode", 1, SGM_DPM_DATA, 0, 1},  {"mrs_ode", 2, SGM_DPM_DATA, 0, 2},
    {"mrs_ode", 1, SGM_DPM_NOISE, 0, 1}, {"mrs_ode", 2, SGM_DPM_NOISE, 0, 2},
    {"mrs_ode", 2, SGM_DPM_DATA, 1, 2},  {"mrs_ode", 1, SGM_DPM_NOISE, 1, 1},
};

/* D in VE coordinates at VE level s: the exact model at y = alpha x~ */
static void den_ve(const sgm_process *p, const sgm_gmm_mr *m, double s, const double *xv,
                   double *out, double *tmp) {
    double a = sgm_process_alpha_of_sigma_ve(p, s);
    double lam = -log(s);
    for (size_t i = 0; i < ROWS * DIM; i++) tmp[i] = a * xv[i];
    sgm_eval q = {ROWS, DIM, 0, SGM_F64, tmp, sgm_process_t_of_lambda(p, lam), a, s * a};
    sgm_gmm_mr_denoise_fn(&q, out, (void *)m);
}

static void rk4(const sgm_process *p, const sgm_gmm_mr *m, double smax, double *x, int n) {
    size_t c = ROWS * DIM;
    double *k = malloc(sizeof(double) * c * 6), *k1 = k, *k2 = k + c, *k3 = k + 2 * c,
           *k4 = k + 3 * c, *y = k + 4 * c, *tmp = k + 5 * c;
    double l0 = -log(smax), l1 = -log(S_MIN), h = (l1 - l0) / n;
    for (int i = 0; i < n; i++) {
        double l = l0 + h * i;
        den_ve(p, m, exp(-l), x, k1, tmp);
        for (size_t j = 0; j < c; j++) k1[j] -= x[j], y[j] = x[j] + 0.5 * h * k1[j];
        den_ve(p, m, exp(-(l + 0.5 * h)), y, k2, tmp);
        for (size_t j = 0; j < c; j++) k2[j] -= y[j], y[j] = x[j] + 0.5 * h * k2[j];
        den_ve(p, m, exp(-(l + 0.5 * h)), y, k3, tmp);
        for (size_t j = 0; j < c; j++) k3[j] -= y[j], y[j] = x[j] + h * k3[j];
        den_ve(p, m, exp(-(l + h)), y, k4, tmp);
        for (size_t j = 0; j < c; j++) {
            k4[j] -= y[j];
            x[j] += h / 6 * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]);
        }
    }
    free(k);
}

static void test_orders(const sgm_process *p, const sgm_gmm *g) {
    sgm_error err = {0};
    size_t c = ROWS * DIM;
    double mu[ROWS * DIM];
    for (int i = 0; i < ROWS; i++) { /* a different condition per row */
        mu[i * DIM] = 3 * cos(0.7 * i);
        mu[i * DIM + 1] = 3 * sin(0.7 * i) - 1;
    }
    sgm_gmm_mr *m = NULL;
    CHECK(sgm_gmm_mr_create(g, mu, ROWS, &m, &err) == SGM_OK, "gmm_mr: %s", err.msg);
    if (!m) return;
    double smax = sgm_process_sigma_ve(p, 1.0);
    double *xT = malloc(sizeof(double) * c * 3), *ref = xT + c, *x = xT + 2 * c;
    sgm_rng_normal_rows_f64(99, 0, 0, ROWS, DIM, xT);
    for (size_t i = 0; i < c; i++) xT[i] *= smax; /* y_T = sigma_T z in VE coordinates */
    memcpy(x, xT, sizeof(double) * c);
    rk4(p, m, smax, x, 4096);
    memcpy(ref, xT, sizeof(double) * c);
    rk4(p, m, smax, ref, 8192);
    double rk = 0;
    for (size_t i = 0; i < c; i++) rk = fmax(rk, fabs(x[i] - ref[i]));
    printf("reference: s_max = %.1f, RK4 |4096 - 8192 steps| = %.2e\n", smax, rk);
    /* RK4's own error ~1/15 of this: < 1.5e-11 keeps it 100x below ERR_FLOOR */
    CHECK(rk < 1.5e-11, "RK4 reference not converged: %g", rk);
    vwrap vw = {sgm_gmm_mr_denoiser(m)};
    for (size_t ci = 0; ci < sizeof ode_cases / sizeof ode_cases[0]; ci++) {
        const ode_case *oc = &ode_cases[ci];
        double e[MAX_LEV];
        int lev = 0;
        for (int steps = 16; lev < MAX_LEV; lev++, steps *= 2) {
            sgm_sampler_config cfg;
            sgm_sampler_config_default(oc->method, &cfg, &err);
            cfg.order = oc->order;
            cfg.algorithm = oc->alg;
            cfg.n_threads = 1;
            sgm_sampler *s = NULL;
            CHECK(sgm_sampler_create(&cfg, p, ROWS, DIM, &s, &err) == SGM_OK, "create: %s",
                  err.msg);
            sgm_schedule *sch = tu_sigma_grid(p, smax, S_MIN, steps, 1);
            sgm_denoiser den = sgm_gmm_mr_denoiser(m);
            if (oc->vpred) den = (sgm_denoiser){v_fn, &vw, SGM_PRED_V};
            /* the sampler takes process coordinates y = alpha x~ */
            double a0 = sgm_process_alpha_of_sigma_ve(p, smax);
            for (size_t i = 0; i < c; i++) x[i] = a0 * xT[i];
            sgm_rng rng = sgm_rng_init(1);
            sgm_status st = s && sch ? sgm_sampler_run(s, sch, &den, &rng, 0, ROWS, x, &err)
                                     : SGM_ERR_INVALID_ARG;
            CHECK(st == SGM_OK, "run: %s", err.msg);
            double a1 = sgm_process_alpha_of_sigma_ve(p, S_MIN), ss = 0;
            for (size_t i = 0; i < c; i++) ss += pow(x[i] / a1 - ref[i], 2);
            e[lev] = sqrt(ss / (double)c);
            sgm_schedule_free(sch);
            sgm_sampler_free(s);
            if (st || !(e[lev] >= ERR_FLOOR)) {
                lev++;
                break;
            }
        }
        int used = 0;
        double ord = tu_fit_order(e, lev, ERR_FLOOR, &used);
        printf("%s order %d %s%s err:", oc->method, oc->order,
               oc->alg == SGM_DPM_DATA ? "data" : "noise", oc->vpred ? " (v model)" : "");
        for (int k = 0; k < lev; k++) printf(" %.2e", e[k]);
        printf(" -> %.2f (expected %.0f)\n", ord, oc->expect);
        CHECK(fabs(ord - oc->expect) <= ORDER_TOL, "%s order %d alg %d: empirical %.3f",
              oc->method, oc->order, (int)oc->alg, ord);
    }
    free(xT);
    sgm_gmm_mr_free(m);
}

/* ------------------------------------------------------------- SDE --- */

/* 8000 rows: SE of a variance ~0.09 here. Steps: first-order SDE solvers
 * are weak order 1; at 100 steps their variance bias measured -0.31 (-5.7 SE
 * at 20000 rows), so they get 400 steps (bias ~ -0.08, ~1 SE); the
 * second-order ones are within 0.5 SE at 100 steps. */
#define N_SDE 8000
#define SDE_STEPS(order) ((order) == 1 ? 400 : 100)

static void test_sde(const sgm_process *p, const sgm_gmm *g) {
    sgm_error err = {0};
    const double mu[DIM] = {2.5, -1.0};
    sgm_gmm_mr *m = NULL;
    CHECK(sgm_gmm_mr_create(g, mu, 1, &m, &err) == SGM_OK, "gmm_mr: %s", err.msg);
    if (!m) return;
    size_t c = (size_t)N_SDE * DIM, K = sgm_gmm_components(g);
    const double *w = sgm_gmm_weights(g), *mk = sgm_gmm_means(g), *sk = sgm_gmm_stds(g);
    double *x0 = malloc(sizeof(double) * c * 3), *n = x0 + c, *x = x0 + 2 * c;
    double aT = sgm_process_alpha(p, 1.0), sT = sgm_process_sigma(p, 1.0);
    sgm_gmm_sample(g, 5, 0, 0, N_SDE, x0);
    sgm_rng_normal_rows_f64(6, 0, 0, N_SDE, DIM, n);
    double smax = sT / aT;
    double a1 = sgm_process_alpha_of_sigma_ve(p, S_MIN), s1 = a1 * S_MIN;
    /* exact marginal moments at s_end of y = x - mu */
    double em[DIM], ev[DIM];
    for (int j = 0; j < DIM; j++) {
        double m1 = 0, m2 = 0;
        for (size_t k = 0; k < K; k++) {
            double mean = a1 * (mk[k * DIM + j] - mu[j]);
            double var = a1 * a1 * sk[k * DIM + j] * sk[k * DIM + j] + s1 * s1;
            m1 += w[k] * mean;
            m2 += w[k] * (var + mean * mean);
        }
        em[j] = m1;
        ev[j] = m2 - m1 * m1;
    }
    for (int order = 1; order <= 2; order++)
        for (int alg = 0; alg < 2; alg++) {
            for (size_t i = 0; i < c; i++) /* exact y_T = alpha_T (x0 - mu) + sigma_T n */
                x[i] = aT * (x0[i] - mu[i % DIM]) + sT * n[i];
            sgm_sampler_config cfg;
            sgm_sampler_config_default("mrs_sde", &cfg, &err);
            cfg.order = order;
            cfg.algorithm = (sgm_dpm_algorithm)alg;
            sgm_sampler *s = NULL;
            CHECK(sgm_sampler_create(&cfg, p, N_SDE, DIM, &s, &err) == SGM_OK, "create: %s",
                  err.msg);
            sgm_schedule *sch = tu_sigma_grid(p, smax, S_MIN, SDE_STEPS(order), 1);
            sgm_denoiser den = sgm_gmm_mr_denoiser(m);
            sgm_rng rng = sgm_rng_init(11 + (uint64_t)(2 * order + alg));
            sgm_status st = s && sch ? sgm_sampler_run(s, sch, &den, &rng, 0, N_SDE, x, &err)
                                     : SGM_ERR_INVALID_ARG;
            CHECK(st == SGM_OK, "sde run: %s", err.msg);
            for (int j = 0; j < DIM; j++) {
                double s1m = 0, s2 = 0, s4 = 0;
                for (size_t i = 0; i < N_SDE; i++) s1m += x[i * DIM + j];
                s1m /= N_SDE;
                for (size_t i = 0; i < N_SDE; i++) {
                    double dv = x[i * DIM + j] - s1m;
                    s2 += dv * dv;
                    s4 += dv * dv * dv * dv;
                }
                s2 /= N_SDE;
                s4 /= N_SDE;
                double se_m = sqrt(ev[j] / N_SDE), se_v = sqrt((s4 - s2 * s2) / N_SDE);
                printf("mrs_sde order %d %s dim %d: mean %.4f (exact %.4f, %.1f SE), var %.4f "
                       "(exact %.4f, %.1f SE)\n",
                       order, alg ? "noise" : "data", j, s1m, em[j], (s1m - em[j]) / se_m, s2,
                       ev[j], (s2 - ev[j]) / se_v);
                /* 5 standard errors: the acceptance bound for sampling statistics */
                CHECK(fabs(s1m - em[j]) <= 5 * se_m, "mean off by %.1f SE",
                      (s1m - em[j]) / se_m);
                CHECK(fabs(s2 - ev[j]) <= 5 * se_v, "var off by %.1f SE", (s2 - ev[j]) / se_v);
            }
            sgm_schedule_free(sch);
            sgm_sampler_free(s);
        }
    free(x0);
    sgm_gmm_mr_free(m);
}

int main(void) {
    sgm_error err = {0};
    test_process();
    sgm_gmm *g = tu_smooth_ring();
    CHECK(g != NULL, "model");
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_MR);
    pc.mr_lambda = LAM;
    sgm_process *p = NULL;
    CHECK(sgm_process_create(&pc, &p, &err) == SGM_OK, "process: %s", err.msg);
    if (g && p) {
        test_orders(p, g);
        test_sde(p, g);
    }
    sgm_process_free(p);
    sgm_gmm_free(g);
    TEST_MAIN_END();
}
