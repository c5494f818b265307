/* dist.h - the CLI's layer over MPI (docs/scaling.md): the same `sgm`
 * binary runs alone or as P processes under `mpirun -np P`. Built with
 * SGM_MPI (CMake option; SGM_HAVE_MPI defined for the CLI only: the library
 * never needs MPI); without it, or when not started by a launcher, every
 * function below describes one process (rank 0 of 1) and does nothing.
 *
 * Conventions: rows are shared in contiguous blocks (cli_dist_share: the
 * first n % P ranks take one row more); rank 0 writes every output file and
 * prints; the other ranks' stdout and stderr go to /dev/null unless
 * SGM_MPI_VERBOSE is set. */
#ifndef SGM_CLI_DIST_H
#define SGM_CLI_DIST_H

#include <stddef.h>

/* MPI_Init when started by mpirun (Open MPI's OMPI_COMM_WORLD_SIZE, or PMIx /
 * PMI), and the non-root ranks silenced. */
void cli_dist_init(int *argc, char ***argv);
/* MPI_Finalize when cli_dist_init started MPI. */
void cli_dist_finalize(void);
/* Ends the whole job now (MPI_Abort when P > 1) with exit code `code`:
 * for a runtime failure after which the other ranks could wait forever. */
void cli_dist_abort(int code);
int cli_dist_rank(void);
int cli_dist_size(void);
/* This rank's rows [*lo, *hi) of n. */
void cli_dist_share(size_t n, size_t *lo, size_t *hi);
/* The largest of every rank's code (each rank calls it at the same point):
 * a failure on one rank becomes the failure of all. */
int cli_dist_agree(int code);
/* x is [n, d] on every rank, each holding its share (cli_dist_share) of
 * rows; afterwards rank 0's x holds every row. 0, or -1 on an MPI failure. */
int cli_dist_gather_rows(double *x, size_t n, size_t d);
/* The same, every row on every rank afterwards (sgm_metric_config's
 * all_gather; user_data unused). */
int cli_dist_all_gather(double *x, size_t n, size_t d, void *user_data);
/* Every rank's `bytes` bytes at `mine`, in rank order, into all [P * bytes]
 * on rank 0 (all unused elsewhere). 0 or -1. */
int cli_dist_gather_bytes(const void *mine, size_t bytes, void *all);
/* Sums v[0..n) over the ranks in place on every rank. 0 or -1. */
int cli_dist_sum(double *v, size_t n);

/* The trainer's gradient reduction (sgm_grad_reduce_fn of sgm_train.h):
 * MPI_Allreduce (sum) of the flat gradient block and of the loss;
 * user_data is a cli_dist_timing, which accumulates the time spent. */
typedef struct cli_dist_timing {
    double seconds; /* in MPI_Allreduce */
    double wait;    /* SGM_MPI_PROFILE set: in a barrier before it (waiting for
                       the slowest rank), so that `seconds` is the transfer */
    long calls;
    int profile;
} cli_dist_timing;
int cli_dist_reduce_grad(float *grad, size_t n, double *loss, void *user_data);

#endif
