/* test_endpoint_grid.c - the endpoint grid: every sampler of the registry x
 * every generated schedule kind x every process kind x steps {1, 2, 3, 5,
 * 10, 50} x final point {zero, sigma_min}, on the exact 2-D mixture
 * (tests/data/models/gmm2d.json), N_ROWS rows, float64, through the public
 * API (sgm_schedule_create, sgm_sampler_create, sgm_sampler_run) with each
 * kind's defaults, the way `sgm sample` builds them.
 *
 * Each combination must end in one of two ways:
 *   ok      - SGM_OK and every value of the finished sample finite;
 *   refused - a non-OK status at any stage (schedule, sampler, run) with an
 *             sgm_error message that is one line, non-empty, has no "nan"
 *             or "inf" word in it (a message must name the setting, not
 *             echo a broken number), and names what to change.
 * "Names what to change" is a heuristic: the message (lower-cased) contains
 * one of the words of fix_words below, which are either an option / setting
 * name (steps, schedule, sigma, t_max, t_eps, final, order, process, ...)
 * or a verb of advice (use, give, choose, needs, must, requires, ...). A
 * message with none of them ("failed", "error at step 3") fails the test.
 * Never a crash: the sanitizer build (SGM_SANITIZE) runs the same grid.
 *
 * The user-list kinds (user_sigmas, user_times) are not generated from
 * steps and final, so they are left out (test_kdiff_edge and others cover
 * explicit lists). The output lists the grid size, the ok / refused counts
 * and the unique refusal messages with their counts (docs/reliability.md
 * records them). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgm.h"
#include "test_util.h"

/* 8 rows: enough for every row-wise code path (per-sample error norms,
 * batches of more than one row), small enough that the ~14k runs take
 * seconds, also under ASan */
#define N_ROWS 8
#define D 2

static const int steps_list[] = {1, 2, 3, 5, 10, 50};
#define N_STEPS (sizeof steps_list / sizeof steps_list[0])
static const sgm_final finals[] = {SGM_FINAL_ZERO, SGM_FINAL_SIGMA_MIN};
#define N_FINALS (sizeof finals / sizeof finals[0])
#define N_PROCESSES ((int)SGM_PROCESS_MR + 1)
#define N_SCHEDULES ((int)SGM_SCHEDULE_LINSPACE + 1) /* before the user kinds */

static const char *const fix_words[] = {
    "steps",  "step",     "schedule", "sigma",    "t_max", "t-max",   "t_eps",
    "t-eps",  "final",    "order",    "process",  "eta",   "nfe",     "grid",
    "budget", "max_steps", "tolerance", "rtol",   "atol",  "spacing", "prediction",
    "use",    "give",     "choose",   "needs",    "need",  "must",    "requires",
    "require", "set",     "expected", "at least", "at most", "only",  "instead",
    "supported", "not supported", "range", "< ", "> ", ">=", "<="};
#define N_FIX (sizeof fix_words / sizeof fix_words[0])

/* refusal messages, unique, with counts */
#define MAX_MSG 512
static struct {
    char msg[256];
    char stage[12];
    int count;
    char example[160]; /* the first combination that gave it */
} msgs[MAX_MSG];
static int n_msgs = 0;

static void record(const char *stage, const char *msg, const char *combo) {
    for (int i = 0; i < n_msgs; i++)
        if (!strcmp(msgs[i].msg, msg) && !strcmp(msgs[i].stage, stage)) {
            msgs[i].count++;
            return;
        }
    if (n_msgs == MAX_MSG) return;
    snprintf(msgs[n_msgs].msg, sizeof msgs[n_msgs].msg, "%s", msg);
    snprintf(msgs[n_msgs].stage, sizeof msgs[n_msgs].stage, "%s", stage);
    snprintf(msgs[n_msgs].example, sizeof msgs[n_msgs].example, "%s", combo);
    msgs[n_msgs].count = 1;
    n_msgs++;
}

/* whole-word, case-insensitive occurrence of w (lower case) in s */
static int has_word(const char *s, const char *w) {
    size_t n = strlen(w), len = strlen(s);
    for (size_t i = 0; i + n <= len; i++) {
        size_t k = 0;
        while (k < n && tolower((unsigned char)s[i + k]) == w[k]) k++;
        if (k < n) continue;
        int before = i > 0 && isalpha((unsigned char)s[i - 1]);
        int after = i + n < len && isalpha((unsigned char)s[i + n]);
        if (!before && !after) return 1;
    }
    return 0;
}

static int names_fix(const char *s) {
    char low[256];
    size_t i = 0;
    for (; s[i] && i + 1 < sizeof low; i++) low[i] = (char)tolower((unsigned char)s[i]);
    low[i] = 0;
    for (size_t k = 0; k < N_FIX; k++)
        if (strstr(low, fix_words[k])) return 1;
    return 0;
}

/* Checks a refusal's message; returns 1 when it is acceptable. */
static int check_message(const char *stage, const sgm_error *err, const char *combo) {
    const char *m = err->msg;
    int ok = 1;
    if (!m[0]) {
        CHECK(0, "%s: %s refused (status %d) with an empty message", combo, stage,
              (int)err->status);
        ok = 0;
    } else {
        CHECK(!strchr(m, '\n') && !strchr(m, '\r'), "%s: %s: message is not one line: %s",
              combo, stage, m);
        CHECK(!has_word(m, "nan") && !has_word(m, "inf") && !has_word(m, "-nan"),
              "%s: %s: message echoes a non-finite number: %s", combo, stage, m);
        CHECK(names_fix(m), "%s: %s: message names nothing to change: %s", combo, stage, m);
        ok = !strchr(m, '\n') && !has_word(m, "nan") && !has_word(m, "inf") && names_fix(m);
    }
    record(stage, m[0] ? m : "(empty)", combo);
    return ok;
}

