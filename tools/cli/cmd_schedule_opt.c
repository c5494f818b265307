/* cmd_schedule_opt.c - `sgm schedule --optimize`: the schedule optimiser
 * (sgm_schedule_opt.h, docs/schedule-optimizer.md). For each --sampler and
 * --nfe it searches the K + 1 VE sigmas, from the model's sigma_max to its
 * sigma_min, that minimise the sampler's RMS error against a tight rk45
 * solve on a calibration batch (--n rows of x_T from --seed), writes them to
 * --out (one %.17g value a line: `sgm sample --sigmas @FILE` reads it) and
 * prints the errors of the standard schedules and of the optimised one on
 * the calibration batch and, with --holdout N, on N held-out rows of
 * x_T from --holdout-seed (the fair comparison). Several samplers / budgets
 * share the two reference solves; --out then names the files with
 * {sampler} and {nfe}.
 *
 * A checkpoint brings its process and its recorded sigma range (as `sgm
 * sample` does; --sigma-min / --sigma-max override it) and is sampled
 * unconditionally (the null class of a class-conditional network).
 *
 * Exit codes: 0 written; 2 bad input (one line on stderr, nothing written);
 * 1 a failure while solving. Each file is written atomically after its
 * search. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "model.h"
#include "sgm/sgm_ckpt.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_schedule_opt.h"

#define OPT_MAX 16

static const cli_opt opt_table[] = {
    {"optimize", NULL, NULL, "search the schedule (this mode)"},
    {"model", "KIND:PATH", NULL, "gmm:FILE.json or ckpt:FILE.safetensors"},
    {"sampler", "LIST", NULL, "deterministic fixed-step sampler(s), e.g. dpmpp_2m,unipc"},
    {"nfe", "LIST", NULL, "NFE budget(s) K >= 1 (network calls of the sampler)"},
    {"out", "FILE", NULL, "sigmas file; with several samplers / budgets use {sampler}, {nfe}"},
    {"n", "N", "64", "calibration rows"},
    {"seed", "S", "0", "calibration x_T: Philox (S, draw 0), as `sgm sample --seed S`"},
    {"holdout", "N", "0", "held-out rows to evaluate on (0: none)"},
    {"holdout-seed", "S", "1", "held-out x_T seed"},
    {"starts", "LIST", "karras,exponential,logsnr,ays", "standard schedules (start, compared)"},
    {"ays-model", "NAME", "sd1", "AYS table (mapped onto the model's range)"},
    {"ref-rtol", "R", "1e-9", "rk45 reference: rtol = atol"},
    {"ref-norm", "KIND", "per_sample", "rk45 reference error norm: per_sample|batch"},
    {"max-evals", "N", "400", "objective evaluations of the descent"},
    {"threads", "N", "0 (OpenMP default)", "threads"},
    {"quiet", NULL, "off", "no progress lines"},
    {NULL, NULL, NULL, NULL}};

typedef struct opt_job {
    cli_model m;
    sgm_process *proc;
    sgm_denoiser den;
    sgm_schedule_problem *cal, *hold;
    char *sbuf, *kbuf;
    const char *samplers[OPT_MAX];
    int nfe[OPT_MAX];
    size_t n_s, n_nfe, n_starts;
    sgm_schedule_kind starts[OPT_MAX];
    sgm_schedule_problem_config pc;
    size_t holdout, max_evals;
    uint64_t holdout_seed;
    const char *out, *ays;
    int quiet;
} opt_job;

/* "a,b,c" -> tokens in buf (owned by the caller) */
static int split_list(cli_args *a, const char *opt, const char *v, char **buf,
                      const char **tok, size_t *n) {
    *n = 0;
    if (!(*buf = strdup(v))) return cli_fail(a, "out of memory");
    for (char *p = strtok(*buf, ","); p; p = strtok(NULL, ",")) {
        if (*n == OPT_MAX) return cli_fail(a, "--%s: more than %d entries", opt, OPT_MAX);
        tok[(*n)++] = p;
    }
    if (*n == 0) return cli_fail(a, "--%s: empty list", opt);
    return 0;
}

