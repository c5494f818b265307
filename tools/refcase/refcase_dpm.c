/* refcase_dpm.c - LuChengTHU/dpm-solver cases (dpm_solver_pytorch.py,
 * DPM_Solver.sample): NoiseScheduleVP 'linear' (beta 0.1 -> 20), 'discrete'
 * (linear betas 1e-4 -> 0.02) and the discrete cosine-beta table (clipped by
 * numerical_clip_alpha); model_type 'noise' or 'x_start' around the exact
 * GMM; methods multistep, singlestep, singlestep_fixed and adaptive; and the
 * schedule cases ([t, log alpha, sigma, lambda] on a grid of t).
 *
 * DPM-Solver's singlestep with skip_type 'logSNR' splits [t_T, t_0] into K
 * macro steps uniform in lambda and each macro step into `order` parts
 * uniform in lambda; the sampler's SGM_SSPLAN_DPMSOLVER plan reads that union
 * grid (built here with the library's own logSNR schedule) as its fine grid.
 * For time_uniform / time_quadratic the fine grid of `steps` points already
 * is that union. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "refcase.h"

static int make_process(refcase *rc, sgm_process **out) {
    const char *name = rc_str(rc->json, "noise_schedule.name", "");
    sgm_process_config pc;
    if (strcmp(name, "linear") == 0) {
        pc = sgm_process_config_default(SGM_PROCESS_VP_LINEAR);
        pc.beta_0 = 0.1;
        pc.beta_1 = 20;
        pc.t_eps = 1e-3;
        pc.t_max = 1;
    } else if (strcmp(name, "discrete") == 0 || strcmp(name, "discrete_cosine") == 0) {
        pc = sgm_process_config_default(SGM_PROCESS_VP_DISCRETE);
        pc.n_train = 1000;
        if (strcmp(name, "discrete") == 0) {
            pc.betas = SGM_BETAS_LINEAR;
            pc.beta_start = 1e-4;
            pc.beta_end = 0.02;
        } else {
            pc.betas = SGM_BETAS_SQUAREDCOS_CAP_V2;
        }
        pc.interp = SGM_INTERP_LOG_ALPHA;
        pc.clip_lambda = 1;
        pc.t_eps = 0; /* 1/N after clipping */
        pc.t_max = 1;
    } else {
        return rc_fail(rc, "unknown DPM-Solver noise schedule '%s'", name);
    }
    if (sgm_process_create(&pc, out, &rc->err)) return 1;
    int N = sgm_process_n_train(*out);
    int want = (int)rc_num(rc->json, "noise_schedule.total_N", N);
    if (strcmp(name, "linear") != 0 && N != want)
        return rc_fail(rc, "table has %d steps after clipping, the case %d", N, want);
    return 0;
}

/* [t, log alpha, sigma, lambda] on t = linspace(1/N, T, 2001) */
static int schedule_case(refcase *rc) {
    sgm_process *p = NULL;
    if (make_process(rc, &p)) return 1;
    size_t m = (size_t)rc_num(rc->json, "output.shape.0", 2001);
    const cJSON *shape = rc_get(rc->json, "output.shape");
    if (cJSON_IsArray(shape)) m = (size_t)cJSON_GetArrayItem(shape, 0)->valuedouble;
    double N = rc_num(rc->json, "noise_schedule.total_N", 1000);
    double T = rc_num(rc->json, "noise_schedule.T", 1);
    double *v = malloc(m * 4 * sizeof *v);
    if (!v) {
        sgm_process_free(p);
        return rc_fail(rc, "out of memory");
    }
    double a = 1 / N;
    for (size_t i = 0; i < m; i++) {
        /* torch.linspace: start + i*step for the first half, end - (m-1-i)*step after */
        double step = (T - a) / (double)(m - 1);
        double t = i < m / 2 ? a + step * (double)i : T - step * (double)(m - 1 - i);
        v[4 * i + 0] = t;
        v[4 * i + 1] = sgm_process_log_alpha(p, t);
        v[4 * i + 2] = sgm_process_sigma(p, t);
        v[4 * i + 3] = sgm_process_lambda(p, t);
    }
    sgm_process_free(p);
    free(rc->out);
    rc->out = v;
    rc->out_ndim = 2;
    rc->out_shape[0] = m;
    rc->out_shape[1] = 4;
    return 0;
}

