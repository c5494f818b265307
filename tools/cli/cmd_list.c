/* cmd_list.c - `sgm list`: the processes, samplers (from the library's
 * registry: name, aliases, order, kind, summary), schedules and predictions
 * the CLI accepts. With --markdown it prints the same as Markdown tables
 * (docs/samplers.md is generated from it). Every name printed here is looked
 * up again through the library, so the list cannot drift from what parses. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cli.h"

static const struct {
    const char *name, *help;
} processes[] = {
    {"ve", "variance exploding, t = sigma (EDM / k-diffusion); --sigma-min --sigma-max"},
    {"vp", "variance preserving, linear beta(t) (score SDE); --beta-0 --beta-1"},
    {"vp-cosine", "variance preserving, iDDPM cosine alpha(t); --cosine-s"},
    {"vp-discrete", "discrete beta table (DDPM / diffusers); --betas --beta-start --beta-end "
                    "--n-train"},
    {"subvp", "sub-VP SDE (score SDE): alpha as vp, sigma = 1 - alpha^2"},
    {"flow", "rectified flow / linear interpolant: alpha = 1 - t, sigma = t"},
};

static const struct {
    const char *name, *help;
} schedules[] = {
    {"karras", "Karras et al. 2022 eq. 5, --rho (7); appends sigma = 0"},
    {"exponential", "uniform in log sigma; appends sigma = 0"},
    {"polyexponential", "k-diffusion: ramp^rho in log sigma (--rho 1); appends 0"},
    {"vp", "k-diffusion get_sigmas_vp (beta_d 19.9, beta_min 0.1, eps_s 1e-3)"},
    {"time_uniform", "uniform in process time from t-max to t-eps (DPM-Solver)"},
    {"logsnr", "uniform in half log-SNR lambda (DPM-Solver 'logSNR')"},
    {"time_quadratic", "t = linspace(sqrt(t-max), sqrt(t-eps))^2 (DPM-Solver)"},
    {"leading", "diffusers timestep_spacing='leading' (--steps-offset)"},
    {"trailing", "diffusers timestep_spacing='trailing'"},
    {"linspace", "diffusers timestep_spacing='linspace'"},
};

static const struct {
    const char *name, *help;
} predictions[] = {
    {"eps", "noise eps, x = alpha x0 + sigma eps"},
    {"x0", "the data x0"},
    {"v", "v = alpha eps - sigma x0"},
    {"score", "grad log p_t(x) = -eps / sigma"},
    {"flow", "velocity dx/dt = alpha' x0 + sigma' eps"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

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
    for (size_t i = 0; i < COUNT(processes); i++)
        printf("| `%s` | %s |\n", processes[i].name, processes[i].help);
    printf("\n## Schedules\n\n| name | description |\n|---|---|\n");
    for (size_t i = 0; i < COUNT(schedules); i++)
        printf("| `%s` | %s |\n", schedules[i].name, schedules[i].help);
    printf("\nExplicit lists: `--sigmas LIST|@FILE` (VE sigmas) or `--times LIST|@FILE` "
           "(process times).\n");
    printf("\n## Predictions\n\n| name | description |\n|---|---|\n");
    for (size_t i = 0; i < COUNT(predictions); i++)
        printf("| `%s` | %s |\n", predictions[i].name, predictions[i].help);
}

static void print_text(void) {
    printf("processes:\n");
    for (size_t i = 0; i < COUNT(processes); i++)
        printf("  %-16s %s\n", processes[i].name, processes[i].help);
    printf("\nsamplers (name, order, kind, summary; aliases):\n");
    for (size_t i = 0; i < sgm_method_count(); i++) {
        const sgm_method_info *m = sgm_method_at(i);
        printf("  %-20s %d  %-12s %s\n", m->name, m->order, kind_of(m), m->summary);
        if (m->aliases && m->aliases[0]) printf("  %-20s    aliases: %s\n", "", m->aliases);
    }
    printf("\nschedules:\n");
    for (size_t i = 0; i < COUNT(schedules); i++)
        printf("  %-16s %s\n", schedules[i].name, schedules[i].help);
    printf("  %-16s %s\n", "--sigmas/--times", "explicit decreasing list (LIST or @FILE)");
    printf("\npredictions:\n");
    for (size_t i = 0; i < COUNT(predictions); i++)
        printf("  %-16s %s\n", predictions[i].name, predictions[i].help);
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
    /* the tables above must name what the library parses */
    for (size_t i = 0; i < COUNT(processes); i++) {
        sgm_process_kind k;
        if (sgm_process_kind_from_name(processes[i].name, &k)) {
            fprintf(stderr, "sgm list: internal: process '%s' unknown\n", processes[i].name);
            return 1;
        }
    }
    for (size_t i = 0; i < COUNT(schedules); i++) {
        sgm_schedule_kind k;
        if (sgm_schedule_kind_from_name(schedules[i].name, &k)) {
            fprintf(stderr, "sgm list: internal: schedule '%s' unknown\n", schedules[i].name);
            return 1;
        }
    }
    if (md) print_md();
    else print_text();
    return 0;
}
