/* enum_names.c - the one name table of each enumerated option (sgm_core.h,
 * "enum names"): canonical names in value order, then aliases. The typed
 * helpers (sgm_param_name, sgm_schedule_kind_from_name, ...) are thin
 * wrappers over these tables, so the library, the CLI (its flags and help
 * text) and checkpoints can never disagree on a name. */
#include <string.h>

#include "internal.h"
#include "sgm/sgm_process.h"
#include "sgm/sgm_sampler.h"
#include "sgm/sgm_train.h"

typedef struct alias {
    const char *name;
    int value;
} alias;

typedef struct table {
    const char *const *names; /* canonical, indexed by value */
    int count;
    const alias *aliases; /* NULL-name terminated */
} table;

static const char *const process_names[] = {"ve", "vp", "vp-cosine", "vp-discrete", "subvp",
                                            "flow", "mr"};
static const alias process_aliases[] = {
    {"edm", SGM_PROCESS_VE},           {"karras", SGM_PROCESS_VE},
    {"vp-linear", SGM_PROCESS_VP_LINEAR}, {"vpsde", SGM_PROCESS_VP_LINEAR},
    {"cosine", SGM_PROCESS_VP_COSINE},  {"discrete", SGM_PROCESS_VP_DISCRETE},
    {"ddpm", SGM_PROCESS_VP_DISCRETE},  {"sub-vp", SGM_PROCESS_SUBVP},
    {"rectified-flow", SGM_PROCESS_FLOW}, {"rf", SGM_PROCESS_FLOW},
    {"ir-sde", SGM_PROCESS_MR},         {"mean-reverting", SGM_PROCESS_MR},
    {NULL, 0}};

/* SGM_BETAS_USER has no name: user tables are given as numbers, not names */
static const char *const betas_names[] = {"linear", "scaled_linear", "squaredcos_cap_v2"};
static const alias betas_aliases[] = {{"cosine", SGM_BETAS_SQUAREDCOS_CAP_V2}, {NULL, 0}};

static const char *const interp_names[] = {"log_alpha", "log_sigma", "sigma"};
static const alias no_aliases[] = {{NULL, 0}};

static const char *const schedule_names[] = {
    "karras", "exponential", "polyexponential", "vp",       "time_uniform", "logsnr",
    "time_quadratic", "leading", "trailing",   "linspace", "sigmas",       "times",
    "simple", "sgm_uniform", "ddim_uniform", "normal", "beta", "linear_quadratic",
    "kl_optimal", "ays", "gits", "laplace", "optimal_steps"};
static const alias schedule_aliases[] = {
    {"log_snr", SGM_SCHEDULE_LOGSNR},         {"lu", SGM_SCHEDULE_LOGSNR},
    {"uniform", SGM_SCHEDULE_TIME_UNIFORM},   {"quadratic", SGM_SCHEDULE_TIME_QUADRATIC},
    {"edm", SGM_SCHEDULE_KARRAS},             {"exp", SGM_SCHEDULE_EXPONENTIAL},
    {"user", SGM_SCHEDULE_USER_SIGMAS},       {"user_sigmas", SGM_SCHEDULE_USER_SIGMAS},
    {"user_times", SGM_SCHEDULE_USER_TIMES},  {"align_your_steps", SGM_SCHEDULE_AYS},
    {"optimalsteps", SGM_SCHEDULE_OPTIMAL_STEPS}, {"kl-optimal", SGM_SCHEDULE_KL_OPTIMAL},
    {NULL, 0}};

static const char *const prediction_names[] = {"eps", "x0", "v", "score", "flow"};
static const alias prediction_aliases[] = {
    {"epsilon", SGM_PRED_EPS}, {"noise", SGM_PRED_EPS},          {"sample", SGM_PRED_X0},
    {"x_start", SGM_PRED_X0},  {"data", SGM_PRED_X0},            {"v_prediction", SGM_PRED_V},
    {"velocity", SGM_PRED_FLOW}, {"flow_prediction", SGM_PRED_FLOW}, {NULL, 0}};

static const char *const param_names[] = {"eps", "x0", "v", "flow", "edm"};
static const alias param_aliases[] = {{"epsilon", SGM_PARAM_EPS}, {"noise", SGM_PARAM_EPS},
                                      {"data", SGM_PARAM_X0},     {"sample", SGM_PARAM_X0},
                                      {NULL, 0}};

