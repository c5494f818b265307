/* test_nll.c - likelihood through the probability-flow ODE (sgm_likelihood.h)
 * on exact Gaussian mixtures in 2, 16 and 64 dimensions (issue 4, acceptance
 * 1, 3 and 6 for the mixture):
 *  - closed-form JVP / VJP / trace of the mixture denoiser against central
 *    finite differences;
 *  - exact-divergence log-likelihood against sgm_gmm_logpdf at sigma 0,
 *    within 0.01 nats per dimension (VP and VE processes);
 *  - trace, JVP and VJP routes and an eps-parameterised wrapper agree;
 *  - Hutchinson (Rademacher, Gaussian) within 3 standard errors of the exact
 *    values on the same points;
 *  - per-sample results do not depend on the batch;
 *  - encode then an rk45 decode returns x_0 within 1e-3 relative;
 *  - bad input: clear status, outputs untouched;
 *  - dequantization and bits/dim offsets.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgm/sgm_likelihood.h"
#include "sgm/sgm_model.h"
#include "sgm/sgm_nn.h"
#include "test_util.h"

/* A K-component mixture in d dimensions with means in [-2, 2] and stds in
 * [0.4, 1.2], from a fixed Philox stream. */
static sgm_gmm *make_gmm(size_t k, size_t d, uint64_t seed) {
    double *u = malloc(2 * k * d * sizeof *u), *w = malloc(k * sizeof *w);
    double *mu = malloc(k * d * sizeof *mu), *sd = malloc(k * d * sizeof *sd);
    sgm_rng_uniform_rows_f64(seed, 0, 0, 2 * k, d, u);
    for (size_t i = 0; i < k * d; i++) {
        mu[i] = 4 * u[i] - 2;
        sd[i] = 0.4 + 0.8 * u[k * d + i];
    }
    for (size_t i = 0; i < k; i++) w[i] = 1.0 + (double)i;
    sgm_gmm *g = NULL;
    sgm_error err;
    if (sgm_gmm_create(k, d, w, mu, sd, &g, &err)) fprintf(stderr, "gmm: %s\n", err.msg);
    free(u);
    free(w);
    free(mu);
    free(sd);
    return g;
}

static sgm_process *make_proc(sgm_process_kind kind) {
    sgm_process_config pc = sgm_process_config_default(kind);
    sgm_process *p = NULL;
    sgm_error err;
    if (sgm_process_create(&pc, &p, &err)) fprintf(stderr, "process: %s\n", err.msg);
    return p;
}

/* ------------------------------------------------ finite differences --- */

static void test_derivatives(void) {
    const size_t K = 3, d = 5;
    sgm_gmm *g = make_gmm(K, d, 11);
    double x[5] = {0.3, -1.1, 0.7, 1.9, -0.2}, v[5] = {0.5, -0.3, 1.0, 0.2, -0.8};
    const double sigma = 0.6, h = 1e-5;
    double D[5], jv[5], vj[5], tr, J[25];
    sgm_gmm_denoise_jvp(g, 1, x, sigma, v, D, jv);
    sgm_gmm_denoise_vjp(g, 1, x, sigma, v, NULL, vj);
    sgm_gmm_denoise_div(g, 1, x, sigma, NULL, &tr);
    double D0[5];
    sgm_gmm_denoise(g, 1, x, sigma, D0);
    for (size_t i = 0; i < d; i++) CHECK_CLOSE(D[i], D0[i], 1e-14, 1e-14, "jvp returns D");
    /* J[i][j] = dD_i/dx_j by central differences */
    for (size_t j = 0; j < d; j++) {
        double xp[5], xm[5], Dp[5], Dm[5];
        memcpy(xp, x, sizeof xp);
        memcpy(xm, x, sizeof xm);
        xp[j] += h;
        xm[j] -= h;
        sgm_gmm_denoise(g, 1, xp, sigma, Dp);
        sgm_gmm_denoise(g, 1, xm, sigma, Dm);
        for (size_t i = 0; i < d; i++) J[i * d + j] = (Dp[i] - Dm[i]) / (2 * h);
    }
    double trf = 0;
    for (size_t i = 0; i < d; i++) {
        double a = 0, b = 0;
        for (size_t j = 0; j < d; j++) {
            a += J[i * d + j] * v[j];
            b += v[j] * J[j * d + i];
        }
        trf += J[i * d + i];
        /* central differences with h = 1e-5 on O(1) curvature: error ~1e-9 */
        CHECK_CLOSE(jv[i], a, 1e-7, 1e-7, "J v vs finite differences");
        CHECK_CLOSE(vj[i], b, 1e-7, 1e-7, "v^T J vs finite differences");
    }
    CHECK_CLOSE(tr, trf, 1e-7, 1e-7, "tr J vs finite differences");
    sgm_gmm_free(g);
}