static int parse_lists(cli_args *a, opt_job *j) {
    if (split_list(a, "sampler", cli_get(a, "sampler"), &j->sbuf, j->samplers, &j->n_s) < 0)
        return -1;
    for (size_t i = 0; i < j->n_s; i++) {
        const sgm_method_info *mi = sgm_method_find(j->samplers[i]);
        if (!mi) return cli_fail(a, "unknown sampler '%s' (run `sgm list`)", j->samplers[i]);
        if (mi->adaptive || mi->stochastic)
            return cli_fail(a, "--sampler %s: %s; the optimiser needs a deterministic "
                               "fixed-step sampler", mi->name,
                            mi->adaptive ? "adaptive" : "stochastic");
    }
    double *v = NULL;
    size_t nv = 0;
    if (cli_get_list(a, "nfe", &v, &nv) < 0) return -1;
    if (nv > OPT_MAX) {
        free(v);
        return cli_fail(a, "--nfe: more than %d budgets", OPT_MAX);
    }
    for (size_t i = 0; i < nv; i++) {
        if (!(v[i] >= 1 && v[i] <= 10000 && v[i] == floor(v[i]))) {
            double bad = v[i];
            free(v);
            return cli_fail(a, "--nfe must be an integer in [1, 10000] (got %g)", bad);
        }
        j->nfe[i] = (int)v[i];
    }
    free(v);
    j->n_nfe = nv;
    const char *st = cli_get(a, "starts");
    const char *tok[OPT_MAX];
    if (split_list(a, "starts", st ? st : "karras,exponential,logsnr,ays", &j->kbuf, tok,
                   &j->n_starts) < 0)
        return -1;
    for (size_t i = 0; i < j->n_starts; i++)
        if (sgm_schedule_kind_from_name(tok[i], &j->starts[i]))
            return cli_fail(a, "--starts: unknown schedule '%s' (run `sgm list`)", tok[i]);
    if (j->n_s * j->n_nfe > 1 && (!strstr(j->out, "{sampler}") || !strstr(j->out, "{nfe}")))
        return cli_fail(a, "--out: with several samplers / budgets, name the files with "
                           "{sampler} and {nfe}");
    return 0;
}

/* the options (CLI_PARSED, CLI_HELP or -1) */
static int parse_opt_args(cli_args *a, int argc, char **argv, opt_job *j) {
    const cli_opt *const tables[] = {opt_table, cli_process_opts, NULL};
    int r = cli_start(a, "schedule", tables, argc, argv,
                      "--optimize --model KIND:PATH --sampler S --nfe K --out FILE "
                      "[--n 64] [--holdout 256]");
    if (r != CLI_PARSED) return r;
    if (cli_require(a, "model") < 0 || cli_require(a, "sampler") < 0 ||
        cli_require(a, "nfe") < 0 || cli_require(a, "out") < 0)
        return -1;
    sgm_schedule_problem_config_default(&j->pc);
    double rtol = 1e-9;
    int threads = 0, norm = 0;
    static const char *const norms[] = {"per_sample", "batch", NULL};
    j->max_evals = 400;
    j->holdout_seed = 1;
    if (cli_get_size(a, "n", 1, &j->pc.n) < 0 || cli_get_u64(a, "seed", &j->pc.seed) < 0 ||
        cli_get_size(a, "holdout", 0, &j->holdout) < 0 ||
        cli_get_u64(a, "holdout-seed", &j->holdout_seed) < 0 ||
        cli_get_double(a, "ref-rtol", &rtol) < 0 || cli_get_choice(a, "ref-norm", norms, &norm) < 0 ||
        cli_get_size(a, "max-evals", 0, &j->max_evals) < 0 ||
        cli_get_int(a, "threads", 0, 4096, &threads) < 0)
        return -1;
    if (!(rtol > 0 && rtol < 1)) return cli_fail(a, "--ref-rtol must be in (0, 1)");
    if (j->holdout > 0 && j->holdout_seed == j->pc.seed)
        return cli_fail(a, "--holdout-seed must differ from --seed (a held-out batch)");
    j->pc.ref_rtol = j->pc.ref_atol = rtol;
    j->pc.ref_norm = norm ? SGM_NORM_BATCH : SGM_NORM_PER_SAMPLE;
    j->pc.n_threads = threads;
    j->out = cli_get(a, "out");
    j->ays = cli_get(a, "ays-model");
    j->quiet = cli_has(a, "quiet");
    if (cli_check_out(a, "out", j->out) < 0 || parse_lists(a, j) < 0) return -1;
    return CLI_PARSED;
}

