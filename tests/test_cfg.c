/* test_cfg.c - classifier-free guidance, CFG++ and thresholding (sgm_edit.h)
 * on the exact class-conditional mixture (class k = component k, whose exact
 * denoiser is the single Gaussian's): scale 0 is conditional sampling exactly
 * (and matches the component's mean within 5 standard errors), the two
 * conventions agree, batched = sequential, rescale phi = 0 is the identity
 * and phi = 1 matches the conditional std, outside the interval the query is
 * the conditional one, CFG++ at scale 0 is euler / euler_a / dpmpp_2m, the
 * NFE counters, thresholding, and refusals. */
#include "sgm/sgm_edit.h"
#include "test_util.h"

#define D 4
#define K 3
#define N 512

static sgm_gmm *make_gmm(void) {
    double w[K] = {0.5, 0.3, 0.2}, mu[K * D], sd[K * D];
    for (int k = 0; k < K; k++)
        for (int j = 0; j < D; j++) {
            mu[k * D + j] = (k - 1) * 2.0 + 0.2 * j;
            sd[k * D + j] = 0.4 + 0.1 * k;
        }
    sgm_gmm *g = NULL;
    sgm_error err;
    if (sgm_gmm_create(K, D, w, mu, sd, &g, &err)) exit(2);
    return g;
}

typedef struct run {
    const sgm_process *proc;
    const sgm_schedule *sched;
} run;

/* samples n rows from x_T = seed noise with sampler `name` and denoiser den
 * (hook: the unguided denoiser for CFG++, may be NULL) */
static void sample(const run *r, const char *name, const sgm_denoiser *den,
                   const sgm_denoiser *hook, double *x, size_t n) {
    sgm_error err;
    sgm_sampler_config sc;
    sgm_sampler_config_default(name, &sc, &err);
    sgm_sampler *s = NULL;
    if (sgm_sampler_create(&sc, r->proc, n, D, &s, &err)) exit(2);
    if (hook) sgm_sampler_set_unguided(s, hook, &err);
    sgm_rng_normal_rows_f64(1, 0, 0, n, D, x);
    double s0 = r->sched->sigma[0] * r->sched->alpha[0];
    for (size_t i = 0; i < n * D; i++) x[i] *= s0;
    sgm_rng rng = sgm_rng_init(3);
    sgm_status st = sgm_sampler_run(s, r->sched, den, &rng, 0, n, x, &err);
    CHECK(st == SGM_OK, "%s: %s", name, err.msg);
    sgm_sampler_free(s);
}

