/* cmd_bench.c - `sgm bench`: the NFE-vs-error benchmark (sgm_bench.h) on an
 * exact Gaussian mixture: samplers x schedules x NFE budgets, the error of
 * every deterministic sampler against a tight rk45 solution of the same ODE
 * from the same x_T, SW2 / MMD^2 / exact log-density of every sampler's
 * samples, a CSV of all rows, a log-log PNG (error vs NFE, one line per
 * sampler, one panel per schedule) and the best sampler per budget on stdout.
 *
 * A trained checkpoint (--model ckpt:FILE.safetensors) brings its process
 * (the options may only repeat it); the reference is rk45 on the network's
 * own ODE, errors are in its standardized units, and distribution metrics
 * are computed only against an exact mixture given with --gmm (samples are
 * mapped to data units first).
 *
 * Exit codes: 0 success; 2 bad input (unknown sampler / schedule, bad lists,
 * unwritable output, no cairo for --plot): one line on stderr, no output
 * file; 1 a runtime failure. Outputs are written only after the whole grid
 * has run (each atomically; if the second write fails the first is removed).
 *
 * Under `mpirun -np P` (dist.h) the grid cells are dealt out round-robin
 * over the ranks (sgm_bench_config.shard_*), the baselines (rk45 reference
 * rows, metrics' terms) are shared by all ranks through MPI_Allgatherv;
 * rank 0 gathers the rows and writes the files: equal to one process's
 * except the timing column `seconds`.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "dist.h"
#include "model.h"
#include "sgm/sgm_bench.h"
#include "sgm/sgm_plot.h"

static const cli_opt bench_opts_table[] = {
    {"model", "KIND:PATH", NULL, "gmm:FILE.json or ckpt:FILE.safetensors (trained)"},
    {"gmm", "FILE.json", NULL, "ckpt: exact mixture for the metrics (none: errors only)"},
    {"samplers", "all|LIST", "all", "comma list of sampler names (see `sgm list`)"},
    {"schedules", "LIST", "karras,logsnr", "comma list of schedule kinds"},
    {"nfe", "LIST", "5,10,20,50", "NFE budgets (denoiser evaluations)"},
    {"n", "N", "1000", "samples (rows of x_T)"},
    {"seed", "S", "0", "seed of x_T, sampler noise, exact samples and metrics"},
    {"ref-rtol", "R", "1e-9", "rk45 reference: rtol = atol"},
    {"metrics", "0|1", "1", "distribution metrics (SW2, MMD^2, log-density)"},
    {"projections", "L", "256", "SW2 directions"},
    {"threads", "N", "0 (OpenMP default)", "threads"},
    {"csv", "OUT.csv", NULL, "all rows as CSV (written atomically)"},
    {"plot", "OUT.png", NULL, "log-log PNG of error vs NFE (written atomically)"},
    {"title", "TEXT", "sgm bench: MODEL", "plot title"},
    {"quiet", NULL, "off", "no progress lines"},
    {NULL, NULL, NULL, NULL}};

/* LeakSanitizer: fontconfig (used by cairo's text) keeps a process-wide
 * cache that it never frees; not a leak of sgm. Only read under ASan. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig\n"; }

#define MAX_LIST 64

/* splits "a,b,c" into dup'd tokens (caller frees buf) */
static int split(cli_args *a, const char *opt, const char *v, char **buf, char **tok,
                 size_t *n) {
    *n = 0;
    *buf = strdup(v);
    if (!*buf) return cli_fail(a, "out of memory");
    for (char *p = *buf; *p;) {
        size_t len = strcspn(p, ",");
        if (len == 0) return cli_fail(a, "--%s: empty entry in '%s'", opt, v);
        if (*n == MAX_LIST) return cli_fail(a, "--%s: more than %d entries", opt, MAX_LIST);
        tok[(*n)++] = p;
        if (p[len] == ',') {
            p[len] = 0;
            p += len + 1;
            if (!*p) return cli_fail(a, "--%s: trailing comma in '%s'", opt, v);
        } else {
            p += len;
        }
    }
    if (*n == 0) return cli_fail(a, "--%s: empty list", opt);
    return 0;
}

static void to_data(size_t n, double *x, void *ud) { cli_model_to_data(ud, n, x); }

static void on_row(const sgm_bench_row *r, void *ud) {
    (void)ud;
    if (r->status) {
        fprintf(stderr, "  %-20s %-12s NFE<=%-3d  -- %s\n", r->sampler, r->schedule,
                r->nfe_budget, r->msg);
        return;
    }
    fprintf(stderr, "  %-20s %-12s NFE<=%-3d  nfe %-4zu err %-10.3g sw2 %-10.3g (%.3fs)\n",
            r->sampler, r->schedule, r->nfe_budget, r->nfe, r->err_rms, r->sw2, r->seconds);
}

