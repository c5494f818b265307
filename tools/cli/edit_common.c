/* edit_common.c - the shared setup of `sgm edit` and `sgm invert`
 * (edit_common.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "edit_common.h"

static int load_input(cli_args *a, cli_edit_base *b, int pair) {
    sgm_error err = {0};
    const char *ip = cli_get(a, "input");
    if (sgm_npy_load(ip, &b->in, &err)) return cli_fail(a, "--input: %s", err.msg);
    sgm_array *in = &b->in;
    b->lead = pair && in->ndim >= 3 && in->shape[0] == 2 ? 1 : 0;
    size_t dd = 1;
    for (int i = b->lead + 1; i < in->ndim; i++) dd *= in->shape[i];
    if (in->ndim < b->lead + 1 || in->shape[b->lead] == 0 || dd != b->d)
        return cli_fail(a, "--input %s: %zu values per row, but the model has dimension %zu", ip,
                        in->ndim < 1 ? (size_t)0 : dd, b->d);
    for (size_t i = 0; i < in->count; i++)
        if (!isfinite(in->data[i]))
            return cli_fail(a, "--input %s: value %zu is not finite", ip, i);
    b->n = in->shape[b->lead];
    return 0;
}

int cli_edit_setup(cli_args *a, cli_edit_base *b, const char *method, int pair, int data_units) {
    if (cli_require(a, "model") < 0 || cli_require(a, "input") < 0 || cli_require(a, "out") < 0)
        return -1;
    if (cli_check_out(a, "out", cli_get(a, "out")) < 0) return -1;
    if (cli_model_load(cli_get(a, "model"), &b->model, a->err, sizeof a->err) < 0) return -1;
    b->pred = SGM_PRED_X0;
    if (cli_model_prediction(a, &b->model, &b->pred) < 0) return -1;
    if (cli_model_process(a, &b->model, &b->proc) < 0) return -1;
    b->d = b->model.dim;
    if (load_input(a, b, pair) < 0) return -1;
    if (data_units)
        for (size_t k = 0; k < (b->lead ? 2u : 1u); k++)
            cli_model_from_data(&b->model, b->n, b->in.data + k * b->n * b->d);
    return cli_build_schedule(a, b->proc, method, &b->sched);
}

void cli_edit_free(cli_edit_base *b) {
    sgm_schedule_free(b->sched);
    sgm_process_free(b->proc);
    cli_model_free(&b->model);
    sgm_array_free(&b->in);
    memset(b, 0, sizeof *b);
}
