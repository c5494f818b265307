/* cmd_restore.c - `sgm restore`: posterior sampling for an inverse problem
 * y = A(x) + sigma_y n (sgm_guidance.h): draws --n restorations of one
 * measurement --y with DPS, Pi-GDM, replacement, RePaint or RED-Diff under a
 * mask, blur, down, proj or tanh operator, and writes them as .npy. With
 * --y-rows a --y of k rows holds k measurements: one restoration each (a
 * batch of inverse problems). --measure X.npy instead writes y = A(x) + sigma_y n for every
 * row of X (the operator's forward map; noise from --seed).
 *
 * The operator acts on data units; a checkpoint samples in standardized
 * units z = (x - mean) / std, so the library sees A'(z) = A(mean + std z) - c
 * (c = A(mean) for a linear A, else 0) and y' = y - c. A U-Net checkpoint
 * fixes the signal shape; otherwise --shape C,H,W (default 1,1,d).
 *
 * Exit codes: 0 success; 2 bad input (unknown names, shapes of --y / --mask
 * that do not fit the operator, negative scales, sigma_y < 0, an operator
 * that does not match the model's dimension), checked before any work, and
 * nothing is written; 1 a failure while sampling or writing (nothing written).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "model.h"

static const cli_opt restore_opts_table[] = {
    {"model", "KIND:PATH", NULL, "gmm:model.json or ckpt:model.safetensors (trained)"},
    {"method", "NAME", NULL, "dps|pigdm|replace|repaint|reddiff"},
    {"operator", "NAME", NULL, "mask|blur|down|proj|tanh"},
    {"y", "Y.npy", NULL, "the measurement (its values count must be the operator's output)"},
    {"y-rows", NULL, "off",
     "--y holds k measurements (k rows of that count): one restoration each"},
    {"measure", "X.npy", NULL, "write y = A(x) + sigma_y n for each row of X instead"},
    {"row0", "R", "0", "first row index (noise streams), to split a run into chunks"},
    {"mask", "M.npy", NULL, "mask: 0/1 entries, as many as the signal (1 = observed)"},
    {"sigma-y", "S", "0", "measurement noise std (>= 0)"},
    {"shape", "C,H,W", "1,1,d (U-Net: its own)", "signal shape the operator acts on"},
    {"blur-sigma", "S", "1", "blur: kernel std in pixels (> 0)"},
    {"factor", "F", "2", "down: pooling factor"},
    {"proj-dim", "M", "d/2", "proj: number of measurements"},
    {"proj-seed", "S", "0", "proj: seed of the Gaussian matrix"},
    {"tanh-scale", "S", "1", "tanh: y = tanh(S x)"},
    {"sampler", "NAME", "ddpm (pigdm: ddim)", "sampler of dps, pigdm, replace and repaint"},
    {"eta", "E", "the sampler's", "ancestral / SDE noise strength"},
    {"zeta", "Z", "1", "dps: step scale (>= 0)"},
    {"data-var", "V", "1", "pigdm: prior variance in r_t^2 (> 0)"},
    {"jump-length", "J", "10", "repaint: jump length"},
    {"resample", "R", "10", "repaint: passes over each jump"},
    {"lambda", "L", "0.25", "reddiff: regularisation weight (>= 0)"},
    {"lr", "LR", "0.1", "reddiff: Adam step (> 0)"},
    {"n", "N", "1", "number of restorations"},
    {"seed", "S", "0", "random seed"},
    {"out", "OUT.npy", NULL, "output file (written atomically)"},
    {"quiet", NULL, "off", "no summary line"},
    {NULL, NULL, NULL, NULL}};

typedef struct restore_job {
    cli_model model;
    sgm_process *proc;
    sgm_schedule *sched;
    sgm_operator *op;   /* in data units */
    sgm_operator *opz;  /* in the model's units (wraps op) */
    sgm_array y, mask, xin; /* xin: the signals of --measure */
    double *yz, *mean, *std, *tmp;
    sgm_posterior_config pc;
    sgm_sampler_config scfg;
    size_t n, d, c, h, w;
    size_t ny;        /* rows of --y (1: one measurement for all n) */
    uint64_t seed, row0;
    const char *out, *opname;
} restore_job;