/* the model, its process and sigma range (-1 on bad input) */
static int load_opt_model(cli_args *a, opt_job *j) {
    char msg[512];
    const char *spec = cli_get(a, "model");
    if (cli_model_load(spec, &j->m, msg, sizeof msg) < 0) return cli_fail(a, "%s", msg);
    double smin = 0, smax = 0;
    if (j->m.net) {
        if (cli_model_process(a, &j->m, &j->proc) < 0) return -1;
        sgm_ckpt_info info;
        sgm_error err = {0};
        const char *path = strncmp(spec, "ckpt:", 5) == 0 ? spec + 5 : spec;
        if (sgm_ckpt_read_info(path, &info, &err) == SGM_OK && info.sampling.steps > 0) {
            smin = info.sampling.sigma_min;
            smax = info.sampling.sigma_max;
        }
    } else if (cli_build_process(a, "ve", &j->proc) < 0) {
        return -1;
    }
    if (cli_get_double(a, "sigma-min", &smin) < 0 || cli_get_double(a, "sigma-max", &smax) < 0)
        return -1;
    j->pc.sigma_min = smin;
    j->pc.sigma_max = smax;
    j->den = cli_model_denoiser(&j->m, j->proc, SGM_PRED_X0);
    j->pc.proc = j->proc;
    j->pc.den = j->den;
    j->pc.d = j->m.dim;
    return 0;
}

static int on_progress(const sgm_schedule_opt_progress *p, void *ud) {
    const char *what = ud;
    if (strcmp(p->phase, "start") == 0)
        fprintf(stderr, "  %s: start %-12s err %.4g\n", what, p->start, p->err);
    else
        fprintf(stderr, "  %s: sweep %-3d evals %-4zu err %.4g\n", what, p->sweep, p->evals,
                p->err);
    return 0;
}

/* --out with {sampler} and {nfe} replaced */
static void out_name(const char *pat, const char *sampler, int nfe, char *buf, size_t len) {
    char nb[16];
    snprintf(nb, sizeof nb, "%d", nfe);
    size_t o = 0;
    for (const char *p = pat; *p && o + 1 < len;) {
        const char *rep = NULL;
        if (strncmp(p, "{sampler}", 9) == 0) rep = sampler, p += 9;
        else if (strncmp(p, "{nfe}", 5) == 0) rep = nb, p += 5;
        if (rep) {
            for (; *rep && o + 1 < len; rep++) buf[o++] = *rep;
        } else {
            buf[o++] = *p++;
        }
    }
    buf[o] = 0;
}

static sgm_status write_sigmas(const char *path, const double *s, size_t n, sgm_error *err) {
    sgm_atomic_file *af = NULL;
    sgm_status st = sgm_atomic_open(path, &af, err);
    if (st) return st;
    FILE *f = sgm_atomic_stream(af);
    for (size_t i = 0; i < n; i++) fprintf(f, "%.17g\n", s[i]);
    return sgm_atomic_commit(af, err);
}

/* held-out error of a list ("-" when there is no held-out batch) */
static double hold_err(opt_job *j, const sgm_sampler_config *sc, const double *s, size_t n,
                       sgm_error *err, sgm_status *st) {
    double e = NAN;
    if (!j->hold || *st) return e;
    *st = sgm_schedule_problem_error(j->hold, sc, s, n, &e, NULL, err);
    if (*st == SGM_ERR_NONFINITE) *st = SGM_OK, e = INFINITY;
    return e;
}

/* the standard schedules on both batches, then the optimised one */
static sgm_status report(opt_job *j, const sgm_schedule_opt_config *oc,
                         const sgm_schedule_opt_result *r, sgm_error *err) {
    double smin, smax, *s = malloc(sizeof(double) * r->n_points);
    if (!s) return SGM_ERR_NOMEM;
    sgm_schedule_problem_range(j->cal, &smin, &smax);
    double best_c = INFINITY, best_h = INFINITY;
    sgm_status st = SGM_OK;
    printf("%-12s %-9s %4s  %-12s %-12s\n", "sampler", "schedule", "nfe", "calibration",
           "held-out");
    for (size_t k = 0; k < j->n_starts && !st; k++) {
        const char *name = sgm_schedule_kind_name(j->starts[k]);
        double ec = NAN;
        st = sgm_schedule_standard_sigmas(j->proc, j->starts[k], j->ays, r->steps, smin, smax,
                                          s, err);
        if (!st) st = sgm_schedule_problem_error(j->cal, &oc->sampler, s, r->n_points, &ec,
                                                 NULL, err);
        if (st == SGM_ERR_NONFINITE) st = SGM_OK, ec = INFINITY;
        double eh = hold_err(j, &oc->sampler, s, r->n_points, err, &st);
        printf("%-12s %-9s %4zu  %-12.4g %-12.4g\n", oc->sampler.method, name, r->nfe, ec, eh);
        best_c = fmin(best_c, ec), best_h = fmin(best_h, eh);
    }
    double oh = hold_err(j, &oc->sampler, r->sigma, r->n_points, err, &st);
    printf("%-12s %-9s %4zu  %-12.4g %-12.4g\n", oc->sampler.method, "optimized", r->nfe, r->err,
           oh);
    printf("%-12s ratio best-standard / optimized: calibration %.3g, held-out %.3g\n",
           oc->sampler.method, best_c / r->err, j->hold ? best_h / oh : NAN);
    fflush(stdout); /* one block per pair as it completes */
    free(s);
    return st;
}

