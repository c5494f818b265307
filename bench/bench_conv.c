/* bench_conv.c - conv2d plans, im2col + sgemm (GEMM) against oneDNN (DNNL),
 * on the layer shapes of the default U-Net (sgm_unet_config_default: 1x28x28,
 * base 32, mult 1-2-2, 2 res blocks, batch 64): does oneDNN pay?
 *
 * Per layer shape: forward (with bias) and forward + backward (dinp,
 * dweight, dbias), each backend's plan in the same run, the two backends
 * alternating (which one goes first alternates too), best of R repetitions
 * after one untimed warm-up call per plan (oneDNN makes its primitives
 * there). Prints ms per call per backend and the ratio GEMM / DNNL (> 1:
 * oneDNN faster), and a total row weighting each shape by how many convs of
 * the U-Net have it, i.e. the convolution time of one U-Net forward (+
 * backward) step at this batch. Threads: OMP_NUM_THREADS from the
 * environment. Without oneDNN only the GEMM columns are printed.
 *
 * Usage: bench_conv [batch] [R]    (defaults 64 and 5) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "sgm/sgm_nn.h"

/* The conv layers of sgm_unet_config_default (src/nn/unet.c's builder: 50
 * convs, 20 shapes): conv_in, per level 2 res blocks (conv1, conv2, a 1x1
 * skip where the channels change) and a 3x3 stride-2 downsampling conv; the
 * middle's 2 res blocks at 7x7; on the way up 3 res blocks per level on the
 * concat of the path and a skip (96 / 128 input channels) and a 3x3 conv
 * after each 2x upsampling; conv_out. `n`: how many convs have the shape. */
typedef struct layer {
    const char *where;
    int C, OC, HW, K, stride, pad, n;
} layer;

static const layer layers[] = {
    {"conv_in", 1, 32, 28, 3, 1, 1, 1},
    {"level 0 res, up.0 conv2", 32, 32, 28, 3, 1, 1, 7},
    {"down.0 downsample", 32, 32, 28, 3, 2, 1, 1},
    {"up.0.res.0 conv1", 96, 32, 28, 3, 1, 1, 1},
    {"up.0.res.1-2 conv1", 64, 32, 28, 3, 1, 1, 2},
    {"up.0.res.0 skip", 96, 32, 28, 1, 1, 0, 1},
    {"up.0.res.1-2 skip", 64, 32, 28, 1, 1, 0, 2},
    {"up.1 upsample conv", 64, 64, 28, 3, 1, 1, 1},
    {"conv_out", 32, 1, 28, 3, 1, 1, 1},
    {"down.1.res.0 conv1", 32, 64, 14, 3, 1, 1, 1},
    {"level 1 res, up.2 upsample", 64, 64, 14, 3, 1, 1, 7},
    {"down.1.res.0 skip", 32, 64, 14, 1, 1, 0, 1},
    {"up.1.res.0-1 conv1", 128, 64, 14, 3, 1, 1, 2},
    {"up.1.res.2 conv1", 96, 64, 14, 3, 1, 1, 1},
    {"up.1.res.0-1 skip", 128, 64, 14, 1, 1, 0, 2},
    {"up.1.res.2 skip", 96, 64, 14, 1, 1, 0, 1},
    {"down.1 downsample", 64, 64, 14, 3, 2, 1, 1},
    {"level 2 res, mid", 64, 64, 7, 3, 1, 1, 11},
    {"up.2.res conv1", 128, 64, 7, 3, 1, 1, 3},
    {"up.2.res skip", 128, 64, 7, 1, 1, 0, 3},
};
#define NL (sizeof layers / sizeof layers[0])

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, const sgm_error *err) {
    fprintf(stderr, "bench_conv: %s: %s\n", what, err ? err->msg : "out of memory");
    exit(1);
}

static float *falloc(size_t n, uint64_t stream) {
    float *p = malloc((n ? n : 1) * sizeof(float));
    if (!p) die("alloc", NULL);
    sgm_nn_fill_uniform(p, n, -1.0f, 1.0f, 7, stream);
    return p;
}

typedef struct bufs {
    float *x, *dx, *w, *dw, *b, *db, *y, *dy, *scratch;
} bufs;

/* one timed call: forward, or forward + backward with every gradient */
static double timed(sgm_nn_conv2d_plan *p, const bufs *m, int N, int backward) {
    sgm_error err;
    double t0 = now();
    if (sgm_nn_conv2d_plan_forward(p, m->y, m->scratch, m->x, m->w, m->b, N, &err) != SGM_OK)
        die("forward", &err);
    if (backward && sgm_nn_conv2d_plan_backward(p, m->dx, m->dw, m->db, m->scratch, m->dy, m->x,
                                                m->w, N, &err) != SGM_OK)
        die("backward", &err);
    return now() - t0;
}