static int dpmsolver_grid(const char *method) {
    static const char *const m[] = {"dpm_solver", "dpmpp_2m", "dpmpp_2m_sde", "dpmpp_3m_sde",
                                    "unipc",      "deis",     "sa_solver",    NULL};
    for (int i = 0; m[i]; i++)
        if (!strcmp(method, m[i])) return 1;
    return 0;
}

int main(void) {
    char path[1024];
    sgm_error err;
    sgm_gmm *g = NULL;
    if (sgm_gmm_load(tu_src("tests/data/models/gmm2d.json", path, sizeof path), &g, &err)) {
        fprintf(stderr, "gmm: %s\n", err.msg);
        return 2;
    }
    sgm_denoiser den = sgm_gmm_denoiser(g);
    double z[N_ROWS * D], x[N_ROWS * D];
    sgm_rng_normal_rows_f64(0, 0, 0, N_ROWS, D, z);

    size_t n_methods = sgm_method_count();
    long total = 0, n_ok = 0, n_refused = 0, n_bad = 0;
    long refused_at[3] = {0, 0, 0}; /* schedule, sampler, run */
    for (int pk = 0; pk < N_PROCESSES; pk++) {
        sgm_process_config pc = sgm_process_config_default((sgm_process_kind)pk);
        sgm_process *proc = NULL;
        if (sgm_process_create(&pc, &proc, &err)) {
            fprintf(stderr, "process %d: %s\n", pk, err.msg);
            return 2;
        }
        const char *pname = sgm_enum_name(SGM_ENUM_PROCESS, pk);
        for (int sk = 0; sk < N_SCHEDULES; sk++)
            for (size_t si = 0; si < N_STEPS; si++)
                for (size_t fi = 0; fi < N_FINALS; fi++)
                    for (size_t mi = 0; mi < n_methods; mi++) {
                        const sgm_method_info *mt = sgm_method_at(mi);
                        char combo[160];
                        snprintf(combo, sizeof combo, "%s/%s/%s/steps=%d/final=%s", mt->name,
                                 sgm_schedule_kind_name((sgm_schedule_kind)sk), pname,
                                 steps_list[si], fi == 0 ? "zero" : "sigma_min");
                        total++;
                        sgm_schedule_config sc =
                            sgm_schedule_config_default((sgm_schedule_kind)sk);
                        sc.steps = steps_list[si];
                        sc.final_point = finals[fi];
                        sgm_sampler_config cfg;
                        if (sgm_sampler_config_default(mt->name, &cfg, &err)) {
                            CHECK(0, "%s: no default config: %s", combo, err.msg);
                            n_bad++;
                            continue;
                        }
                        cfg.n_threads = 1;
                        /* the diffusers grid `sgm sample --grid auto` picks
                         * (tools/cli/args.c dpmsolver_grid) */
                        sc.grid = dpmsolver_grid(mt->name) ? SGM_DGRID_DPMSOLVER
                                                           : SGM_DGRID_DDIM;
                        sgm_schedule *sch = NULL;
                        sgm_sampler *s = NULL;
                        int stage = 0;
                        sgm_status rc = sgm_schedule_create(&sc, proc, &sch, &err);
                        if (!rc) {
                            stage = 1;
                            rc = sgm_sampler_create(&cfg, proc, N_ROWS, D, &s, &err);
                        }
                        if (!rc) {
                            stage = 2;
                            double std0 = sgm_process_sigma(proc, sch->t[0]);
                            CHECK(isfinite(std0) && std0 > 0, "%s: start sigma %g", combo,
                                  std0);
                            for (size_t i = 0; i < N_ROWS * D; i++) x[i] = std0 * z[i];
                            sgm_rng rng = sgm_rng_init(1);
                            rc = sgm_sampler_run(s, sch, &den, &rng, 0, N_ROWS, x, &err);
                        }
                        if (!rc) {
                            int finite = 1;
                            for (size_t i = 0; i < N_ROWS * D; i++)
                                if (!isfinite(x[i])) finite = 0;
                            CHECK(finite, "%s: OK status but non-finite output", combo);
                            if (finite) n_ok++;
                            else n_bad++;
                        } else {
                            static const char *const stages[] = {"schedule", "sampler",
                                                                 "run"};
                            refused_at[stage]++;
                            if (check_message(stages[stage], &err, combo)) n_refused++;
                            else n_bad++;
                        }
                        sgm_sampler_free(s);
                        sgm_schedule_free(sch);
                    }
        sgm_process_free(proc);
    }
    sgm_gmm_free(g);

    printf("endpoint grid: %zu samplers x %d schedules x %d processes x %zu step counts x "
           "%zu finals = %ld combinations\n",
           n_methods, N_SCHEDULES, N_PROCESSES, N_STEPS, N_FINALS, total);
    printf("ok %ld, refused %ld (schedule %ld, sampler %ld, run %ld), bad %ld\n", n_ok,
           n_refused, refused_at[0], refused_at[1], refused_at[2], n_bad);
    printf("refusal messages (stage, count, message, first combination):\n");
    for (int i = 0; i < n_msgs; i++)
        printf("  %-8s %5d  %s  [%s]\n", msgs[i].stage, msgs[i].count, msgs[i].msg,
               msgs[i].example);
    CHECK(total == n_ok + n_refused + n_bad, "counts add up");
    TEST_MAIN_END();
}
