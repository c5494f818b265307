/* refcase_diffusers_dpm.c - huggingface/diffusers v0.35.2
 * DPMSolverMultistepScheduler and DPMSolverSinglestepScheduler cases
 * (scheduling_dpmsolver_{multistep,singlestep}.py) run through dpm_solver.
 *
 * The solver walks the case's own float32 `sigmas` with the model times
 * t = (timestep + 1) / N of its `timesteps` (sgm_schedule_from_arrays), so
 * Karras-derived, rounded timesteps are reproduced as diffusers feeds them.
 * The process is vp-discrete with the case's betas and log-sigma
 * interpolation; the model is the exact GMM at the model's own noise level
 * sigma_ve(timestep) (parameterization.doc) and returns eps or v, which the
 * library converts with the solver's sigma, as diffusers' convert_model_output
 * does. Orders: multistep with lower_order_final = SGM_LOF_DIFFUSERS (steps <
 * 15; always first order onto sigma = 0), singlestep with the
 * SGM_SSPLAN_DIFFUSERS plan (get_order_list). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "refcase.h"

int refcase_diffusers_dpm(refcase *rc);

int refcase_diffusers_dpm(refcase *rc) {
    const char *cls = rc_str(rc->json, "scheduler.class", "");
    const cJSON *cfg = rc_get(rc->json, "scheduler.config");
    int multistep;
    if (strcmp(cls, "DPMSolverMultistepScheduler") == 0) multistep = 1;
    else if (strcmp(cls, "DPMSolverSinglestepScheduler") == 0) multistep = 0;
    else return rc_fail(rc, "diffusers %s cases are not implemented", cls);
    if (rc_num(cfg, "thresholding", 0)) return rc_fail(rc, "thresholding not supported");
    if (rc_num(cfg, "euler_at_final", 0)) return rc_fail(rc, "euler_at_final not supported");
    if (rc_num(cfg, "use_flow_sigmas", 0)) return rc_fail(rc, "flow sigmas not supported");

    sgm_sampler_config sc;
    if (sgm_sampler_config_default("dpm_solver", &sc, &rc->err)) return 1;
    sc.multistep = multistep;
    sc.order = (int)rc_num(cfg, "solver_order", 2);
    const char *alg = rc_str(cfg, "algorithm_type", "dpmsolver++");
    if (strcmp(alg, "dpmsolver++") == 0) sc.algorithm = SGM_DPM_DATA;
    else if (strcmp(alg, "dpmsolver") == 0) sc.algorithm = SGM_DPM_NOISE;
    else return rc_fail(rc, "algorithm_type '%s' not supported", alg);
    const char *st = rc_str(cfg, "solver_type", "midpoint");
    if (strcmp(st, "midpoint") == 0) sc.solver_type = SGM_SOLVER_MIDPOINT;
    else if (strcmp(st, "heun") == 0) sc.solver_type = SGM_SOLVER_HEUN;
    else return rc_fail(rc, "solver_type '%s' not supported", st);
    sc.lower_order_final =
        rc_num(cfg, "lower_order_final", multistep ? 1 : 0) ? SGM_LOF_DIFFUSERS : SGM_LOF_NONE;
    sc.singlestep_plan = SGM_SSPLAN_DIFFUSERS;

    rc_dmodel m;
    m.g = rc->gmm;
    const char *pt = rc_str(cfg, "prediction_type", "epsilon");
    if (strcmp(pt, "epsilon") == 0) m.pred = SGM_PRED_EPS;
    else if (strcmp(pt, "v_prediction") == 0) m.pred = SGM_PRED_V;
    else return rc_fail(rc, "prediction_type '%s' not supported", pt);

    sgm_process *p = NULL;
    if (rc_diffusers_process(rc, cfg, &p)) return 1;
    m.p = p;
    sgm_schedule *sched = NULL;
    int bad = rc_diffusers_array_schedule(rc, p, 0, &sched);
    sgm_denoiser den = {rc_dmodel_fn, &m, m.pred};
    if (!bad) bad = rc_run(rc, p, sched, &sc, &den);
    sgm_schedule_free(sched);
    sgm_process_free(p);
    return bad;
}