/* The options, read before any work (cfg points into the lists here). */
typedef struct bench_opts {
    sgm_bench_config cfg;
    char *sbuf, *kbuf;  /* --samplers / --schedules tokens (owned) */
    double *nfe_vals;   /* --nfe (owned) */
    char *stok[MAX_LIST], *ktok[MAX_LIST];
    sgm_schedule_kind kinds[MAX_LIST];
    int budgets[MAX_LIST];
    size_t n_b;
    const char *csv, *png;
    int quiet;
} bench_opts;

/* The models, the process and the results (freed by free_job). */
typedef struct bench_job {
    cli_model m, cmp; /* the model; ckpt: the --gmm mixture */
    sgm_process *proc;
    sgm_denoiser net_den;
    sgm_bench_result res;
} bench_job;

static void free_job(bench_opts *o, bench_job *j) {
    sgm_bench_result_free(&j->res);
    sgm_process_free(j->proc);
    cli_model_free(&j->m);
    cli_model_free(&j->cmp);
    free(o->sbuf);
    free(o->kbuf);
    free(o->nfe_vals);
}

/* --samplers: all, or names the registry knows */
static int parse_samplers(cli_args *a, bench_opts *o) {
    const char *sv = cli_get(a, "samplers");
    if (!sv || strcmp(sv, "all") == 0) return 0;
    size_t n_s = 0;
    if (split(a, "samplers", sv, &o->sbuf, o->stok, &n_s) < 0) return -1;
    for (size_t i = 0; i < n_s; i++)
        if (!sgm_method_find(o->stok[i]))
            return cli_fail(a, "--samplers: unknown sampler '%s' (see `sgm list`)", o->stok[i]);
    o->cfg.samplers = (const char *const *)o->stok;
    o->cfg.n_samplers = n_s;
    return 0;
}

/* --schedules: distinct schedule kinds (not the explicit lists) */
static int parse_schedules(cli_args *a, bench_opts *o) {
    const char *kv = cli_get(a, "schedules");
    size_t n_k = 0;
    if (split(a, "schedules", kv ? kv : "karras,logsnr", &o->kbuf, o->ktok, &n_k) < 0) return -1;
    for (size_t i = 0; i < n_k; i++) {
        sgm_schedule_kind *k = o->kinds;
        if (sgm_schedule_kind_from_name(o->ktok[i], &k[i]) != SGM_OK ||
            k[i] == SGM_SCHEDULE_USER_SIGMAS || k[i] == SGM_SCHEDULE_USER_TIMES)
            return cli_fail(a, "--schedules: unknown schedule '%s' (see `sgm list`)", o->ktok[i]);
        for (size_t j = 0; j < i; j++)
            if (k[j] == k[i]) return cli_fail(a, "--schedules: '%s' given twice", o->ktok[i]);
    }
    o->cfg.schedules = o->kinds;
    o->cfg.n_schedules = n_k;
    return 0;
}

/* --nfe: distinct integer budgets in [1, 100000] */
static int parse_budgets(cli_args *a, bench_opts *o) {
    if (cli_has(a, "nfe")) {
        size_t nv = 0;
        if (cli_get_list(a, "nfe", &o->nfe_vals, &nv) < 0) return -1;
        if (nv == 0 || nv > MAX_LIST) return cli_fail(a, "--nfe: give 1 to %d budgets", MAX_LIST);
        for (size_t i = 0; i < nv; i++) {
            double v = o->nfe_vals[i];
            if (!(v >= 1 && v <= 100000 && v == floor(v)))
                return cli_fail(a, "--nfe: budget '%g' is not an integer in [1, 100000]", v);
            o->budgets[i] = (int)v;
            for (size_t j = 0; j < i; j++)
                if (o->budgets[j] == o->budgets[i])
                    return cli_fail(a, "--nfe: budget %d given twice", o->budgets[i]);
        }
        o->n_b = nv;
    } else {
        static const int dflt[] = {5, 10, 20, 50};
        o->n_b = 4;
        memcpy(o->budgets, dflt, sizeof dflt);
    }
    o->cfg.nfe = o->budgets;
    o->cfg.n_nfe = o->n_b;
    return 0;
}

/* --csv / --plot: writable, distinct, cairo for the plot */
static int parse_outputs(cli_args *a, bench_opts *o) {
    const char *csv = o->csv = cli_get(a, "csv"), *png = o->png = cli_get(a, "plot");
    if (csv && cli_check_out(a, "csv", csv) < 0) return -1;
    if (png && cli_check_out(a, "plot", png) < 0) return -1;
    if (csv && png && strcmp(csv, png) == 0)
        return cli_fail(a, "--csv and --plot name the same file");
    if (png && !sgm_plot_available())
        return cli_fail(a, "--plot: sgm was built without cairo (install libcairo2-dev, rebuild)");
    return 0;
}

