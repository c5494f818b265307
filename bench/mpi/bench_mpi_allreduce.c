/* bench_mpi_allreduce.c - the time of the training step's gradient
 * all-reduce (MPI_Allreduce, MPI_SUM, float32, in place; MPI-3.1 sec. 5.9.6)
 * for the flat gradient block of the default mlp and of the default
 * Fashion-MNIST U-Net (sizes from sgm_net_n_params), and for a ladder of
 * sizes, for docs/scaling.md. Run as `mpirun -np P bench_mpi_allreduce
 * [REPS]`; rank 0 prints one line per size: floats, bytes, the median time
 * over REPS (default 20) after 3 warm-up calls, and the bus bandwidth
 * 2 (P - 1) / P * bytes / time (the ring algorithm's traffic per link).
 * Open MPI's single-copy shared-memory mode is off as in the CLI (dist.c);
 * SGM_CMA=1 leaves it on. Built only in an SGM_MPI build. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgm/sgm_net.h"

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static size_t n_params(sgm_arch arch, int d) {
    sgm_net_config c = sgm_net_config_default(arch);
    if (arch == SGM_ARCH_UNET) c.unet.in_ch = 1, c.unet.height = 28, c.unet.width = 28;
    sgm_net *net = NULL;
    sgm_error err = {0};
    if (sgm_net_create(&c, d, 1, 0, &net, &err) != SGM_OK) return 0;
    size_t n = sgm_net_n_params(net);
    sgm_net_free(net);
    return n;
}

static double time_one(float *buf, size_t n, int reps, double *work) {
    for (int r = 0; r < reps + 3; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double t = MPI_Wtime() - t0;
        if (r >= 3) work[r - 3] = t;
    }
    /* the slowest rank's time of each call is the call's time */
    MPI_Allreduce(MPI_IN_PLACE, work, reps, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    qsort(work, (size_t)reps, sizeof *work, cmp_d);
    return work[reps / 2];
}

int main(int argc, char **argv) {
    /* the CLI's default (tools/cli/dist.c): SGM_CMA=1 keeps Open MPI's own */
    if (!getenv("SGM_CMA")) setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
    MPI_Init(&argc, &argv);
    int P, me;
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    int reps = argc > 1 ? atoi(argv[1]) : 20;
    if (reps < 1) reps = 1;
    size_t sizes[16];
    const char *names[16];
    int ns = 0;
    sizes[ns] = n_params(SGM_ARCH_MLP, 2), names[ns++] = "mlp (default, d=2)";
    sizes[ns] = n_params(SGM_ARCH_UNET, 784), names[ns++] = "unet (default, 1x28x28)";
    for (size_t s = 1024; s <= ((size_t)1 << 24); s *= 16) sizes[ns] = s, names[ns++] = "";
    size_t mx = 0;
    for (int i = 0; i < ns; i++) mx = sizes[i] > mx ? sizes[i] : mx;
    float *buf = calloc(mx, sizeof *buf);
    double *work = malloc((size_t)reps * sizeof *work);
    if (!buf || !work) MPI_Abort(MPI_COMM_WORLD, 1);
    if (me == 0) printf("bench_mpi_allreduce: P = %d, median of %d calls\n", P, reps);
    for (int i = 0; i < ns; i++) {
        if (sizes[i] == 0) continue;
        double t = time_one(buf, sizes[i], reps, work);
        double bytes = 4.0 * (double)sizes[i];
        if (me == 0)
            printf("%-26s %10zu floats %12.0f bytes  %10.1f us  busbw %8.3f GB/s\n", names[i],
                   sizes[i], bytes, 1e6 * t, 2.0 * (P - 1) / P * bytes / t / 1e9);
    }
    free(buf);
    free(work);
    MPI_Finalize();
    return 0;
}