/* model_type 'noise': the exact GMM returning eps at the process time t */
typedef struct {
    const sgm_gmm *g;
    const sgm_process *p;
} eps_model;

static int eps_fn(const sgm_eval *q, void *out, void *user) {
    const eps_model *m = user;
    double a = sgm_process_alpha(m->p, q->t), sg = sgm_process_sigma(m->p, q->t);
    size_t cnt = q->n * q->d;
    const double *x = q->x;
    double *o = out;
    double *xs = malloc(cnt * sizeof *xs);
    if (!xs) return 1;
    for (size_t i = 0; i < cnt; i++) xs[i] = x[i] / a;
    sgm_gmm_denoise(m->g, q->n, xs, sg / a, o);
    for (size_t i = 0; i < cnt; i++) o[i] = (x[i] - a * o[i]) / sg;
    free(xs);
    return 0;
}

static int x0_fn(const sgm_eval *q, void *out, void *user) {
    const eps_model *m = user;
    double a = sgm_process_alpha(m->p, q->t), sg = sgm_process_sigma(m->p, q->t);
    size_t cnt = q->n * q->d;
    const double *x = q->x;
    double *xs = malloc(cnt * sizeof *xs);
    if (!xs) return 1;
    for (size_t i = 0; i < cnt; i++) xs[i] = x[i] / a;
    sgm_gmm_denoise(m->g, q->n, xs, sg / a, out);
    free(xs);
    return 0;
}

static int time_schedule(refcase *rc, const sgm_process *p, sgm_schedule_kind kind, int steps,
                         double tT, double t0, sgm_schedule **out) {
    sgm_schedule_config sc = sgm_schedule_config_default(kind);
    sc.steps = steps;
    sc.t_start = tT;
    sc.t_end = t0;
    sc.final_point = SGM_FINAL_NONE;
    return sgm_schedule_create(&sc, p, out, &rc->err) != SGM_OK;
}

/* DPM-Solver singlestep, skip_type 'logSNR': K outer macro steps uniform in
 * lambda, each split into its order uniformly in lambda. */
static int logsnr_union(refcase *rc, const sgm_process *p, int steps, int order, double tT,
                        double t0, sgm_schedule **out) {
    int mo[4096];
    size_t K = 0;
    if (steps < 1 || steps > 4000) return rc_fail(rc, "bad steps %d", steps);
    if (order == 3) {
        for (int k = 0; k < steps / 3; k++) mo[K++] = 3;
        if (steps % 3 == 0) {
            K--;
            mo[K++] = 2;
            mo[K++] = 1;
        } else {
            mo[K++] = steps % 3;
        }
    } else if (order == 2) {
        for (int k = 0; k < steps / 2; k++) mo[K++] = 2;
        if (steps % 2) mo[K++] = 1;
    } else {
        for (int k = 0; k < steps; k++) mo[K++] = 1;
    }
    sgm_schedule *outer = NULL;
    if (time_schedule(rc, p, SGM_SCHEDULE_LOGSNR, (int)K, tT, t0, &outer)) return 1;
    double *t = malloc(((size_t)steps + 1) * sizeof *t);
    if (!t) {
        sgm_schedule_free(outer);
        return rc_fail(rc, "out of memory");
    }
    size_t n = 0;
    int bad = 0;
    for (size_t k = 0; k < K && !bad; k++) {
        t[n++] = outer->t[k];
        if (mo[k] > 1) {
            sgm_schedule *in = NULL;
            bad = time_schedule(rc, p, SGM_SCHEDULE_LOGSNR, mo[k], outer->t[k], outer->t[k + 1],
                                &in);
            for (int j = 1; !bad && j < mo[k]; j++) t[n++] = in->t[j];
            sgm_schedule_free(in);
        }
    }
    t[n++] = outer->t[K];
    sgm_schedule_free(outer);
    if (!bad) {
        sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_USER_TIMES);
        sc.user = t;
        sc.n_user = n;
        sc.final_point = SGM_FINAL_NONE;
        bad = sgm_schedule_create(&sc, p, out, &rc->err) != SGM_OK;
    }
    free(t);
    return bad;
}