/* ------------------------------------------- eps-parameterised wrapper --- */

/* eps = (x - alpha x0) / sigma, d eps/dx = (I - alpha dx0/dx) / sigma */
typedef struct epsw {
    sgm_denoiser_grad inner;
    size_t d;
} epsw;

static int eps_dir(const sgm_eval *q, const double *v, double *out, double *jv, void *ud,
                   int vjp) {
    const epsw *w = ud;
    int rc = vjp ? w->inner.vjp(q, v, out, jv, w->inner.user_data)
                 : w->inner.jvp(q, v, out, jv, w->inner.user_data);
    if (rc) return rc;
    const double *x = q->x;
    for (size_t i = 0; i < q->n * q->d; i++) {
        out[i] = (x[i] - q->alpha * out[i]) / q->sigma;
        jv[i] = (v[i] - q->alpha * jv[i]) / q->sigma;
    }
    return 0;
}
static int eps_jvp(const sgm_eval *q, const double *v, double *out, double *jv, void *ud) {
    return eps_dir(q, v, out, jv, ud, 0);
}
static int eps_vjp(const sgm_eval *q, const double *v, double *out, double *jv, void *ud) {
    return eps_dir(q, v, out, jv, ud, 1);
}
static int eps_div(const sgm_eval *q, double *out, double *div, void *ud) {
    const epsw *w = ud;
    int rc = w->inner.div(q, out, div, w->inner.user_data);
    if (rc) return rc;
    const double *x = q->x;
    for (size_t i = 0; i < q->n * q->d; i++) out[i] = (x[i] - q->alpha * out[i]) / q->sigma;
    for (size_t r = 0; r < q->n; r++) div[r] = ((double)q->d - q->alpha * div[r]) / q->sigma;
    return 0;
}

static double mean(const double *a, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i];
    return s / (double)n;
}

/* ------------------------------------------------ exact vs mixture --- */

