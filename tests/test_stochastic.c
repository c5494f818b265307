/* test_stochastic.c - every stochastic sampler draws from the right
 * distribution: 20,000 samples of the 8-component ring mixture
 * (tests/data/models/gmm2d.json, exact denoiser) at 100 steps; the sample
 * mean, the sample covariance and the per-component mass must agree with the
 * exact mixture's values within 5 standard errors.
 *
 * Standard errors come from the exact mixture, not from the samples:
 *   mean_i:   sqrt(C_ii / N)                     (C = exact covariance)
 *   cov_ij:   sqrt((E[y_i^2 y_j^2] - C_ij^2) / N), y = x - m, with the
 *             fourth moments of the mixture in closed form (per component,
 *             y_i ~ N(a_i, s_i^2) independently across i, a = mu_k - m:
 *             E[y_i^4] = a^4 + 6 a^2 s^2 + 3 s^4, E[y_i^2 y_j^2] =
 *             (a_i^2 + s_i^2)(a_j^2 + s_j^2)); the O(1/N) effect of using
 *             the sample mean is far below one SE.
 *   mass_k:   the mean posterior responsibility r_k(x) at sigma = 0, whose
 *             expectation under the mixture is exactly w_k; r_k is in [0, 1]
 *             with mean w_k, so Var r_k <= w_k (1 - w_k) and
 *             sqrt(w_k (1 - w_k) / N) is a (slightly conservative) SE.
 * Starting points are exact draws of the forward marginal at t_0
 * (x = alpha x0 + sigma n with x0 from the mixture), so the prior mismatch
 * plays no part; every schedule ends at sigma = 0 (SGM_FINAL_ZERO) so the
 * samples are clean. Samples are deterministic (fixed seeds), so the test
 * does not flake; with 13 statistics per sampler at 5 SE a correct sampler
 * would fail by chance with probability ~1e-5.
 *
 * SGM_TEST_QUICK=1 (for sanitizer builds) uses 4,000 samples: the standard
 * errors grow accordingly, the threshold stays 5 SE.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgm.h"
#include "test_util.h"

typedef struct scase {
    const char *method;
    sgm_process_kind proc;
    sgm_schedule_kind sched;
    double eta;      /* < 0: the method's default */
    int brownian;    /* 1: SGM_NOISE_BROWNIAN, 0: the method's default */
    int batch_norm;  /* 1: SGM_NORM_BATCH (pc: score_sde's batch-averaged norms) */
    const char *corrector; /* pc: cfg.corrector (NULL: score_sde's Langevin) */
} scase;

/* k-diffusion samplers on VE + karras (their home ground), the DDPM / DDIM /
 * score-SDE / SA-Solver family on VP (linear beta) + uniform time; em also on
 * VE (f = 0, g^2 = 2 sigma); euler_a also with Brownian-tree noise (ddpm on
 * VE + karras is the same update as euler_a, so it is not repeated); pc also
 * with score_sde's batch-averaged corrector norms. */
