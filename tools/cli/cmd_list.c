/* cmd_list.c - `sgm list`: the processes, samplers (from the library's
 * registry: name, aliases, order, kind, summary), schedules and predictions
 * the CLI accepts. With --markdown it prints the same as Markdown tables
 * (docs/samplers.md is generated from it). Every name printed here comes
 * from the library's name tables (sgm_enum_name, in value order; only the
 * descriptions are the CLI's), so the list cannot drift from what parses. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cli.h"

/* Descriptions by value; the names and their order come from the library's
 * name tables (sgm_enum_name), so nothing is listed that does not parse. */
static const char *const process_help[] = {
    [SGM_PROCESS_VE] = "variance exploding, t = sigma (EDM / k-diffusion); --sigma-min --sigma-max",
    [SGM_PROCESS_VP_LINEAR] = "variance preserving, linear beta(t) (score SDE); --beta-0 --beta-1",
    [SGM_PROCESS_VP_COSINE] = "variance preserving, iDDPM cosine alpha(t); --cosine-s",
    [SGM_PROCESS_VP_DISCRETE] = "discrete beta table (DDPM / diffusers); --betas --beta-start "
                                "--beta-end --n-train",
    [SGM_PROCESS_SUBVP] = "sub-VP SDE (score SDE): alpha as vp, sigma = 1 - alpha^2",
    [SGM_PROCESS_FLOW] = "rectified flow / linear interpolant: alpha = 1 - t, sigma = t",
    [SGM_PROCESS_MR] = "mean-reverting IR-SDE on y = x - mu (needs --mu): alpha = e^{-thetabar}, "
                       "sigma = lambda sqrt(1 - alpha^2); --mr-lambda --mr-alpha-T --mr-theta",
};

static const char *const schedule_help[] = {
    [SGM_SCHEDULE_KARRAS] = "Karras et al. 2022 eq. 5, --rho (7); appends sigma = 0",
    [SGM_SCHEDULE_EXPONENTIAL] = "uniform in log sigma; appends sigma = 0",
    [SGM_SCHEDULE_POLYEXPONENTIAL] = "k-diffusion: ramp^rho in log sigma (--rho 1); appends 0",
    [SGM_SCHEDULE_VP] = "k-diffusion get_sigmas_vp (beta_d 19.9, beta_min 0.1, eps_s 1e-3)",
    [SGM_SCHEDULE_TIME_UNIFORM] = "uniform in process time from t-max to t-eps (DPM-Solver)",
    [SGM_SCHEDULE_LOGSNR] = "uniform in half log-SNR lambda (DPM-Solver 'logSNR')",
    [SGM_SCHEDULE_TIME_QUADRATIC] = "t = linspace(sqrt(t-max), sqrt(t-eps))^2 (DPM-Solver)",
    [SGM_SCHEDULE_LEADING] = "diffusers timestep_spacing='leading' (--steps-offset)",
    [SGM_SCHEDULE_TRAILING] = "diffusers timestep_spacing='trailing'",
    [SGM_SCHEDULE_LINSPACE] = "diffusers timestep_spacing='linspace'",
    /* the explicit lists (--sigmas / --times) are listed apart */
    [SGM_SCHEDULE_SIMPLE] = "ComfyUI simple: every len/n-th entry of the model's sigma table",
    [SGM_SCHEDULE_SGM_UNIFORM] = "ComfyUI sgm_uniform: normal over n + 1 timesteps, last dropped",
    [SGM_SCHEDULE_DDIM_UNIFORM] = "ComfyUI ddim_uniform: table[1 + k (len // n)], reversed",
    [SGM_SCHEDULE_NORMAL] = "ComfyUI normal: uniform in table timestep, log-interpolated",
    [SGM_SCHEDULE_BETA] = "Lee et al. 2024 Beta(--beta-alpha, --beta-beta) timesteps (0.6, 0.6)",
    [SGM_SCHEDULE_LINEAR_QUADRATIC] = "Mochi linear-then-quadratic flow schedule x sigma_max",
    [SGM_SCHEDULE_KL_OPTIMAL] = "Sabour et al. 2024 KL-optimal: uniform in arctan(sigma)",
    [SGM_SCHEDULE_AYS] = "Align Your Steps tables (--ays-model sd1|sdxl|svd), log-linear interp",
    [SGM_SCHEDULE_GITS] = "GITS (Chen et al. 2024) coeff 1.20 tables, 2..20 steps (+ interp)",
    [SGM_SCHEDULE_LAPLACE] = "ComfyUI laplace: Laplace-CDF ramp in log sigma (mu 0, beta 0.5)",
    [SGM_SCHEDULE_OPTIMAL_STEPS] = "OptimalSteps flow tables (--ays-model flux|wan|chroma)",
};

