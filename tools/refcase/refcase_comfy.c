/* refcase_comfy.c - ComfyUI cases (Comfy-Org/ComfyUI comfy/samplers.py,
 * comfy/k_diffusion/sampling.py, comfy_extras schedulers):
 *  - schedule cases: calculate_sigmas on ComfyUI's ModelSamplingDiscrete (an
 *    SD1.x vp-discrete process, scaled_linear betas 0.00085..0.012, 1000
 *    steps) and the table nodes (AYS, GITS, OptimalSteps), get_sigmas_laplace;
 *  - sampler cases in sigma space (VE process, exact GMM denoiser) as the
 *    k-diffusion cases; stochastic ones replay noise.npy: the k-th draw of
 *    the run returns noise[k] (sgm_sampler_config.noise_fn), and the number
 *    of draws must equal noise.n_calls. The sampler is chosen by the case_id's
 *    sampler token (model-SAMPLER-schedule-nK). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "refcase.h"

static int sd1_process(refcase *rc, sgm_process **p) {
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VP_DISCRETE);
    pc.betas = SGM_BETAS_SCALED_LINEAR;
    pc.beta_start = 0.00085;
    pc.beta_end = 0.012;
    pc.n_train = 1000;
    return sgm_process_create(&pc, p, &rc->err) != SGM_OK;
}

static int schedule_case(refcase *rc) {
    const char *fn = rc_str(rc->json, "function", "");
    int steps = (int)rc_num(rc->json, "args.steps", rc_num(rc->json, "args.n", 0));
    sgm_schedule_config c = sgm_schedule_config_default(SGM_SCHEDULE_SIMPLE);
    c.steps = steps;
    sgm_process *p = NULL;
    if (sd1_process(rc, &p)) return 1;
    int bad = 0;
    if (strcmp(fn, "ModelSamplingDiscrete.sigmas") == 0) {
        /* the table: ddim_uniform with one step per entry reads it all */
        c.kind = SGM_SCHEDULE_DDIM_UNIFORM;
        c.steps = 1000;
        c.final_point = SGM_FINAL_NONE;
        const double *acp = sgm_process_alphas_cumprod(p);
        double *v = malloc(1000 * sizeof *v);
        for (int i = 0; v && i < 1000; i++) v[i] = (float)sqrt((1 - acp[i]) / acp[i]);
        bad = v ? rc_set_vec(rc, v, 1000) : rc_fail(rc, "out of memory");
        free(v);
        sgm_process_free(p);
        return bad;
    }
    if (strcmp(fn, "calculate_sigmas") == 0) {
        const char *name = rc_str(rc->json, "args.scheduler_name", "");
        if (sgm_schedule_kind_from_name(name, &c.kind)) bad = rc_fail(rc, "unknown scheduler '%s'", name);
    } else if (strcmp(fn, "AlignYourStepsScheduler.execute") == 0) {
        c.kind = SGM_SCHEDULE_AYS;
        snprintf(c.table, sizeof c.table, "%s", rc_str(rc->json, "args.model_type", ""));
    } else if (strcmp(fn, "OptimalStepsScheduler.execute") == 0) {
        c.kind = SGM_SCHEDULE_OPTIMAL_STEPS;
        snprintf(c.table, sizeof c.table, "%s", rc_str(rc->json, "args.model_type", ""));
    } else if (strcmp(fn, "GITSScheduler.execute") == 0) {
        c.kind = SGM_SCHEDULE_GITS;
        c.gits_coeff = rc_num(rc->json, "args.coeff", 1.2);
    } else if (strcmp(fn, "get_sigmas_laplace") == 0) {
        c.kind = SGM_SCHEDULE_LAPLACE;
        c.sigma_min = rc_num(rc->json, "kwargs.sigma_min", 0);
        c.sigma_max = rc_num(rc->json, "kwargs.sigma_max", 0);
        c.laplace_mu = rc_num(rc->json, "kwargs.mu", 0);
        c.laplace_beta = rc_num(rc->json, "kwargs.beta", 0.5);
    } else {
        bad = rc_fail(rc, "unknown ComfyUI schedule function '%s'", fn);
    }
    sgm_schedule *s = NULL;
    if (!bad) bad = sgm_schedule_create(&c, p, &s, &rc->err) != SGM_OK;
    if (!bad) bad = rc_set_vec(rc, s->sigma, s->n);
    sgm_schedule_free(s);
    sgm_process_free(p);
    return bad;
}

