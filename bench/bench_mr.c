/* bench_mr.c - NFE vs error of the MR Sampler (Li et al. 2025, arXiv:2502.07856;
 * mrs_ode / mrs_sde) against Euler-Maruyama on the reverse mean-reverting SDE
 * (em, the score_sde predictor on dx = [f x - g^2 score] dt + g dW of the
 * IR-SDE, Luo et al. 2023) on the exact mean-reverting mixture problem:
 * x_0 ~ tests/data/models/gmm2d.json (8-component ring, std 0.3), lambda = 1,
 * cosine theta, alpha(1) = 0.005, one condition mu = (1, -2) for all rows,
 * so that the target p(x_{t_end} | mu) is one mixture in closed form.
 *
 * Every run starts from the same exact samples of p(x_1 | mu) (n rows) and
 * stops at t_end = 1e-3 (no final denoising step). Schedules: uniform in
 * lambda ("logsnr", the MR Sampler's linear-lambda) or uniform in t
 * ("time", IR-SDE's own grid, for em). Errors:
 *   spread  mean squared distance of a sample to its nearest component centre
 *        over the exact within-component variance (1: exact, > 1 blurred,
 *        < 1 collapsed; the thin components of the ring are what
 *        discretisation errors show on), and mass TV, the total variation of
 *        the component fractions against the weights; both printed for an
 *        exact sample set too (the noise floor);
 *   sw2  sliced W2 (256 directions) against n independent exact samples
 *        (coarser: its floor, two exact sets, is printed);
 *   ode  for the ODE solvers, the RMS distance to the solution of the same
 *        PF-ODE from the same x_T: mrs_ode order 2 (data) with 8192 steps
 *        (its error, extrapolated from its second-order decay, is ~5e-7).
 * (k-diffusion's euler on the PF-ODE is the same update as mrs_ode order 1
 * in the data form, x~' = (s'/s) x~ + (1 - s'/s) D, so it is not listed.)
 * Prints a markdown table (docs/bench-nfe.md, "Mean-reverting SDE").
 *
 * Usage: bench_mr [n] [seed]     (defaults 10000, 0)
 * SGM_SOURCE_DIR locates the model (default "."). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgm.h"

#define LAM 1.0
#define T_END 1e-3

static const int NFE[] = {5, 10, 20, 50, 100, 200, 500, 1000};
#define N_NFE (sizeof NFE / sizeof NFE[0])

typedef struct {
    const char *label, *method;
    int order;
    sgm_dpm_algorithm alg;
    int time_grid; /* 1: uniform in t, 0: uniform in lambda */
    int ode;
} bcase;

static const bcase cases[] = {
    {"em (time)", "em", 1, SGM_DPM_DATA, 1, 0},
    {"em (logsnr)", "em", 1, SGM_DPM_DATA, 0, 0},
    {"mrs_sde-1 data", "mrs_sde", 1, SGM_DPM_DATA, 0, 0},
    {"mrs_sde-2 data", "mrs_sde", 2, SGM_DPM_DATA, 0, 0},
    {"mrs_sde-2 noise", "mrs_sde", 2, SGM_DPM_NOISE, 0, 0},
    {"mrs_ode-1 data", "mrs_ode", 1, SGM_DPM_DATA, 0, 1},
    {"mrs_ode-2 data", "mrs_ode", 2, SGM_DPM_DATA, 0, 1},
    {"mrs_ode-2 noise", "mrs_ode", 2, SGM_DPM_NOISE, 0, 1},
};

static sgm_schedule *grid(const sgm_process *p, int time_grid, int steps) {
    double *v = malloc(sizeof(double) * (size_t)(steps + 1));
    double l0 = sgm_process_lambda(p, 1.0), l1 = sgm_process_lambda(p, T_END);
    for (int i = 0; i <= steps; i++) {
        double f = (double)i / steps;
        v[i] = time_grid ? 1.0 + f * (T_END - 1.0) : exp(-(l0 + f * (l1 - l0)));
    }
    sgm_schedule_config sc = sgm_schedule_config_default(
        time_grid ? SGM_SCHEDULE_USER_TIMES : SGM_SCHEDULE_USER_SIGMAS);
    sc.user = v;
    sc.n_user = (size_t)steps + 1;
    sc.final_point = SGM_FINAL_NONE;
    sgm_schedule *s = NULL;
    sgm_error err = {0};
    if (sgm_schedule_create(&sc, p, &s, &err)) fprintf(stderr, "schedule: %s\n", err.msg);
    free(v);
    return s;
}

