/* refcase_kdiff.c - k-diffusion cases (crowsonkb/k-diffusion sampling.py):
 * schedule functions and samplers in sigma space (process ve, exact GMM
 * denoiser, model(x, sigma) = D(x, sigma)). Sampler cases also check that
 * the number of denoiser calls equals the case's nfe (adaptive_info.nfe). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "refcase.h"

/* k-diffusion works in sigma alone: a VE process whose range covers every
 * case (sigma in [1e-6, 1e6]); NULL with rc->err set on failure */
static sgm_process *kd_process(refcase *rc) {
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VE);
    pc.sigma_min = 1e-6;
    pc.sigma_max = 1e6;
    sgm_process *p = NULL;
    return sgm_process_create(&pc, &p, &rc->err) == SGM_OK ? p : NULL;
}

static int schedule_case(refcase *rc) {
    const char *fn = rc_str(rc->json, "function", "");
    sgm_schedule_kind kind;
    if (strcmp(fn, "get_sigmas_karras") == 0) kind = SGM_SCHEDULE_KARRAS;
    else if (strcmp(fn, "get_sigmas_exponential") == 0) kind = SGM_SCHEDULE_EXPONENTIAL;
    else if (strcmp(fn, "get_sigmas_polyexponential") == 0) kind = SGM_SCHEDULE_POLYEXPONENTIAL;
    else if (strcmp(fn, "get_sigmas_vp") == 0) kind = SGM_SCHEDULE_VP;
    else return rc_fail(rc, "unknown k-diffusion schedule function '%s'", fn);
    sgm_schedule_config c = sgm_schedule_config_default(kind);
    c.steps = (int)rc_num(rc->json, "args.n", 0);
    c.sigma_min = rc_num(rc->json, "args.sigma_min", 0);
    c.sigma_max = rc_num(rc->json, "args.sigma_max", 0);
    c.rho = rc_num(rc->json, "kwargs.rho", c.rho);
    c.vp_beta_d = rc_num(rc->json, "kwargs.beta_d", c.vp_beta_d);
    c.vp_beta_min = rc_num(rc->json, "kwargs.beta_min", c.vp_beta_min);
    c.vp_eps_s = rc_num(rc->json, "kwargs.eps_s", c.vp_eps_s);
    c.final_point = SGM_FINAL_ZERO;
    sgm_process *p = kd_process(rc);
    if (!p) return 1;
    sgm_schedule *s = NULL;
    int bad = sgm_schedule_create(&c, p, &s, &rc->err) != SGM_OK;
    if (!bad) bad = rc_set_vec(rc, s->sigma, s->n);
    sgm_schedule_free(s);
    sgm_process_free(p);
    return bad;
}

static const struct {
    const char *fn, *method;
} methods[] = {{"sample_euler", "euler"},
               {"sample_euler_ancestral", "euler_a"},
               {"sample_heun", "heun"},
               {"sample_dpm_2", "dpm2"},
               {"sample_dpm_2_ancestral", "dpm2_a"},
               {"sample_lms", "lms"},
               {"sample_dpmpp_2m", "dpmpp_2m"},
               {"sample_dpmpp_2s_ancestral", "dpmpp_2s_a"},
               {"sample_dpmpp_sde", "dpmpp_sde"},
               {"sample_dpmpp_2m_sde", "dpmpp_2m_sde"},
               {"sample_dpmpp_3m_sde", "dpmpp_3m_sde"},
               {"sample_dpm_fast", "dpm_fast"},
               {"sample_dpm_adaptive", "dpm_adaptive"}};

