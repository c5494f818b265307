/* model.h - the models `sgm sample` can draw from, behind one denoiser.
 *
 * A model spec is KIND:PATH; today the only kind is the exact Gaussian
 * mixture, gmm:FILE.json (sgm_model.h). The mixture predicts x0; the CLI
 * wraps it so that it emits the parameterization asked for with
 * --prediction (eps, x0, v, score or flow), and the library converts that
 * back to x0 (sgm_prediction_to_x0), so every conversion path is exercised.
 */
#ifndef SGM_CLI_MODEL_H
#define SGM_CLI_MODEL_H

#include <stddef.h>

#include "sgm.h"

typedef struct cli_model {
    sgm_gmm *gmm;               /* owned */
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

#endif