static int run(const char *method, int order, sgm_dpm_algorithm alg, double rtol,
               const sgm_process *p, const sgm_schedule *sch, const sgm_gmm_mr *m, size_t n,
               uint64_t seed, double *x, size_t *nfe) {
    sgm_error err = {0};
    sgm_sampler_config cfg;
    if (sgm_sampler_config_default(method, &cfg, &err)) return -1;
    cfg.order = order;
    cfg.algorithm = alg;
    if (rtol > 0) cfg.rtol = cfg.atol = rtol;
    sgm_sampler *s = NULL;
    if (sgm_sampler_create(&cfg, p, n, 2, &s, &err)) {
        fprintf(stderr, "%s: %s\n", method, err.msg);
        return -1;
    }
    sgm_denoiser den = sgm_gmm_mr_denoiser(m);
    sgm_rng rng = sgm_rng_init(seed + 1);
    int rc = sgm_sampler_run(s, sch, &den, &rng, 0, n, x, &err) ? -1 : 0;
    if (rc) fprintf(stderr, "%s: %s\n", method, err.msg);
    sgm_sampler_stats st;
    sgm_sampler_get_stats(s, &st);
    *nfe = st.nfe;
    sgm_sampler_free(s);
    return rc;
}

/* Spread and masses: each row goes to its nearest component centre
 * c_k = a1 (m_k - mu) (the ring's components are ~10 stds apart, so this is
 * the exact assignment up to ~1e-20); spread = mean squared distance to it
 * per coordinate, divided by the exact within-component variance
 * a1^2 s^2 + s1^2 (1: exact; > 1: blurred; < 1: collapsed onto the modes);
 * tv = total variation between the assignment fractions and the weights. */
static void spread_tv(const sgm_gmm *g, const double *y, size_t n, const double *mu, double a1,
                      double s1, double *spread, double *tv) {
    size_t K = sgm_gmm_components(g);
    const double *mk = sgm_gmm_means(g), *sk = sgm_gmm_stds(g), *w = sgm_gmm_weights(g);
    double cnt[64] = {0}, acc = 0, var = a1 * a1 * sk[0] * sk[0] + s1 * s1;
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        double bd = INFINITY;
        for (size_t k = 0; k < K && k < 64; k++) {
            double d0 = y[2 * i] - a1 * (mk[2 * k] - mu[0]);
            double d1 = y[2 * i + 1] - a1 * (mk[2 * k + 1] - mu[1]);
            if (d0 * d0 + d1 * d1 < bd) bd = d0 * d0 + d1 * d1, best = k;
        }
        if (!isfinite(bd)) bd = INFINITY;
        acc += bd / 2;
        cnt[best] += 1;
    }
    *spread = acc / (double)n / var;
    double t = 0;
    for (size_t k = 0; k < K && k < 64; k++) t += fabs(cnt[k] / (double)n - w[k]);
    *tv = t / 2;
}