static const char *const weighting_names[] = {"uniform", "likelihood", "min_snr", "edm"};
static const alias weighting_aliases[] = {{"minsnr", SGM_WEIGHT_MIN_SNR}, {NULL, 0}};

static const char *const tsampling_names[] = {"uniform", "lognormal", "importance"};
static const alias tsampling_aliases[] = {{"log-normal", SGM_TS_LOGNORMAL}, {NULL, 0}};

#define TABLE(n, a) {n, (int)(sizeof n / sizeof n[0]), a}
static const table tables[SGM_ENUM_COUNT] = {
    TABLE(process_names, process_aliases),       TABLE(betas_names, betas_aliases),
    TABLE(interp_names, no_aliases),             TABLE(schedule_names, schedule_aliases),
    TABLE(prediction_names, prediction_aliases), TABLE(param_names, param_aliases),
    TABLE(weighting_names, weighting_aliases),   TABLE(tsampling_names, tsampling_aliases),
};

static const table *get(sgm_enum e) {
    return (unsigned)e < SGM_ENUM_COUNT ? &tables[e] : NULL;
}

int sgm_enum_count(sgm_enum e) {
    const table *t = get(e);
    return t ? t->count : 0;
}

const char *sgm_enum_name(sgm_enum e, int value) {
    const table *t = get(e);
    return t && value >= 0 && value < t->count ? t->names[value] : NULL;
}

sgm_status sgm_enum_parse(sgm_enum e, const char *name, int *value) {
    const table *t = get(e);
    if (!t || !name) return SGM_ERR_UNKNOWN_NAME;
    int i = sgm__name_index(name, t->names, t->count);
    if (i >= 0) {
        *value = i;
        return SGM_OK;
    }
    for (const alias *a = t->aliases; a->name; a++)
        if (sgm__name_eq(name, a->name)) {
            *value = a->value;
            return SGM_OK;
        }
    return SGM_ERR_UNKNOWN_NAME;
}

size_t sgm_enum_choices(sgm_enum e, char *buf, size_t len) {
    const table *t = get(e);
    size_t n = 0;
    if (len) buf[0] = 0;
    for (int i = 0; t && i < t->count; i++) {
        const char *s = t->names[i];
        size_t k = strlen(s) + (i > 0);
        if (len && n + k < len) {
            if (i > 0) buf[n] = '|';
            memcpy(buf + n + (i > 0), s, strlen(s) + 1);
        } else if (len) {
            buf[len - 1] = 0;
        }
        n += k;
    }
    return n;
}

/* ------------------------------------------------------ typed helpers --- */

#define SGM__ENUM_HELPERS(type, e, name_fn, parse_fn)                  \
    const char *name_fn(type v) {                                     \
        const char *s = sgm_enum_name(e, (int)v);                     \
        return s ? s : "?";                                           \
    }                                                                 \
    sgm_status parse_fn(const char *name, type *out) {                \
        int v;                                                        \
        sgm_status rc = sgm_enum_parse(e, name, &v);                  \
        if (rc == SGM_OK) *out = (type)v;                             \
        return rc;                                                    \
    }

SGM__ENUM_HELPERS(sgm_process_kind, SGM_ENUM_PROCESS, sgm_process_kind_name,
                  sgm_process_kind_from_name)
SGM__ENUM_HELPERS(sgm_beta_schedule, SGM_ENUM_BETAS, sgm_beta_schedule_name,
                  sgm_beta_schedule_from_name)
SGM__ENUM_HELPERS(sgm_vp_interp, SGM_ENUM_INTERP, sgm_vp_interp_name, sgm_vp_interp_from_name)
SGM__ENUM_HELPERS(sgm_schedule_kind, SGM_ENUM_SCHEDULE, sgm_schedule_kind_name,
                  sgm_schedule_kind_from_name)
SGM__ENUM_HELPERS(sgm_prediction, SGM_ENUM_PREDICTION, sgm_prediction_name,
                  sgm_prediction_from_name)
SGM__ENUM_HELPERS(sgm_param, SGM_ENUM_PARAM, sgm_param_name, sgm_param_from_name)
SGM__ENUM_HELPERS(sgm_weighting, SGM_ENUM_WEIGHTING, sgm_weighting_name,
                  sgm_weighting_from_name)
SGM__ENUM_HELPERS(sgm_tsampling, SGM_ENUM_TSAMPLING, sgm_tsampling_name,
                  sgm_tsampling_from_name)
