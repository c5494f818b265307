/* test_diffusers_samplers.c - properties of ddim, pndm, deis and unipc beyond
 * the reference cases (which cover eta = 0, skip_prk = 1, order 2 and a final
 * sigma_min for UniPC bh1): on the exact 2-D GMM with a discrete linear-beta
 * VP process,
 *   - every method stays finite on a schedule ending at sigma = 0, including
 *     UniPC bh1 (NaN in diffusers) with and without lower_order_final;
 *   - the higher-order methods (PNDM with its PRK warm-up, DEIS 2/3, UniPC
 *     1-3 bh1/bh2, with and without the corrector) are more accurate than DDIM
 *     at 100 steps against a 1000-step third-order solution of the same ODE;
 *   - DDIM with eta > 0 is reproducible for a seed and differs from eta = 0;
 *   - bad orders are rejected. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sgm.h"
#include "test_util.h"

enum { N = 64, D = 2 };

static sgm_gmm *g;
static sgm_process *proc;
static double x_init[N * D];

static sgm_schedule *spacing(sgm_schedule_kind kind, int steps, sgm_final fin) {
    sgm_schedule_config sc = sgm_schedule_config_default(kind);
    sc.steps = steps;
    sc.grid = SGM_DGRID_DPMSOLVER;
    sc.final_point = fin;
    sgm_schedule *s = NULL;
    sgm_error err;
    CHECK(sgm_schedule_create(&sc, proc, &s, &err) == SGM_OK, "%s", err.msg);
    return s;
}

/* runs cfg over the schedule from x_init (process coordinates); returns status */
static sgm_status run(const sgm_sampler_config *cfg, const sgm_schedule *sch, double *out,
                      uint64_t seed) {
    sgm_sampler *s = NULL;
    sgm_error err;
    sgm_status st = sgm_sampler_create(cfg, proc, N, D, &s, &err);
    CHECK(st == SGM_OK, "%s: %s", cfg->method, err.msg);
    if (st) return st;
    memcpy(out, x_init, sizeof x_init);
    sgm_denoiser den = sgm_gmm_denoiser(g);
    sgm_rng rng = sgm_rng_init(seed);
    st = sgm_sampler_run(s, sch, &den, &rng, 0, N, out, &err);
    CHECK(st == SGM_OK, "%s: %s", cfg->method, err.msg);
    sgm_sampler_free(s);
    return st;
}

static double max_diff(const double *a, const double *b) {
    double m = 0;
    for (int i = 0; i < N * D; i++) {
        double e = fabs(a[i] - b[i]);
        if (!(e <= m)) m = e;
    }
    return m;
}

static sgm_sampler_config config(const char *method) {
    sgm_sampler_config c;
    sgm_error err;
    CHECK(sgm_sampler_config_default(method, &c, &err) == SGM_OK, "%s", err.msg);
    return c;
}

