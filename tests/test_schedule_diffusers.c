/* test_schedule_diffusers.c - the diffusers timestep spacings
 * (src/schedule/schedule_diffusers.c) against every diffusers reference case
 * in tests/data/reference/cases/diffusers whose schedule is a plain
 * leading / trailing / linspace spacing (no Karras / exponential / beta
 * sigmas; DPMSolverSinglestep's fixed grid is not one of them): the
 * generated timesteps equal the case's `timesteps` exactly, and the sigmas
 * match the case's `sigmas` (when present) within float32 rounding. Also
 * checks the landing points of the DDIM grid ('linspace' DDIM steps to
 * t - N // n) and a few argument errors. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sgm.h"
#include "test_util.h"

static double num(const cJSON *o, const char *k, double dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNumber(v)) return v->valuedouble;
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v);
    return dflt;
}

static const char *str(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* array -> doubles with consecutive duplicates removed (PNDM's PLMS list and
 * Heun's interleaved arrays repeat entries; the spacing has each once) */
static size_t uniq(const cJSON *a, double *out, size_t cap) {
    size_t n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        double v = e->valuedouble;
        if (n && out[n - 1] == v) continue;
        if (n < cap) out[n++] = v;
    }
    return n;
}

static int n_cases = 0;

static void check_case(const char *dir, const char *name) {
    char path[8192];
    snprintf(path, sizeof path, "%s/%s/case.json", dir, name);
    char *text = NULL;
    sgm_error err;
    if (sgm_read_file(path, &text, NULL, &err)) {
        CHECK(0, "%s: %s", path, err.msg);
        return;
    }
    cJSON *j = cJSON_Parse(text);
    free(text);
    CHECK(j != NULL, "%s: bad JSON", path);
    if (!j) return;
    const cJSON *sch = cJSON_GetObjectItemCaseSensitive(j, "scheduler");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(sch, "config");
    const char *cls = str(sch, "class");
    const char *spacing = str(cfg, "timestep_spacing");
    sgm_schedule_kind kind;
    if (!cfg || num(cfg, "use_karras_sigmas", 0) || num(cfg, "use_exponential_sigmas", 0) ||
        num(cfg, "use_beta_sigmas", 0) || num(cfg, "use_lu_lambdas", 0) ||
        strcmp(cls, "DPMSolverSinglestepScheduler") == 0 ||
        sgm_schedule_kind_from_name(spacing, &kind) ||
        (kind != SGM_SCHEDULE_LEADING && kind != SGM_SCHEDULE_TRAILING &&
         kind != SGM_SCHEDULE_LINSPACE)) {
        cJSON_Delete(j);
        return;
    }
    n_cases++;
    sgm_schedule_config sc = sgm_schedule_config_default(kind);
    sc.steps = (int)num(j, "steps", 0);
    sc.steps_offset = (int)num(cfg, "steps_offset", 0);
    const char *fst = str(cfg, "final_sigmas_type");
    if (strcmp(cls, "DDIMScheduler") == 0 || strcmp(cls, "PNDMScheduler") == 0) {
        sc.grid = SGM_DGRID_DDIM;
        sc.final_point = num(cfg, "set_alpha_to_one", 1) ? SGM_FINAL_ZERO : SGM_FINAL_SIGMA_MIN;
    } else if (strcmp(cls, "EulerDiscreteScheduler") == 0 ||
               strcmp(cls, "HeunDiscreteScheduler") == 0 ||
               strcmp(cls, "LMSDiscreteScheduler") == 0) {
        sc.grid = SGM_DGRID_EULER;
        sc.final_point = strcmp(fst, "sigma_min") == 0 ? SGM_FINAL_SIGMA_MIN : SGM_FINAL_ZERO;
    } else {
        sc.grid = SGM_DGRID_DPMSOLVER;
        /* DEIS has no final_sigmas_type: it always ends at alphas_cumprod[0] */
        sc.final_point = strcmp(fst, "zero") == 0 ? SGM_FINAL_ZERO : SGM_FINAL_SIGMA_MIN;
    }
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VP_DISCRETE);
    pc.n_train = (int)num(cfg, "num_train_timesteps", 1000);
    pc.beta_start = num(cfg, "beta_start", 1e-4);
    pc.beta_end = num(cfg, "beta_end", 0.02);
    pc.betas = strcmp(str(cfg, "beta_schedule"), "scaled_linear") == 0 ? SGM_BETAS_SCALED_LINEAR
                                                                         : SGM_BETAS_LINEAR;
    pc.interp = SGM_INTERP_LOG_SIGMA;
    sgm_process *p = NULL;
    sgm_schedule *s = NULL;
    CHECK(sgm_process_create(&pc, &p, &err) == SGM_OK, "%s: %s", name, err.msg);
    CHECK(p && sgm_schedule_create(&sc, p, &s, &err) == SGM_OK, "%s: %s", name, err.msg);
    if (!s) {
        sgm_process_free(p);
        cJSON_Delete(j);
        return;
    }
    double ts[4096], sg[4096];
    size_t nt = uniq(cJSON_GetObjectItemCaseSensitive(j, "timesteps"), ts, 4096);
    /* the schedule has the timesteps plus possibly one final point */
    CHECK(s->n == nt || s->n == nt + 1, "%s: %zu points for %zu timesteps", name, s->n, nt);
    for (size_t i = 0; i < nt && i < s->n; i++) {
        double got = sgm_process_t_to_timestep(p, s->t[i]);
        /* exact up to the t = (k + 1) / N round trip (1e-9 of a timestep) */
        CHECK(fabs(got - ts[i]) <= 1e-9, "%s: timestep %zu: got %.10g want %g", name, i, got,
              ts[i]);
    }
    const cJSON *sa = cJSON_GetObjectItemCaseSensitive(j, "sigmas");
    if (cJSON_IsArray(sa)) {
        size_t ns = uniq(sa, sg, 4096);
        CHECK(ns == s->n, "%s: %zu sigmas, schedule has %zu points", name, ns, s->n);
        for (size_t i = 0; i < ns && i < s->n; i++) {
            /* diffusers builds betas, alphas_cumprod and the sigma table in float32
             * and rounds the sigmas to float32; our table is float64. Two float32
             * effects: the cumulative product drifts by ~1e-6 relative over 1000
             * factors (rtol 1e-5 with margin), and 1 - abar cancels near abar = 1:
             * an error of one float32 ulp of 1 (1.2e-7) in 1 - abar moves sigma =
             * sqrt((1 - abar)/abar) by 1.2e-7 / (2 sigma) (atol 1.2e-7 / sigma, a
             * factor 2 of margin; 1.2e-5 at the smallest sigma 0.01). Both stay far
             * below the gap between neighbouring timesteps' sigmas (> 1e-3 relative). */
            CHECK_CLOSE(s->sigma[i], sg[i], 1e-5, sg[i] > 0 ? 1.2e-7 / sg[i] : 0, name);
        }
    } else if (s->n == nt + 1) {
        /* DDIM/PNDM: final point is alpha = 1 (set_alpha_to_one) or alphas_cumprod[0] */
        double want = num(cfg, "set_alpha_to_one", 1) ? 0 : s->sigma[s->n - 1];
        CHECK(s->sigma[s->n - 1] == want, "%s: final sigma %g", name, s->sigma[s->n - 1]);
    }
    /* landing points: DDIM grid steps to timestep t - N // n */
    if (sc.grid == SGM_DGRID_DDIM) {
        int stride = pc.n_train / sc.steps, off = 0;
        for (size_t i = 0; i + 1 < s->n; i++) {
            double prev = ts[i] - stride;
            double want_t = prev >= 0 ? prev : -1;
            double got_t = s->land_t ? sgm_process_t_to_timestep(p, s->land_t[i])
                                     : sgm_process_t_to_timestep(p, s->t[i + 1]);
            if (want_t < 0) continue; /* lands on the final point */
            if (fabs(got_t - want_t) > 1e-9) off++;
        }
        CHECK(off == 0, "%s: %d landing points differ from t - N // n", name, off);
        CHECK((s->land_t != NULL) == (kind == SGM_SCHEDULE_LINSPACE),
              "%s: landing points present only for linspace", name);
    } else {
        CHECK(s->land_t == NULL, "%s: unexpected landing points", name);
    }
    sgm_schedule_free(s);
    sgm_process_free(p);
    cJSON_Delete(j);
}