static void free_job(restore_job *j) {
    sgm_operator_free(j->opz);
    sgm_operator_free(j->op);
    sgm_schedule_free(j->sched);
    sgm_process_free(j->proc);
    cli_model_free(&j->model);
    sgm_array_free(&j->y);
    sgm_array_free(&j->mask);
    sgm_array_free(&j->xin);
    free(j->yz);
    free(j->mean);
    free(j->std);
    free(j->tmp);
}

/* A'(z) = A(mean + std z) - c: the user operator the library sees */
static int opz_forward(size_t n, const double *z, double *y, void *ud) {
    restore_job *j = ud;
    size_t d = j->d, m = sgm_operator_out_dim(j->op);
    double *x = malloc(n * d * sizeof *x);
    if (!x) return -1;
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < d; i++) x[r * d + i] = j->mean[i] + j->std[i] * z[r * d + i];
    int rc = sgm_operator_forward(j->op, n, x, y, NULL) ? -1 : 0;
    free(x);
    if (!rc && sgm_operator_is_linear(j->op))
        for (size_t r = 0; r < n; r++)
            for (size_t k = 0; k < m; k++) y[r * m + k] -= j->tmp[k];
    return rc;
}

static int opz_vjp(size_t n, const double *z, const double *v, double *out, void *ud) {
    restore_job *j = ud;
    size_t d = j->d;
    double *x = calloc(n * d, sizeof *x);
    if (!x) return -1;
    if (z)
        for (size_t r = 0; r < n; r++)
            for (size_t i = 0; i < d; i++) x[r * d + i] = j->mean[i] + j->std[i] * z[r * d + i];
    int rc = sgm_operator_vjp(j->op, n, x, v, out, NULL) ? -1 : 0;
    free(x);
    for (size_t r = 0; r < n && !rc; r++)
        for (size_t i = 0; i < d; i++) out[r * d + i] *= j->std[i];
    return rc;
}

/* --shape or the U-Net's own; c h w == d */
static int signal_shape(cli_args *a, restore_job *j) {
    int ic, ih, iw;
    j->c = 1, j->h = 1, j->w = j->d;
    if (j->model.net && sgm_model_image_shape(j->model.net, &ic, &ih, &iw))
        j->c = (size_t)ic, j->h = (size_t)ih, j->w = (size_t)iw;
    const char *s = cli_get(a, "shape");
    if (s) {
        unsigned long c, h, w;
        char tail;
        if (sscanf(s, "%lu,%lu,%lu%c", &c, &h, &w, &tail) != 3 || !c || !h || !w)
            return cli_fail(a, "--shape %s: expected C,H,W (positive integers)", s);
        j->c = c, j->h = h, j->w = w;
    }
    if (j->c * j->h * j->w != j->d)
        return cli_fail(a, "--shape %zu,%zu,%zu has %zu values, but the model has dimension %zu",
                        j->c, j->h, j->w, j->c * j->h * j->w, j->d);
    return 0;
}

/* the operator in data units from the options (its inputs checked) */
static int build_operator(cli_args *a, restore_job *j) {
    sgm_operator_kind k;
    const char *name = cli_get(a, "operator");
    j->opname = name;
    if (sgm_operator_kind_from_name(name, &k) || k == SGM_OP_USER)
        return cli_fail(a, "--operator: unknown value '%s' (expected mask|blur|down|proj|tanh)",
                        name);
    sgm_operator_config oc = sgm_operator_config_default(k);
    oc.c = j->c, oc.h = j->h, oc.w = j->w;
    oc.proj_dim = j->d / 2 ? j->d / 2 : 1;
    if (cli_get_double(a, "blur-sigma", &oc.blur_sigma) < 0 ||
        cli_get_int(a, "factor", 1, 1 << 20, &oc.factor) < 0 ||
        cli_get_size(a, "proj-dim", 1, &oc.proj_dim) < 0 ||
        cli_get_u64(a, "proj-seed", &oc.seed) < 0 ||
        cli_get_double(a, "tanh-scale", &oc.tanh_scale) < 0)
        return -1;
    if (k == SGM_OP_MASK) {
        if (cli_require(a, "mask") < 0) return -1;
        sgm_error err = {0};
        if (sgm_npy_load(cli_get(a, "mask"), &j->mask, &err))
            return cli_fail(a, "--mask: %s", err.msg);
        if (j->mask.count != j->d)
            return cli_fail(a, "--mask has %zu values, but the signal has %zu", j->mask.count,
                            j->d);
        oc.mask = j->mask.data;
    } else if (cli_has(a, "mask")) {
        return cli_fail(a, "--mask is only for --operator mask");
    }
    sgm_error err = {0};
    if (sgm_operator_create(&oc, &j->op, &err))
        return cli_fail(a, "--operator %s: %s", name, err.msg);
    return 0;
}

