/* cmd_nll.c - `sgm nll` (log-likelihood through the probability-flow ODE)
 * and the shared driver of `sgm encode` (x_0 -> x_T along the same ODE).
 * The library side, equations and conventions: include/sgm/sgm_likelihood.h
 * (Song et al. 2021 app. D.2; score_sde likelihood.py defaults rtol = atol
 * = 1e-5, t_eps = 1e-5, Rademacher probes).
 *
 * Data: X.npy [N, ...], trailing dimensions flattened (must equal the model
 * dimension), in the model's data coordinates. --dequantize treats X as 8-bit
 * levels 0..255 and dequantizes them uniformly, (k + u) / 256, into [0, 1]
 * or, with --scale pm1 (the default), [-1, 1]; --bits-per-dim then reports
 * bpd = -logp / (D ln 2) + offset with offset 8 ([0, 1]) or 7 ([-1, 1]),
 * score_sde's convention.
 *
 * A trained checkpoint (ckpt:FILE.safetensors) brings its process (the
 * options may only repeat it) and works on standardized data z = (x - mean)
 * / std: the data are standardized before the solve, log-likelihoods are
 * reported in data units (log p(x) = log p_z(z) - sum log std) and encodings
 * are in the standardized units (what `sgm sample --init` takes). Exact
 * divergence: d input VJPs of the network per evaluation; Hutchinson: one
 * per probe (src/model/net_grad.c; mlp or U-Net, a class-conditional U-Net
 * as its null-class model).
 *
 * Under `mpirun -np P` (dist.h) each process solves its block of rows (the
 * probes and the dequantization noise are drawn at the global row index, the
 * steps are per sample) and rank 0 gathers and writes them: the same files
 * as one process, bit for bit.
 *
 * Everything is computed before anything is written; files are written
 * atomically (sgm_npy_save). Exit codes: 0 success; 2 bad input (unreadable
 * or empty data, mismatched dimensions, non-finite values or likelihood, bad
 * options): one line on stderr, no file; 1 a runtime failure.
 */
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "dist.h"
#include "model.h"
#include "sgm/sgm_likelihood.h"
#include "sgm/sgm_model.h"

static const cli_opt nll_opts[] = {
    {"model", "KIND:PATH", NULL, "gmm:model.json or ckpt:model.safetensors (trained)"},
    {"data", "X.npy", NULL, "data [N, ...] (trailing dimensions = model dimension)"},
    {"divergence", "KIND", "exact", "exact|hutchinson"},
    {"probes", "K", "1", "hutchinson: probes averaged per evaluation"},
    {"probe", "KIND", "rademacher", "hutchinson: rademacher|gaussian"},
    {"rtol", "R", "1e-5", "relative tolerance of the Dormand-Prince solve"},
    {"atol", "A", "1e-5", "absolute tolerance"},
    {"h-init", "H", "0.05", "first step (half log-SNR units)"},
    {"max-steps", "N", "100000", "step attempts per sample"},
    {"seed", "S", "0", "seed of the probes and of the dequantization noise"},
    {"dequantize", NULL, "off", "data are 8-bit levels 0..255: uniform dequantization"},
    {"scale", "KIND", "pm1", "data range the model sees: pm1 ([-1,1]) or 01 ([0,1])"},
    {"bits-per-dim", NULL, "off", "also report bits/dim (offset 7 for pm1, 8 for 01)"},
    {"out", "LOGP.npy", NULL, "per-sample log-likelihoods in nats [N] (atomic)"},
    {"z", "Z.npy", NULL, "also write the encodings x_T (atomic)"},
    {NULL, NULL, NULL, NULL}};

static const cli_opt encode_opts[] = {
    {"model", "KIND:PATH", NULL, "gmm:model.json or ckpt:model.safetensors (trained)"},
    {"data", "X.npy", NULL, "data x_0 [N, ...] (trailing dimensions = model dimension)"},
    {"rtol", "R", "1e-5", "relative tolerance of the Dormand-Prince solve"},
    {"atol", "A", "1e-5", "absolute tolerance"},
    {"h-init", "H", "0.05", "first step (half log-SNR units)"},
    {"max-steps", "N", "100000", "step attempts per sample"},
    {"out", "Z.npy", NULL, "encodings x_T at t_end, same shape as the data (atomic; "
                           "ckpt: standardized units)"},
    {NULL, NULL, NULL, NULL}};

static int exit_code(sgm_status st) {
    return st == SGM_ERR_NOMEM || st == SGM_ERR_IO ? 1 : 2;
}

/* The options, read before any work. */
typedef struct lik_opts {
    const char *name; /* "nll" or "encode" */
    int encode;
    sgm_nll_config cfg;
    int dequant, bpd, scale01;
    const char *out, *zpath;
} lik_opts;

