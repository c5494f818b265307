/* bench_unet.c - U-Net training-step throughput (forward + backward with
 * parameter gradients, no optimiser) at Fashion-MNIST size: the default
 * config of sgm_unet_config_default (1x28x28, base 32, mult 1-2-2, 2 res
 * blocks, attention at 7x7 and in the middle), batch 64 unless given.
 * Usage: bench_unet [batch] [steps] [base_ch]. Prints steps/s (median step time). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sgm/sgm_unet.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int B = argc > 1 ? atoi(argv[1]) : 64, steps = argc > 2 ? atoi(argv[2]) : 10;
    sgm_unet_config c = sgm_unet_config_default();
    if (argc > 3) c.base_ch = atoi(argv[3]);
    if (B < 1 || steps < 1 || steps > 1000) return 2;
    sgm_unet u;
    sgm_error err;
    if (sgm_unet_init(&u, &c, B, 1, &err) != SGM_OK) {
        fprintf(stderr, "bench_unet: %s\n", err.msg);
        return 1;
    }
    size_t n = (size_t)B * 784;
    float *x = malloc(n * sizeof(float)), *o = malloc(n * sizeof(float));
    float *cc = malloc((size_t)B * sizeof(float));
    double *t = malloc((size_t)steps * sizeof(double));
    if (!x || !o || !cc || !t) return 1;
    sgm_nn_fill_normal(x, n, 1.0f, 1, 0);
    for (int i = 0; i < B; i++) cc[i] = (float)i / (float)B;
    printf("unet: base %d, %zu parameters, %.0f MB activations+grads, batch %d\n", c.base_ch,
           u.n_params, (double)u.n_acts * 4 / 1e6, B);
    double tf = 0;
    for (int s = 0; s <= steps; s++) { /* step 0 is a warm-up */
        double t0 = now();
        sgm_unet_forward(&u, o, x, cc, NULL, B, &err);
        double t1 = now();
        sgm_nn_zero(u.grads, u.n_params);
        sgm_unet_backward(&u, NULL, NULL, o, B, 1, &err);
        if (s > 0) t[s - 1] = now() - t0, tf += t1 - t0;
    }
    qsort(t, (size_t)steps, sizeof *t, cmpd);
    double med = t[steps / 2];
    printf("forward+backward: median %.1f ms/step (forward %.1f ms mean), %.2f steps/s, "
           "%.0f images/s\n", 1e3 * med, 1e3 * tf / steps, 1.0 / med, B / med);
    sgm_unet_free(&u);
    free(x), free(o), free(cc), free(t);
    return 0;
}
