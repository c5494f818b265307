/* edit_common.h - what `sgm edit` and `sgm invert` share: the model, its
 * process and the schedule from the usual options, and an input .npy of
 * rows of the model's dimension, checked before any work. */
#ifndef SGM_CLI_EDIT_COMMON_H
#define SGM_CLI_EDIT_COMMON_H

#include "args.h"
#include "model.h"

typedef struct cli_edit_base {
    cli_model model;
    sgm_prediction pred;
    sgm_process *proc;
    sgm_schedule *sched;
    sgm_array in;     /* the input; data[] in model units after loading */
    size_t n, d;      /* rows, values per row (the input's trailing dims) */
    int lead;         /* leading dims of the input before the rows (0, or 1 for [2, N, ...]) */
} cli_edit_base;

/* --model, --prediction, the process, --input (rows of the model's
 * dimension; pair = 1 also accepts [2, N, ...]), --seed-free setup and the
 * schedule (method picks a diffusers grid). data_units: the input is in data
 * units (converted to the model's). 0, or -1 (a->err set). */
int cli_edit_setup(cli_args *a, cli_edit_base *b, const char *method, int pair, int data_units);
void cli_edit_free(cli_edit_base *b);

#endif