/* The model, the data and the results (freed by free_job). */
typedef struct lik_job {
    cli_model model;
    sgm_process *proc;
    sgm_array data;
    double *x; /* the solver's input: data.data, or a dequantized / standardized copy */
    double *lp, *z;
    size_t *nfe;
    size_t n, d;
    double wall;
} lik_job;

static void free_job(lik_job *j) {
    if (j->x != j->data.data) free(j->x);
    sgm_array_free(&j->data);
    free(j->lp);
    free(j->z);
    free(j->nfe);
    sgm_process_free(j->proc);
    cli_model_free(&j->model);
}

/* nll only: divergence, probes, dequantization and bits/dim */
static int parse_nll_opts(cli_args *a, lik_opts *o) {
    static const char *const divs[] = {"exact", "hutchinson", NULL};
    static const char *const probes[] = {"rademacher", "gaussian", NULL};
    static const char *const scales[] = {"pm1", "01", NULL};
    int dv = 0, pb = 0;
    if (cli_get_choice(a, "divergence", divs, &dv) < 0 ||
        cli_get_choice(a, "probe", probes, &pb) < 0 ||
        cli_get_int(a, "probes", 1, 1 << 20, &o->cfg.n_probes) < 0 ||
        cli_get_u64(a, "seed", &o->cfg.seed) < 0 ||
        cli_get_bool(a, "dequantize", &o->dequant) < 0 ||
        cli_get_bool(a, "bits-per-dim", &o->bpd) < 0 ||
        cli_get_choice(a, "scale", scales, &o->scale01) < 0)
        return -1;
    o->cfg.divergence = dv ? SGM_DIV_HUTCHINSON : SGM_DIV_EXACT;
    o->cfg.probe = pb ? SGM_PROBE_GAUSSIAN : SGM_PROBE_RADEMACHER;
    if (dv == 0 && (cli_has(a, "probes") || cli_has(a, "probe")))
        return cli_fail(a, "--probes/--probe need --divergence hutchinson");
    if (cli_has(a, "scale") && !o->dequant && !o->bpd)
        return cli_fail(a, "--scale applies to --dequantize and --bits-per-dim only");
    return 0;
}

/* CLI_PARSED, CLI_HELP (usage printed) or -1 (a->err set) */
static int parse_likelihood_args(cli_args *a, int argc, char **argv, int encode, lik_opts *o) {
    memset(o, 0, sizeof *o);
    o->name = encode ? "encode" : "nll";
    o->encode = encode;
    const cli_opt *const tables[] = {encode ? encode_opts : nll_opts, cli_process_opts, NULL};
    int r = cli_start(a, o->name, tables, argc, argv,
                      encode ? "sgm encode --model gmm:FILE.json --process P | --model "
                               "ckpt:FILE.safetensors, --data X.npy --out Z.npy [options]"
                             : "sgm nll --model gmm:FILE.json --process P | --model "
                               "ckpt:FILE.safetensors, --data X.npy "
                               "[--divergence exact|hutchinson] [--out LOGP.npy] [options]");
    if (r != CLI_PARSED) return r;
    if (cli_require(a, "model") < 0 || cli_require(a, "data") < 0) return -1;
    if (encode && cli_require(a, "out") < 0) return -1;
    sgm_nll_config *cfg = &o->cfg;
    *cfg = sgm_nll_config_default();
    if (cli_get_double(a, "rtol", &cfg->rtol) < 0 || cli_get_double(a, "atol", &cfg->atol) < 0 ||
        cli_get_double(a, "h-init", &cfg->h_init) < 0 ||
        cli_get_size(a, "max-steps", 1, &cfg->max_steps) < 0 ||
        cli_get_double(a, "t-eps", &cfg->t_eps) < 0)
        return -1;
    if (!(cfg->rtol > 0) || !(cfg->atol > 0) || !isfinite(cfg->rtol) || !isfinite(cfg->atol))
        return cli_fail(a, "--rtol and --atol must be positive");
    if (!encode && parse_nll_opts(a, o) < 0) return -1;
    o->out = cli_get(a, "out");
    o->zpath = encode ? NULL : cli_get(a, "z");
    if ((o->out && cli_check_out(a, "out", o->out) < 0) ||
        (o->zpath && cli_check_out(a, "z", o->zpath) < 0))
        return -1;
    return CLI_PARSED;
}