int main(int argc, char **argv) {
    int N = argc > 1 ? atoi(argv[1]) : 64, R = argc > 2 ? atoi(argv[2]) : 5;
    if (N < 1 || R < 1 || R > 1000) {
        fprintf(stderr, "usage: bench_conv [batch] [R]\n");
        return 2;
    }
    const int dnnl = sgm_nn_conv2d_have_dnnl(), nb = dnnl ? 2 : 1;
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    /* plans (GEMM, DNNL) per shape; buffers sized for the largest */
    sgm_nn_conv2d_plan *plan[NL][2];
    size_t mx = 0, mw = 0, my = 0, ms = 0;
    for (size_t i = 0; i < NL; i++) {
        const layer *l = &layers[i];
        sgm_nn_conv2d_dims d = {N, l->C, l->HW, l->HW, l->OC, l->K, l->stride, l->pad};
        int Ho = sgm_nn_conv2d_out_size(l->HW, l->K, l->stride, l->pad);
        size_t nx = (size_t)N * (size_t)(l->C * l->HW * l->HW);
        size_t ny = (size_t)N * (size_t)(l->OC * Ho * Ho);
        size_t nw = (size_t)(l->OC * l->C * l->K * l->K);
        mx = nx > mx ? nx : mx, my = ny > my ? ny : my, mw = nw > mw ? nw : mw;
        for (int k = 0; k < nb; k++) {
            sgm_error err;
            sgm_nn_conv2d_backend be = k ? SGM_NN_CONV2D_DNNL : SGM_NN_CONV2D_GEMM;
            if (sgm_nn_conv2d_plan_create(&plan[i][k], &d, be, &err) != SGM_OK)
                die("plan", &err);
            size_t s = sgm_nn_conv2d_plan_scratch_size(plan[i][k]);
            ms = s > ms ? s : ms;
        }
    }
    bufs m = {falloc(mx, 1), falloc(mx, 2), falloc(mw, 3), falloc(mw, 4), falloc(128, 5),
              falloc(128, 6), falloc(my, 7), falloc(my, 8), falloc(ms, 9)};
    /* best[i][backend][0 forward, 1 forward + backward], seconds */
    double best[NL][2][2];
    for (size_t i = 0; i < NL; i++)
        for (int k = 0; k < 2; k++) best[i][k][0] = best[i][k][1] = INFINITY;
    for (size_t i = 0; i < NL; i++) /* warm-up: primitives, first touch */
        for (int k = 0; k < nb; k++) timed(plan[i][k], &m, N, 1);
    for (int r = 0; r < R; r++)
        for (size_t i = 0; i < NL; i++)
            for (int bw = 0; bw < 2; bw++)
                for (int j = 0; j < nb; j++) {
                    int k = (j + r + bw) % nb; /* alternate which backend goes first */
                    double t = timed(plan[i][k], &m, N, bw);
                    if (t < best[i][k][bw]) best[i][k][bw] = t;
                }

    double load[3] = {0, 0, 0};
    FILE *la = fopen("/proc/loadavg", "r");
    if (la) {
        if (fscanf(la, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = NAN;
        fclose(la);
    }
    printf("conv2d plans, default U-Net layer shapes, batch %d, %d thread%s, best of %d "
           "(load average %.2f %.2f %.2f)\n",
           N, threads, threads == 1 ? "" : "s", R, load[0], load[1], load[2]);
    if (!dnnl) printf("sgm built without oneDNN: GEMM only\n");
    printf("%-27s %-15s %3s | %9s %9s %6s | %9s %9s %6s\n", "layer", "C->OC HxW", "n",
           "fwd GEMM", "fwd DNNL", "ratio", "f+b GEMM", "f+b DNNL", "ratio");
    double tot[2][2] = {{0, 0}, {0, 0}};
    int nconv = 0;
    for (size_t i = 0; i < NL; i++) {
        const layer *l = &layers[i];
        char shape[32];
        snprintf(shape, sizeof shape, "%d->%d %d%s%s", l->C, l->OC, l->HW,
                 l->K == 1 ? " 1x1" : "", l->stride == 2 ? " s2" : "");
        printf("%-27s %-15s %3d |", l->where, shape, l->n);
        nconv += l->n;
        for (int bw = 0; bw < 2; bw++) {
            double g = 1e3 * best[i][0][bw], d = dnnl ? 1e3 * best[i][1][bw] : NAN;
            tot[0][bw] += l->n * g, tot[1][bw] += l->n * d;
            printf(" %9.3f %9.3f %6.2f %s", g, d, g / d, bw ? "" : "|");
        }
        printf("\n");
    }
    printf("%-27s %-15s %3d |", "total (x n: one U-Net step)", "", nconv);
    for (int bw = 0; bw < 2; bw++)
        printf(" %9.1f %9.1f %6.2f %s", tot[0][bw], tot[1][bw], tot[0][bw] / tot[1][bw],
               bw ? "" : "|");
    printf("\n");
    if (dnnl)
        printf("RESULT conv threads %d batch %d fwd_gemm_ms %.1f fwd_dnnl_ms %.1f "
               "fb_gemm_ms %.1f fb_dnnl_ms %.1f\n",
               threads, N, tot[0][0], tot[1][0], tot[0][1], tot[1][1]);
    for (size_t i = 0; i < NL; i++)
        for (int k = 0; k < nb; k++) sgm_nn_conv2d_plan_free(plan[i][k]);
    free(m.x), free(m.dx), free(m.w), free(m.dw), free(m.b), free(m.db), free(m.y), free(m.dy);
    free(m.scratch);
    return 0;
}