static double sw2(const double *a, const double *b, size_t n) {
    sgm_metric_result r;
    sgm_error err = {0};
    if (sgm_metric_sw2(a, n, b, n, 2, NULL, &r, &err)) return NAN;
    return r.value;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 10000;
    uint64_t seed = argc > 2 ? (uint64_t)strtoull(argv[2], NULL, 10) : 0;
    const char *src = getenv("SGM_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/models/gmm2d.json", src ? src : ".");
    sgm_error err = {0};
    sgm_gmm *g = NULL;
    if (sgm_gmm_load(path, &g, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_MR);
    pc.mr_lambda = LAM;
    sgm_process *p = NULL;
    const double mu[2] = {1.0, -2.0};
    sgm_gmm_mr *m = NULL;
    if (sgm_process_create(&pc, &p, &err) || sgm_gmm_mr_create(g, mu, 1, &m, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    size_t c = n * 2;
    double *x0 = malloc(sizeof(double) * c * 6), *z = x0 + c, *yT = x0 + 2 * c,
           *ex = x0 + 3 * c, *x = x0 + 4 * c, *ref = x0 + 5 * c;
    /* exact y_T = alpha_T (x0 - mu) + sigma_T z and exact y_end (other draws) */
    double aT = sgm_process_alpha(p, 1.0), sT = sgm_process_sigma(p, 1.0);
    double a1 = sgm_process_alpha(p, T_END), s1 = sgm_process_sigma(p, T_END);
    sgm_gmm_sample(g, seed, 0, 0, n, x0);
    sgm_rng_normal_rows_f64(seed, 1, 0, n, 2, z);
    for (size_t i = 0; i < c; i++) yT[i] = aT * (x0[i] - mu[i % 2]) + sT * z[i];
    sgm_gmm_sample(g, seed, 2, 0, n, x0);
    sgm_rng_normal_rows_f64(seed, 3, 0, n, 2, z);
    for (size_t i = 0; i < c; i++) ex[i] = a1 * (x0[i] - mu[i % 2]) + s1 * z[i];
    /* the exact floor: a second exact set */
    sgm_gmm_sample(g, seed, 4, 0, n, x0);
    sgm_rng_normal_rows_f64(seed, 5, 0, n, 2, z);
    for (size_t i = 0; i < c; i++) x[i] = a1 * (x0[i] - mu[i % 2]) + s1 * z[i];
    double floor_ = sw2(x, ex, n), sp_ex = 0, tv_ex = 0;
    spread_tv(g, x, n, mu, a1, s1, &sp_ex, &tv_ex);
    /* the ODE reference */
    memcpy(ref, yT, sizeof(double) * c);
    sgm_schedule *s2 = grid(p, 0, 8192);
    size_t nfe_ref = 0;
    if (!s2 || run("mrs_ode", 2, SGM_DPM_DATA, 0, p, s2, m, n, seed, ref, &nfe_ref)) return 1;
    sgm_schedule_free(s2);
    printf("bench_mr: n = %zu, seed = %llu, lambda = %g, t_end = %g (sigma_ve %.4g -> %.4g)\n",
           n, (unsigned long long)seed, LAM, T_END, sgm_process_sigma_ve(p, 1.0),
           sgm_process_sigma_ve(p, T_END));
    printf("exact samples: spread %.4f, mass TV %.4f, SW2 (two exact sets) %.4f\n\n", sp_ex,
           tv_ex, floor_);
    printf("| method | metric |");
    for (size_t k = 0; k < N_NFE; k++) printf(" %d |", NFE[k]);
    printf("\n|---|---|");
    for (size_t k = 0; k < N_NFE; k++) printf("---|");
    printf("\n");
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const bcase *b = &cases[ci];
        double e_sw[N_NFE], e_ode[N_NFE], e_sp[N_NFE], e_tv[N_NFE];
        for (size_t k = 0; k < N_NFE; k++) {
            sgm_schedule *sch = grid(p, b->time_grid, NFE[k]);
            memcpy(x, yT, sizeof(double) * c);
            size_t nfe = 0;
            int rc = sch ? run(b->method, b->order, b->alg, 0, p, sch, m, n, seed, x, &nfe) : -1;
            sgm_schedule_free(sch);
            e_sw[k] = e_ode[k] = e_sp[k] = e_tv[k] = NAN;
            if (rc || nfe != (size_t)NFE[k]) continue;
            e_sw[k] = sw2(x, ex, n);
            spread_tv(g, x, n, mu, a1, s1, &e_sp[k], &e_tv[k]);
            double ss = 0;
            for (size_t i = 0; i < c; i++) ss += (x[i] - ref[i]) * (x[i] - ref[i]);
            e_ode[k] = sqrt(ss / (double)n);
        }
        printf("| %s | spread |", b->label);
        for (size_t k = 0; k < N_NFE; k++) printf(" %.3g |", e_sp[k]);
        printf("\n| %s | mass TV |", b->label);
        for (size_t k = 0; k < N_NFE; k++) printf(" %.3f |", e_tv[k]);
        printf("\n| %s | SW2 |", b->label);
        for (size_t k = 0; k < N_NFE; k++) printf(" %.3g |", e_sw[k]);
        printf("\n");
        if (b->ode) {
            printf("| %s | ODE err |", b->label);
            for (size_t k = 0; k < N_NFE; k++) printf(" %.2g |", e_ode[k]);
            printf("\n");
        }
        fflush(stdout);
    }
    free(x0);
    sgm_gmm_mr_free(m);
    sgm_process_free(p);
    sgm_gmm_free(g);
    return 0;
}
