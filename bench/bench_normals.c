/* bench_normals.c - nanoseconds per standard normal of sgm's stream, one
 * thread, against the stream version 1 it replaced (scalar Philox-4x32-10
 * per block + Box-Muller with libm log / sqrt / cos / sin, rebuilt here as
 * the baseline) and an eta = 1 ancestral update x += s z on top of the
 * draw (as two passes; the samplers fuse them, src/sampler/ops.c). N = 64 rows x 16,384 values (the size of docs/bench.md's
 * k-diffusion comparison), float32 and float64 output. Clock: CPU time of
 * the calling thread (robust to preemption on a shared machine); each
 * figure is the best of REPS runs.
 *
 * usage: bench_normals [REPS]   (default 7)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sgm/sgm_core.h"

enum { N = 64, D = 16384 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* stream version 1 (sgm before this change): two 53-bit uniforms per block,
 * double Box-Muller through libm */
static void v1_rows_f32(uint64_t seed, uint64_t draw, size_t n, size_t d, float *out) {
    for (size_t i = 0; i < n; i++)
        for (size_t e = 0; e < d; e += 2) {
            uint32_t ctr[4] = {(uint32_t)(e / 2), (uint32_t)draw, (uint32_t)i, 0}, o[4];
            sgm_philox4x32(seed ^ ((draw >> 32) << 32), ctr, o);
            uint64_t a = ((uint64_t)o[0] << 32) | o[1], b = ((uint64_t)o[2] << 32) | o[3];
            double u0 = (double)((a >> 11) + 1) * 0x1.0p-53;
            double u1 = (double)((b >> 11) + 1) * 0x1.0p-53;
            double r = sqrt(-2.0 * log(u0)), th = 6.283185307179586476925286766559 * u1;
            out[i * d + e] = (float)(r * cos(th));
            if (e + 1 < d) out[i * d + e + 1] = (float)(r * sin(th));
        }
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    if (reps < 1) reps = 1;
    size_t n = (size_t)N * D;
    float *f = malloc(n * sizeof(float)), *x = malloc(n * sizeof(float));
    double *g = malloc(n * sizeof(double));
    if (!f || !g || !x) return 1;
    for (size_t i = 0; i < n; i++) x[i] = 0;
    double best[4] = {1e30, 1e30, 1e30, 1e30};
    double sink = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        v1_rows_f32(1, (uint64_t)r, N, D, f);
        double t1 = now();
        sgm_rng_normal_rows_f32(1, (uint64_t)r, 0, N, D, f);
        double t2 = now();
        sgm_rng_normal_rows_f64(1, (uint64_t)r, 0, N, D, g);
        double t3 = now();
        /* the eta = 1 ancestral step's noise part: draw, then x += s_up z */
        sgm_rng_normal_rows_f32(1, (uint64_t)r, 0, N, D, f);
        for (size_t i = 0; i < n; i++) x[i] += 0.5f * f[i];
        double t4 = now();
        double t[4] = {t1 - t0, t2 - t1, t3 - t2, t4 - t3};
        for (int k = 0; k < 4; k++)
            if (t[k] < best[k]) best[k] = t[k];
        sink += f[r] + g[r] + x[r];
    }
    const char *what[4] = {"v1 (scalar Philox + libm Box-Muller), f32",
                           "sgm_rng_normal_rows_f32", "sgm_rng_normal_rows_f64",
                           "f32 draw, then x += s z (two passes)"};
    printf("# %d x %d values, 1 thread (OMP_NUM_THREADS=%s), thread CPU clock, best of %d\n",
           N, D, getenv("OMP_NUM_THREADS") ? getenv("OMP_NUM_THREADS") : "unset", reps);
    for (int k = 0; k < 4; k++)
        printf("%-44s %8.2f ms  %6.2f ns/value\n", what[k], 1e3 * best[k],
               1e9 * best[k] / (double)n);
    printf("# speed-up f32 vs v1: %.1fx   (checksum %g)\n", best[0] / best[1], sink);
    free(f);
    free(g);
    free(x);
    return 0;
}