/* The model, its process and the data (finite, the model's width); -1 (a->err set). */
static int load_likelihood(cli_args *a, lik_job *j) {
    if (cli_model_load(cli_get(a, "model"), &j->model, a->err, sizeof a->err) < 0) return -1;
    if (cli_model_process(a, &j->model, &j->proc) < 0) return -1;
    size_t d = j->d = j->model.dim;
    sgm_array *data = &j->data;
    sgm_error err = {0};
    const char *dp = cli_get(a, "data");
    if (sgm_npy_load(dp, data, &err)) return cli_fail(a, "--data: %s", err.msg);
    size_t dd = 1;
    for (int i = 1; i < data->ndim; i++) dd *= data->shape[i];
    if (data->ndim < 1 || data->shape[0] == 0)
        return cli_fail(a, "--data %s: empty set (no samples)", dp);
    if (dd != d)
        return cli_fail(a, "--data %s: %zu values per row, but the model has dimension %zu", dp,
                        dd, d);
    for (size_t i = 0; i < data->count; i++)
        if (!isfinite(data->data[i]))
            return cli_fail(a, "--data %s: value %zu (row %zu) is not finite", dp, i, i / d);
    j->n = data->shape[0];
    j->x = data->data;
    return 0;
}

/* --dequantize, then the checkpoint's standardized units (a copy: data.data
 * is kept). The exit code (a message printed on failure). */
static int prepare_input(const lik_opts *o, lik_job *j) {
    size_t n = j->n, d = j->d;
    if (o->dequant) {
        sgm_error err = {0};
        double *y = malloc(n * d * sizeof *y);
        if (!y) {
            fprintf(stderr, "sgm %s: out of memory\n", o->name);
            return 1;
        }
        if (sgm_dequantize_uniform(o->cfg.seed, 0, n, d, j->x, !o->scale01, y, &err)) {
            free(y);
            fprintf(stderr, "sgm %s: --dequantize: %s\n", o->name, err.msg);
            return 2;
        }
        j->x = y;
    }
    if (j->model.net) {
        double *y = malloc(n * d * sizeof *y);
        if (!y) {
            fprintf(stderr, "sgm %s: out of memory\n", o->name);
            return 1;
        }
        memcpy(y, j->x, n * d * sizeof *y);
        if (j->x != j->data.data) free(j->x);
        j->x = y;
        cli_model_from_data(&j->model, n, j->x);
    }
    return 0;
}

/* Under mpirun: every rank's code, then the rows of lp, z and nfe on rank 0. */
static int gather_likelihood(const lik_opts *o, lik_job *j, int rc) {
    if ((rc = cli_dist_agree(rc)) != 0 || cli_dist_size() == 1) return rc;
    size_t n = j->n, lo, hi;
    cli_dist_share(n, &lo, &hi);
    double *nf = calloc(n, sizeof *nf);
    int bad = !nf;
    for (size_t i = lo; !bad && i < hi; i++) nf[i] = (double)j->nfe[i];
    bad = cli_dist_agree(bad);
    if (!bad && (cli_dist_gather_rows(nf, n, 1) < 0 || cli_dist_gather_rows(j->lp, n, 1) < 0 ||
                 cli_dist_gather_rows(j->z, n, j->d) < 0))
        bad = 1;
    for (size_t i = 0; !bad && i < n; i++) j->nfe[i] = (size_t)nf[i];
    free(nf);
    if (bad) fprintf(stderr, "sgm %s: gathering the rows of the MPI processes failed\n", o->name);
    return bad;
}

/* The solve: log-likelihoods (data units) and / or encodings; the exit code. */
static int run_likelihood(const lik_opts *o, lik_job *j) {
    int rc = prepare_input(o, j);
    if (rc) return rc;
    size_t n = j->n, d = j->d;
    j->lp = calloc(n, sizeof *j->lp);
    j->z = calloc(n * d, sizeof *j->z);
    j->nfe = malloc(n * sizeof *j->nfe);
    if (!j->lp || !j->z || !j->nfe) {
        fprintf(stderr, "sgm %s: out of memory\n", o->name);
        return 1;
    }
    double t0 = cli_now();
    sgm_denoiser den = j->model.net ? cli_model_denoiser(&j->model, j->proc, SGM_PRED_X0)
                                    : sgm_gmm_denoiser(j->model.gmm);
    sgm_denoiser_grad grad = cli_model_grad(&j->model);
    sgm_error err = {0};
    size_t lo, hi; /* this process's rows (all of them without mpirun) */
    cli_dist_share(n, &lo, &hi);
    double *x = j->x + lo * d, *z = j->z + lo * d;
    sgm_status st = o->encode
                        ? sgm_encode(&o->cfg, j->proc, &den, hi - lo, d, x, z, j->nfe + lo, &err)
                        : sgm_nll(&o->cfg, j->proc, &den, &grad, lo, hi - lo, d, x, j->lp + lo,
                                  o->zpath ? z : NULL, j->nfe + lo, &err);
    if (st) fprintf(stderr, "sgm %s: %s (%s)\n", o->name, err.msg, sgm_status_str(st));
    if ((rc = gather_likelihood(o, j, st ? exit_code(st) : 0)) != 0) return rc;
    j->wall = cli_now() - t0;
    if (!o->encode) { /* densities in data units: log p_x = log p_z - sum log std */
        double lj = cli_model_log_jac(&j->model);
        for (size_t i = 0; i < n; i++) j->lp[i] -= lj;
    }
    return 0;
}