/* CLI_PARSED, CLI_HELP (usage printed) or -1 (a->err set) */
static int parse_bench_args(cli_args *a, int argc, char **argv, bench_opts *o) {
    memset(o, 0, sizeof *o);
    sgm_bench_config_default(&o->cfg);
    const cli_opt *const tables[] = {bench_opts_table, cli_process_opts, NULL};
    int r = cli_start(a, "bench", tables, argc, argv,
                      "--model gmm:FILE.json [--process ve] | --model "
                      "ckpt:FILE.safetensors [--gmm FILE.json], [--samplers all|LIST] "
                      "[--schedules karras,...] [--nfe 5,10,20,50] [--n N] [--seed S] "
                      "--csv OUT.csv --plot OUT.png");
    if (r != CLI_PARSED) return r;
    if (cli_require(a, "model") < 0) return -1;
    if (!cli_has(a, "csv") && !cli_has(a, "plot"))
        return cli_fail(a, "give --csv OUT.csv and/or --plot OUT.png");
    sgm_bench_config *cfg = &o->cfg;
    int metrics = 1, threads = 0;
    double rtol = cfg->ref_rtol;
    if (cli_get_size(a, "n", 2, &cfg->n) < 0 || cli_get_u64(a, "seed", &cfg->seed) < 0 ||
        cli_get_double(a, "ref-rtol", &rtol) < 0 || cli_get_bool(a, "metrics", &metrics) < 0 ||
        cli_get_size(a, "projections", 1, &cfg->n_projections) < 0 ||
        cli_get_int(a, "threads", 0, 4096, &threads) < 0)
        return -1;
    if (!(rtol > 0 && rtol < 1)) return cli_fail(a, "--ref-rtol must be in (0, 1)");
    cfg->ref_rtol = cfg->ref_atol = rtol;
    cfg->metrics = metrics;
    cfg->n_threads = threads;
    if (parse_samplers(a, o) < 0 || parse_schedules(a, o) < 0 || parse_budgets(a, o) < 0 ||
        parse_outputs(a, o) < 0)
        return -1;
    o->quiet = cli_has(a, "quiet");
    return CLI_PARSED;
}

/* The model and its process; a checkpoint's denoiser and --gmm mixture.
 * -1 (a->err set) on bad input. */
static int load_bench_models(cli_args *a, bench_opts *o, bench_job *j) {
    sgm_bench_config *cfg = &o->cfg;
    char msg[512];
    if (cli_model_load(cli_get(a, "model"), &j->m, msg, sizeof msg) < 0)
        return cli_fail(a, "%s", msg);
    if (!j->m.net) {
        if (cli_has(a, "gmm"))
            return cli_fail(a, "--gmm applies to ckpt: models (the mixture is the model here)");
        if (cli_build_process(a, "ve", &j->proc) < 0) return -1;
        cfg->gmm = j->m.gmm;
        cfg->proc = j->proc;
        return 0;
    }
    if (cli_model_process(a, &j->m, &j->proc) < 0) return -1;
    if (cli_has(a, "gmm")) {
        char spec[4096];
        snprintf(spec, sizeof spec, "gmm:%s", cli_get(a, "gmm"));
        if (cli_model_load(spec, &j->cmp, msg, sizeof msg) < 0)
            return cli_fail(a, "--gmm: %s", msg);
        if (j->cmp.dim != j->m.dim)
            return cli_fail(a, "--gmm: the mixture has dimension %zu, the checkpoint %zu",
                            j->cmp.dim, j->m.dim);
    }
    j->net_den = cli_model_denoiser(&j->m, j->proc, SGM_PRED_X0);
    cfg->den = &j->net_den;
    cfg->d = j->m.dim;
    cfg->to_data = to_data;
    cfg->to_data_user_data = &j->m;
    cfg->gmm = j->cmp.gmm;
    cfg->proc = j->proc;
    return 0;
}

/* Under mpirun: every rank's rows to rank 0, which takes row i from the rank
 * that ran it (rows[i].shard). 0, or -1 (a->err set). */
static int gather_rows(cli_args *a, sgm_bench_result *res) {
    size_t P = (size_t)cli_dist_size(), n = res->n_rows, bytes = n * sizeof *res->rows;
    if (P == 1) return 0;
    sgm_bench_row *all = cli_dist_rank() == 0 ? malloc(P * (bytes ? bytes : 1)) : NULL;
    int bad = cli_dist_rank() == 0 && !all;
    if (cli_dist_agree(bad)) {
        free(all);
        return cli_fail(a, "out of memory (gathering the rows)");
    }
    if (cli_dist_gather_bytes(res->rows, bytes, all) < 0) {
        free(all);
        return cli_fail(a, "MPI_Gather of the rows failed");
    }
    for (size_t i = 0; all && i < n; i++) {
        size_t r = (size_t)res->rows[i].shard;
        if (r < P) res->rows[i] = all[r * n + i];
    }
    free(all);
    return 0;
}