static double maxdiff(const double *a, const double *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

/* a conditional denoiser over the cond one with every label forced to `label` */
typedef struct fixed {
    sgm_cond_denoiser c;
    int label;
} fixed;
static int fixed_fn(const sgm_eval *q, void *out, void *user) {
    fixed *f = user;
    int lab[N];
    for (size_t i = 0; i < q->n; i++) lab[i] = f->label;
    return f->c.fn(q, lab, out, f->c.user_data);
}

static sgm_cfg *make_cfg(sgm_cond_denoiser *cond, sgm_cfg_config cc, int label) {
    sgm_cfg *c = NULL;
    sgm_error err;
    if (sgm_cfg_create(&cc, cond, &label, 1, &c, &err)) {
        fprintf(stderr, "cfg: %s\n", err.msg);
        exit(2);
    }
    return c;
}

static void test_scale0(const run *r, sgm_gmm *g, sgm_cond_denoiser *cond) {
    static double a[N * D], b[N * D];
    sgm_cfg_config cc = sgm_cfg_config_default();
    sgm_cfg *c = make_cfg(cond, cc, 2);
    sgm_denoiser den = sgm_cfg_denoiser(c);
    fixed f = {*cond, 2};
    sgm_denoiser plain = {fixed_fn, &f, SGM_PRED_X0};
    sample(r, "dpmpp_2m", &den, NULL, a, N);
    sample(r, "dpmpp_2m", &plain, NULL, b, N);
    CHECK(maxdiff(a, b, N * D) == 0, "w = 0 is conditional sampling, bit for bit");
    sgm_cfg_stats st;
    sgm_cfg_get_stats(c, &st);
    CHECK(st.guided == 0 && st.net_calls == st.queries, "w = 0: one call per query, unguided");
    /* the exact conditional model samples component 2: its mean within 5 SE */
    const double *mu = sgm_gmm_means(g), *sd = sgm_gmm_stds(g);
    for (int j = 0; j < D; j++) {
        double m = 0;
        for (int i = 0; i < N; i++) m += a[i * D + j] / r->sched->alpha[r->sched->n - 1];
        m /= N;
        double se = sd[2 * D + j] / sqrt((double)N);
        /* 5 standard errors of the sample mean, plus 0.02 of ODE discretisation */
        CHECK(fabs(m - mu[2 * D + j]) < 5 * se + 0.02, "class 2 mean[%d] %g vs %g", j, m,
              mu[2 * D + j]);
    }
    sgm_cfg_free(c);
}

/* one query of the cfg denoiser at (x, sigma) */
static void query(sgm_cfg *c, const double *x, size_t n, double sigma, double *out) {
    sgm_denoiser den = sgm_cfg_denoiser(c);
    sgm_eval q = {n, D, 0, SGM_F64, x, 0.5, 1, sigma};
    CHECK(den.fn(&q, out, den.user_data) == 0, "cfg query");
}

static void test_combination(sgm_cond_denoiser *cond) {
    enum { M = 16 };
    double x[M * D], o1[M * D], o2[M * D], oc[M * D], ou[M * D];
    sgm_rng_normal_rows_f64(5, 0, 0, M, D, x);
    int lab[M], nul[M];
    for (int i = 0; i < M; i++) lab[i] = 1, nul[i] = -1;
    sgm_eval q = {M, D, 0, SGM_F64, x, 0.5, 1, 0.7};
    cond->fn(&q, lab, oc, cond->user_data);
    cond->fn(&q, nul, ou, cond->user_data);
    sgm_cfg_config cc = sgm_cfg_config_default();
    cc.scale = 2;
    sgm_cfg *c = make_cfg(cond, cc, 1);
    query(c, x, M, 0.7, o1);
    double worst = 0;
    for (int i = 0; i < M * D; i++) worst = fmax(worst, fabs(o1[i] - (ou[i] + 3 * (oc[i] - ou[i]))));
    CHECK(worst == 0, "w = 2: D_u + 3 (D_c - D_u) (max diff %g)", worst);
    sgm_cfg_stats st;
    sgm_cfg_get_stats(c, &st);
    CHECK(st.net_calls == 1 && st.net_rows == 2 * M && st.guided == 1,
          "batched: one call of 2n rows (%zu calls, %zu rows)", st.net_calls, st.net_rows);
    sgm_cfg_free(c);
    /* the diffusers convention g = 3 and the sequential mode */
    cc.convention = SGM_CFG_SCALE;
    cc.scale = 3;
    cc.batched = 0;
    c = make_cfg(cond, cc, 1);
    query(c, x, M, 0.7, o2);
    CHECK(memcmp(o1, o2, sizeof o1) == 0, "(1 + w) with w = 2 = guidance_scale 3; batched = sequential");
    sgm_cfg_get_stats(c, &st);
    CHECK(st.net_calls == 2 && st.net_rows == 2 * M, "sequential: two calls of n rows");
    sgm_cfg_free(c);
    /* rescale: phi = 0 is the identity; phi = 1 gives each row the std of D_c */
    cc.rescale = 0;
    c = make_cfg(cond, cc, 1);
    query(c, x, M, 0.7, o2);
    CHECK(memcmp(o1, o2, sizeof o1) == 0, "rescale phi = 0: identity");
    sgm_cfg_free(c);
    cc.rescale = 1;
    c = make_cfg(cond, cc, 1);
    query(c, x, M, 0.7, o2);
    for (int i = 0; i < M; i++) {
        double mc = 0, mo = 0, vc = 0, vo = 0;
        for (int j = 0; j < D; j++) mc += oc[i * D + j] / D, mo += o2[i * D + j] / D;
        for (int j = 0; j < D; j++)
            vc += pow(oc[i * D + j] - mc, 2), vo += pow(o2[i * D + j] - mo, 2);
        /* a ratio of sums of squares: rounding only */
        CHECK_CLOSE(sqrt(vo), sqrt(vc), 1e-12, 0, "phi = 1: std(out) = std(D_c)");
    }
    sgm_cfg_free(c);
    /* interval: sigma outside [0.1, 0.5] -> D_c alone, one call of n rows */
    cc.rescale = 0;
    cc.interval_lo = 0.1;
    cc.interval_hi = 0.5;
    c = make_cfg(cond, cc, 1);
    query(c, x, M, 0.7, o2);
    CHECK(memcmp(o2, oc, sizeof oc) == 0, "outside the interval: the conditional prediction");
    query(c, x, M, 0.3, o2);
    sgm_cfg_get_stats(c, &st);
    CHECK(st.queries == 2 && st.guided == 1 && st.net_calls == 3,
          "interval: guided once (%zu guided, %zu calls)", st.guided, st.net_calls);
    sgm_cfg_free(c);
}

static void test_cfgpp(const run *r, sgm_cond_denoiser *cond) {
    static double a[N * D], b[N * D];
    const char *pp[3] = {"euler_cfgpp", "euler_a_cfgpp", "dpmpp_2m_cfgpp"};
    const char *base[3] = {"euler", "euler_a", "dpmpp_2m"};
    sgm_cfg_config cc = sgm_cfg_config_default();
    for (int m = 0; m < 3; m++) {
        cc.scale = 0;
        sgm_cfg *c = make_cfg(cond, cc, 0);
        sgm_denoiser den = sgm_cfg_denoiser(c), hook = sgm_cfg_unguided(c);
        sample(r, pp[m], &den, &hook, a, N);
        sample(r, base[m], &den, NULL, b, N);
        /* scale 0: U = D, the same update written differently: rounding only */
        double e = maxdiff(a, b, N * D);
        CHECK(e < 1e-12, "%s at scale 0 = %s (max diff %g)", pp[m], base[m], e);
        sgm_cfg_free(c);
        /* with guidance the re-noising differs from plain CFG */
        cc.scale = 0.5;
        c = make_cfg(cond, cc, 0);
        den = sgm_cfg_denoiser(c), hook = sgm_cfg_unguided(c);
        sample(r, pp[m], &den, &hook, a, N);
        sample(r, base[m], &den, NULL, b, N);
        int finite = 1;
        for (int i = 0; i < N * D; i++) finite &= isfinite(a[i]);
        CHECK(finite && maxdiff(a, b, N * D) > 1e-3, "%s with w = 0.5 differs from CFG", pp[m]);
        sgm_cfg_free(c);
    }
}

static void test_threshold(void) {
    double x[2 * 5] = {0.1, -0.2, 0.3, 0.4, 0.5, 3, -1, 0.5, 0.2, 2};
    double o[10];
    sgm_error err;
    sgm_gmm *g = NULL;
    double w = 1, sd = 1e9; /* a very wide Gaussian: D(x) = x up to 1e-18 */
    sgm_gmm_create(1, 5, &w, (double[]){0, 0, 0, 0, 0}, (double[]){sd, sd, sd, sd, sd}, &g, &err);
    sgm_denoiser inner = sgm_gmm_denoiser(g);
    sgm_threshold_config tc = sgm_threshold_config_default();
    tc.kind = SGM_THRESH_DYNAMIC;
    tc.percentile = 0.75;
    sgm_threshold *t = NULL;
    CHECK(sgm_threshold_create(&tc, &inner, NULL, &t, &err) == SGM_OK, "threshold create");
    sgm_denoiser den = sgm_threshold_denoiser(t);
    sgm_eval q = {2, 5, 0, SGM_F64, x, 0, 1, 1e-3};
    den.fn(&q, o, den.user_data);
    /* row 0: |x| <= 1: unchanged (s = max(1, q) = 1) */
    CHECK(maxdiff(o, x, 5) < 1e-12, "dynamic: a row inside [-1, 1] unchanged");
    /* row 1: |x| sorted 0.2 0.5 1 2 3, quantile 0.75 at position 3 -> s = 2 */
    double want[5] = {1, -0.5, 0.25, 0.1, 1};
    CHECK(maxdiff(o + 5, want, 5) < 1e-9, "dynamic: s = 2, clip then divide");
    sgm_threshold_free(t);
    tc.kind = SGM_THRESH_CLIP;
    sgm_threshold_create(&tc, &inner, NULL, &t, &err);
    den = sgm_threshold_denoiser(t);
    den.fn(&q, o, den.user_data);
    double want2[5] = {1, -1, 0.5, 0.2, 1};
    CHECK(maxdiff(o + 5, want2, 5) < 1e-9, "clip to [-1, 1]");
    sgm_threshold_free(t);
    tc.percentile = 1.5;
    CHECK(sgm_threshold_create(&tc, &inner, NULL, &t, &err) == SGM_ERR_INVALID_ARG,
          "percentile 1.5 refused");
    sgm_gmm_free(g);
}

static void test_refusals(sgm_cond_denoiser *cond) {
    sgm_cfg *c = NULL;
    sgm_error err;
    int lab = 0;
    sgm_cfg_config cc = sgm_cfg_config_default();
    sgm_cond_denoiser none = *cond;
    none.n_classes = 0;
    CHECK(sgm_cfg_create(&cc, &none, &lab, 1, &c, &err) == SGM_ERR_INVALID_ARG &&
              strstr(err.msg, "no classes"),
          "guidance on a model without classes: %s", err.msg);
    cc.scale = -1;
    CHECK(sgm_cfg_create(&cc, cond, &lab, 1, &c, &err) == SGM_ERR_INVALID_ARG, "negative scale");
    cc.scale = 1;
    cc.rescale = 1.5;
    CHECK(sgm_cfg_create(&cc, cond, &lab, 1, &c, &err) == SGM_ERR_INVALID_ARG, "phi 1.5");
    cc.rescale = 0;
    lab = K;
    CHECK(sgm_cfg_create(&cc, cond, &lab, 1, &c, &err) == SGM_ERR_INVALID_ARG, "label K");
    lab = 0;
    cc.interval_lo = 2, cc.interval_hi = 1;
    CHECK(sgm_cfg_create(&cc, cond, &lab, 1, &c, &err) == SGM_ERR_INVALID_ARG, "empty interval");
    CHECK(c == NULL, "no object on failure");
}

int main(void) {
    sgm_gmm *g = make_gmm();
    sgm_cond_denoiser cond = sgm_gmm_cond_denoiser(g);
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VP_LINEAR);
    sgm_process *p = NULL;
    sgm_error err;
    if (sgm_process_create(&pc, &p, &err)) return 2;
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_KARRAS);
    sc.steps = 30;
    sgm_schedule *sch = NULL;
    if (sgm_schedule_create(&sc, p, &sch, &err)) return 2;
    run r = {p, sch};
    test_scale0(&r, g, &cond);
    test_combination(&cond);
    test_cfgpp(&r, &cond);
    test_threshold();
    test_refusals(&cond);
    sgm_schedule_free(sch);
    sgm_process_free(p);
    sgm_gmm_free(g);
    TEST_MAIN_END();
}