/* --out / --z (encode: --out is the encodings); 0, or 1 after the message */
static int write_likelihood(const lik_opts *o, const lik_job *j) {
    sgm_error err = {0};
    size_t one[1] = {j->n};
    const sgm_array *data = &j->data;
    int failed = o->encode
                     ? sgm_npy_save(o->out, data->ndim, data->shape, j->z, 0, &err) != SGM_OK
                     : (o->zpath && sgm_npy_save(o->zpath, data->ndim, data->shape, j->z, 0, &err)) ||
                           (o->out && sgm_npy_save(o->out, 1, one, j->lp, 0, &err));
    if (failed) {
        fprintf(stderr, "sgm %s: %s\n", o->name, err.msg);
        return 1;
    }
    return 0;
}

/* nll: the mean log-likelihood +- its standard error, bits/dim, NFE */
static void report_nll(const lik_opts *o, const lik_job *j, double te, double T, double nm,
                       double nmin, double nmax) {
    const sgm_nll_config *cfg = &o->cfg;
    size_t n = j->n, d = j->d;
    double m = 0, v = 0;
    for (size_t i = 0; i < n; i++) m += j->lp[i] / (double)n;
    for (size_t i = 0; i < n; i++) v += (j->lp[i] - m) * (j->lp[i] - m);
    double se = n > 1 ? sqrt(v / (double)(n - 1) / (double)n) : NAN;
    char what[64];
    if (cfg->divergence == SGM_DIV_EXACT)
        snprintf(what, sizeof what, "exact divergence");
    else
        snprintf(what, sizeof what, "hutchinson, %d %s probe%s", cfg->n_probes,
                 cfg->probe == SGM_PROBE_GAUSSIAN ? "gaussian" : "rademacher",
                 cfg->n_probes > 1 ? "s" : "");
    printf("sgm nll: %zu x %zu samples, %s, t %g -> %g, rtol %g, atol %g\n", n, d, what, te, T,
           cfg->rtol, cfg->atol);
    printf("log-likelihood: %.6f +- %.6f nats (mean +- standard error; %.6f nats/dim)\n", m, se,
           m / (double)d);
    if (o->bpd)
        printf("bits/dim: %.6f +- %.6f (offset %d, data in %s)\n",
               sgm_bits_per_dim(m, d, !o->scale01), se / ((double)d * log(2.0)),
               o->scale01 ? 8 : 7, o->scale01 ? "[0, 1]" : "[-1, 1]");
    printf("NFE per sample: mean %.1f (min %.0f, max %.0f); %.3f s%s%s\n", nm, nmin, nmax,
           j->wall, o->out ? " -> " : "", o->out ? o->out : "");
}

static void report_likelihood(const lik_opts *o, const lik_job *j) {
    size_t n = j->n;
    double nm = 0, nmin = (double)j->nfe[0], nmax = (double)j->nfe[0];
    for (size_t i = 0; i < n; i++) {
        nm += (double)j->nfe[i] / (double)n;
        nmin = fmin(nmin, (double)j->nfe[i]);
        nmax = fmax(nmax, (double)j->nfe[i]);
    }
    double te, T;
    sgm_nll_times(&o->cfg, j->proc, &te, &T);
    if (o->encode)
        printf("sgm encode: %zu x %zu samples, t %g -> %g, NFE mean %.1f (min %.0f, max %.0f), "
               "%.3f s -> %s\n",
               n, j->d, te, T, nm, nmin, nmax, j->wall, o->out);
    else
        report_nll(o, j, te, T, nm, nmin, nmax);
}

int cli_likelihood_main(int argc, char **argv, int encode) {
    cli_args a;
    lik_opts o;
    lik_job j;
    memset(&j, 0, sizeof j);
    int rc = parse_likelihood_args(&a, argc, argv, encode, &o);
    if (rc == CLI_HELP) return 0;
    if (rc < 0 || load_likelihood(&a, &j) < 0) rc = cli_error(&a, 2);
    else if ((rc = run_likelihood(&o, &j)) == 0 && cli_dist_rank() == 0 &&
             (rc = write_likelihood(&o, &j)) == 0)
        report_likelihood(&o, &j);
    free_job(&j);
    return rc;
}

int cmd_nll(int argc, char **argv) { return cli_likelihood_main(argc, argv, 0); }