/* one sampler at one budget: search, write, report */
static int run_one(cli_args *a, opt_job *j, const char *sampler, int nfe) {
    sgm_error err = {0};
    sgm_schedule_opt_config oc;
    sgm_schedule_opt_result r;
    memset(&r, 0, sizeof r);
    if (sgm_schedule_opt_config_default(sampler, &oc, &err)) return cli_fail(a, "%s", err.msg);
    oc.nfe = nfe;
    oc.starts = j->starts;
    oc.n_starts = j->n_starts;
    oc.ays_table = j->ays;
    oc.max_evals = j->max_evals;
    oc.sampler.n_threads = j->pc.n_threads;
    char what[64], path[4096];
    snprintf(what, sizeof what, "%s NFE %d", oc.sampler.method, nfe);
    if (!j->quiet) oc.on_progress = on_progress, oc.user_data = what;
    sgm_status st = sgm_schedule_optimize(j->cal, &oc, &r, &err);
    if (st) {
        cli_fail(a, "%s", err.msg);
        return st == SGM_ERR_INVALID_ARG || st == SGM_ERR_UNSUPPORTED ? 2 : 1;
    }
    out_name(j->out, oc.sampler.method, nfe, path, sizeof path);
    st = report(j, &oc, &r, &err);
    if (!st) st = write_sigmas(path, r.sigma, r.n_points, &err);
    if (!st && !j->quiet)
        fprintf(stderr, "  %s: %d steps, %zu evaluations, %d sweeps -> %s\n", what, r.steps,
                r.evals, r.sweeps, path);
    sgm_schedule_opt_result_free(&r);
    if (st) return cli_fail(a, "%s", err.msg[0] ? err.msg : sgm_status_str(st)), 1;
    return 0;
}

static int make_problems(cli_args *a, opt_job *j) {
    sgm_error err = {0};
    double t0 = cli_now();
    sgm_status st = sgm_schedule_problem_create(&j->pc, &j->cal, &err);
    if (!st && j->holdout > 0) {
        sgm_schedule_problem_config hc = j->pc;
        hc.n = j->holdout;
        hc.seed = j->holdout_seed;
        st = sgm_schedule_problem_create(&hc, &j->hold, &err);
    }
    if (st) {
        cli_fail(a, "%s", err.msg);
        return st == SGM_ERR_INVALID_ARG ? 2 : 1;
    }
    double smin, smax;
    sgm_schedule_problem_range(j->cal, &smin, &smax);
    if (!j->quiet)
        fprintf(stderr, "sgm schedule --optimize: %s, d = %zu, sigma %g .. %g; references "
                        "(rk45, rtol %g): %zu + %zu NFE, %.1f s\n",
                cli_get(a, "model"), j->pc.d, smax, smin, j->pc.ref_rtol,
                sgm_schedule_problem_ref_nfe(j->cal),
                j->hold ? sgm_schedule_problem_ref_nfe(j->hold) : 0, cli_now() - t0);
    return 0;
}

int cmd_schedule_optimize(int argc, char **argv) {
    cli_args a;
    opt_job j;
    memset(&j, 0, sizeof j);
    int rc = parse_opt_args(&a, argc, argv, &j);
    if (rc == CLI_HELP) return 0;
    if (rc < 0 || load_opt_model(&a, &j) < 0) rc = 2;
    else rc = make_problems(&a, &j);
    for (size_t s = 0; rc == 0 && s < j.n_s; s++)
        for (size_t k = 0; rc == 0 && k < j.n_nfe; k++)
            rc = run_one(&a, &j, j.samplers[s], j.nfe[k]);
    if (rc) cli_error(&a, rc);
    sgm_schedule_problem_free(j.cal);
    sgm_schedule_problem_free(j.hold);
    sgm_process_free(j.proc);
    cli_model_free(&j.m);
    free(j.sbuf);
    free(j.kbuf);
    return rc;
}
