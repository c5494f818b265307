/* refcase_diffusers.c - huggingface/diffusers v0.35.2 scheduler cases.
 * Dispatches on scheduler.class; DPMSolver{Multistep,Singlestep}Scheduler live
 * in refcase_diffusers_dpm.c. Here:
 *   DDIMScheduler, PNDMScheduler      -> ddim, pndm on the library's DDIM-grid
 *                                        spacing (landing points included),
 *                                        checked against the case's timesteps
 *   DEISMultistepScheduler            -> deis
 *   UniPCMultistepScheduler           -> unipc
 *   EulerDiscreteScheduler, HeunDiscreteScheduler, LMSDiscreteScheduler
 *                                     -> euler, heun, lms in VE / sigma space
 * The sigma-based classes run on the case's float32 `timesteps` and `sigmas`
 * (sgm_schedule_from_arrays). The process is vp-discrete with the case's betas
 * and log-sigma interpolation; the model is the exact GMM evaluated at the
 * model's own noise level for the timestep it is given (parameterization.doc)
 * returning eps or v. Euler/Heun/LMS keep the sample in VE coordinates, so
 * init.npy (z * init_noise_sigma) is multiplied by alpha(sigma_0) on the way in
 * and the result divided by alpha(sigma_last) on the way out. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "refcase.h"

int refcase_diffusers_dpm(refcase *rc);

/* ---- case helpers ---- */

/* DDIM / PNDM: the library's spacing, checked against the case's timesteps */
static int ddim_grid_schedule(refcase *rc, const cJSON *cfg, const sgm_process *p,
                              sgm_schedule **out) {
    const char *sp = rc_str(cfg, "timestep_spacing", "leading");
    sgm_schedule_kind kind;
    if (sgm_schedule_kind_from_name(sp, &kind) ||
        (kind != SGM_SCHEDULE_LEADING && kind != SGM_SCHEDULE_TRAILING &&
         kind != SGM_SCHEDULE_LINSPACE))
        return rc_fail(rc, "timestep_spacing '%s' not supported", sp);
    sgm_schedule_config sc = sgm_schedule_config_default(kind);
    sc.steps = (int)rc_num(rc->json, "steps", 0);
    sc.steps_offset = (int)rc_num(cfg, "steps_offset", 0);
    sc.grid = SGM_DGRID_DDIM;
    sc.final_point = rc_num(cfg, "set_alpha_to_one", 1) ? SGM_FINAL_ZERO : SGM_FINAL_SIGMA_MIN;
    if (sgm_schedule_create(&sc, p, out, &rc->err)) return 1;
    size_t nt = 0;
    double *ts = rc_uniq_vec(rc->json, "timesteps", &nt);
    int bad = !ts || (*out)->n < nt;
    for (size_t i = 0; !bad && i < nt; i++)
        if (fabs(sgm_process_t_to_timestep(p, (*out)->t[i]) - ts[i]) > 1e-9) bad = 1;
    free(ts);
    if (bad) {
        sgm_schedule_free(*out);
        *out = NULL;
        return rc_fail(rc, "spacing '%s' does not reproduce the case's timesteps", sp);
    }
    return 0;
}

