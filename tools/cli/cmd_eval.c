/* cmd_eval.c - `sgm eval`: sample-quality metrics between two sample sets
 * (.npy, rows = samples, trailing dimensions flattened) and against an exact
 * Gaussian mixture: sliced W2, unbiased MMD^2 (RBF, median heuristic), energy
 * distance, Frechet distance, k-NN precision / recall (--a is the reference
 * set, --b the generated one), mean log-density and per-component mass.
 * Definitions, standard errors and bootstrap intervals: include/sgm/sgm_eval.h.
 *
 * Everything is computed before anything is printed or written; the JSON
 * report is written atomically (sgm_atomic_open, sgm_io.h).
 *
 * Under `mpirun -np P` (dist.h) every rank loads the sets and each metric
 * shares its per-row (per-direction, per-replicate) terms out over the ranks
 * (sgm_metric_config.shard_*, gathered with MPI_Allgatherv); the sums run in
 * the one-process order, so rank 0 prints and writes the same bytes as one
 * process.
 * Exit codes: 0 success; 2 bad input (unreadable / empty / non-finite sets,
 * mismatched dimensions, bad options, non-finite likelihood): one line on
 * stderr, nothing on stdout, no file; 1 a runtime failure (memory, writing).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "args.h"
#include "cli.h"
#include "dist.h"

static const cli_opt eval_opts_table[] = {
    {"a", "A.npy", NULL, "reference set [N, ...] (real data for precision / recall)"},
    {"b", "B.npy", NULL, "generated set [M, ...] (same trailing shape as --a)"},
    {"metrics", "LIST", "all", "all or a comma list of sw2,mmd,energy,fd,prdc,gmm"},
    {"gmm", "FILE.json", NULL, "exact mixture: mean log-density and component mass of each set"},
    {"seed", "S", "0", "seed of the SW2 directions, median subset and bootstrap"},
    /* note: the se of sw2 is the Monte-Carlo error over directions only; the
       bootstrap interval covers the sampling of the sets */
    {"projections", "L", "256", "SW2: number of random directions"},
    {"bandwidth", "ELL", "median heuristic", "MMD: RBF length scale"},
    {"median-points", "N", "2000", "MMD: pooled points used by the median heuristic"},
    {"k", "K", "3", "precision / recall: k-th nearest neighbour"},
    {"bootstrap", "B", "0", "bootstrap replicates for sw2, mmd, energy, fd intervals"},
    {"level", "P", "0.95", "bootstrap interval coverage"},
    {"threads", "N", "0 (OpenMP default)", "threads"},
    {"json", "OUT.json", NULL, "also write the results as JSON (atomically)"},
    {NULL, NULL, NULL, NULL}};

enum { M_SW2 = 1, M_MMD = 2, M_ENERGY = 4, M_FD = 8, M_PRDC = 16, M_GMM = 32 };
#define M_PAIR (M_SW2 | M_MMD | M_ENERGY | M_FD | M_PRDC)

typedef struct row {
    char name[48];
    sgm_metric_result r;
    double extra; /* mass rows: the model weight; NaN otherwise */
} row;

typedef struct set {
    const char *path;
    sgm_array arr;
    size_t n, d;
    int loaded;
} set;

static int parse_metrics(cli_args *a, int *mask) {
    const char *v = cli_get(a, "metrics");
    if (!v || strcmp(v, "all") == 0) {
        *mask = M_PAIR | M_GMM;
        return 0;
    }
    static const struct {
        const char *name;
        int bit;
    } names[] = {{"sw2", M_SW2}, {"mmd", M_MMD}, {"energy", M_ENERGY}, {"fd", M_FD},
                 {"prdc", M_PRDC}, {"gmm", M_GMM}};
    *mask = 0;
    const char *p = v;
    while (*p) {
        size_t len = strcspn(p, ",");
        int found = 0;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strlen(names[i].name) == len && strncmp(p, names[i].name, len) == 0) {
                *mask |= names[i].bit;
                found = 1;
            }
        if (!found)
            return cli_fail(a, "--metrics: unknown metric '%.*s' (sw2,mmd,energy,fd,prdc,gmm)",
                            (int)len, p);
        p += len;
        if (*p == ',') p++;
    }
    if (!*mask) return cli_fail(a, "--metrics: empty list");
    return 0;
}