static void test_exact(size_t d, size_t n, sgm_process_kind kind, int extra) {
    sgm_gmm *g = make_gmm(3, d, 100 + d);
    sgm_process *p = make_proc(kind);
    double *x = malloc(n * d * sizeof *x), *lp = malloc(n * sizeof *lp),
           *ref = malloc(n * sizeof *ref), *lp2 = malloc(n * sizeof *lp2);
    size_t *nfe = malloc(n * sizeof *nfe);
    sgm_gmm_sample(g, 7, 0, 0, n, x);
    sgm_gmm_logpdf(g, n, x, 0, ref);
    sgm_denoiser den = sgm_gmm_denoiser(g);
    sgm_denoiser_grad gr = sgm_gmm_denoiser_grad(g);
    sgm_nll_config cfg = sgm_nll_config_default();
    sgm_error err;
    sgm_status st = sgm_nll(&cfg, p, &den, &gr, 0, n, d, x, lp, NULL, nfe, &err);
    CHECK(st == SGM_OK, "nll d=%zu: %s", d, err.msg);
    double worst = 0, mnfe = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs(lp[i] - ref[i]));
        mnfe += (double)nfe[i] / (double)n;
    }
    printf("exact %s d=%zu n=%zu: mean logp %.6f (exact %.6f), worst |diff|/d %.2e, "
           "mean NFE %.0f\n",
           sgm_process_kind_name(kind), d, n, mean(lp, n), mean(ref, n), worst / (double)d,
           mnfe);
    /* acceptance 1: 0.01 nats per dimension (the residual is the ODE
       tolerance, 1e-5, and the t_eps = 1e-5 smoothing of the data) */
    CHECK(fabs(mean(lp, n) - mean(ref, n)) <= 0.01 * (double)d,
          "d=%zu mean logp %.6f vs exact %.6f", d, mean(lp, n), mean(ref, n));
    CHECK(worst <= 0.01 * (double)d, "d=%zu worst per-sample diff %g", d, worst);
    if (extra) {
        /* the JVP and VJP routes (d directions per call) equal the trace
           route up to rounding and the adaptive steps they share */
        sgm_denoiser_grad gj = gr, gv = gr;
        gj.div = NULL;
        gj.vjp = NULL;
        gv.div = NULL;
        gv.jvp = NULL;
        st = sgm_nll(&cfg, p, &den, &gj, 0, n, d, x, lp2, NULL, NULL, &err);
        CHECK(st == SGM_OK, "jvp route: %s", err.msg);
        /* same steps, traces equal to ~1e-13 relative: 1e-8 nats */
        for (size_t i = 0; i < n; i++) CHECK_CLOSE(lp2[i], lp[i], 0, 1e-8, "jvp vs trace");
        st = sgm_nll(&cfg, p, &den, &gv, 0, n, d, x, lp2, NULL, NULL, &err);
        CHECK(st == SGM_OK, "vjp route: %s", err.msg);
        for (size_t i = 0; i < n; i++) CHECK_CLOSE(lp2[i], lp[i], 0, 1e-8, "vjp vs trace");
        /* an eps-predicting model (same function, other parameterisation):
           the conversion is exact but rounds differently, so steps may
           differ; both solutions are within the 1e-5 tolerance: 1e-4 nats */
        epsw w = {gr, d};
        sgm_denoiser_grad ge = {eps_jvp, eps_vjp, eps_div, &w};
        sgm_denoiser de = den;
        de.prediction = SGM_PRED_EPS;
        st = sgm_nll(&cfg, p, &de, &ge, 0, n, d, x, lp2, NULL, NULL, &err);
        CHECK(st == SGM_OK, "eps trace: %s", err.msg);
        for (size_t i = 0; i < n; i++) CHECK_CLOSE(lp2[i], lp[i], 0, 1e-4, "eps trace");
        ge.div = NULL;
        st = sgm_nll(&cfg, p, &de, &ge, 0, n, d, x, lp2, NULL, NULL, &err);
        CHECK(st == SGM_OK, "eps jvp: %s", err.msg);
        for (size_t i = 0; i < n; i++) CHECK_CLOSE(lp2[i], lp[i], 0, 1e-4, "eps jvp");
        /* batch independence: rows 2..4 alone give bitwise the same values */
        if (n >= 5) {
            double sub[3];
            st = sgm_nll(&cfg, p, &den, &gr, 2, 3, d, x + 2 * d, sub, NULL, NULL, &err);
            CHECK(st == SGM_OK && sub[0] == lp[2] && sub[1] == lp[3] && sub[2] == lp[4],
                  "batch independence");
        }
    }
    free(x);
    free(lp);
    free(ref);
    free(lp2);
    free(nfe);
    sgm_process_free(p);
    sgm_gmm_free(g);
}

/* ------------------------------------------------------- Hutchinson --- */