int main(void) {
    char path[4096];
    sgm_error err;
    CHECK(sgm_gmm_load(tu_src("tests/data/models/gmm2d.json", path, sizeof path), &g, &err) ==
              SGM_OK,
          "%s", err.msg);
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VP_DISCRETE);
    pc.interp = SGM_INTERP_LOG_SIGMA;
    CHECK(sgm_process_create(&pc, &proc, &err) == SGM_OK, "%s", err.msg);
    if (!g || !proc) TEST_MAIN_END();
    sgm_rng r0 = sgm_rng_init(7);
    sgm_rng_normal(&r0, 0, N, D, SGM_F64, x_init); /* x_T ~ N(0, I) at timestep 999 */

    /* reference: DEIS order 3 on every training timestep. The accuracy runs end
     * at timestep 0 (sigma_min), so the error is that of the ODE integration and
     * not of the final jump to sigma = 0 (where every method returns D) */
    static double ref[N * D], out[N * D], ddim_out[N * D];
    sgm_schedule *fine = spacing(SGM_SCHEDULE_TRAILING, 1000, SGM_FINAL_NONE);
    sgm_sampler_config c = config("deis");
    c.order = 3;
    run(&c, fine, ref, 0);
    sgm_schedule *s100 = spacing(SGM_SCHEDULE_TRAILING, 100, SGM_FINAL_SIGMA_MIN);
    c = config("ddim");
    run(&c, s100, ddim_out, 0);
    double e_ddim = max_diff(ddim_out, ref);
    printf("ddim 100 steps: max error %.3g\n", e_ddim);
    /* DDIM is first order: 100 steps leave an error (3e-2) far above the
     * reference's own (1e-4, its distance to UniPC-3 on the same grid) */
    CHECK(e_ddim > 1e-2 && e_ddim < 0.1, "ddim error %g", e_ddim);

    struct {
        const char *m;
        int order, skip_prk, n_corr;
        sgm_solver_type st;
    } hi[] = {{"pndm", 4, 0, 1, SGM_SOLVER_MIDPOINT}, {"pndm", 4, 1, 1, SGM_SOLVER_MIDPOINT},
              {"deis", 2, 0, 1, SGM_SOLVER_LOGRHO},   {"deis", 3, 0, 1, SGM_SOLVER_LOGRHO},
              {"unipc", 1, 0, 1, SGM_SOLVER_BH1},     {"unipc", 2, 0, 1, SGM_SOLVER_BH1},
              {"unipc", 3, 0, 1, SGM_SOLVER_BH1},     {"unipc", 2, 0, 1, SGM_SOLVER_BH2},
              {"unipc", 3, 0, 1, SGM_SOLVER_BH2},     {"unipc", 2, 0, 0, SGM_SOLVER_BH2}};
    for (size_t k = 0; k < sizeof hi / sizeof hi[0]; k++) {
        c = config(hi[k].m);
        c.order = hi[k].order;
        c.skip_prk = hi[k].skip_prk;
        c.n_corrector = hi[k].n_corr;
        c.solver_type = hi[k].st;
        if (run(&c, s100, out, 0)) continue;
        double e = max_diff(out, ref);
        printf("%s order %d skip_prk %d corrector %d solver %d: max error %.3g\n", hi[k].m,
               hi[k].order, hi[k].skip_prk, hi[k].n_corr, (int)hi[k].st, e);
        /* a multistep / corrected method of order >= 2 (UniPC order 1 is
         * second order through its corrector) must beat first-order DDIM at
         * 100 steps; the smallest gap seen is 3x (DEIS-2, UniPC-1), so a
         * factor 2 is safe. (At 25 steps this 2-mode GMM is not yet in the
         * asymptotic regime and extrapolating multistep methods are no better
         * than DDIM there, in diffusers as here.) */
        CHECK(e < 0.5 * e_ddim, "%s order %d: error %g vs ddim %g", hi[k].m, hi[k].order, e,
              e_ddim);
    }

    /* UniPC bh1 / bh2 with a final sigma of 0, with and without lower_order_final */
    for (int lof = 0; lof < 2; lof++)
        for (int bh = 0; bh < 2; bh++) {
            sgm_schedule *s10 = spacing(SGM_SCHEDULE_LINSPACE, 10, SGM_FINAL_ZERO);
            c = config("unipc");
            c.solver_type = bh ? SGM_SOLVER_BH2 : SGM_SOLVER_BH1;
            c.lower_order_final = lof ? SGM_LOF_DIFFUSERS : SGM_LOF_NONE;
            c.order = 3;
            /* run() fails on a non-finite result (SGM_ERR_NONFINITE) */
            CHECK(run(&c, s10, out, 0) == SGM_OK, "unipc bh%d lof %d", bh + 1, lof);
            sgm_schedule_free(s10);
        }

    /* DDIM eta = 1: a seed reproduces the run; noise changes the result */
    c = config("ddim");
    c.eta = 1;
    static double a1[N * D], a2[N * D];
    run(&c, s100, a1, 11);
    run(&c, s100, a2, 11);
    CHECK(max_diff(a1, a2) == 0, "ddim eta 1 not reproducible");
    CHECK(max_diff(a1, ddim_out) > 1e-3, "ddim eta 1 equals eta 0");
    c.eta = 1.5;
    sgm_sampler *bad = NULL;
    CHECK(sgm_sampler_create(&c, proc, N, D, &bad, &err) == SGM_ERR_INVALID_ARG, "eta 1.5");
    c = config("deis");
    c.order = 4;
    CHECK(sgm_sampler_create(&c, proc, N, D, &bad, &err) == SGM_ERR_INVALID_ARG, "deis 4");
    c = config("unipc");
    c.order = 4;
    CHECK(sgm_sampler_create(&c, proc, N, D, &bad, &err) == SGM_ERR_INVALID_ARG, "unipc 4");

    sgm_schedule_free(fine);
    sgm_schedule_free(s100);
    sgm_process_free(proc);
    sgm_gmm_free(g);
    TEST_MAIN_END();
}
