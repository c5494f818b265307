/* cmd_invert.c - `sgm invert`: data -> latent along the probability-flow
 * ODE run backwards (sgm_edit.h), and --regenerate for the way back.
 *   --method ddim | dpmpp_2m: DDIM / DPM-Solver++(2M) inversion; the latent
 *     ([N, ...], model units) regenerates with `sgm sample --init Z.npy
 *     --sampler ddim|dpmpp_2m` on the same schedule (or --regenerate);
 *   --method reversible: the algebraically reversible solver (McCallum &
 *     Foster 2024); the latent is the pair (y, z), written [2, N, ...], and
 *     --regenerate gives the input back up to rounding. It needs a schedule
 *     whose every sigma is > 0 (--final sigma_min).
 * The input rows are taken to be at the schedule's last nonzero point.
 * Exit codes: 0, 2 bad input (nothing written), 1 runtime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "edit_common.h"

static const cli_opt invert_opts_table[] = {
    {"model", "KIND:PATH", NULL, "gmm:model.json or ckpt:model.safetensors"},
    {"prediction", "KIND", "x0 (ckpt: its own)", "what the model emits: {prediction}"},
    {"input", "X.npy", NULL, "data rows [N, ...] (--regenerate: the latent)"},
    {"method", "NAME", "ddim", "ddim|dpmpp_2m|reversible"},
    {"coupling", "C", "0.999", "reversible: coupling in (0, 1]"},
    {"eta", "E", "0", "reversible: SDE noise (0: the ODE solver)"},
    {"seed", "S", "0", "reversible SDE noise seed"},
    {"regenerate", NULL, NULL, "latent -> data instead"},
    {"out", "OUT.npy", NULL, "the latent (reversible: [2, N, ...]) or the data"},
    {NULL, NULL, NULL, NULL}};

typedef struct invert_job {
    cli_edit_base b;
    int method; /* 0 ddim, 1 dpmpp_2m, 2 reversible */
    int regen;
    sgm_reversible_config rc;
    double *y, *z; /* reversible pair, [n, d] each */
    size_t nfe;
} invert_job;

static int prepare_invert(cli_args *a, int argc, char **argv, invert_job *j) {
    const cli_opt *const tables[] = {invert_opts_table, cli_process_opts, cli_schedule_opts,
                                     NULL};
    int r = cli_start(a, "invert", tables, argc, argv,
                      "--model KIND:PATH --input X.npy --schedule S --steps N --out Z.npy");
    if (r != CLI_PARSED) return r;
    static const char *const methods[] = {"ddim", "dpmpp_2m", "reversible", NULL};
    j->rc = sgm_reversible_config_default();
    if (cli_get_choice(a, "method", methods, &j->method) < 0 ||
        cli_get_double(a, "coupling", &j->rc.coupling) < 0 ||
        cli_get_double(a, "eta", &j->rc.eta) < 0 || cli_get_u64(a, "seed", &j->rc.seed) < 0 ||
        cli_get_bool(a, "regenerate", &j->regen) < 0)
        return -1;
    if (!(j->rc.coupling > 0 && j->rc.coupling <= 1))
        return cli_fail(a, "--coupling %g is outside (0, 1]", j->rc.coupling);
    if (!(j->rc.eta >= 0)) return cli_fail(a, "--eta %g must be >= 0", j->rc.eta);
    if (j->method != 2 && (cli_has(a, "coupling") || cli_has(a, "eta")))
        return cli_fail(a, "--coupling / --eta belong to --method reversible");
    const char *sm = j->method == 1 ? "dpmpp_2m" : "ddim";
    if (cli_edit_setup(a, &j->b, sm, j->method == 2 && j->regen, !j->regen) < 0) return -1;
    const sgm_schedule *s = j->b.sched;
    if (j->method == 2)
        for (size_t i = 0; i < s->n; i++)
            if (!(s->sigma[i] > 0))
                return cli_fail(a, "--method reversible needs every sigma > 0: end the schedule "
                                   "with --final sigma_min");
    if (j->method != 2 && j->b.lead)
        return cli_fail(a, "--input: a [2, N, ...] pair is a reversible latent");
    return 0;
}