static void test_hutchinson(size_t d, size_t n, int probes, sgm_probe kind) {
    sgm_gmm *g = make_gmm(3, d, 100 + d);
    sgm_process *p = make_proc(SGM_PROCESS_VP_LINEAR);
    double *x = malloc(n * d * sizeof *x), *le = malloc(n * sizeof *le),
           *lh = malloc(n * sizeof *lh), *lh2 = malloc(n * sizeof *lh2);
    sgm_gmm_sample(g, 9, 0, 0, n, x);
    sgm_denoiser den = sgm_gmm_denoiser(g);
    sgm_denoiser_grad gr = sgm_gmm_denoiser_grad(g);
    sgm_nll_config cfg = sgm_nll_config_default();
    sgm_error err;
    CHECK(sgm_nll(&cfg, p, &den, &gr, 0, n, d, x, le, NULL, NULL, &err) == SGM_OK, "%s",
          err.msg);
    cfg.divergence = SGM_DIV_HUTCHINSON;
    cfg.n_probes = probes;
    cfg.probe = kind;
    cfg.seed = 5;
    CHECK(sgm_nll(&cfg, p, &den, &gr, 0, n, d, x, lh, NULL, NULL, &err) == SGM_OK, "%s",
          err.msg);
    /* paired differences: the probe noise is independent across rows */
    double m = 0, v = 0;
    for (size_t i = 0; i < n; i++) m += (lh[i] - le[i]) / (double)n;
    for (size_t i = 0; i < n; i++) v += (lh[i] - le[i] - m) * (lh[i] - le[i] - m);
    double se = sqrt(v / (double)(n - 1) / (double)n);
    printf("hutchinson %s x%d d=%zu n=%zu: mean diff %.4f, se %.4f\n",
           kind == SGM_PROBE_GAUSSIAN ? "gaussian" : "rademacher", probes, d, n, m, se);
    /* acceptance 1: within 3 standard errors (plus 1e-3 nats for the ODE
       tolerance, which the paired standard error does not cover) */
    CHECK(fabs(m) <= 3 * se + 1e-3, "d=%zu hutchinson mean diff %g > 3 se %g", d, m, se);
    CHECK(se > 0, "probe noise present");
    /* the vjp route with the same probes: same estimator, 1e-4 nats (steps
       may differ by rounding) */
    gr.jvp = NULL;
    CHECK(sgm_nll(&cfg, p, &den, &gr, 0, n, d, x, lh2, NULL, NULL, &err) == SGM_OK, "%s",
          err.msg);
    for (size_t i = 0; i < n; i++) CHECK_CLOSE(lh2[i], lh[i], 0, 1e-4, "hutchinson vjp");
    free(x);
    free(le);
    free(lh);
    free(lh2);
    sgm_process_free(p);
    sgm_gmm_free(g);
}

/* ------------------------------------------- network through its VJP --- */

/* An untrained residual MLP as an eps-predicting model, x -> mlp(x, c) with
 * c = log(sigma / alpha) / 4; its input VJP (sgm_nn_mlp_backward with
 * parameter gradients off) is the only derivative the likelihood gets. */
typedef struct mlpw {
    sgm_nn_mlp m;
    float *xf, *of, *cf, *vf, *gf;
} mlpw;

static int mlp_eval(const sgm_eval *q, const double *v, double *out, double *vj, mlpw *w) {
    size_t cnt = q->n * q->d;
    const double *x = q->x;
    if (q->dtype != SGM_F64 || q->n > (size_t)w->m.max_batch) return -1;
    for (size_t i = 0; i < cnt; i++) w->xf[i] = (float)x[i];
    for (size_t r = 0; r < q->n; r++) w->cf[r] = (float)(log(q->sigma / q->alpha) / 4);
    sgm_error err;
    if (sgm_nn_mlp_forward(&w->m, w->of, w->xf, w->cf, (int)q->n, &err)) return -2;
    for (size_t i = 0; i < cnt; i++) out[i] = w->of[i];
    if (!v) return 0;
    for (size_t i = 0; i < cnt; i++) {
        w->vf[i] = (float)v[i];
        w->gf[i] = 0;
    }
    if (sgm_nn_mlp_backward(&w->m, w->gf, NULL, w->vf, (int)q->n, 0, &err)) return -3;
    for (size_t i = 0; i < cnt; i++) vj[i] = w->gf[i];
    return 0;
}
static int mlp_fn(const sgm_eval *q, void *out, void *ud) {
    return mlp_eval(q, NULL, out, NULL, ud);
}
static int mlp_vjp(const sgm_eval *q, const double *v, double *out, double *vj, void *ud) {
    return mlp_eval(q, v, out, vj, ud);
}