static int load_set(cli_args *a, const char *opt, set *s) {
    s->path = cli_get(a, opt);
    if (!s->path) return 0;
    sgm_error err = {0};
    if (sgm_npy_load(s->path, &s->arr, &err)) return cli_fail(a, "--%s: %s", opt, err.msg);
    s->loaded = 1;
    if (s->arr.ndim < 1) return cli_fail(a, "--%s %s: a scalar, not a set of rows", opt, s->path);
    s->n = s->arr.shape[0];
    if (s->n == 0) return cli_fail(a, "--%s %s: empty set (0 rows)", opt, s->path);
    s->d = s->arr.count / s->n;
    if (s->d == 0) return cli_fail(a, "--%s %s: rows have no elements", opt, s->path);
    for (size_t i = 0; i < s->arr.count; i++)
        if (!isfinite(s->arr.data[i]))
            return cli_fail(a, "--%s %s: non-finite value at row %zu, element %zu", opt, s->path,
                            i / s->d, i % s->d);
    return 0;
}

static void add_row(row *rows, size_t *nr, const char *name, sgm_metric_result r,
                    double extra) {
    row *w = &rows[(*nr)++];
    snprintf(w->name, sizeof w->name, "%s", name);
    w->r = r;
    w->extra = extra;
}

/* NaN is not JSON: null instead */
static cJSON *num(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static cJSON *report(const set *sa, const set *sb, const sgm_metric_config *c, const char *gmm,
                     const row *rows, size_t nr) {
    cJSON *root = cJSON_CreateObject();
    const set *sets[2] = {sa, sb};
    const char *keys[2] = {"a", "b"};
    for (int i = 0; i < 2; i++) {
        if (!sets[i]->path) continue;
        cJSON *o = cJSON_AddObjectToObject(root, keys[i]);
        cJSON_AddStringToObject(o, "path", sets[i]->path);
        cJSON_AddNumberToObject(o, "n", (double)sets[i]->n);
        cJSON_AddNumberToObject(o, "d", (double)sets[i]->d);
    }
    if (gmm) cJSON_AddStringToObject(root, "gmm", gmm);
    cJSON *cf = cJSON_AddObjectToObject(root, "config");
    cJSON_AddNumberToObject(cf, "seed", (double)c->seed);
    cJSON_AddNumberToObject(cf, "projections", (double)c->n_projections);
    cJSON_AddItemToObject(cf, "bandwidth", c->bandwidth > 0 ? cJSON_CreateNumber(c->bandwidth)
                                                            : cJSON_CreateString("median"));
    cJSON_AddNumberToObject(cf, "median_points", (double)c->median_max_points);
    cJSON_AddNumberToObject(cf, "k", (double)c->knn_k);
    cJSON_AddNumberToObject(cf, "bootstrap", (double)c->n_bootstrap);
    cJSON_AddNumberToObject(cf, "level", c->level);
    cJSON *m = cJSON_AddObjectToObject(root, "metrics");
    for (size_t i = 0; i < nr; i++) {
        cJSON *o = cJSON_AddObjectToObject(m, rows[i].name);
        cJSON_AddItemToObject(o, "value", num(rows[i].r.value));
        cJSON_AddItemToObject(o, "se", num(rows[i].r.se));
        if (rows[i].r.n_boot) {
            cJSON *iv = cJSON_AddArrayToObject(o, "interval");
            cJSON_AddItemToArray(iv, num(rows[i].r.lo));
            cJSON_AddItemToArray(iv, num(rows[i].r.hi));
        }
        if (isfinite(rows[i].r.param)) cJSON_AddItemToObject(o, "param", num(rows[i].r.param));
        if (isfinite(rows[i].extra)) cJSON_AddItemToObject(o, "weight", num(rows[i].extra));
    }
    return root;
}

static void print_table(const row *rows, size_t nr, double level, int any_boot) {
    printf("%-16s %14s %12s", "metric", "value", "se");
    if (any_boot) printf("   interval (%g%%)", 100 * level);
    printf("\n");
    for (size_t i = 0; i < nr; i++) {
        const sgm_metric_result *r = &rows[i].r;
        printf("%-16s %14.6g", rows[i].name, r->value);
        if (isfinite(r->se))
            printf(" %12.4g", r->se);
        else
            printf(" %12s", "-");
        if (r->n_boot) printf("   [%.6g, %.6g]", r->lo, r->hi);
        if (isfinite(rows[i].extra)) printf("   (weight %.6g)", rows[i].extra);
        if (isfinite(r->param) && strcmp(rows[i].name, "mmd2") == 0)
            printf("   (ell %.6g)", r->param);
        printf("\n");
    }
}

/* The options, read before any work. */
typedef struct eval_opts {
    sgm_metric_config c;
    int mask; /* M_* of the metrics to compute */
    int threads;
} eval_opts;

/* The sets, the mixture and the result rows (freed by free_job). */
typedef struct eval_job {
    set sa, sb;
    sgm_gmm *g;
    row *rows;
    size_t nr;
    char *text; /* the JSON report */
} eval_job;

static void free_job(eval_job *j) {
    if (j->sa.loaded) sgm_array_free(&j->sa.arr);
    if (j->sb.loaded) sgm_array_free(&j->sb.arr);
    sgm_gmm_free(j->g);
    free(j->rows);
    free(j->text);
}

/* Which metrics the given sets and mixture allow: the default (all) drops
 * what they do not; an explicit list that asks for it is bad input. */
static int select_metrics(cli_args *a, int *mask) {
    int explicit_metrics = cli_has(a, "metrics") && strcmp(cli_get(a, "metrics"), "all") != 0;
    if (!cli_has(a, "a") && !cli_has(a, "b"))
        return cli_fail(a, "missing required option --a / --b");
    if (!cli_has(a, "gmm") && (*mask & M_GMM) && explicit_metrics)
        return cli_fail(a, "--metrics gmm needs --gmm FILE.json");
    if (!cli_has(a, "gmm")) *mask &= ~M_GMM;
    if (!(cli_has(a, "a") && cli_has(a, "b"))) {
        if ((*mask & M_PAIR) && (explicit_metrics || !(*mask & M_GMM)))
            return cli_fail(a, "missing required option --%s (two-sample metrics need --a and --b)",
                            cli_has(a, "a") ? "b" : "a");
        *mask &= ~M_PAIR;
    }
    return 0;
}

/* CLI_PARSED, CLI_HELP (usage printed) or -1 (a->err set) */
static int parse_eval_args(cli_args *a, int argc, char **argv, eval_opts *o) {
    memset(o, 0, sizeof *o);
    sgm_metric_config *c = &o->c;
    sgm_metric_config_default(c);
    const cli_opt *const tables[] = {eval_opts_table, NULL};
    int r = cli_start(a, "eval", tables, argc, argv,
                      "--a A.npy --b B.npy [--metrics LIST] [--gmm FILE.json] "
                      "[--seed S] [--json OUT.json]");
    if (r != CLI_PARSED) return r;
    if (parse_metrics(a, &o->mask) < 0) return -1;
    if (cli_get_u64(a, "seed", &c->seed) < 0 ||
        cli_get_size(a, "projections", 1, &c->n_projections) < 0 ||
        cli_get_double(a, "bandwidth", &c->bandwidth) < 0 ||
        cli_get_size(a, "median-points", 2, &c->median_max_points) < 0 ||
        cli_get_size(a, "k", 1, &c->knn_k) < 0 || cli_get_size(a, "bootstrap", 0, &c->n_bootstrap) < 0 ||
        cli_get_double(a, "level", &c->level) < 0 || cli_get_int(a, "threads", 0, 4096, &o->threads) < 0)
        return -1;
    if (cli_has(a, "bandwidth") && !(c->bandwidth > 0 && isfinite(c->bandwidth)))
        return cli_fail(a, "--bandwidth must be a positive number");
    sgm_error err = {0};
    if (sgm_metric_config_check(c, &err)) /* before any loading or work */
        return cli_fail(a, "%s", err.msg);
    if (select_metrics(a, &o->mask) < 0) return -1;
    if (cli_has(a, "json") && cli_check_out(a, "json", cli_get(a, "json")) < 0) return -1;
    return CLI_PARSED;
}

/* The sets (same width) and the mixture; -1 (a->err set) on bad input. */
static int load_eval(cli_args *a, const eval_opts *o, eval_job *j) {
    set *sa = &j->sa, *sb = &j->sb;
    if (load_set(a, "a", sa) < 0 || load_set(a, "b", sb) < 0) return -1;
    if (sa->path && sb->path && sa->d != sb->d)
        return cli_fail(a, "dimension mismatch: --a %s has %zu values per row, --b %s has %zu",
                        sa->path, sa->d, sb->path, sb->d);
    if (!(o->mask & M_GMM)) return 0;
    sgm_error err = {0};
    if (sgm_gmm_load(cli_get(a, "gmm"), &j->g, &err)) return cli_fail(a, "--gmm: %s", err.msg);
    size_t d = sa->path ? sa->d : sb->d;
    if (sgm_gmm_dim(j->g) != d)
        return cli_fail(a, "dimension mismatch: the mixture has dim %zu, the sets %zu",
                        sgm_gmm_dim(j->g), d);
    return 0;
}

/* mean log-density and component masses of each set under the mixture */
static sgm_status gmm_rows(eval_job *j, const sgm_metric_config *c, double *mass, double *mse,
                           sgm_error *err) {
    const set *sets[2] = {&j->sa, &j->sb};
    const char *tags[2] = {"a", "b"};
    size_t k = sgm_gmm_components(j->g);
    sgm_metric_result r;
    for (int s = 0; s < 2; s++) {
        if (!sets[s]->path) continue;
        char name[48];
        sgm_status st = sgm_metric_gmm(j->g, sets[s]->arr.data, sets[s]->n, c, &r, mass, mse, err);
        if (st) return st;
        snprintf(name, sizeof name, "loglik_%s", tags[s]);
        add_row(j->rows, &j->nr, name, r, NAN);
        for (size_t i = 0; i < k; i++) {
            sgm_metric_result mr = {mass[i], mse[i], NAN, NAN, NAN, 0};
            snprintf(name, sizeof name, "mass_%s[%zu]", tags[s], i);
            add_row(j->rows, &j->nr, name, mr, sgm_gmm_weights(j->g)[i]);
        }
    }
    return SGM_OK;
}

/* Every selected metric into j->rows; the exit code (message printed). */
static int run_eval(const eval_opts *o, eval_job *j) {
#ifdef _OPENMP
    if (o->threads > 0) omp_set_num_threads(o->threads);
#endif
    size_t k = j->g ? sgm_gmm_components(j->g) : 0;
    j->rows = calloc(8 + 2 * (1 + k), sizeof *j->rows);
    double *mass = malloc((k ? k : 1) * sizeof *mass), *mse = malloc((k ? k : 1) * sizeof *mse);
    if (!j->rows || !mass || !mse) {
        free(mass);
        free(mse);
        fprintf(stderr, "sgm eval: out of memory\n");
        return 1;
    }
    sgm_metric_config cs = o->c; /* the rank's share under mpirun */
    cs.shard_rank = (size_t)cli_dist_rank();
    cs.shard_size = (size_t)cli_dist_size();
    cs.all_gather = cli_dist_all_gather;
    const sgm_metric_config *c = &cs;
    int mask = o->mask;
    sgm_metric_result r, r2;
    sgm_status st = SGM_OK;
    sgm_error err = {0};
    const double *A = j->sa.arr.data, *B = j->sb.arr.data;
    size_t na = j->sa.n, nb = j->sb.n, d = j->sa.d;
#define RUN(bit, name, call)                           \
    if (!st && (mask & (bit))) {                       \
        st = (call);                                   \
        if (!st) add_row(j->rows, &j->nr, name, r, NAN); \
    }
    RUN(M_SW2, "sw2", sgm_metric_sw2(A, na, B, nb, d, c, &r, &err))
    RUN(M_MMD, "mmd2", sgm_metric_mmd2(A, na, B, nb, d, c, &r, &err))
    RUN(M_ENERGY, "energy", sgm_metric_energy(A, na, B, nb, d, c, &r, &err))
    RUN(M_FD, "fd", sgm_metric_fd(A, na, B, nb, d, c, &r, &err))
#undef RUN
    if (!st && (mask & M_PRDC)) {
        st = sgm_metric_prdc(A, na, B, nb, d, c, &r, &r2, &err);
        if (!st) {
            add_row(j->rows, &j->nr, "precision", r, NAN);
            add_row(j->rows, &j->nr, "recall", r2, NAN);
        }
    }
    if (!st && (mask & M_GMM)) st = gmm_rows(j, c, mass, mse, &err);
    free(mass);
    free(mse);
    if (st) {
        fprintf(stderr, "sgm eval: %s\n", err.msg);
        /* a failure of one rank alone (memory, MPI) would leave the others
           waiting in a gather; bad input fails alike on every rank */
        if (cli_dist_size() > 1 && (st == SGM_ERR_NOMEM || st == SGM_ERR_CALLBACK))
            cli_dist_abort(1);
        return st == SGM_ERR_NOMEM ? 1 : 2;
    }
    return 0;
}

/* --json (atomically), then the table on stdout; the exit code. */
static int report_eval(cli_args *a, const eval_opts *o, eval_job *j) {
    if (cli_dist_rank() != 0) return 0; /* rank 0 writes and prints */
    if (cli_has(a, "json")) {
        cJSON *root = report(&j->sa, &j->sb, &o->c, cli_get(a, "gmm"), j->rows, j->nr);
        j->text = root ? cJSON_Print(root) : NULL;
        cJSON_Delete(root);
        if (!j->text) {
            fprintf(stderr, "sgm eval: out of memory\n");
            return 1;
        }
        sgm_error err;
        sgm_atomic_file *af = NULL;
        sgm_status st = sgm_atomic_open(cli_get(a, "json"), &af, &err);
        if (st == SGM_OK) {
            FILE *f = sgm_atomic_stream(af);
            if (fputs(j->text, f) >= 0) fputc('\n', f);
            st = sgm_atomic_commit(af, &err); /* a failed write is in the stream's error flag */
        }
        if (st) {
            fprintf(stderr, "sgm eval: %s\n", err.msg);
            return 1;
        }
    }
    int any_boot = 0;
    for (size_t i = 0; i < j->nr; i++) any_boot |= j->rows[i].r.n_boot > 0;
    print_table(j->rows, j->nr, o->c.level, any_boot);
    return 0;
}

int cmd_eval(int argc, char **argv) {
    cli_args a;
    eval_opts o;
    eval_job j;
    memset(&j, 0, sizeof j);
    int rc = parse_eval_args(&a, argc, argv, &o);
    if (rc == CLI_HELP) return 0;
    if (rc < 0 || load_eval(&a, &o, &j) < 0) rc = cli_error(&a, 2);
    else if ((rc = run_eval(&o, &j)) == 0) rc = report_eval(&a, &o, &j);
    free_job(&j);
    return rc;
}