static const scase CASES[] = {
    {"euler_a", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 0, 0, NULL},
    {"euler_a", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 1, 0, NULL},
    {"euler_a_cfgpp", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 0, 0, NULL}, /* no hook: euler_a */
    {"dpm2_a", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 0, 0, NULL},
    {"dpmpp_2s_a", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 0, 0, NULL},
    {"dpmpp_sde", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 0, 0, NULL},
    {"dpmpp_2m_sde", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 0, 0, NULL},
    {"dpmpp_3m_sde", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 0, 0, NULL},
    {"ddpm", SGM_PROCESS_VP_LINEAR, SGM_SCHEDULE_TIME_UNIFORM, -1, 0, 0, NULL},
    {"ddim", SGM_PROCESS_VP_LINEAR, SGM_SCHEDULE_TIME_UNIFORM, 1, 0, 0, NULL},
    {"em", SGM_PROCESS_VP_LINEAR, SGM_SCHEDULE_TIME_UNIFORM, -1, 0, 0, NULL},
    {"em", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 0, 0, NULL},
    {"pc", SGM_PROCESS_VP_LINEAR, SGM_SCHEDULE_TIME_UNIFORM, -1, 0, 0, NULL},
    {"pc", SGM_PROCESS_VP_LINEAR, SGM_SCHEDULE_TIME_UNIFORM, -1, 0, 1, NULL},
    {"sa_solver", SGM_PROCESS_VP_LINEAR, SGM_SCHEDULE_TIME_UNIFORM, -1, 0, 0, NULL},
    /* Gotta Go Fast with one step size for the batch: its per-sample mode
     * rejects on a 2-value RMS and so selects against large noise draws in
     * 2-D (docs/samplers.md); langevin.c's MCMC at every karras level */
    {"sde_adaptive", SGM_PROCESS_VP_LINEAR, SGM_SCHEDULE_TIME_UNIFORM, -1, 0, 1, NULL},
    {"ula", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 0, 0, NULL},
    {"mala", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 0, 0, NULL},
    {"ubla", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 0, 0, NULL},
    {"rmm", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 0, 0, NULL},
    /* ComfyUI samplers (lcm is left out: re-noising the exact posterior mean
       is not a sampler of the data distribution, its within-component spread
       shrinks by design) */
    {"er_sde", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 0, 0, NULL},
    {"seeds_2", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 0, 0, NULL},
    {"seeds_3", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 0, 0, NULL},
    {"res_multistep_a", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 0, 0, NULL},
    {"sa_solver_comfy", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 0, 0, NULL},
    {"sa_solver_pece", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 0, 0, NULL},
    /* restart with its default segments [3,2,0.06,0.30],[3,1,0.30,0.59]; pc
       with each Langevin sampler as its corrector (default step_size 0.1) */
    {"restart", SGM_PROCESS_VE, SGM_SCHEDULE_KARRAS, -1, 0, 0, NULL},
    {"pc", SGM_PROCESS_VP_LINEAR, SGM_SCHEDULE_TIME_UNIFORM, -1, 0, 0, "ula"},
    {"pc", SGM_PROCESS_VP_LINEAR, SGM_SCHEDULE_TIME_UNIFORM, -1, 0, 0, "mala"},
    {"pc", SGM_PROCESS_VP_LINEAR, SGM_SCHEDULE_TIME_UNIFORM, -1, 0, 0, "ubla"},
    {"pc", SGM_PROCESS_VP_LINEAR, SGM_SCHEDULE_TIME_UNIFORM, -1, 0, 0, "rmm"},
    /* the MR Sampler on the mean-reverting process (lambda 1): the plain
       mixture denoiser is its exact denoiser for mu = 0 (tests/test_mr.c
       covers mu != 0) */
    {"mrs_sde", SGM_PROCESS_MR, SGM_SCHEDULE_TIME_UNIFORM, -1, 0, 0, NULL},
};

/* mala: the mixture's log p_sigma */
static int gmm_logp(size_t n, size_t d, const double *x, double sigma, double *logp, void *u) {
    (void)d;
    sgm_gmm_logpdf(u, n, x, sigma, logp);
    return 0;
}

typedef struct exact_moments {
    double m[2], C[2][2], se_m[2], se_C[2][2];
} exact_moments;

static exact_moments mixture_moments(const sgm_gmm *g, size_t N) {
    exact_moments e;
    memset(&e, 0, sizeof e);
    size_t K = sgm_gmm_components(g);
    const double *w = sgm_gmm_weights(g), *mu = sgm_gmm_means(g), *sd = sgm_gmm_stds(g);
    for (size_t k = 0; k < K; k++)
        for (int i = 0; i < 2; i++) e.m[i] += w[k] * mu[2 * k + i];
    double m4[2][2] = {{0, 0}, {0, 0}};
    for (size_t k = 0; k < K; k++) {
        double a[2], v[2];
        for (int i = 0; i < 2; i++) {
            a[i] = mu[2 * k + i] - e.m[i];
            v[i] = sd[2 * k + i] * sd[2 * k + i];
        }
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                e.C[i][j] += w[k] * (a[i] * a[j] + (i == j ? v[i] : 0));
                if (i == j)
                    m4[i][j] += w[k] * (a[i] * a[i] * a[i] * a[i] + 6 * a[i] * a[i] * v[i] +
                                        3 * v[i] * v[i]);
                else
                    m4[i][j] += w[k] * (a[i] * a[i] + v[i]) * (a[j] * a[j] + v[j]);
            }
    }
    for (int i = 0; i < 2; i++) {
        e.se_m[i] = sqrt(e.C[i][i] / (double)N);
        for (int j = 0; j < 2; j++)
            e.se_C[i][j] = sqrt((m4[i][j] - e.C[i][j] * e.C[i][j]) / (double)N);
    }
    return e;
}

