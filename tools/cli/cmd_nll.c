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

static int check_out(cli_args *a, const char *opt, const char *path) {
    char *tmp = strdup(path);
    if (!tmp) return cli_fail(a, "out of memory");
    const char *dir = dirname(tmp);
    int ok = access(dir, W_OK) == 0;
    int r = ok ? 0
               : cli_fail(a, "--%s %s: folder '%s' does not exist or is not writable", opt,
                          path, dir);
    free(tmp);
    return r;
}

static int exit_code(sgm_status st) {
    return st == SGM_ERR_NOMEM || st == SGM_ERR_IO ? 1 : 2;
}

int cli_likelihood_main(int argc, char **argv, int encode) {
    const char *name = encode ? "encode" : "nll";
    cli_args a;
    memset(&a, 0, sizeof a);
    a.cmd = name;
    cli_add_opts(&a, encode ? encode_opts : nll_opts);
    cli_add_opts(&a, cli_process_opts);
    int rc = 2;
    sgm_process *proc = NULL;
    cli_model model;
    memset(&model, 0, sizeof model);
    sgm_array data;
    memset(&data, 0, sizeof data);
    double *x = NULL, *lp = NULL, *z = NULL;
    size_t *nfe = NULL;
    if (cli_parse(&a, argc, argv) < 0) goto bad;
    if (a.help) {
        cli_usage(&a, stdout,
                  encode ? "sgm encode --model gmm:FILE.json --process P | --model "
                           "ckpt:FILE.safetensors, --data X.npy --out Z.npy [options]"
                         : "sgm nll --model gmm:FILE.json --process P | --model "
                           "ckpt:FILE.safetensors, --data X.npy "
                           "[--divergence exact|hutchinson] [--out LOGP.npy] [options]");
        return 0;
    }
    if (cli_require(&a, "model") < 0 || cli_require(&a, "data") < 0) goto bad;
    if (encode && cli_require(&a, "out") < 0) goto bad;
    sgm_nll_config cfg = sgm_nll_config_default();
    if (cli_get_double(&a, "rtol", &cfg.rtol) < 0 || cli_get_double(&a, "atol", &cfg.atol) < 0 ||
        cli_get_double(&a, "h-init", &cfg.h_init) < 0 ||
        cli_get_size(&a, "max-steps", 1, &cfg.max_steps) < 0 ||
        cli_get_double(&a, "t-eps", &cfg.t_eps) < 0)
        goto bad;
    if (!(cfg.rtol > 0) || !(cfg.atol > 0) || !isfinite(cfg.rtol) || !isfinite(cfg.atol)) {
        cli_fail(&a, "--rtol and --atol must be positive");
        goto bad;
    }
    int dequant = 0, bpd = 0, scale01 = 0;
    if (!encode) {
        static const char *const divs[] = {"exact", "hutchinson", NULL};
        static const char *const probes[] = {"rademacher", "gaussian", NULL};
        static const char *const scales[] = {"pm1", "01", NULL};
        int dv = 0, pb = 0;
        if (cli_get_choice(&a, "divergence", divs, &dv) < 0 ||
            cli_get_choice(&a, "probe", probes, &pb) < 0 ||
            cli_get_int(&a, "probes", 1, 1 << 20, &cfg.n_probes) < 0 ||
            cli_get_u64(&a, "seed", &cfg.seed) < 0 ||
            cli_get_bool(&a, "dequantize", &dequant) < 0 ||
            cli_get_bool(&a, "bits-per-dim", &bpd) < 0 ||
            cli_get_choice(&a, "scale", scales, &scale01) < 0)
            goto bad;
        cfg.divergence = dv ? SGM_DIV_HUTCHINSON : SGM_DIV_EXACT;
        cfg.probe = pb ? SGM_PROBE_GAUSSIAN : SGM_PROBE_RADEMACHER;
        if (dv == 0 && (cli_has(&a, "probes") || cli_has(&a, "probe"))) {
            cli_fail(&a, "--probes/--probe need --divergence hutchinson");
            goto bad;
        }
        if (cli_has(&a, "scale") && !dequant && !bpd) {
            cli_fail(&a, "--scale applies to --dequantize and --bits-per-dim only");
            goto bad;
        }
    }
    const char *out = cli_get(&a, "out"), *zpath = encode ? NULL : cli_get(&a, "z");
    if ((out && check_out(&a, "out", out) < 0) || (zpath && check_out(&a, "z", zpath) < 0))
        goto bad;
    if (cli_model_load(cli_get(&a, "model"), &model, a.err, sizeof a.err) < 0) goto bad;
    if (cli_model_process(&a, &model, &proc) < 0) goto bad;
    size_t d = model.dim;
    {
        sgm_error err = {0};
        const char *dp = cli_get(&a, "data");
        if (sgm_npy_load(dp, &data, &err)) {
            cli_fail(&a, "--data: %s", err.msg);
            goto bad;
        }
        size_t dd = 1;
        for (int i = 1; i < data.ndim; i++) dd *= data.shape[i];
        if (data.ndim < 1 || data.shape[0] == 0) {
            cli_fail(&a, "--data %s: empty set (no samples)", dp);
            goto bad;
        }
        if (dd != d) {
            cli_fail(&a, "--data %s: %zu values per row, but the model has dimension %zu", dp,
                     dd, d);
            goto bad;
        }
        for (size_t i = 0; i < data.count; i++)
            if (!isfinite(data.data[i])) {
                cli_fail(&a, "--data %s: value %zu (row %zu) is not finite", dp, i, i / d);
                goto bad;
            }
    }
    size_t n = data.shape[0];
    x = data.data;
    if (dequant) {
        sgm_error err = {0};
        double *y = malloc(n * d * sizeof *y);
        if (!y) {
            fprintf(stderr, "sgm %s: out of memory\n", name);
            rc = 1;
            goto done;
        }
        sgm_status st = sgm_dequantize_uniform(cfg.seed, 0, n, d, x, !scale01, y, &err);
        if (st) {
            free(y);
            cli_fail(&a, "--dequantize: %s", err.msg);
            goto bad;
        }
        x = y;
    }
    if (model.net) { /* the network's standardized units (a copy: data.data is kept) */
        double *y = malloc(n * d * sizeof *y);
        if (!y) {
            fprintf(stderr, "sgm %s: out of memory\n", name);
            rc = 1;
            goto done;
        }
        memcpy(y, x, n * d * sizeof *y);
        if (x != data.data) free(x);
        x = y;
        cli_model_from_data(&model, n, x);
    }
    lp = malloc(n * sizeof *lp);
    z = malloc(n * d * sizeof *z);
    nfe = malloc(n * sizeof *nfe);
    if (!lp || !z || !nfe) {
        fprintf(stderr, "sgm %s: out of memory\n", name);
        rc = 1;
        goto done;
    }
    double t0 = cli_now();
    sgm_denoiser den = model.net ? cli_model_denoiser(&model, proc, SGM_PRED_X0)
                                 : sgm_gmm_denoiser(model.gmm);
    sgm_denoiser_grad grad = cli_model_grad(&model);
    {
        sgm_error err = {0};
        sgm_status st = encode ? sgm_encode(&cfg, proc, &den, n, d, x, z, nfe, &err)
                               : sgm_nll(&cfg, proc, &den, &grad, 0, n, d, x, lp,
                                         zpath ? z : NULL, nfe, &err);
        if (st) {
            fprintf(stderr, "sgm %s: %s (%s)\n", name, err.msg, sgm_status_str(st));
            rc = exit_code(st);
            goto done;
        }
    }
    double wall = cli_now() - t0;
    if (!encode) { /* densities in data units: log p_x = log p_z - sum log std */
        double lj = cli_model_log_jac(&model);
        for (size_t i = 0; i < n; i++) lp[i] -= lj;
    }
    {
        sgm_error err = {0};
        size_t one[1] = {n};
        if (encode) {
            if (sgm_npy_save(out, data.ndim, data.shape, z, 0, &err)) goto io_fail;
        } else {
            if (zpath && sgm_npy_save(zpath, data.ndim, data.shape, z, 0, &err)) goto io_fail;
            if (out && sgm_npy_save(out, 1, one, lp, 0, &err)) goto io_fail;
        }
        goto written;
    io_fail:
        fprintf(stderr, "sgm %s: %s\n", name, err.msg);
        rc = 1;
        goto done;
    }
written:;
    double nm = 0, nmin = (double)nfe[0], nmax = (double)nfe[0];
    for (size_t i = 0; i < n; i++) {
        nm += (double)nfe[i] / (double)n;
        nmin = fmin(nmin, (double)nfe[i]);
        nmax = fmax(nmax, (double)nfe[i]);
    }
    double te, T;
    sgm_nll_times(&cfg, proc, &te, &T);
    if (encode) {
        printf("sgm encode: %zu x %zu samples, t %g -> %g, NFE mean %.1f (min %.0f, max %.0f), "
               "%.3f s -> %s\n",
               n, d, te, T, nm, nmin, nmax, wall, out);
    } else {
        double m = 0, v = 0;
        for (size_t i = 0; i < n; i++) m += lp[i] / (double)n;
        for (size_t i = 0; i < n; i++) v += (lp[i] - m) * (lp[i] - m);
        double se = n > 1 ? sqrt(v / (double)(n - 1) / (double)n) : NAN;
        char what[64];
        if (cfg.divergence == SGM_DIV_EXACT)
            snprintf(what, sizeof what, "exact divergence");
        else
            snprintf(what, sizeof what, "hutchinson, %d %s probe%s", cfg.n_probes,
                     cfg.probe == SGM_PROBE_GAUSSIAN ? "gaussian" : "rademacher",
                     cfg.n_probes > 1 ? "s" : "");
        printf("sgm nll: %zu x %zu samples, %s, t %g -> %g, rtol %g, atol %g\n", n, d, what, te,
               T, cfg.rtol, cfg.atol);
        printf("log-likelihood: %.6f +- %.6f nats (mean +- standard error; %.6f nats/dim)\n", m,
               se, m / (double)d);
        if (bpd)
            printf("bits/dim: %.6f +- %.6f (offset %d, data in %s)\n",
                   sgm_bits_per_dim(m, d, !scale01), se / ((double)d * log(2.0)),
                   scale01 ? 8 : 7, scale01 ? "[0, 1]" : "[-1, 1]");
        printf("NFE per sample: mean %.1f (min %.0f, max %.0f); %.3f s%s%s\n", nm, nmin, nmax,
               wall, out ? " -> " : "", out ? out : "");
    }
    rc = 0;
    goto done;
bad:
    fprintf(stderr, "sgm %s: %s\n", name, a.err);
    rc = 2;
done:
    if (x != data.data) free(x);
    sgm_array_free(&data);
    free(lp);
    free(z);
    free(nfe);
    sgm_process_free(proc);
    cli_model_free(&model);
    return rc;
}

int cmd_nll(int argc, char **argv) { return cli_likelihood_main(argc, argv, 0); }