/* recorded noise: [K, n, d] rows, handed out in call order */
typedef struct replay {
    sgm_array a;
    size_t calls, bad;
} replay;

/* the k-th noise draw of the run returns noise[k], whatever its interval
 * (sgm_noise_fn; ComfyUI's noise_sampler ignores its arguments the same way) */
static int replay_fn(double s_from, double s_to, size_t n, size_t d, uint64_t row0,
                     sgm_dtype dt, void *z, void *user) {
    (void)s_from, (void)s_to;
    replay *r = user;
    size_t call = r->calls++;
    size_t k = r->a.ndim == 3 ? r->a.shape[0] : 0;
    if (call >= k || r->a.shape[1] < row0 + n || r->a.shape[2] != d || dt != SGM_F64) {
        r->bad = 1;
        memset(z, 0, n * d * (dt == SGM_F64 ? sizeof(double) : sizeof(float)));
        return 0; /* counted and reported after the run */
    }
    memcpy(z, r->a.data + (call * r->a.shape[1] + row0) * d, n * d * sizeof(double));
    return 0;
}

/* case token -> method and settings */
static const struct {
    const char *token, *method;
    double eta; /* NAN: method default */
} methods[] = {
    {"lms", "lms", NAN},
    {"ipndm", "ipndm", NAN},
    {"ipndm_v", "ipndm_v", NAN},
    {"deis_tab", "deis_tab", NAN},
    {"res_multistep", "res_multistep", NAN},
    {"res_multistep_ancestral_eta1", "res_multistep_a", 1},
    {"gradient_estimation", "gradient_estimation", NAN},
    {"heunpp2", "heunpp2", NAN},
    {"uni_pc_bh1", "unipc", NAN},
    {"uni_pc_bh2", "unipc", NAN},
    {"er_sde", "er_sde", NAN},
    {"er_sde_ode", "er_sde", 0},
    {"er_sde_rtsde_eta1", "er_sde", 1},
    {"seeds_2_eta0", "seeds_2", 0},
    {"seeds_2_eta1", "seeds_2", 1},
    {"seeds_3_eta0", "seeds_3", 0},
    {"seeds_3_eta1", "seeds_3", 1},
    {"sa_solver_eta0", "sa_solver_comfy", 0},
    {"sa_solver_eta1", "sa_solver_comfy", 1},
    {"sa_solver_pece_eta0", "sa_solver_pece", 0},
    {"sa_solver_pece_eta1", "sa_solver_pece", 1},
    {"lcm", "lcm", NAN},
    {"ddpm", "ddpm", NAN},
};

static const char *case_token(refcase *rc, char *buf, size_t cap) {
    /* case_id = MODEL-TOKEN-SCHEDULE-nK */
    const char *id = rc_str(rc->json, "case_id", "");
    const char *a = strchr(id, '-');
    const char *sched = rc_str(rc->json, "schedule.name", "");
    if (!a) return NULL;
    a++;
    size_t len = strlen(a), sl = strlen(sched);
    const char *b = strstr(a, sched);
    if (!b || sl == 0) return NULL;
    len = (size_t)(b - a);
    if (len < 2 || len >= cap) return NULL;
    memcpy(buf, a, len - 1);
    buf[len - 1] = 0;
    return buf;
}