static void test_mlp(void) {
    const size_t d = 4, n = 32, maxb = 64;
    mlpw w;
    memset(&w, 0, sizeof w);
    sgm_nn_mlp_config mc = {(int)d, 8, 32, 1, sgm_nn_sinusoidal_defaults(), 0};
    sgm_error err;
    if (sgm_nn_mlp_init(&w.m, &mc, (int)maxb, 1, &err)) {
        CHECK(0, "mlp init: %s", err.msg);
        return;
    }
    float *fb = malloc((4 * maxb * d + maxb) * sizeof *fb);
    w.xf = fb;
    w.of = fb + maxb * d;
    w.vf = fb + 2 * maxb * d;
    w.gf = fb + 3 * maxb * d;
    w.cf = fb + 4 * maxb * d;
    sgm_process *p = make_proc(SGM_PROCESS_VP_LINEAR);
    double *x = malloc(n * d * sizeof *x), *le = malloc(n * sizeof *le), *lh = malloc(n * sizeof *lh);
    sgm_rng_normal_rows_f64(4, 0, 0, n, d, x);
    sgm_denoiser den = {mlp_fn, &w, SGM_PRED_EPS};
    sgm_denoiser_grad gr = {NULL, mlp_vjp, NULL, &w};
    sgm_nll_config cfg = sgm_nll_config_default();
    cfg.t_end = 0.5; /* keeps the untrained model's drift moderate */
    cfg.rtol = cfg.atol = 1e-4; /* float32 network: well above its rounding */
    CHECK(sgm_nll(&cfg, p, &den, &gr, 0, n, d, x, le, NULL, NULL, &err) == SGM_OK,
          "mlp exact: %s", err.msg);
    cfg.divergence = SGM_DIV_HUTCHINSON;
    cfg.n_probes = 2;
    cfg.seed = 8;
    CHECK(sgm_nll(&cfg, p, &den, &gr, 0, n, d, x, lh, NULL, NULL, &err) == SGM_OK,
          "mlp hutchinson: %s", err.msg);
    double m = 0, v = 0;
    for (size_t i = 0; i < n; i++) m += (lh[i] - le[i]) / (double)n;
    for (size_t i = 0; i < n; i++) v += (lh[i] - le[i] - m) * (lh[i] - le[i] - m);
    double se = sqrt(v / (double)(n - 1) / (double)n);
    printf("mlp d=%zu n=%zu: mean exact %.4f, mean hutchinson %.4f, paired se %.4f\n", d, n,
           mean(le, n), mean(lh, n), se);
    /* issue 4 acceptance 2 (on an untrained network): exact and Hutchinson
       agree within 3 paired standard errors, plus 1e-2 nats for the two
       solves' 1e-4 tolerances */
    CHECK(fabs(m) <= 3 * se + 1e-2, "mlp hutchinson diff %g vs 3 se %g", m, se);
    free(x);
    free(le);
    free(lh);
    free(fb);
    sgm_process_free(p);
    sgm_nn_mlp_free(&w.m);
}

/* ------------------------------------------------- encode / decode --- */

