/* test_schedule_opt.c - the schedule optimiser (sgm_schedule_opt.h) on a
 * small problem: a 4-D two-component mixture with unequal, anisotropic scales
 * (0.05 .. 2), VE process, 16 rows.
 *   - the standard schedules between the problem's endpoints: karras equals
 *     the library's karras schedule, ays ends exactly at both endpoints;
 *   - the optimised schedule of dpmpp_2m at NFE 4 keeps the endpoints, stays
 *     strictly decreasing, uses 4 NFE, and lowers the calibration error
 *     against the rk45 reference well below the best standard start;
 *   - its error re-evaluated with sgm_schedule_problem_error is the reported
 *     one; a second run gives the same schedule bit for bit (deterministic);
 *   - a progress callback that returns non-zero stops the search early;
 *   - bad input: nfe < 1, an unknown sampler, a stochastic sampler, a list
 *     with other endpoints, an unknown start kind.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sgm.h"
#include "sgm/sgm_schedule_opt.h"
#include "test_util.h"

static int stop_after_first_sweep(const sgm_schedule_opt_progress *p, void *ud) {
    int *calls = ud;
    (*calls)++;
    return strcmp(p->phase, "sweep") == 0;
}

int main(void) {
    sgm_error err = {0};
    sgm_gmm *g = NULL;
    sgm_process *proc = NULL;
    const double w2[2] = {0.3, 0.7};
    const double mu[8] = {1, 0, -1, 2, -1, 0.5, 1, -2};
    const double sd[8] = {0.05, 0.2, 1, 0.5, 0.1, 0.3, 0.6, 2};
    CHECK(sgm_gmm_create(2, 4, w2, mu, sd, &g, &err) == SGM_OK, "mixture: %s", err.msg);
    sgm_process_config pcfg = sgm_process_config_default(SGM_PROCESS_VE);
    CHECK(sgm_process_create(&pcfg, &proc, &err) == SGM_OK, "process: %s", err.msg);
    if (!g || !proc) TEST_MAIN_END();

    sgm_schedule_problem_config pc;
    sgm_schedule_problem_config_default(&pc);
    pc.proc = proc;
    pc.den = sgm_gmm_denoiser(g);
    pc.d = 4;
    pc.n = 16;
    pc.ref_rtol = pc.ref_atol = 1e-8; /* 1e-8: far below the NFE-4 errors (~1e-1) */
    sgm_schedule_problem *p = NULL;
    CHECK(sgm_schedule_problem_create(&pc, &p, &err) == SGM_OK, "problem: %s", err.msg);
    if (!p) TEST_MAIN_END();
    double smin = 0, smax = 0;
    sgm_schedule_problem_range(p, &smin, &smax);
    CHECK(smin == 0.002 && smax == 80, "VE range %g .. %g", smin, smax);
    CHECK(sgm_schedule_problem_ref_nfe(p) > 0, "reference NFE");

    /* standard schedules between the endpoints */
    double s[5], k[5];
    CHECK(sgm_schedule_standard_sigmas(proc, SGM_SCHEDULE_KARRAS, NULL, 4, smin, smax, k,
                                       &err) == SGM_OK, "karras: %s", err.msg);
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_KARRAS);
    sc.steps = 4;
    sc.final_point = SGM_FINAL_SIGMA_MIN;
    sgm_schedule *ks = NULL;
    CHECK(sgm_schedule_create(&sc, proc, &ks, &err) == SGM_OK, "karras schedule");
    for (int i = 0; ks && i < 5; i++)
        CHECK_CLOSE(k[i], ks->sigma[i], 1e-14, 0, "karras point"); /* same formula */
    sgm_schedule_free(ks);
    CHECK(sgm_schedule_standard_sigmas(proc, SGM_SCHEDULE_AYS, NULL, 4, smin, smax, s, &err) ==
              SGM_OK, "ays: %s", err.msg);
    CHECK(s[0] == smax && s[4] == smin && s[1] < s[0] && s[2] < s[1] && s[3] < s[2] &&
              s[4] < s[3], "ays mapped onto the range");
    CHECK(sgm_schedule_standard_sigmas(proc, SGM_SCHEDULE_LEADING, NULL, 4, smin, smax, s,
                                       &err) == SGM_ERR_UNSUPPORTED, "leading refused");

    /* the optimiser */
    sgm_schedule_opt_config oc;
    CHECK(sgm_schedule_opt_config_default("dpmpp_2m", &oc, &err) == SGM_OK, "defaults");
    oc.nfe = 4;
    oc.max_evals = 80;
    sgm_schedule_opt_result r, r2;
    memset(&r, 0, sizeof r);
    memset(&r2, 0, sizeof r2);
    CHECK(sgm_schedule_optimize(p, &oc, &r, &err) == SGM_OK, "optimize: %s", err.msg);
    CHECK(r.n_points == 5 && r.steps == 4 && r.nfe == 4, "4 steps, 4 NFE (got %zu points, "
          "%zu NFE)", r.n_points, r.nfe);
    if (r.n_points == 5) {
        CHECK(r.sigma[0] == smax && r.sigma[4] == smin, "endpoints fixed");
        for (int i = 1; i < 5; i++) CHECK(r.sigma[i] < r.sigma[i - 1], "decreasing at %d", i);
        /* the descent moves the 3 interior points of a 4-step schedule from
           the best standard start; measured 0.913 (karras) -> 0.676 with
           these settings (1.35x): a bar of 1.2x fails if the search stops
           improving, with room for other platforms' last-bit rounding */
        CHECK(r.err < r.err_start / 1.2, "improvement: start %s %.4g -> %.4g", r.start,
              r.err_start, r.err);
        CHECK(r.evals <= oc.max_evals + 6, "evaluation budget (%zu)", r.evals);
        double e = NAN;
        size_t nfe = 0;
        CHECK(sgm_schedule_problem_error(p, &oc.sampler, r.sigma, 5, &e, &nfe, &err) == SGM_OK,
              "re-evaluate: %s", err.msg);
        CHECK(e == r.err && nfe == 4, "same error on re-evaluation (%.17g vs %.17g)", e, r.err);
        CHECK(sgm_schedule_optimize(p, &oc, &r2, &err) == SGM_OK, "second run");
        CHECK(r2.n_points == 5 && memcmp(r.sigma, r2.sigma, sizeof(double) * 5) == 0 &&
                  r2.evals == r.evals, "deterministic");
        /* a list with other endpoints */
        double w[5];
        memcpy(w, r.sigma, sizeof w);
        w[0] = 70;
        CHECK(sgm_schedule_problem_error(p, &oc.sampler, w, 5, &e, NULL, &err) ==
                  SGM_ERR_INVALID_ARG, "endpoint mismatch refused");
    }
    sgm_schedule_opt_result_free(&r2);

    /* progress: stop after the first sweep */
    int calls = 0;
    oc.on_progress = stop_after_first_sweep;
    oc.user_data = &calls;
    CHECK(sgm_schedule_optimize(p, &oc, &r2, &err) == SGM_OK, "stopped run");
    CHECK(calls == 5 && r2.sweeps == 1 && r2.err <= r2.err_start && r2.evals < r.evals,
          "4 starts + 1 sweep reported, then stopped (calls %d, sweeps %d)", calls, r2.sweeps);
    sgm_schedule_opt_result_free(&r2);
    sgm_schedule_opt_result_free(&r);
    oc.on_progress = NULL;

    /* bad input */
    oc.nfe = 0;
    CHECK(sgm_schedule_optimize(p, &oc, &r, &err) == SGM_ERR_INVALID_ARG, "nfe 0");
    oc.nfe = 4;
    snprintf(oc.sampler.method, sizeof oc.sampler.method, "%s", "no_such_sampler");
    CHECK(sgm_schedule_optimize(p, &oc, &r, &err) == SGM_ERR_UNKNOWN_NAME, "unknown sampler");
    sgm_schedule_opt_config os;
    CHECK(sgm_schedule_opt_config_default("euler_a", &os, &err) == SGM_OK, "euler_a defaults");
    os.nfe = 4;
    CHECK(sgm_schedule_optimize(p, &os, &r, &err) == SGM_ERR_INVALID_ARG &&
              strstr(err.msg, "stochastic"), "stochastic sampler: %s", err.msg);
    CHECK(sgm_schedule_opt_config_default("dpmpp_2m", &oc, &err) == SGM_OK, "defaults");
    oc.nfe = 4;
    sgm_schedule_kind bad_start = SGM_SCHEDULE_TRAILING;
    oc.starts = &bad_start;
    oc.n_starts = 1;
    CHECK(sgm_schedule_optimize(p, &oc, &r, &err) == SGM_ERR_UNSUPPORTED, "start trailing");
    CHECK(r.sigma == NULL, "nothing allocated on failure");
    sgm_schedule_problem_config bc = pc;
    bc.sigma_min = 90;
    sgm_schedule_problem *bp = NULL;
    CHECK(sgm_schedule_problem_create(&bc, &bp, &err) == SGM_ERR_INVALID_ARG && !bp,
          "sigma_min > sigma_max");

    sgm_schedule_problem_free(p);
    sgm_process_free(proc);
    sgm_gmm_free(g);
    TEST_MAIN_END();
}