int refcase_kdiff(refcase *rc) {
    if (strcmp(rc->kind, "schedule") == 0) return schedule_case(rc);
    const char *fn = rc_str(rc->json, "sampler.function", "");
    const char *method = NULL;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(fn, methods[i].fn) == 0) method = methods[i].method;
    if (!method) return rc_fail(rc, "unknown k-diffusion sampler '%s'", fn);
    sgm_sampler_config cfg;
    if (sgm_sampler_config_default(method, &cfg, &rc->err)) return 1;
    const cJSON *kw = rc_get(rc->json, "sampler.kwargs");
    cfg.eta = rc_num(kw, "eta", cfg.eta);
    cfg.s_noise = rc_num(kw, "s_noise", cfg.s_noise);
    cfg.s_churn = rc_num(kw, "s_churn", cfg.s_churn);
    cfg.s_tmin = rc_num(kw, "s_tmin", cfg.s_tmin);
    cfg.s_tmax = rc_num(kw, "s_tmax", cfg.s_tmax);
    cfg.order = (int)rc_num(kw, "order", cfg.order);
    cfg.rtol = rc_num(kw, "rtol", cfg.rtol);
    cfg.atol = rc_num(kw, "atol", cfg.atol);
    cfg.h_init = rc_num(kw, "h_init", cfg.h_init);
    cfg.pcoeff = rc_num(kw, "pcoeff", cfg.pcoeff);
    cfg.icoeff = rc_num(kw, "icoeff", cfg.icoeff);
    cfg.dcoeff = rc_num(kw, "dcoeff", cfg.dcoeff);
    cfg.accept_safety = rc_num(kw, "accept_safety", cfg.accept_safety);
    cfg.r1 = rc_num(kw, "r", cfg.r1);
    const char *st = rc_str(kw, "solver_type", NULL);
    if (st && strcmp(st, "heun") == 0) cfg.solver_type = SGM_SOLVER_HEUN;
    /* k-diffusion's adaptive controller measures the error over the whole batch */
    cfg.error_norm = SGM_NORM_BATCH;

    sgm_process *p = kd_process(rc);
    if (!p) return 1;
    sgm_schedule *sched = NULL;
    int bad = 0;
    if (rc_get(kw, "sigma_min")) {
        /* dpm_fast / dpm_adaptive take a range, not a list */
        double range[2] = {rc_num(kw, "sigma_max", 80), rc_num(kw, "sigma_min", 0.002)};
        sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_USER_SIGMAS);
        sc.user = range;
        sc.n_user = 2;
        sc.final_point = SGM_FINAL_NONE;
        cfg.nfe = (int)rc_num(kw, "n", 0);
        bad = sgm_schedule_create(&sc, p, &sched, &rc->err) != SGM_OK;
    } else {
        const char *name = rc_str(rc->json, "schedule.name", "");
        sgm_schedule_kind kind;
        if (sgm_schedule_kind_from_name(name, &kind)) {
            sgm_process_free(p);
            return rc_fail(rc, "unknown schedule '%s'", name);
        }
        sgm_schedule_config sc = sgm_schedule_config_default(kind);
        sc.steps = (int)rc_num(rc->json, "schedule.n", 0);
        sc.sigma_min = rc_num(rc->json, "schedule.kwargs.sigma_min", 0);
        sc.sigma_max = rc_num(rc->json, "schedule.kwargs.sigma_max", 0);
        sc.rho = rc_num(rc->json, "schedule.kwargs.rho", sc.rho);
        sc.final_point = SGM_FINAL_ZERO;
        bad = sgm_schedule_create(&sc, p, &sched, &rc->err) != SGM_OK;
    }
    if (!bad) bad = rc_run(rc, p, sched, &cfg, NULL);
    /* the number of model calls must match the reference too (for
     * dpm_adaptive it reflects the accepted/rejected step sequence) */
    double want_nfe = rc_num(rc->json, "adaptive_info.nfe", rc_num(rc->json, "nfe", -1));
    if (!bad && want_nfe >= 0 && (double)rc->nfe != want_nfe)
        bad = rc_fail(rc, "NFE %zu differs from the reference's %.0f", rc->nfe, want_nfe);
    sgm_schedule_free(sched);
    sgm_process_free(p);
    return bad;
}
