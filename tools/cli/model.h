/* model.h - the models `sgm sample` can draw from, behind one denoiser.
 *
 * A model spec is KIND:PATH: the exact Gaussian mixture gmm:FILE.json
 * (sgm_model.h), or a trained checkpoint ckpt:FILE.safetensors (also a bare
 * path ending in .safetensors; sgm_train.h). The mixture predicts x0; the CLI
 * wraps it so that it emits the parameterization asked for with
 * --prediction (eps, x0, v, score or flow), and the library converts that
 * back to x0 (sgm_prediction_to_x0), so every conversion path is exercised.
 * A checkpoint fixes its own process and parameterization (the options may
 * only repeat them) and works in standardized units z = (x - mean) / std;
 * cli_model_to_data / _from_data convert, cli_model_log_jac is the
 * log-determinant that converts densities (log p_data = log p_z - log_jac).
 */
#ifndef SGM_CLI_MODEL_H
#define SGM_CLI_MODEL_H

#include <stddef.h>

#include "sgm.h"

struct cli_args;

typedef struct cli_model {
    sgm_gmm *gmm;               /* owned (gmm:) */
    sgm_model *net;               /* owned (ckpt:) */
    size_t dim;                 /* values per sample */
    /* prediction wrapper */
    const sgm_process *proc;    /* borrowed: for the flow velocity d alpha / dt, d sigma / dt */
    sgm_prediction pred;
} cli_model;

/* Loads `spec`; on failure fills msg (one line) and returns -1. */
int cli_model_load(const char *spec, cli_model *m, char *msg, size_t msg_len);
/* A denoiser emitting `pred`; m must outlive its use. */
sgm_denoiser cli_model_denoiser(cli_model *m, const sgm_process *proc, sgm_prediction pred);
void cli_model_free(cli_model *m);
/* The process: for a mixture, from the options (cli_build_process); for a
 * checkpoint, the one it was trained with, after checking that --process
 * and the process-defining options, when given, match it (--t-eps / --t-max
 * may narrow the time range). Fails (cli_fail, -1) on a contradiction. */
int cli_model_process(struct cli_args *a, const cli_model *m, sgm_process **out);
/* --prediction: for a mixture any (default x0); for a checkpoint, its own
 * (the option may only repeat it). */
int cli_model_prediction(struct cli_args *a, const cli_model *m, sgm_prediction *pred);
/* rows of model-space values -> data units in place (checkpoints), and back. */
void cli_model_to_data(const cli_model *m, size_t rows, double *x);
void cli_model_from_data(const cli_model *m, size_t rows, double *x);
/* log |dz/dx|^-1 = sum log std for checkpoints, 0 for mixtures. */
double cli_model_log_jac(const cli_model *m);
/* The input derivatives for sgm_nll of the denoiser cli_model_denoiser gives
 * (mixture: the closed forms of its x0 prediction, used with pred = x0). */
sgm_denoiser_grad cli_model_grad(cli_model *m);
/* "gmm" or "ckpt" */
const char *cli_model_kind(const cli_model *m);

#endif