static void test_encode_decode(size_t d, size_t n) {
    sgm_gmm *g = make_gmm(3, d, 300 + d);
    sgm_process *p = make_proc(SGM_PROCESS_VP_LINEAR);
    double *x = malloc(n * d * sizeof *x), *z = malloc(n * d * sizeof *z),
           *z2 = malloc(n * d * sizeof *z2);
    sgm_gmm_sample(g, 3, 0, 0, n, x);
    sgm_denoiser den = sgm_gmm_denoiser(g);
    sgm_denoiser_grad gr = sgm_gmm_denoiser_grad(g);
    sgm_nll_config cfg = sgm_nll_config_default();
    cfg.rtol = cfg.atol = 1e-9;
    sgm_error err;
    CHECK(sgm_encode(&cfg, p, &den, n, d, x, z, NULL, &err) == SGM_OK, "encode: %s", err.msg);
    /* the nll solve's z is the same map (its steps also control delta logp,
       so agreement is to the tolerance) */
    double *lp = malloc(n * sizeof *lp);
    CHECK(sgm_nll(&cfg, p, &den, &gr, 0, n, d, x, lp, z2, NULL, &err) == SGM_OK, "%s",
          err.msg);
    for (size_t i = 0; i < n * d; i++) CHECK_CLOSE(z2[i], z[i], 1e-6, 1e-6, "nll z vs encode");
    double te, T;
    sgm_nll_times(&cfg, p, &te, &T);
    /* decode with the sampler's rk45 from t_end to t_eps */
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_USER_TIMES);
    double times[2] = {T, te};
    sc.user = times;
    sc.n_user = 2;
    sc.steps = 1;
    sc.final_point = SGM_FINAL_NONE;
    sgm_schedule *sched = NULL;
    CHECK(sgm_schedule_create(&sc, p, &sched, &err) == SGM_OK, "schedule: %s", err.msg);
    sgm_sampler_config scfg;
    sgm_sampler_config_default("rk45", &scfg, &err);
    scfg.rtol = scfg.atol = 1e-9;
    sgm_sampler *smp = NULL;
    CHECK(sgm_sampler_create(&scfg, p, n, d, &smp, &err) == SGM_OK, "sampler: %s", err.msg);
    memcpy(z2, z, n * d * sizeof *z);
    sgm_rng rng = sgm_rng_init(0);
    if (smp && sched)
        CHECK(sgm_sampler_run(smp, sched, &den, &rng, 0, n, z2, &err) == SGM_OK, "run: %s",
              err.msg);
    double worst = 0;
    for (size_t i = 0; i < n * d; i++)
        worst = fmax(worst, fabs(z2[i] - x[i]) / fmax(1, fabs(x[i])));
    printf("encode/decode d=%zu: worst relative error %.2e\n", d, worst);
    /* acceptance 3: 1e-3 relative at tight tolerances */
    CHECK(worst <= 1e-3, "decode(encode(x)) error %g", worst);
    sgm_sampler_free(smp);
    sgm_schedule_free(sched);
    free(lp);
    free(x);
    free(z);
    free(z2);
    sgm_process_free(p);
    sgm_gmm_free(g);
}

/* ------------------------------------------------------- bad input --- */

static int nan_fn(const sgm_eval *q, double *out, double *div, void *ud) {
    (void)ud;
    for (size_t i = 0; i < q->n * q->d; i++) out[i] = 0;
    for (size_t r = 0; r < q->n; r++) div[r] = NAN;
    return 0;
}