/* --y (count = the operator's output), the standardization and A' */
static int load_measurement(cli_args *a, restore_job *j) {
    sgm_error err = {0};
    size_t d = j->d, m = sgm_operator_out_dim(j->op);
    if (sgm_npy_load(cli_get(a, "y"), &j->y, &err)) return cli_fail(a, "--y: %s", err.msg);
    int rows = 0;
    if (cli_get_bool(a, "y-rows", &rows) < 0) return -1;
    if (!m || !j->y.count || (rows ? j->y.count % m : j->y.count != m))
        return cli_fail(a, "--y has %zu values, but --operator %s gives %zu%s", j->y.count,
                        cli_get(a, "operator"), m, rows ? " per row (--y-rows)" : "");
    j->ny = rows ? j->y.count / m : 1;
    if (rows && cli_has(a, "n") && j->n != j->ny)
        return cli_fail(a, "--n %zu: --y holds %zu measurements (--y-rows: one restoration each)",
                        j->n, j->ny);
    if (rows) j->n = j->ny;
    for (size_t i = 0; i < j->y.count; i++)
        if (!isfinite(j->y.data[i])) return cli_fail(a, "--y: value %zu is not finite", i);
    j->mean = calloc(d, sizeof *j->mean);
    j->std = malloc(d * sizeof *j->std);
    j->tmp = calloc(m, sizeof *j->tmp);
    j->yz = malloc(j->y.count * sizeof *j->yz);
    if (!j->mean || !j->std || !j->tmp || !j->yz) return cli_fail(a, "out of memory");
    for (size_t i = 0; i < d; i++) j->std[i] = 1;
    cli_model_to_data(&j->model, 1, j->mean); /* mean = x(z = 0), std = x(1) - mean */
    cli_model_to_data(&j->model, 1, j->std);
    for (size_t i = 0; i < d; i++) j->std[i] -= j->mean[i];
    if (sgm_operator_is_linear(j->op) && sgm_operator_forward(j->op, 1, j->mean, j->tmp, &err))
        return cli_fail(a, "--operator: %s", err.msg);
    for (size_t i = 0; i < j->y.count; i++) j->yz[i] = j->y.data[i] - j->tmp[i % m];
    sgm_operator_config uc = sgm_operator_config_default(SGM_OP_USER);
    uc.c = j->c, uc.h = j->h, uc.w = j->w;
    uc.user_out_dim = m;
    uc.user_linear = sgm_operator_is_linear(j->op);
    uc.forward = opz_forward;
    uc.vjp = opz_vjp;
    uc.user_data = j;
    if (sgm_operator_create(&uc, &j->opz, &err)) return cli_fail(a, "operator: %s", err.msg);
    return 0;
}

/* method, scales and sampler options (all checked here) */
static int parse_method(cli_args *a, restore_job *j) {
    sgm_posterior_method pm;
    const char *mname = cli_get(a, "method");
    if (sgm_posterior_method_from_name(mname, &pm))
        return cli_fail(a, "--method: unknown value '%s' (expected "
                           "dps|pigdm|replace|repaint|reddiff)", mname);
    j->pc = sgm_posterior_config_default(pm);
    sgm_posterior_config *p = &j->pc;
    if (cli_get_double(a, "sigma-y", &p->sigma_y) < 0 || cli_get_double(a, "zeta", &p->zeta) < 0 ||
        cli_get_double(a, "data-var", &p->data_var) < 0 ||
        cli_get_int(a, "jump-length", 1, 1000000, &p->jump_length) < 0 ||
        cli_get_int(a, "resample", 1, 1000000, &p->resample) < 0 ||
        cli_get_double(a, "lambda", &p->lambda) < 0 || cli_get_double(a, "lr", &p->lr) < 0)
        return -1;
    if (!(p->sigma_y >= 0 && isfinite(p->sigma_y)))
        return cli_fail(a, "--sigma-y %g: must be >= 0", p->sigma_y);
    if (!(p->zeta >= 0 && isfinite(p->zeta))) return cli_fail(a, "--zeta %g: must be >= 0", p->zeta);
    if (!(p->lambda >= 0 && isfinite(p->lambda)))
        return cli_fail(a, "--lambda %g: must be >= 0", p->lambda);
    if (!(p->lr > 0 && isfinite(p->lr))) return cli_fail(a, "--lr %g: must be > 0", p->lr);
    if (!(p->data_var > 0 && isfinite(p->data_var)))
        return cli_fail(a, "--data-var %g: must be > 0", p->data_var);
    const char *sname = cli_get(a, "sampler");
    if (!sname) sname = pm == SGM_POST_PIGDM ? "ddim" : "ddpm";
    if (sgm_sampler_config_default(sname, &j->scfg, NULL))
        return cli_fail(a, "--sampler: unknown sampler '%s' (run `sgm list`)", sname);
    if (cli_get_double(a, "eta", &j->scfg.eta) < 0) return -1;
    const sgm_method_info *mi = sgm_method_find(sname);
    if (mi && mi->adaptive && pm != SGM_POST_PIGDM && pm != SGM_POST_REDDIFF)
        return cli_fail(a, "--sampler %s is adaptive; --method %s needs a fixed-step sampler",
                        sname, mname);
    return 0;
}