int refcase_dpm(refcase *rc) {
    if (strcmp(rc->kind, "schedule") == 0) return schedule_case(rc);
    sgm_process *p = NULL;
    if (make_process(rc, &p)) return 1;
    const cJSON *kw = rc_get(rc->json, "sampler.kwargs");
    const char *method = rc_str(kw, "method", "multistep");
    const char *skip = rc_str(kw, "skip_type", "time_uniform");
    const char *alg = rc_str(rc->json, "construct.DPM_Solver.algorithm_type", "dpmsolver++");
    const char *mtype = rc_str(rc->json, "construct.model_wrapper.model_type", "noise");
    const char *stype = rc_str(kw, "solver_type", "dpmsolver");
    int steps = (int)rc_num(kw, "steps", 20);
    int order = (int)rc_num(kw, "order", 2);
    double tT = rc_num(rc->json, "t_T", 1), t0 = rc_num(rc->json, "t_0", 1e-3);
    int adaptive = strcmp(method, "adaptive") == 0;

    sgm_sampler_config cfg;
    if (sgm_sampler_config_default(adaptive ? "dpm_solver_adaptive" : "dpm_solver", &cfg,
                                   &rc->err)) {
        sgm_process_free(p);
        return 1;
    }
    cfg.order = order;
    cfg.algorithm = strcmp(alg, "dpmsolver") == 0 ? SGM_DPM_NOISE : SGM_DPM_DATA;
    cfg.solver_type = strcmp(stype, "taylor") == 0 ? SGM_SOLVER_HEUN : SGM_SOLVER_MIDPOINT;
    cfg.lower_order_final = rc_num(kw, "lower_order_final", 1) ? SGM_LOF_DPMSOLVER : SGM_LOF_NONE;
    cfg.denoise_to_zero = (int)rc_num(kw, "denoise_to_zero", 0);
    cfg.atol = rc_num(kw, "atol", 0.0078);
    cfg.rtol = rc_num(kw, "rtol", 0.05);
    /* DPM-Solver's adaptive error is the max over the batch */
    cfg.error_norm = SGM_NORM_BATCH;

    sgm_schedule_kind kind = SGM_SCHEDULE_TIME_UNIFORM;
    if (strcmp(skip, "logSNR") == 0) kind = SGM_SCHEDULE_LOGSNR;
    else if (strcmp(skip, "time_quadratic") == 0) kind = SGM_SCHEDULE_TIME_QUADRATIC;
    else if (strcmp(skip, "time_uniform") != 0) {
        sgm_process_free(p);
        return rc_fail(rc, "unknown skip_type '%s'", skip);
    }

    sgm_schedule *sched = NULL;
    int bad = 0;
    if (adaptive) {
        double range[2] = {tT, t0};
        sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_USER_TIMES);
        sc.user = range;
        sc.n_user = 2;
        sc.final_point = SGM_FINAL_NONE;
        bad = sgm_schedule_create(&sc, p, &sched, &rc->err) != SGM_OK;
    } else if (strcmp(method, "multistep") == 0) {
        cfg.multistep = 1;
        bad = time_schedule(rc, p, kind, steps, tT, t0, &sched);
    } else if (strcmp(method, "singlestep") == 0) {
        cfg.multistep = 0;
        cfg.singlestep_plan = SGM_SSPLAN_DPMSOLVER;
        if (kind == SGM_SCHEDULE_LOGSNR)
            bad = logsnr_union(rc, p, steps, order, tT, t0, &sched);
        else
            bad = time_schedule(rc, p, kind, steps, tT, t0, &sched);
    } else if (strcmp(method, "singlestep_fixed") == 0) {
        cfg.multistep = 0;
        cfg.singlestep_plan = SGM_SSPLAN_FIXED;
        bad = time_schedule(rc, p, kind, steps / order * order, tT, t0, &sched);
    } else {
        bad = rc_fail(rc, "unknown DPM-Solver method '%s'", method);
    }
    eps_model em = {rc->gmm, p};
    sgm_denoiser den;
    den.user_data = &em;
    if (strcmp(mtype, "noise") == 0) {
        den.fn = eps_fn;
        den.prediction = SGM_PRED_EPS;
    } else if (strcmp(mtype, "x_start") == 0) {
        den.fn = x0_fn;
        den.prediction = SGM_PRED_X0;
    } else if (!bad) {
        bad = rc_fail(rc, "unknown model_type '%s'", mtype);
    }
    if (!bad) bad = rc_run(rc, p, sched, &cfg, &den);
    sgm_schedule_free(sched);
    sgm_process_free(p);
    return bad;
}