int refcase_diffusers(refcase *rc) {
    const char *cls = rc_str(rc->json, "scheduler.class", "");
    if (strncmp(cls, "DPMSolver", 9) == 0) return refcase_diffusers_dpm(rc);
    if (strcmp(rc->kind, "sampler") != 0)
        return rc_fail(rc, "diffusers %s case of kind '%s' not supported", cls, rc->kind);
    const cJSON *cfg = rc_get(rc->json, "scheduler.config");
    const cJSON *kw = rc_get(rc->json, "step_kwargs");
    if (!cfg) return rc_fail(rc, "no scheduler.config");
    if (rc_num(cfg, "use_karras_sigmas", 0) || rc_num(cfg, "use_exponential_sigmas", 0) ||
        rc_num(cfg, "use_beta_sigmas", 0) || rc_num(cfg, "use_flow_sigmas", 0) ||
        rc_num(cfg, "thresholding", 0) || rc_num(cfg, "clip_sample", 0))
        return rc_fail(rc, "%s: sigma conversions, thresholding and clipping not supported", cls);

    const char *method = NULL;
    int sigma_space = 0, ddim_grid = 0;
    if (strcmp(cls, "DDIMScheduler") == 0) method = "ddim", ddim_grid = 1;
    else if (strcmp(cls, "PNDMScheduler") == 0) method = "pndm", ddim_grid = 1;
    else if (strcmp(cls, "DEISMultistepScheduler") == 0) method = "deis";
    else if (strcmp(cls, "UniPCMultistepScheduler") == 0) method = "unipc";
    else if (strcmp(cls, "EulerDiscreteScheduler") == 0) method = "euler", sigma_space = 1;
    else if (strcmp(cls, "HeunDiscreteScheduler") == 0) method = "heun", sigma_space = 1;
    else if (strcmp(cls, "LMSDiscreteScheduler") == 0) method = "lms", sigma_space = 1;
    else return rc_fail(rc, "diffusers class '%s' not supported", cls);

    sgm_sampler_config sc;
    if (sgm_sampler_config_default(method, &sc, &rc->err)) return 1;
    sc.eta = rc_num(kw, "eta", 0);
    sc.s_churn = rc_num(kw, "s_churn", 0);
    sc.s_tmin = rc_num(kw, "s_tmin", 0);
    sc.s_tmax = rc_num(kw, "s_tmax", INFINITY);
    sc.s_noise = rc_num(kw, "s_noise", 1);
    if (strcmp(method, "lms") == 0) sc.order = (int)rc_num(kw, "order", 4);
    if (strcmp(method, "pndm") == 0) sc.skip_prk = (int)rc_num(cfg, "skip_prk_steps", 0);
    if (strcmp(method, "deis") == 0 || strcmp(method, "unipc") == 0) {
        sc.order = (int)rc_num(cfg, "solver_order", 2);
        sc.lower_order_final =
            rc_num(cfg, "lower_order_final", 1) ? SGM_LOF_DIFFUSERS : SGM_LOF_NONE;
    }
    if (strcmp(method, "deis") == 0) {
        if (strcmp(rc_str(cfg, "algorithm_type", "deis"), "deis") ||
            strcmp(rc_str(cfg, "solver_type", "logrho"), "logrho"))
            return rc_fail(rc, "DEIS: only algorithm_type deis / solver_type logrho exist");
    }
    if (strcmp(method, "unipc") == 0) {
        const char *st = rc_str(cfg, "solver_type", "bh2");
        if (strcmp(st, "bh1") == 0) sc.solver_type = SGM_SOLVER_BH1;
        else if (strcmp(st, "bh2") == 0) sc.solver_type = SGM_SOLVER_BH2;
        else return rc_fail(rc, "UniPC solver_type '%s' not supported", st);
        sc.algorithm = rc_num(cfg, "predict_x0", 1) ? SGM_DPM_DATA : SGM_DPM_NOISE;
        const cJSON *dc = rc_get(cfg, "disable_corrector");
        if (cJSON_IsArray(dc) && cJSON_GetArraySize(dc) > 0)
            return rc_fail(rc, "UniPC: a per-step disable_corrector list is not supported");
        if (cJSON_IsString(rc_get(cfg, "solver_p")))
            return rc_fail(rc, "UniPC: solver_p not supported");
    }

    sgm_prediction pred;
    const char *pt = rc_str(cfg, "prediction_type", "epsilon");
    if (strcmp(pt, "epsilon") == 0) pred = SGM_PRED_EPS;
    else if (strcmp(pt, "v_prediction") == 0) pred = SGM_PRED_V;
    else return rc_fail(rc, "prediction_type '%s' not supported", pt);

    sgm_process *p = NULL;
    if (rc_diffusers_process(rc, cfg, &p)) return 1;
    sgm_schedule *sched = NULL;
    int bad = ddim_grid ? ddim_grid_schedule(rc, cfg, p, &sched) : rc_diffusers_array_schedule(rc, p, 1, &sched);
    rc_dmodel m = {rc->gmm, p, pred};
    size_t cnt = rc->init.ndim == 2 ? rc->init.shape[0] * rc->init.shape[1] : 0;
    if (!bad && sigma_space) /* VE sample -> process coordinates */
        for (size_t i = 0; i < cnt; i++) rc->init.data[i] *= sched->alpha[0];
    sgm_denoiser den = {rc_dmodel_fn, &m, pred};
    if (!bad) bad = rc_run(rc, p, sched, &sc, &den);
    if (!bad && sigma_space) /* back to the VE sample diffusers returns */
        for (size_t i = 0; i < cnt; i++) rc->out[i] /= sched->alpha[sched->n - 1];
    sgm_schedule_free(sched);
    sgm_process_free(p);
    return bad;
}