static const char *const prediction_help[] = {
    [SGM_PRED_EPS] = "noise eps, x = alpha x0 + sigma eps",
    [SGM_PRED_X0] = "the data x0",
    [SGM_PRED_V] = "v = alpha eps - sigma x0",
    [SGM_PRED_SCORE] = "grad log p_t(x) = -eps / sigma",
    [SGM_PRED_FLOW] = "velocity dx/dt = alpha' x0 + sigma' eps",
};

typedef struct section {
    sgm_enum e;
    const char *const *help; /* by value */
    size_t n_help;
} section;

#define SECTION(e, help) {e, help, sizeof help / sizeof help[0]}
static const section processes = SECTION(SGM_ENUM_PROCESS, process_help);
static const section schedules = SECTION(SGM_ENUM_SCHEDULE, schedule_help);
static const section predictions = SECTION(SGM_ENUM_PREDICTION, prediction_help);

/* every listed value of the section, Markdown table rows or text lines */
static void print_rows(const section *s, int md) {
    for (int v = 0; v < sgm_enum_count(s->e); v++) {
        if (!cli_enum_listed((int)s->e, v)) continue;
        const char *name = sgm_enum_name(s->e, v);
        const char *help = (size_t)v < s->n_help && s->help[v] ? s->help[v] : "";
        if (md) printf("| `%s` | %s |\n", name, help);
        else printf("  %-16s %s\n", name, help);
    }
}

static const char *kind_of(const sgm_method_info *m) {
    if (m->adaptive) return m->stochastic ? "adaptive SDE" : "adaptive ODE";
    return m->stochastic ? "SDE" : "ODE";
}

static void print_md(void) {
    printf("## Samplers\n\n| name | aliases | order | kind | summary |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < sgm_method_count(); i++) {
        const sgm_method_info *m = sgm_method_at(i);
        printf("| `%s` | %s | %d | %s | %s |\n", m->name, m->aliases ? m->aliases : "",
               m->order, kind_of(m), m->summary);
    }
    printf("\n## Processes\n\n| name | description |\n|---|---|\n");
    print_rows(&processes, 1);
    printf("\n## Schedules\n\n| name | description |\n|---|---|\n");
    print_rows(&schedules, 1);
    printf("\nExplicit lists: `--sigmas LIST|@FILE` (VE sigmas) or `--times LIST|@FILE` "
           "(process times).\n");
    printf("\n## Predictions\n\n| name | description |\n|---|---|\n");
    print_rows(&predictions, 1);
}

static void print_text(void) {
    printf("processes:\n");
    print_rows(&processes, 0);
    printf("\nsamplers (name, order, kind, summary; aliases):\n");
    for (size_t i = 0; i < sgm_method_count(); i++) {
        const sgm_method_info *m = sgm_method_at(i);
        printf("  %-20s %d  %-12s %s\n", m->name, m->order, kind_of(m), m->summary);
        if (m->aliases && m->aliases[0]) printf("  %-20s    aliases: %s\n", "", m->aliases);
    }
    printf("\nschedules:\n");
    print_rows(&schedules, 0);
    printf("  %-16s %s\n", "--sigmas/--times", "explicit decreasing list (LIST or @FILE)");
    printf("\npredictions:\n");
    print_rows(&predictions, 0);
}

static const cli_opt list_opts[] = {{"markdown", NULL, "off", "print Markdown tables"},
                                    {NULL, NULL, NULL, NULL}};

int cmd_list(int argc, char **argv) {
    cli_args a;
    memset(&a, 0, sizeof a);
    a.cmd = "list";
    cli_add_opts(&a, list_opts);
    int md = 0;
    if (cli_parse(&a, argc, argv) < 0 || cli_get_bool(&a, "markdown", &md) < 0) {
        fprintf(stderr, "sgm list: %s\n", a.err);
        return 2;
    }
    if (a.help) {
        cli_usage(&a, stdout, "[--markdown]");
        return 0;
    }
    if (md) print_md();
    else print_text();
    return 0;
}