/* Runs one case; returns the worst |z| over the statistics (INFINITY on failure). */
static double run_case(const scase *c, const sgm_gmm *g, const exact_moments *ex, size_t N,
                       double *x, double *resp) {
    sgm_error err = {0};
    char what[80];
    snprintf(what, sizeof what, "%s/%s%s%s%s%s", c->method,
             c->proc == SGM_PROCESS_VE ? "ve-karras" : "vp-uniform",
             c->brownian ? "/brownian" : "", c->batch_norm ? "/batch" : "",
             c->corrector ? "/" : "", c->corrector ? c->corrector : "");
    snprintf(what, sizeof what, "%s/%s%s%s", c->method,
             c->proc == SGM_PROCESS_VE ? "ve-karras"
             : c->proc == SGM_PROCESS_MR ? "mr-uniform"
                                         : "vp-uniform",
             c->brownian ? "/brownian" : "", c->batch_norm ? "/batch" : "");
    sgm_process_config pc = sgm_process_config_default(c->proc);
    sgm_process *proc = NULL;
    sgm_schedule *sched = NULL;
    sgm_sampler *smp = NULL;
    double worst = INFINITY;
    sgm_status st = sgm_process_create(&pc, &proc, &err);
    if (!st) {
        sgm_schedule_config sc = sgm_schedule_config_default(c->sched);
        /* MCMC samplers (n_corrector steps per level by default) anneal over
         * 50 levels: fewer let excess variance from the wide levels survive
         * (20 karras levels x 5 ULA steps: var 11.3 for 8.09) */
        sgm_sampler_config probe;
        sc.steps = sgm_sampler_config_default(c->method, &probe, &err) || probe.n_corrector < 2 ||
                           strcmp(c->method, "pc") == 0
                       ? 100
                       : 50;
        sc.final_point = SGM_FINAL_ZERO;
        st = sgm_schedule_create(&sc, proc, &sched, &err);
    }
    sgm_sampler_config cfg;
    if (!st) st = sgm_sampler_config_default(c->method, &cfg, &err);
    if (!st) {
        if (c->eta >= 0) cfg.eta = c->eta;
        if (c->brownian) cfg.noise = SGM_NOISE_BROWNIAN;
        if (c->batch_norm) cfg.error_norm = SGM_NORM_BATCH;
        if (c->corrector) snprintf(cfg.corrector, sizeof cfg.corrector, "%s", c->corrector);
        st = sgm_sampler_create(&cfg, proc, N, 2, &smp, &err);
    }
    if (!st) {
        /* exact draws of the marginal at t_0: x = alpha x0 + sigma n */
        double a0 = sched->alpha[0], s0 = sched->sigma[0] * a0;
        double *nz = malloc(N * 2 * sizeof *nz);
        sgm_gmm_sample(g, 31, 0, 0, N, x);
        sgm_rng_normal_rows_f64(31, 1, 0, N, 2, nz);
        for (size_t i = 0; i < 2 * N; i++) x[i] = a0 * x[i] + s0 * nz[i];
        free(nz);
        sgm_rng rng = sgm_rng_init(77);
        sgm_denoiser den = sgm_gmm_denoiser(g);
        sgm_sampler_set_log_density(smp, gmm_logp, (void *)g);
        st = sgm_sampler_run(smp, sched, &den, &rng, 0, N, x, &err);
    }
    CHECK(st == SGM_OK, "%s: %s (%s)", what, sgm_status_str(st), err.msg);
    if (st == SGM_OK) {
        int finite = 1;
        for (size_t i = 0; i < 2 * N; i++) finite &= isfinite(x[i]) != 0;
        CHECK(finite, "%s: non-finite samples", what);
        double m[2] = {0, 0}, C[2][2] = {{0, 0}, {0, 0}};
        for (size_t r = 0; r < N; r++)
            for (int i = 0; i < 2; i++) m[i] += x[2 * r + i] / (double)N;
        for (size_t r = 0; r < N; r++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                    C[i][j] += (x[2 * r + i] - m[i]) * (x[2 * r + j] - m[j]) / (double)(N - 1);
        size_t K = sgm_gmm_components(g);
        const double *w = sgm_gmm_weights(g);
        sgm_gmm_responsibilities(g, N, x, 0, resp);
        worst = 0;
        double zm[2], zc[3];
        for (int i = 0; i < 2; i++) {
            zm[i] = (m[i] - ex->m[i]) / ex->se_m[i];
            CHECK(fabs(zm[i]) < 5, "%s: mean[%d] %.4f exact %.4f (%.1f SE)", what, i, m[i],
                  ex->m[i], zm[i]);
            worst = fmax(worst, fabs(zm[i]));
        }
        int q = 0;
        for (int i = 0; i < 2; i++)
            for (int j = i; j < 2; j++, q++) {
                zc[q] = (C[i][j] - ex->C[i][j]) / ex->se_C[i][j];
                CHECK(fabs(zc[q]) < 5, "%s: cov[%d][%d] %.4f exact %.4f (%.1f SE)", what, i, j,
                      C[i][j], ex->C[i][j], zc[q]);
                worst = fmax(worst, fabs(zc[q]));
            }
        double zmass = 0;
        for (size_t k = 0; k < K; k++) {
            double mk = 0;
            for (size_t r = 0; r < N; r++) mk += resp[r * K + k];
            mk /= (double)N;
            double z = (mk - w[k]) / sqrt(w[k] * (1 - w[k]) / (double)N);
            CHECK(fabs(z) < 5, "%s: mass[%zu] %.4f exact %.4f (%.1f SE)", what, k, mk, w[k], z);
            if (fabs(z) > fabs(zmass)) zmass = z;
        }
        worst = fmax(worst, fabs(zmass));
        sgm_sampler_stats stats;
        sgm_sampler_get_stats(smp, &stats);
        printf("%-28s nfe %4zu  z: mean %+5.2f %+5.2f  cov %+5.2f %+5.2f %+5.2f  mass %+5.2f\n",
               what, stats.nfe, zm[0], zm[1], zc[0], zc[1], zc[2], zmass);
    } else {
        printf("%-28s FAILED: %s\n", what, err.msg);
    }
    sgm_sampler_free(smp);
    sgm_schedule_free(sched);
    sgm_process_free(proc);
    return worst;
}

/* A row's result does not depend on the batch it runs in (bitwise): rows
 * 16..31 of a 48-row run against the same rows run alone, for the samplers
 * of src/sampler/ddpm.c and sde.c, with both noise sources. */
static void batch_independence(const char *method, int brownian, const sgm_gmm *g) {
    enum { NB = 48, R0 = 16, NR = 16 };
    sgm_error err = {0};
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VP_LINEAR);
    sgm_process *proc = NULL;
    sgm_schedule *sched = NULL;
    sgm_process_create(&pc, &proc, &err);
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_TIME_UNIFORM);
    sc.steps = 20;
    sgm_schedule_create(&sc, proc, &sched, &err);
    sgm_sampler_config cfg;
    sgm_sampler_config_default(method, &cfg, &err);
    if (brownian) cfg.noise = SGM_NOISE_BROWNIAN;
    double all[NB * 2], part[NR * 2];
    sgm_rng_normal_rows_f64(3, 0, 0, NB, 2, all);
    memcpy(part, all + R0 * 2, sizeof part);
    sgm_denoiser den = sgm_gmm_denoiser(g);
    sgm_status st = SGM_ERR_INVALID_ARG;
    for (int k = 0; k < 2; k++) {
        sgm_sampler *smp = NULL;
        sgm_rng rng = sgm_rng_init(5);
        st = sgm_sampler_create(&cfg, proc, NB, 2, &smp, &err);
        if (!st) st = k ? sgm_sampler_run(smp, sched, &den, &rng, R0, NR, part, &err)
                        : sgm_sampler_run(smp, sched, &den, &rng, 0, NB, all, &err);
        sgm_sampler_free(smp);
        if (st) break;
    }
    CHECK(st == SGM_OK && memcmp(part, all + R0 * 2, sizeof part) == 0,
          "%s (brownian %d): rows depend on the batch (%s)", method, brownian, err.msg);
    sgm_schedule_free(sched);
    sgm_process_free(proc);
}