static void test_errors(void) {
    const size_t d = 2;
    sgm_gmm *g = make_gmm(2, d, 1);
    sgm_gmm *g3 = make_gmm(2, 3, 1);
    sgm_process *p = make_proc(SGM_PROCESS_VP_LINEAR);
    sgm_denoiser den = sgm_gmm_denoiser(g);
    sgm_denoiser_grad gr = sgm_gmm_denoiser_grad(g);
    sgm_nll_config cfg = sgm_nll_config_default();
    double x[6] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, lp[3] = {-7, -7, -7};
    sgm_error err;
    /* empty set */
    CHECK(sgm_nll(&cfg, p, &den, &gr, 0, 0, d, x, lp, NULL, NULL, &err) == SGM_ERR_INVALID_ARG,
          "empty set");
    /* NaN input */
    x[3] = NAN;
    err.msg[0] = 0;
    CHECK(sgm_nll(&cfg, p, &den, &gr, 0, 3, d, x, lp, NULL, NULL, &err) == SGM_ERR_NONFINITE,
          "NaN input");
    CHECK(strstr(err.msg, "row 1") != NULL, "message names the row: %s", err.msg);
    x[3] = 0.4;
    /* mismatched dimension: the 2-D model refuses 3-D rows */
    CHECK(sgm_nll(&cfg, p, &den, &gr, 0, 2, 3, x, lp, NULL, NULL, &err) == SGM_ERR_CALLBACK,
          "dimension mismatch");
    (void)g3;
    /* non-finite divergence */
    sgm_denoiser_grad bad = {NULL, NULL, nan_fn, NULL};
    CHECK(sgm_nll(&cfg, p, &den, &bad, 0, 3, d, x, lp, NULL, NULL, &err) == SGM_ERR_NONFINITE,
          "non-finite divergence");
    /* missing callbacks */
    CHECK(sgm_nll(&cfg, p, &den, NULL, 0, 3, d, x, lp, NULL, NULL, &err) ==
              SGM_ERR_UNSUPPORTED,
          "no grad");
    cfg.divergence = SGM_DIV_HUTCHINSON;
    CHECK(sgm_nll(&cfg, p, &den, &bad, 0, 3, d, x, lp, NULL, NULL, &err) ==
              SGM_ERR_UNSUPPORTED,
          "hutchinson without jvp");
    cfg.n_probes = 0;
    CHECK(sgm_nll(&cfg, p, &den, &gr, 0, 3, d, x, lp, NULL, NULL, &err) == SGM_ERR_INVALID_ARG,
          "zero probes");
    cfg = sgm_nll_config_default();
    cfg.rtol = -1;
    CHECK(sgm_nll(&cfg, p, &den, &gr, 0, 3, d, x, lp, NULL, NULL, &err) == SGM_ERR_INVALID_ARG,
          "negative rtol");
    cfg = sgm_nll_config_default();
    cfg.t_eps = 2;
    CHECK(sgm_nll(&cfg, p, &den, &gr, 0, 3, d, x, lp, NULL, NULL, &err) == SGM_ERR_INVALID_ARG,
          "t_eps > t_end");
    /* no failure wrote anything */
    CHECK(lp[0] == -7 && lp[1] == -7 && lp[2] == -7, "outputs untouched on failure");
    sgm_process_free(p);
    sgm_gmm_free(g);
    sgm_gmm_free(g3);
}

static void test_bpd(void) {
    double k[4] = {0, 255, 17, 128}, y[4], yc[4];
    sgm_error err;
    CHECK(sgm_dequantize_uniform(1, 0, 1, 4, k, 0, y, &err) == SGM_OK, "%s", err.msg);
    CHECK(sgm_dequantize_uniform(1, 0, 1, 4, k, 1, yc, &err) == SGM_OK, "%s", err.msg);
    for (int i = 0; i < 4; i++) {
        CHECK(y[i] >= k[i] / 256 && y[i] < (k[i] + 1) / 256, "bin of %g", k[i]);
        CHECK_CLOSE(yc[i], 2 * y[i] - 1, 1e-15, 1e-15, "centered = 2y - 1");
    }
    double bad[1] = {3.5};
    CHECK(sgm_dequantize_uniform(1, 0, 1, 1, bad, 0, y, &err) == SGM_ERR_INVALID_ARG,
          "non-integer level");
    /* a uniform density on [0,1]^D (logp = 0) is 8 bits per dim; on
       [-1,1]^D (logp = -D ln 2) also 8: the offsets are consistent */
    CHECK_CLOSE(sgm_bits_per_dim(0, 10, 0), 8, 1e-15, 1e-15, "bpd offset [0,1]");
    CHECK_CLOSE(sgm_bits_per_dim(-10 * log(2.0), 10, 1), 8, 1e-15, 1e-15,
                "bpd offset [-1,1]");
}

int main(void) {
    test_derivatives();
    test_exact(2, 64, SGM_PROCESS_VP_LINEAR, 1);
    test_exact(2, 32, SGM_PROCESS_VE, 0);
    test_exact(16, 32, SGM_PROCESS_VP_LINEAR, 1);
    test_exact(64, 16, SGM_PROCESS_VP_LINEAR, 0);
    test_exact(64, 8, SGM_PROCESS_SUBVP, 0);
    test_hutchinson(2, 64, 2, SGM_PROBE_RADEMACHER);
    test_hutchinson(16, 48, 4, SGM_PROBE_RADEMACHER);
    test_hutchinson(64, 24, 4, SGM_PROBE_GAUSSIAN);
    test_mlp();
    test_encode_decode(2, 16);
    test_encode_decode(16, 8);
    test_errors();
    test_bpd();
    TEST_MAIN_END();
}
