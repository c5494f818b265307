/* cmd_dpmv3.c - `sgm dpmv3-calibrate`: the calibration pass of DPM-Solver-v3
 * (Zheng et al. 2023; sgm_dpmv3_calibrate in sgm_sampler.h) for a model,
 * written as an EMS file that `sgm sample --sampler dpm_solver_v3 --ems FILE`
 * reads.
 *
 * EMS file: float64 .npy of shape [4, K, d]: l, s, b and, in every column of
 * the fourth plane, the lambda (= -log VE sigma) of the grid row (uniform,
 * increasing). Calibration data: --data X.npy (data units; a checkpoint's
 * standardized units are applied) or, for a mixture, --n N exact samples of
 * --seed. The lambda range defaults to the process's VE sigmas at t_max and
 * t_min (--sigma-max / --sigma-min override).
 *
 * Exit codes: 0 success; 2 bad input (one line, nothing written); 1 failure.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "model.h"

static const cli_opt dpmv3_opts[] = {
    {"model", "KIND:PATH", NULL, "gmm:FILE.json or ckpt:FILE.safetensors"},
    {"prediction", "KIND", "x0 (ckpt: its own)", "what the model emits"},
    {"data", "X.npy", NULL, "calibration batch (data units)"},
    {"n", "N", "1024 (gmm)", "mixture: exact samples as the calibration batch"},
    {"grid", "K", "121", "lambda grid points"},
    {"seed", "S", "0", "seed of the noise, the probes and the mixture samples"},
    {"out", "EMS.npy", NULL, "EMS file [4, K, d] (written atomically)"},
    {NULL, NULL, NULL, NULL}};

int cli_ems_load(cli_args *a, const char *path, size_t d, sgm_array *arr, sgm_dpmv3_ems *out) {
    sgm_error err = {0};
    if (sgm_npy_load(path, arr, &err)) return cli_fail(a, "--ems: %s", err.msg);
    if (arr->ndim != 3 || arr->shape[0] != 4 || arr->shape[1] < 2 || arr->shape[2] != d)
        return cli_fail(a, "--ems %s: want shape [4, K >= 2, %zu] (l, s, b, lambda), got %d dims",
                        path, d, arr->ndim);
    size_t K = arr->shape[1], m = K * d;
    for (size_t i = 0; i < arr->count; i++)
        if (!isfinite(arr->data[i]))
            return cli_fail(a, "--ems %s: value %zu is not finite", path, i);
    const double *lam = arr->data + 3 * m;
    double l0 = lam[0], l1 = lam[(K - 1) * d], step = (l1 - l0) / (double)(K - 1);
    for (size_t k = 0; k < K; k++)
        if (!(l1 > l0) || fabs(lam[k * d] - (l0 + step * (double)k)) > 1e-9 * (1 + fabs(l1 - l0)))
            return cli_fail(a, "--ems %s: the lambda plane must be increasing and uniform", path);
    out->n = K;
    out->d = d;
    out->lambda_first = l0;
    out->lambda_last = l1;
    out->l = arr->data;
    out->s = arr->data + m;
    out->b = arr->data + 2 * m;
    return 0;
}

int cmd_dpmv3(int argc, char **argv) {
    cli_args a;
    const cli_opt *const tables[] = {dpmv3_opts, cli_process_opts, NULL};
    int r = cli_start(&a, "dpmv3-calibrate", tables, argc, argv,
                      "sgm dpmv3-calibrate --model gmm:FILE.json --process P | --model "
                      "ckpt:FILE.safetensors, [--data X.npy | --n N] --out EMS.npy [options]");
    if (r == CLI_HELP) return 0;
    if (r < 0) return cli_error(&a, 2);
    cli_model model;
    memset(&model, 0, sizeof model);
    sgm_process *proc = NULL;
    sgm_array data;
    memset(&data, 0, sizeof data);
    double *x0 = NULL;
    size_t n = 1024, K = 121;
    uint64_t seed = 0;
    int rc = 2;
    sgm_prediction pred;
    const char *out = cli_get(&a, "out");
    if (cli_require(&a, "model") < 0 || cli_require(&a, "out") < 0 ||
        cli_check_out(&a, "out", out) < 0 || cli_get_size(&a, "grid", 3, &K) < 0 ||
        cli_get_u64(&a, "seed", &seed) < 0 || cli_get_size(&a, "n", 2, &n) < 0)
        goto done;
    if (K > 100000) {
        cli_fail(&a, "--grid %zu: at most 100000 points", K);
        goto done;
    }
    if (cli_model_load(cli_get(&a, "model"), &model, a.err, sizeof a.err) < 0 ||
        cli_model_process(&a, &model, &proc) < 0 || cli_model_prediction(&a, &model, &pred) < 0)
        goto done;
    size_t d = model.dim;
    if (cli_get(&a, "data")) {
        sgm_error err = {0};
        const char *dp = cli_get(&a, "data");
        if (sgm_npy_load(dp, &data, &err)) {
            cli_fail(&a, "--data: %s", err.msg);
            goto done;
        }
        if (data.ndim < 1 || data.shape[0] < 2 || data.count / data.shape[0] != d) {
            cli_fail(&a, "--data %s: want >= 2 rows of %zu values (the model's dimension)", dp, d);
            goto done;
        }
        for (size_t i = 0; i < data.count; i++)
            if (!isfinite(data.data[i])) {
                cli_fail(&a, "--data %s: value %zu is not finite", dp, i);
                goto done;
            }
        n = data.shape[0];
        x0 = data.data;
        cli_model_from_data(&model, n, x0);
    } else if (model.gmm) {
        x0 = data.data = malloc(sizeof(double) * n * d);
        if (!x0) {
            fprintf(stderr, "sgm dpmv3-calibrate: out of memory\n");
            rc = 1;
            goto done;
        }
        sgm_gmm_sample(model.gmm, seed, 1, 0, n, x0);
    } else {
        cli_fail(&a, "a checkpoint needs --data X.npy (the calibration batch)");
        goto done;
    }
    double smax = sgm_process_sigma_ve(proc, sgm_process_t_max(proc));
    double smin = sgm_process_sigma_ve(proc, sgm_process_t_min(proc));
    if (cli_get_double(&a, "sigma-max", &smax) < 0 || cli_get_double(&a, "sigma-min", &smin) < 0)
        goto done;
    if (!(smin > 0 && smin < smax && isfinite(smax))) {
        cli_fail(&a, "the VE sigma range %g..%g is not finite and positive: give --sigma-min and "
                     "--sigma-max", smin, smax);
        goto done;
    }
    sgm_denoiser den = cli_model_denoiser(&model, proc, pred);
    sgm_dpmv3_ems ems;
    sgm_error err = {0};
    sgm_status st = sgm_dpmv3_calibrate(proc, &den, n, d, x0, smax, smin, K, seed, &ems, &err);
    if (st) {
        fprintf(stderr, "sgm dpmv3-calibrate: %s\n", err.msg);
        rc = st == SGM_ERR_INVALID_ARG ? 2 : 1;
        goto done;
    }
    size_t m = K * d;
    double *blk = malloc(sizeof(double) * 4 * m);
    if (!blk) {
        sgm_dpmv3_ems_free(&ems);
        fprintf(stderr, "sgm dpmv3-calibrate: out of memory\n");
        rc = 1;
        goto done;
    }
    memcpy(blk, ems.l, sizeof(double) * m);
    memcpy(blk + m, ems.s, sizeof(double) * m);
    memcpy(blk + 2 * m, ems.b, sizeof(double) * m);
    for (size_t k = 0; k < K; k++)
        for (size_t j = 0; j < d; j++)
            blk[3 * m + k * d + j] = ems.lambda_first + (ems.lambda_last - ems.lambda_first) *
                                                            (double)k / (double)(K - 1);
    sgm_dpmv3_ems_free(&ems);
    size_t shape[3] = {4, K, d};
    st = sgm_npy_save(out, 3, shape, blk, 0, &err);
    free(blk);
    if (st) {
        fprintf(stderr, "sgm dpmv3-calibrate: %s\n", err.msg);
        rc = 1;
        goto done;
    }
    fprintf(stderr, "sgm dpmv3-calibrate: %zu rows, %zu lambdas %g..%g (VE sigma %g..%g) -> %s\n",
            n, K, -log(smax), -log(smin), smax, smin, out);
    rc = 0;
done:
    if (rc == 2 && a.err[0]) rc = cli_error(&a, 2);
    sgm_array_free(&data);
    sgm_process_free(proc);
    cli_model_free(&model);
    return rc;
}
