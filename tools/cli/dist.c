/* dist.c - the CLI's layer over MPI (dist.h; MPI-3.1 standard: MPI_Init,
 * MPI_Allreduce, MPI_Gatherv, MPI_Allgatherv, MPI_Gather, MPI_Abort).
 * Compiled with SGM_HAVE_MPI when the build has SGM_MPI on; otherwise every
 * function is the one-process case. */
#include "dist.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef SGM_HAVE_MPI
#include <mpi.h>
#endif

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#ifdef SGM_HAVE_MPI

static int mpi_on(void) {
    int on = 0, off = 0;
    MPI_Initialized(&on);
    if (on) MPI_Finalized(&off);
    return on && !off;
}

void cli_dist_init(int *argc, char ***argv) {
    /* only under a launcher: a plain run never touches MPI */
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK") && !getenv("PMI_RANK")) return;
    /* Open MPI's shared-memory transport between ranks of one machine: its
       single-copy mode (CMA, process_vm_readv) made the all-reduce of the
       mlp's 2.2 MB gradient take 65-112 ms in a container here, against
       0.28 ms with copy in / copy out (docs/scaling.md); the user's own
       setting wins (setenv without overwrite) */
    setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
    if (MPI_Init(argc, argv) != MPI_SUCCESS) return;
    if (cli_dist_rank() != 0 && !getenv("SGM_MPI_VERBOSE")) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
    }
}

void cli_dist_finalize(void) {
    if (mpi_on()) MPI_Finalize();
}

void cli_dist_abort(int code) {
    if (mpi_on() && cli_dist_size() > 1) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

int cli_dist_rank(void) {
    int r = 0;
    if (mpi_on()) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int cli_dist_size(void) {
    int p = 1;
    if (mpi_on()) MPI_Comm_size(MPI_COMM_WORLD, &p);
    return p;
}

int cli_dist_agree(int code) {
    if (cli_dist_size() == 1) return code;
    int out = code;
    if (MPI_Allreduce(&code, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS) return 1;
    return out;
}

/* x [n, d] gathered on rank 0 (all = 0) or on every rank (all = 1) */
static int gather(double *x, size_t n, size_t d, int all) {
    int P = cli_dist_size(), me = cli_dist_rank();
    if (P == 1) return 0;
    if (n > INT_MAX || d > INT_MAX) return -1;
    int *cnt = malloc((size_t)P * sizeof(int)), *off = malloc((size_t)P * sizeof(int));
    int rc = -1;
    MPI_Datatype row;
    if (!cnt || !off || MPI_Type_contiguous((int)d, MPI_DOUBLE, &row) != MPI_SUCCESS) goto done;
    MPI_Type_commit(&row);
    for (int r = 0; r < P; r++) { /* cli_dist_share of rank r */
        size_t q = n / (size_t)P, e = n % (size_t)P, ru = (size_t)r;
        size_t lo = ru * q + (ru < e ? ru : e);
        off[r] = (int)lo;
        cnt[r] = (int)(q + (ru < e ? 1 : 0));
    }
    double *mine = x + (size_t)off[me] * d;
    int st;
    if (all)
        st = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, x, cnt, off, row, MPI_COMM_WORLD);
    else if (me == 0)
        st = MPI_Gatherv(MPI_IN_PLACE, cnt[0], row, x, cnt, off, row, 0, MPI_COMM_WORLD);
    else
        st = MPI_Gatherv(mine, cnt[me], row, NULL, cnt, off, row, 0, MPI_COMM_WORLD);
    MPI_Type_free(&row);
    rc = st == MPI_SUCCESS ? 0 : -1;
done:
    free(cnt);
    free(off);
    return rc;
}

int cli_dist_gather_rows(double *x, size_t n, size_t d) { return gather(x, n, d, 0); }

int cli_dist_all_gather(double *x, size_t n, size_t d, void *user_data) {
    (void)user_data;
    return gather(x, n, d, 1);
}

int cli_dist_gather_bytes(const void *mine, size_t bytes, void *all) {
    if (cli_dist_size() == 1) {
        memcpy(all, mine, bytes);
        return 0;
    }
    if (bytes > INT_MAX) return -1;
    return MPI_Gather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, 0,
                      MPI_COMM_WORLD) == MPI_SUCCESS
               ? 0
               : -1;
}

int cli_dist_sum(double *v, size_t n) {
    if (cli_dist_size() == 1) return 0;
    for (size_t i = 0; i < n; i += INT_MAX) {
        int m = (int)(n - i < INT_MAX ? n - i : INT_MAX);
        if (MPI_Allreduce(MPI_IN_PLACE, v + i, m, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) !=
            MPI_SUCCESS)
            return -1;
    }
    return 0;
}

int cli_dist_reduce_grad(float *grad, size_t n, double *loss, void *user_data) {
    cli_dist_timing *tm = user_data;
    double t0 = now_s();
    int rc = 0;
    if (tm && tm->profile) {
        rc = MPI_Barrier(MPI_COMM_WORLD) == MPI_SUCCESS ? 0 : -1;
        double t1 = now_s();
        tm->wait += t1 - t0;
        t0 = t1;
    }
    for (size_t i = 0; rc == 0 && i < n; i += INT_MAX) {
        int m = (int)(n - i < INT_MAX ? n - i : INT_MAX);
        if (MPI_Allreduce(MPI_IN_PLACE, grad + i, m, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) !=
            MPI_SUCCESS)
            rc = -1;
    }
    if (rc == 0) rc = cli_dist_sum(loss, 1);
    if (tm) tm->seconds += now_s() - t0, tm->calls++;
    return rc;
}

#else /* one process */

void cli_dist_init(int *argc, char ***argv) { (void)argc, (void)argv; }
void cli_dist_finalize(void) {}
void cli_dist_abort(int code) { exit(code); }
int cli_dist_rank(void) { return 0; }
int cli_dist_size(void) { return 1; }
int cli_dist_agree(int code) { return code; }
int cli_dist_gather_rows(double *x, size_t n, size_t d) { return (void)x, (void)n, (void)d, 0; }
int cli_dist_all_gather(double *x, size_t n, size_t d, void *user_data) {
    return (void)x, (void)n, (void)d, (void)user_data, 0;
}
int cli_dist_gather_bytes(const void *mine, size_t bytes, void *all) {
    memcpy(all, mine, bytes);
    return 0;
}
int cli_dist_sum(double *v, size_t n) { return (void)v, (void)n, 0; }
int cli_dist_reduce_grad(float *grad, size_t n, double *loss, void *user_data) {
    cli_dist_timing *tm = user_data;
    (void)grad, (void)n, (void)loss;
    if (tm) tm->calls++;
    (void)now_s;
    return 0;
}

#endif

void cli_dist_share(size_t n, size_t *lo, size_t *hi) {
    size_t P = (size_t)cli_dist_size(), r = (size_t)cli_dist_rank();
    size_t q = n / P, e = n % P;
    *lo = r * q + (r < e ? r : e);
    *hi = *lo + q + (r < e ? 1 : 0);
}