/* --measure: the signals X (k rows of the model's dimension) and sigma_y */
static int prepare_measure(cli_args *a, restore_job *j) {
    sgm_error err = {0};
    if (cli_has(a, "y") || cli_has(a, "method"))
        return cli_fail(a, "--measure writes a measurement: it takes no --y or --method");
    if (cli_get_double(a, "sigma-y", &j->pc.sigma_y) < 0) return -1;
    if (!(j->pc.sigma_y >= 0)) return cli_fail(a, "--sigma-y %g: must be >= 0", j->pc.sigma_y);
    if (sgm_npy_load(cli_get(a, "measure"), &j->xin, &err))
        return cli_fail(a, "--measure: %s", err.msg);
    if (!j->xin.count || j->xin.count % j->d)
        return cli_fail(a, "--measure has %zu values, not rows of the signal's %zu", j->xin.count,
                        j->d);
    for (size_t i = 0; i < j->xin.count; i++)
        if (!isfinite(j->xin.data[i])) return cli_fail(a, "--measure: value %zu is not finite", i);
    return 0;
}

static int prepare(cli_args *a, restore_job *j) {
    int measure = cli_has(a, "measure");
    if (cli_require(a, "model") < 0 || cli_require(a, "operator") < 0 ||
        cli_require(a, "out") < 0)
        return -1;
    if (!measure && (cli_require(a, "method") < 0 || cli_require(a, "y") < 0)) return -1;
    j->out = cli_get(a, "out");
    if (cli_check_out(a, "out", j->out) < 0) return -1;
    j->n = 1;
    if (cli_get_size(a, "n", 1, &j->n) < 0 || cli_get_u64(a, "seed", &j->seed) < 0 ||
        cli_get_u64(a, "row0", &j->row0) < 0)
        return -1;
    if (!measure && parse_method(a, j) < 0) return -1;
    if (cli_model_load(cli_get(a, "model"), &j->model, a->err, sizeof a->err) < 0) return -1;
    if (measure) {
        j->d = j->model.dim;
        if (signal_shape(a, j) < 0 || build_operator(a, j) < 0) return -1;
        return prepare_measure(a, j);
    }
    sgm_prediction pred = SGM_PRED_X0;
    if (cli_model_prediction(a, &j->model, &pred) < 0) return -1;
    if (j->model.gmm && pred != SGM_PRED_X0)
        return cli_fail(a, "--prediction: restore uses the mixture's own x0 prediction");
    j->model.pred = pred;
    if (cli_model_process(a, &j->model, &j->proc) < 0) return -1;
    j->d = j->model.dim;
    if (signal_shape(a, j) < 0 || build_operator(a, j) < 0 || load_measurement(a, j) < 0)
        return -1;
    int linear_only = j->pc.method == SGM_POST_PIGDM || j->pc.method == SGM_POST_REPLACE ||
                      j->pc.method == SGM_POST_REPAINT;
    if (linear_only && !sgm_operator_is_linear(j->op))
        return cli_fail(a, "--method %s needs a linear operator (not %s)", cli_get(a, "method"),
                        cli_get(a, "operator"));
    if (j->n > ((size_t)-1 / sizeof(double)) / j->d)
        return cli_fail(a, "--n %zu: too many rows", j->n);
    return cli_build_schedule(a, j->proc, NULL, &j->sched);
}

