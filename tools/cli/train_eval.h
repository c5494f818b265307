/* train_eval.h - `sgm train --eval-every N --eval-data HELDOUT.npy`: periodic
 * held-out metrics of the checkpoint being trained (train_eval.c). */
#ifndef SGM_CLI_TRAIN_EVAL_H
#define SGM_CLI_TRAIN_EVAL_H

#include <stdio.h>

#include "sgm.h"

typedef struct train_eval {
    int every;          /* 0: off */
    size_t n;           /* rows drawn per evaluation (and held-out rows compared) */
    double *held;       /* [rows, cols] held-out data */
    size_t rows, cols;
    sgm_gmm *g;         /* the mixture when the data are gmm:FILE.json */
    double sw2_floor, mmd_floor; /* the metric between two disjoint held-out halves */
    double ll_ref;      /* mean exact log-density of the held-out rows */
    double *mass_ref;   /* [k] their component masses */
} train_eval;

/* Loads and checks HELDOUT.npy against the training data's width (before
 * training starts); 0, or 2 after a one-line message on stderr. */
int train_eval_open(train_eval *ev, const char *path, size_t cols, const char *spec, int every,
                    size_t n);
/* Evaluates checkpoint ckpt (written at step): a log line and, unless quiet,
 * a progress line. 0, or 1 after a message (runtime failure). */
int train_eval_run(const train_eval *ev, const char *ckpt, long step, FILE *log, int quiet);
void train_eval_close(train_eval *ev);

#endif