/* The grid, then the plot and the CSV; the exit code (a->err set on failure). */
static int run_bench(cli_args *a, bench_opts *o, bench_job *j) {
    sgm_error err = {0};
    if (!o->quiet) {
        o->cfg.on_row = on_row;
        fprintf(stderr, "sgm bench: %s, %zu samples, d = %zu\n", cli_get(a, "model"), o->cfg.n,
                j->m.dim);
    }
    o->cfg.shard_rank = (size_t)cli_dist_rank();
    o->cfg.shard_size = (size_t)cli_dist_size();
    o->cfg.all_gather = cli_dist_all_gather;
    sgm_status st = sgm_bench_run(&o->cfg, &j->res, &err);
    int code = st ? ((st == SGM_ERR_INVALID_ARG || st == SGM_ERR_UNKNOWN_NAME) ? 2 : 1) : 0;
    if (cli_dist_agree(code)) {
        if (code) cli_fail(a, "%s", err.msg);
        else cli_fail(a, "another MPI rank failed");
        return code ? code : 1;
    }
    if (gather_rows(a, &j->res) < 0) return 1;
    if (cli_dist_rank() != 0) return 0; /* rank 0 writes */
    if (o->png) {
        char title[256];
        const char *t = cli_get(a, "title");
        if (!t) {
            snprintf(title, sizeof title, "sgm bench: %s (n = %zu)", cli_get(a, "model"),
                     o->cfg.n);
            t = title;
        }
        if (sgm_bench_plot(&j->res, o->png, t, &err)) {
            cli_fail(a, "%s", err.msg);
            return 1;
        }
    }
    if (o->csv && sgm_bench_write_csv(&j->res, o->csv, &err)) {
        if (o->png) unlink(o->png);
        cli_fail(a, "%s", err.msg);
        return 1;
    }
    return 0;
}

/* the best sampler per budget on stdout, the metric floor, the files */
static void report_bench(const bench_opts *o, const sgm_bench_result *res) {
    printf("best sampler per NFE budget (error: RMS ||x - x_rk45||, deterministic; "
           "sw2: sliced W2 to exact samples, all samplers)\n");
    printf("%6s  %-34s %-10s  %-34s %-10s\n", "NFE", "lowest error (schedule, nfe)", "error",
           "lowest sw2 (schedule, nfe)", "sw2");
    for (size_t b = 0; b < o->n_b; b++) {
        long ie = sgm_bench_best_error(res, o->budgets[b]);
        long iw = sgm_bench_best_sw2(res, o->budgets[b]);
        char l1[64] = "-", l2[64] = "-";
        double v1 = NAN, v2 = NAN;
        if (ie >= 0) {
            const sgm_bench_row *r = &res->rows[ie];
            snprintf(l1, sizeof l1, "%s (%s, %zu)", r->sampler, r->schedule, r->nfe);
            v1 = r->err_rms;
        }
        if (iw >= 0) {
            const sgm_bench_row *r = &res->rows[iw];
            snprintf(l2, sizeof l2, "%s (%s, %zu)", r->sampler, r->schedule, r->nfe);
            v2 = r->sw2;
        }
        printf("%6d  %-34s %-10.3g  %-34s %-10.3g\n", o->budgets[b], l1, v1, l2, v2);
    }
    for (size_t i = 0; i < res->n_rows; i++)
        if (strcmp(res->rows[i].sampler, "exact") == 0 && isfinite(res->rows[i].sw2)) {
            printf("metric floor at n = %zu: sw2 of two exact sample sets = %.3g\n", o->cfg.n,
                   res->rows[i].sw2);
            break;
        }
    if (!o->quiet)
        fprintf(stderr, "sgm bench: %zu rows in %.2f s%s%s%s%s\n", res->n_rows, res->seconds,
                o->csv ? " -> " : "", o->csv ? o->csv : "", o->png ? " -> " : "",
                o->png ? o->png : "");
}

int cmd_bench(int argc, char **argv) {
    cli_args a;
    bench_opts o;
    bench_job j;
    memset(&j, 0, sizeof j);
    int rc = parse_bench_args(&a, argc, argv, &o);
    if (rc == CLI_HELP) return 0;
    if (rc < 0 || load_bench_models(&a, &o, &j) < 0) rc = 2;
    else if ((rc = run_bench(&a, &o, &j)) == 0 && cli_dist_rank() == 0) report_bench(&o, &j.res);
    if (rc) cli_error(&a, rc);
    free_job(&o, &j);
    return rc;
}