/* ddim / dpmpp_2m both ways; 0 or a status */
static sgm_status run_ode(invert_job *j, sgm_error *err) {
    const sgm_schedule *s = j->b.sched;
    size_t n = j->b.n, d = j->b.d, last = s->n - 1;
    double *x = j->b.in.data;
    if (!(s->sigma[last] > 0)) last--;
    if (!j->regen) {
        for (size_t i = 0; i < n * d; i++) x[i] *= s->alpha[last];
        sgm_denoiser den = cli_model_denoiser(&j->b.model, j->b.proc, j->b.pred);
        return sgm_invert((sgm_invert_method)j->method, s, j->b.proc, &den, 0, n, d, SGM_F64, x,
                          &j->nfe, err);
    }
    sgm_sampler_config sc;
    sgm_sampler_config_default(j->method == 1 ? "dpmpp_2m" : "ddim", &sc, err);
    sgm_sampler *smp = NULL;
    sgm_status st = sgm_sampler_create(&sc, j->b.proc, n, d, &smp, err);
    if (st) return st;
    sgm_denoiser den = cli_model_denoiser(&j->b.model, j->b.proc, j->b.pred);
    sgm_rng rng = sgm_rng_init(0);
    st = sgm_sampler_run(smp, s, &den, &rng, 0, n, x, err);
    sgm_sampler_stats ss;
    sgm_sampler_get_stats(smp, &ss);
    j->nfe = ss.nfe;
    sgm_sampler_free(smp);
    if (!st && s->alpha[s->n - 1] != 0)
        for (size_t i = 0; i < n * d; i++) x[i] /= s->alpha[s->n - 1];
    return st;
}

/* the reversible solver both ways; the result is left in j->b.in (regenerate:
 * y only, reshaped to [N, ...]) */
static sgm_status run_rev(invert_job *j, sgm_error *err) {
    const sgm_schedule *s = j->b.sched;
    size_t n = j->b.n, d = j->b.d, last = s->n - 1;
    sgm_denoiser den = cli_model_denoiser(&j->b.model, j->b.proc, j->b.pred);
    double *x = j->b.in.data;
    sgm_status st;
    if (!j->regen) {
        double *p = realloc(x, 2 * n * d * sizeof(double));
        if (!p) return SGM_ERR_NOMEM;
        j->b.in.data = p;
        for (size_t i = 0; i < n * d; i++) p[i] *= s->alpha[last];
        memcpy(p + n * d, p, n * d * sizeof(double));
        st = sgm_reversible_invert(&j->rc, s, j->b.proc, &den, 0, n, d, SGM_F64, p, p + n * d,
                                   &j->nfe, err);
        sgm_array *in = &j->b.in; /* [N, ...] -> [2, N, ...] */
        memmove(in->shape + 1, in->shape, (size_t)in->ndim * sizeof(size_t));
        in->shape[0] = 2, in->ndim++, in->count *= 2;
        return st;
    }
    double *z = x + n * d;
    double *zz = NULL;
    if (!j->b.lead) { /* a plain x_T: y = z = x_T */
        if (!(zz = malloc(n * d * sizeof(double)))) return SGM_ERR_NOMEM;
        memcpy(zz, x, n * d * sizeof(double));
        z = zz;
    }
    st = sgm_reversible_sample(&j->rc, s, j->b.proc, &den, 0, n, d, SGM_F64, x, z, &j->nfe, err);
    free(zz);
    for (size_t i = 0; i < n * d; i++) x[i] /= s->alpha[last];
    sgm_array *in = &j->b.in;
    if (j->b.lead) {
        memmove(in->shape, in->shape + 1, (size_t)(in->ndim - 1) * sizeof(size_t));
        in->ndim--, in->count /= 2;
    }
    return st;
}

int cmd_invert(int argc, char **argv) {
    cli_args a;
    invert_job j;
    memset(&j, 0, sizeof j);
    int rc = prepare_invert(&a, argc, argv, &j);
    if (rc == CLI_HELP) {
        rc = 0;
    } else if (rc < 0) {
        rc = cli_error(&a, 2);
    } else {
        sgm_error err = {0};
        sgm_status st = j.method == 2 ? run_rev(&j, &err) : run_ode(&j, &err);
        const char *out = cli_get(&a, "out");
        if (st) {
            fprintf(stderr, "sgm invert: %s (%s)\n", err.msg, sgm_status_str(st));
            rc = 1;
        } else {
            if (j.regen) cli_model_to_data(&j.b.model, j.b.n, j.b.in.data);
            if (sgm_npy_save(out, j.b.in.ndim, j.b.in.shape, j.b.in.data, 0, &err)) {
                fprintf(stderr, "sgm invert: %s\n", err.msg);
                rc = 1;
            } else {
                printf("sgm invert: %zu x %zu rows, %s%s, NFE %zu -> %s\n", j.b.n, j.b.d,
                       (const char *[]){"ddim", "dpmpp_2m", "reversible"}[j.method],
                       j.regen ? " (regenerate)" : "", j.nfe, out);
            }
        }
    }
    cli_edit_free(&j.b);
    return rc;
}
