/* cmd_edit.c - `sgm edit`: SDEdit / img2img (Meng et al. 2022). Each input
 * row (data units, .npy [N, ...]) is noised to the schedule's point
 * S - floor(S * strength) and sampled back over the rest of the schedule
 * (sgm_sdedit, sgm_edit.h; diffusers' img2img strength). Strength 0 returns
 * the input, 1 is sampling from pure noise. The noise is Philox draw 0 of
 * --seed per row, the sampler's draws 1, 2, ...: results do not depend on
 * batching. Guidance (--class, --guidance ...) and thresholding as in
 * `sgm sample`. Exit codes: 0, 2 bad input (nothing written), 1 runtime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "edit_common.h"
#include "guide.h"

static const cli_opt edit_opts_table[] = {
    {"model", "KIND:PATH", NULL, "gmm:model.json or ckpt:model.safetensors"},
    {"prediction", "KIND", "x0 (ckpt: its own)", "what the model emits: {prediction}"},
    {"input", "X.npy", NULL, "the rows to edit, [N, ...] in data units"},
    {"strength", "S", "0.5", "starting noise level in [0, 1] (fraction of the steps run)"},
    {"sampler", "NAME", "dpmpp_2m", "sampler name or alias (see `sgm list`)"},
    {"eta", "E", "the sampler's", "ancestral / SDE noise strength"},
    {"seed", "S", "0", "noise seed"},
    {"class", "K|LIST", NULL, "class per row (class-conditional models; mixtures: component)"},
    {"guidance", "W", "0", "classifier-free guidance (1 + W) D_c - W D_u"},
    {"out", "OUT.npy", NULL, "the edited rows, same shape as --input"},
    {NULL, NULL, NULL, NULL}};

typedef struct edit_job {
    cli_edit_base b;
    sgm_sampler_config cfg;
    cli_guide guide;
    cli_guided gd;
    sgm_sampler *smp;
    sgm_denoiser den;
    int *labels;
    double strength;
    uint64_t seed;
    size_t nfe;
} edit_job;

static int parse_labels(cli_args *a, edit_job *j) {
    const char *v = cli_get(a, "class");
    if (!v) return j->guide.guided ? cli_fail(a, "--guidance needs --class") : 0;
    int K = j->b.model.net ? sgm_model_n_classes(j->b.model.net)
                           : (int)sgm_gmm_components(j->b.model.gmm);
    if (K <= 0) return cli_fail(a, "--class / --guidance need a class-conditional model");
    char *e;
    long c = strtol(v, &e, 10);
    if (e == v || *e || c < 0 || c >= K)
        return cli_fail(a, "--class %s: expected a class in [0, %d)", v, K);
    if (!(j->labels = malloc(sizeof(int)))) return cli_fail(a, "out of memory");
    j->labels[0] = (int)c;
    return 0;
}

static int prepare_edit(cli_args *a, int argc, char **argv, edit_job *j) {
    const cli_opt *const tables[] = {edit_opts_table, cli_guide_opts, cli_process_opts,
                                     cli_schedule_opts, NULL};
    int r = cli_start(a, "edit", tables, argc, argv,
                      "--model KIND:PATH --input X.npy --strength S --schedule S --steps N "
                      "--out OUT.npy");
    if (r != CLI_PARSED) return r;
    const char *name = cli_has(a, "sampler") ? cli_get(a, "sampler") : "dpmpp_2m";
    sgm_error err = {0};
    if (sgm_sampler_config_default(name, &j->cfg, &err))
        return cli_fail(a, "unknown sampler '%s' (run `sgm list`)", name);
    j->strength = 0.5;
    if (cli_get_double(a, "eta", &j->cfg.eta) < 0 || cli_get_u64(a, "seed", &j->seed) < 0 ||
        cli_get_double(a, "strength", &j->strength) < 0)
        return -1;
    if (!(j->strength >= 0 && j->strength <= 1))
        return cli_fail(a, "--strength %g is outside [0, 1]", j->strength);
    if (cli_guide_parse(a, &j->guide, &j->cfg) < 0) return -1;
    if (cli_edit_setup(a, &j->b, j->cfg.method, 0, 1) < 0 || parse_labels(a, j) < 0) return -1;
    if (sgm_sampler_create(&j->cfg, j->b.proc, j->b.n, j->b.d, &j->smp, &err))
        return cli_fail(a, "%s", err.msg);
    j->den = cli_model_denoiser(&j->b.model, j->b.proc, j->b.pred);
    if (j->labels && j->b.model.net && !cli_guide_uses_wrapper(&j->guide, &j->b.model) &&
        sgm_model_set_labels(j->b.model.net, j->labels, 1, j->guide.cfg.scale, &err))
        return cli_fail(a, "%s", err.msg);
    return cli_guide_build(a, &j->guide, &j->b.model, j->labels, 1, j->b.proc, j->smp, &j->den,
                           &j->gd);
}

static int run_edit(edit_job *j) {
    sgm_error err = {0};
    sgm_rng rng = sgm_rng_init(j->seed);
    sgm_status st = sgm_sdedit(j->smp, j->b.sched, j->b.proc, j->strength, &j->den, &rng, 0,
                               j->b.n, j->b.d, j->b.in.data, &err);
    if (st) {
        fprintf(stderr, "sgm edit: %s (%s)\n", err.msg, sgm_status_str(st));
        return st == SGM_ERR_INVALID_ARG || st == SGM_ERR_UNSUPPORTED ? 2 : 1;
    }
    sgm_sampler_stats ss;
    sgm_sampler_get_stats(j->smp, &ss);
    j->nfe = ss.nfe;
    return 0;
}

int cmd_edit(int argc, char **argv) {
    cli_args a;
    edit_job j;
    memset(&j, 0, sizeof j);
    int rc = prepare_edit(&a, argc, argv, &j);
    if (rc == CLI_HELP) {
        rc = 0;
    } else if (rc < 0) {
        rc = cli_error(&a, 2);
    } else if ((rc = run_edit(&j)) == 0) {
        cli_model_to_data(&j.b.model, j.b.n, j.b.in.data);
        sgm_error err = {0};
        const char *out = cli_get(&a, "out");
        if (sgm_npy_save(out, j.b.in.ndim, j.b.in.shape, j.b.in.data, 0, &err)) {
            fprintf(stderr, "sgm edit: %s\n", err.msg);
            rc = 1;
        } else {
            printf("sgm edit: %zu x %zu rows, strength %g, %s, NFE %zu -> %s\n", j.b.n, j.b.d,
                   j.strength, j.cfg.method, j.nfe, out);
            cli_guided_report(&j.gd, stdout);
        }
    }
    cli_guided_free(&j.gd);
    sgm_sampler_free(j.smp);
    free(j.labels);
    cli_edit_free(&j.b);
    return rc;
}