static void check_errors(void) {
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VP_DISCRETE);
    sgm_process *p = NULL;
    sgm_error err;
    CHECK(sgm_process_create(&pc, &p, &err) == SGM_OK, "%s", err.msg);
    sgm_schedule *s = NULL;
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_LEADING);
    sc.steps = 1001;
    CHECK(sgm_schedule_create(&sc, p, &s, &err) == SGM_ERR_INVALID_ARG, "steps > N accepted");
    sc.steps = 10;
    sc.steps_offset = 200; /* 9 * 100 + 200 > 999 */
    CHECK(sgm_schedule_create(&sc, p, &s, &err) == SGM_ERR_INVALID_ARG, "offset past N accepted");
    /* leading with steps_offset 1 (Stable Diffusion configs): 901 ... 1, then 0 */
    sc.steps_offset = 1;
    CHECK(sgm_schedule_create(&sc, p, &s, &err) == SGM_OK, "%s", err.msg);
    if (s) {
        CHECK(s->n == 11, "n = %zu", s->n);
        CHECK_CLOSE(sgm_process_t_to_timestep(p, s->t[0]), 901, 0, 1e-9, "leading+1 first");
        CHECK_CLOSE(sgm_process_t_to_timestep(p, s->t[9]), 1, 0, 1e-9, "leading+1 last");
        CHECK(s->sigma[10] == 0 && s->alpha[10] == 1, "final point");
        CHECK(s->land_t == NULL, "no landing points for leading");
        sgm_schedule_free(s);
        s = NULL;
    }
    /* DPM-Solver grid, leading: k * (1000 // 11) = 900, 810, ..., 90 */
    sc.grid = SGM_DGRID_DPMSOLVER;
    sc.steps_offset = 0;
    CHECK(sgm_schedule_create(&sc, p, &s, &err) == SGM_OK, "%s", err.msg);
    if (s) {
        CHECK_CLOSE(sgm_process_t_to_timestep(p, s->t[0]), 900, 0, 1e-9, "dpm leading first");
        CHECK_CLOSE(sgm_process_t_to_timestep(p, s->t[9]), 90, 0, 1e-9, "dpm leading last");
        sgm_schedule_free(s);
        s = NULL;
    }
    /* a VE process has no timestep table */
    sgm_process_config vc = sgm_process_config_default(SGM_PROCESS_VE);
    sgm_process *ve = NULL;
    CHECK(sgm_process_create(&vc, &ve, &err) == SGM_OK, "%s", err.msg);
    CHECK(sgm_schedule_create(&sc, ve, &s, &err) == SGM_ERR_UNSUPPORTED, "ve accepted");
    sgm_process_free(ve);
    sgm_process_free(p);
}

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
    char dir[4096];
    tu_src("tests/data/reference/cases/diffusers", dir, sizeof dir);
    DIR *d = opendir(dir);
    CHECK(d != NULL, "cannot open %s", dir);
    if (d) {
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 512;
                names = realloc(names, cap * sizeof *names);
            }
            names[n++] = strdup(e->d_name);
        }
        closedir(d);
        if (n) qsort(names, n, sizeof *names, cmp);
        for (size_t i = 0; i < n; i++) {
            check_case(dir, names[i]);
            free(names[i]);
        }
        free(names);
    }
    printf("diffusers spacing cases checked: %d\n", n_cases);
    CHECK(n_cases >= 200, "only %d cases", n_cases);
    check_errors();
    TEST_MAIN_END();
}