int refcase_comfy(refcase *rc) {
    if (strcmp(rc->kind, "schedule") == 0) return schedule_case(rc);
    char tok[64];
    if (!case_token(rc, tok, sizeof tok)) return rc_fail(rc, "cannot read the sampler of case_id");
    const char *method = NULL;
    double eta = NAN;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(tok, methods[i].token) == 0) {
            method = methods[i].method;
            eta = methods[i].eta;
        }
    if (!method) return rc_fail(rc, "unknown ComfyUI sampler '%s'", tok);
    sgm_sampler_config cfg;
    if (sgm_sampler_config_default(method, &cfg, &rc->err)) return 1;
    const cJSON *kw = rc_get(rc->json, "sampler.kwargs");
    if (!isnan(eta)) cfg.eta = eta;
    cfg.s_noise = rc_num(kw, "s_noise", cfg.s_noise);
    cfg.s_churn = rc_num(kw, "s_churn", cfg.s_churn);
    cfg.order = (int)rc_num(kw, "max_order", rc_num(kw, "order", cfg.order));
    if (strncmp(tok, "er_sde", 6) == 0) {
        cfg.order = (int)rc_num(kw, "max_stage", 3);
        /* the node's x^(eta + 1) scaler for the ODE / reverse-time SDE variants */
        cfg.er_noise_scaler = strcmp(tok, "er_sde") != 0;
    }
    if (strcmp(tok, "uni_pc_bh2") == 0) cfg.solver_type = SGM_SOLVER_BH2;
    if (strcmp(tok, "uni_pc_bh1") == 0) cfg.solver_type = SGM_SOLVER_BH1;
    if (strncmp(tok, "sa_solver", 9) == 0) {
        cfg.predictor_order = (int)rc_num(kw, "predictor_order", 3);
        cfg.corrector_order = (int)rc_num(kw, "corrector_order", 4);
        cfg.tau = eta;
        /* tau = eta on [percent_to_sigma(0.8), percent_to_sigma(0.2)] */
        const cJSON *pts = rc_get(rc->json, "model_sampling.percent_to_sigma");
        const cJSON *hi = cJSON_GetObjectItemCaseSensitive(pts, "0.2");
        const cJSON *lo = cJSON_GetObjectItemCaseSensitive(pts, "0.8");
        if (!cJSON_IsNumber(hi) || !cJSON_IsNumber(lo)) return rc_fail(rc, "no percent_to_sigma");
        cfg.tau_sigma_max = hi->valuedouble;
        cfg.tau_sigma_min = lo->valuedouble;
    }
    replay rp;
    memset(&rp, 0, sizeof rp);
    const char *nf = rc_str(rc->json, "noise.file", NULL);
    if (nf) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", rc->dir, nf);
        if (sgm_npy_load(path, &rp.a, &rc->err)) return 1;
        cfg.noise_fn = replay_fn;
        cfg.noise_user_data = &rp;
    }
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VE);
    pc.sigma_min = 1e-6;
    pc.sigma_max = 1e6;
    sgm_process *p = NULL;
    sgm_schedule *sched = NULL;
    size_t ns = 0;
    double *sig = rc_vec(rc->json, "sigmas", &ns);
    int bad = sgm_process_create(&pc, &p, &rc->err) != SGM_OK;
    if (!bad && !sig) bad = rc_fail(rc, "no sigmas");
    if (!bad && strncmp(tok, "uni_pc", 6) == 0) {
        /* sample_unipc: order min(3, steps - 1), ramped down at the end; a
           final sigma of 0 is overwritten with 0.001, where it stops (no
           final denoise) */
        cfg.order = (int)ns - 2 < 3 ? (int)ns - 2 : 3;
        cfg.lower_order_final = SGM_LOF_DIFFUSERS;
        if (ns && sig[ns - 1] == 0) sig[ns - 1] = 0.001;
    }
    if (!bad) {
        sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_USER_SIGMAS);
        sc.user = sig;
        sc.n_user = ns;
        sc.final_point = SGM_FINAL_NONE;
        bad = sgm_schedule_create(&sc, p, &sched, &rc->err) != SGM_OK;
    }
    if (!bad) bad = rc_run(rc, p, sched, &cfg, NULL);
    double want_nfe = rc_num(rc->json, "nfe", -1);
    if (!bad && want_nfe >= 0 && (double)rc->nfe != want_nfe)
        bad = rc_fail(rc, "NFE %zu differs from the reference's %.0f", rc->nfe, want_nfe);
    double want_calls = rc_num(rc->json, "noise.n_calls", 0);
    if (!bad && nf && (rp.bad || (double)rp.calls != want_calls))
        bad = rc_fail(rc, "noise draws %zu differ from the reference's %.0f%s", rp.calls,
                      want_calls, rp.bad ? " (or a draw out of range)" : "");
    free(sig);
    sgm_array_free(&rp.a);
    sgm_schedule_free(sched);
    sgm_process_free(p);
    return bad;
}