/* --measure: y = A(x) + sigma_y n, [k, m]; 0 or 1 (message printed) */
static int run_measure(restore_job *j, int quiet) {
    size_t k = j->xin.count / j->d, m = sgm_operator_out_dim(j->op);
    double *y = malloc(k * m * sizeof *y), *z = malloc(k * m * sizeof *z);
    sgm_error err = {0};
    sgm_status st = !y || !z ? SGM_ERR_NOMEM : SGM_OK;
    if (st) snprintf(err.msg, sizeof err.msg, "out of memory");
    if (!st) st = sgm_operator_forward(j->op, k, j->xin.data, y, &err);
    if (!st) {
        sgm_rng_normal_rows_f64(j->seed, 0, j->row0, k, m, z);
        for (size_t i = 0; i < k * m; i++) y[i] += j->pc.sigma_y * z[i];
        size_t shape[2] = {k, m};
        st = sgm_npy_save(j->out, 2, shape, y, 0, &err);
    }
    free(y);
    free(z);
    if (st) {
        fprintf(stderr, "sgm restore: %s\n", err.msg);
        return 1;
    }
    if (!quiet)
        printf("restore: measured %zu signals with the %s operator (sigma_y %g), "
               "[%zu, %zu] -> %s\n", k, j->opname, j->pc.sigma_y, k, m, j->out);
    return 0;
}

/* 0, or 1 on a runtime failure (message printed) */
static int run_restore(restore_job *j, int quiet) {
    size_t n = j->n, d = j->d;
    double *x = malloc(n * d * sizeof *x);
    if (!x) {
        fprintf(stderr, "sgm restore: out of memory\n");
        return 1;
    }
    double s0 = j->sched->sigma[0] * j->sched->alpha[0];
    sgm_rng_normal_rows_f64(j->seed, 0, j->row0, n, d, x);
    for (size_t i = 0; i < n * d; i++) x[i] *= isfinite(s0) ? s0 : 1;
    sgm_denoiser den = cli_model_denoiser(&j->model, j->proc, j->model.pred);
    sgm_denoiser_grad gr = cli_model_grad(&j->model);
    sgm_rng rng = sgm_rng_init(j->seed);
    rng.counter = 1;
    sgm_posterior_stats stats = {0};
    sgm_error err = {0};
    double t0 = cli_now();
    j->pc.y_rows = j->ny > 1;
    sgm_status st = sgm_posterior_run(&j->pc, &j->scfg, j->proc, j->sched, &den, &gr, j->opz,
                                      j->yz, &rng, j->row0, n, x, &stats, &err);
    if (!st) {
        cli_model_to_data(&j->model, n, x);
        size_t shape[4] = {n, j->c, j->h, j->w};
        int image = j->model.net && j->h > 1;
        if (!image) shape[1] = d;
        st = sgm_npy_save(j->out, image ? 4 : 2, shape, x, 0, &err);
    }
    free(x);
    if (st) {
        fprintf(stderr, "sgm restore: %s\n", err.msg);
        return 1;
    }
    if (!quiet)
        printf("restore: %s, %s operator, %zu samples, NFE %zu, VJP %zu, %.2f s -> %s\n",
               sgm_posterior_method_name(j->pc.method),
               j->opname,
               n, stats.nfe, stats.nvjp, cli_now() - t0, j->out);
    return 0;
}

int cmd_restore(int argc, char **argv) {
    cli_args a;
    const cli_opt *const tables[] = {restore_opts_table, cli_process_opts, cli_schedule_opts,
                                     NULL};
    int r = cli_start(&a, "restore", tables, argc, argv,
                      "--model gmm:FILE.json|ckpt:FILE.safetensors --method NAME --operator NAME "
                      "--y Y.npy [--mask M.npy] [--sigma-y S] --steps N --out OUT.npy\n"
                      "       sgm restore --model ... --operator NAME --measure X.npy "
                      "[--sigma-y S] --out Y.npy");
    if (r == CLI_HELP) return 0;
    if (r < 0) return cli_error(&a, 2);
    restore_job j;
    memset(&j, 0, sizeof j);
    int quiet = 0;
    if (prepare(&a, &j) < 0 || cli_get_bool(&a, "quiet", &quiet) < 0) {
        free_job(&j);
        return cli_error(&a, 2);
    }
    int rc = cli_has(&a, "measure") ? run_measure(&j, quiet) : run_restore(&j, quiet);
    free_job(&j);
    return rc;
}