int main(void) {
    const char *quick = getenv("SGM_TEST_QUICK");
    size_t N = quick && *quick && *quick != '0' ? 4000 : 20000;
    char path[512];
    sgm_error err = {0};
    sgm_gmm *g = NULL;
    if (sgm_gmm_load(tu_src("tests/data/models/gmm2d.json", path, sizeof path), &g, &err)) {
        fprintf(stderr, "cannot load the mixture: %s\n", err.msg);
        return 1;
    }
    exact_moments ex = mixture_moments(g, N);
    printf("%zu samples; exact mean (%.3f, %.3f), cov [[%.4f %.4f] [%.4f %.4f]], SE of var %.4f\n",
           N, ex.m[0], ex.m[1], ex.C[0][0], ex.C[0][1], ex.C[1][0], ex.C[1][1], ex.se_C[0][0]);
    double *x = malloc(N * 2 * sizeof *x);
    double *resp = malloc(N * sgm_gmm_components(g) * sizeof *resp);

    /* every stochastic sampler in the registry must appear in CASES */
    for (size_t i = 0; i < sgm_method_count(); i++) {
        const sgm_method_info *mi = sgm_method_at(i);
        if (!mi->stochastic) continue;
        /* lcm (consistency sampling) re-noises the exact posterior mean: not
           a sampler of the data distribution, exempt (see CASES) */
        int found = strcmp(mi->name, "lcm") == 0;
        for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++)
            found |= strcmp(CASES[c].method, mi->name) == 0;
        CHECK(found, "stochastic sampler %s has no moment test", mi->name);
    }

    const char *const own[3] = {"ddpm", "em", "pc"};
    for (int i = 0; i < 3; i++)
        for (int b = 0; b < 2; b++) batch_independence(own[i], b, g);

    const char *filter = getenv("SGM_STOCHASTIC_FILTER");
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        if (filter && *filter && !strstr(CASES[c].method, filter)) continue;
        run_case(&CASES[c], g, &ex, N, x, resp);
    }
    free(x);
    free(resp);
    sgm_gmm_free(g);
    TEST_MAIN_END();
}
