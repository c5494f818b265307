/* bench_sampler_overhead.c - acceptance item 6: the cost of the sampler
 * itself, per step, against the memory-traffic floor.
 *
 * Setup: N = 64 rows of D = 16384 float32 values, a trivial denoiser that
 * returns x0 = 0 (one memset of the output, as cheap as a model can be), the
 * VE process (alpha = 1, so the core needs no alpha * x copy for the model
 * input) and a Karras schedule of STEPS steps. Each sampler is driven with the
 * per-step API and every step is timed; steps WARMUP .. STEPS-2 count
 * (multistep warm-up and the final step, with its finite check, excluded).
 * A run's figure is the median of its timed steps (robust to preemption on
 * a busy machine); the table shows the best of REPS runs.
 *
 * Floor: a first-order step must at least read x and D and write x:
 * 3 * N * D * 4 bytes. Bandwidth comes from a STREAM-style copy (b = a over
 * arrays of N * D floats, 2 * N * D * 4 bytes moved, same OpenMP threads),
 * best of REPS, measured in the same run. ratio = (ns / step) / floor.
 * A second table repeats a few samplers on a VP process (alpha != 1), where
 * the core first writes alpha * x for the model input. A last table times
 * the core's building blocks alone (sgm__lc with k inputs, the finite check,
 * the Philox normals) to show where the time of a step goes.
 *
 * usage: bench_sampler_overhead [STEPS] [REPS]   (default 100 5)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "sampler/sampler_internal.h" /* the core's kernels, for the breakdown */
#include "sgm.h"

enum { N = 64, D = 16384, WARMUP = 4 };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int zero_x0(const sgm_eval *q, void *out, void *user_data) {
    (void)user_data;
    memset(out, 0, q->n * q->d * sizeof(float));
    return 0;
}

/* best seconds for one copy of n floats (STREAM "copy") */
static double copy_seconds(float *a, float *b, size_t n, int reps) {
    double best = INFINITY;
    for (int r = 0; r < reps * 4; r++) {
        double t0 = now();
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) b[i] = a[i];
        double t = now() - t0;
        if (t < best) best = t;
        a[r % n] += b[(r * 7) % n]; /* keep the copies observable */
    }
    return best;
}

static double memset_seconds(float *b, size_t n, int reps) {
    double best = INFINITY;
    for (int r = 0; r < reps * 4; r++) {
        double t0 = now();
        memset(b, 0, n * sizeof *b);
        double t = now() - t0;
        if (t < best) best = t;
    }
    return best;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Best ns per timed step of `method`; nfe_per_step set; < 0 if it cannot run. */
static double time_method(const char *method, const sgm_process *proc, const sgm_schedule *sched,
                          float *x, int reps, double *nfe_per_step, char *why, size_t why_len) {
    sgm_error err = {0};
    sgm_sampler_config cfg;
    sgm_sampler *s = NULL;
    if (sgm_sampler_config_default(method, &cfg, &err)) goto fail;
    cfg.dtype = SGM_F32;
    if (sgm_sampler_create(&cfg, proc, N, D, &s, &err)) goto fail;
    sgm_denoiser den = {zero_x0, NULL, SGM_PRED_X0};
    double best = INFINITY;
    size_t steps = sched->n - 1;
    double *dt = malloc(steps * sizeof *dt);
    if (!dt) goto fail;
    for (int r = 0; r < reps; r++) {
        sgm_rng_normal_rows_f32(1, 0, 0, N, D, x);
        for (size_t i = 0; i < (size_t)N * D; i++) x[i] *= (float)sched->sigma[0];
        sgm_rng rng = {1, 1};
        if (sgm_sampler_begin(s, sched, &den, &rng, 0, N, x, &err)) {
            free(dt);
            goto fail;
        }
        int done = 0;
        size_t k = 0, nfe0 = 0, m = 0;
        while (!done) {
            if (k == WARMUP) {
                sgm_sampler_stats st;
                sgm_sampler_get_stats(s, &st);
                nfe0 = st.nfe;
            }
            double t0 = now();
            if (sgm_sampler_step(s, x, &done, &err)) {
                free(dt);
                goto fail;
            }
            double t = now() - t0;
            if (k >= WARMUP && k + 1 < steps) dt[m++] = t;
            if (k + 2 == steps) { /* last timed step: count the NFE of the timed ones */
                sgm_sampler_stats st;
                sgm_sampler_get_stats(s, &st);
                *nfe_per_step = (double)(st.nfe - nfe0) / (double)(steps - 1 - WARMUP);
            }
            k++;
        }
        if (k != steps) {
            snprintf(why, why_len, "took %zu steps (adaptive?)", k);
            free(dt);
            sgm_sampler_free(s);
            return -1;
        }
        /* median of the timed steps: robust to a preempted step on a busy machine */
        qsort(dt, m, sizeof *dt, cmp_double);
        double t = dt[m / 2];
        if (t < best) best = t;
    }
    free(dt);
    sgm_sampler_free(s);
    return best * 1e9;
fail:
    snprintf(why, why_len, "%s", err.msg);
    sgm_sampler_free(s);
    return -1;
}

static void table(const char *title, const char *const *methods, const sgm_process *proc,
                  const sgm_schedule *sched, float *x, int reps, double floor_ns, double den_ns) {
    printf("\n%s\n%-14s %10s %8s %10s %8s %7s\n", title, "sampler", "ns/step", "NFE/step",
           "floor ns", "ratio", "x den");
    for (int i = 0; methods[i]; i++) {
        double nfe = 0;
        char why[256] = "";
        double ns = time_method(methods[i], proc, sched, x, reps, &nfe, why, sizeof why);
        if (ns < 0) {
            printf("%-14s %10s   (%s)\n", methods[i], "n/a", why);
            continue;
        }
        printf("%-14s %10.0f %8.2f %10.0f %8.2f %7.2f\n", methods[i], ns, nfe, floor_ns,
               ns / floor_ns, ns / den_ns);
    }
}

/* the core's kernels on [N, D] float32 arrays, best of reps */
static void breakdown(const sgm_process *proc, int reps, double floor_ns) {
    sgm_error err = {0};
    sgm_sampler_config cfg;
    sgm_sampler *s = NULL;
    sgm_sampler_config_default("euler", &cfg, &err);
    cfg.dtype = SGM_F32;
    if (sgm_sampler_create(&cfg, proc, N, D, &s, &err)) return;
    size_t count = (size_t)N * D;
    s->n = N; /* what sgm_sampler_begin sets before any kernel runs */
    s->count = count;
    float *v[7];
    for (int j = 0; j < 7; j++) {
        v[j] = malloc(count * sizeof(float));
        if (!v[j]) return;
        for (size_t i = 0; i < count; i++) v[j][i] = (float)(i % 97) * 0.01f + (float)j;
    }
    double c[6] = {0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625};
    printf("\ncore kernels alone (float32, %d x %d)\n%-26s %10s %10s %8s\n", N, D, "kernel",
           "ns", "GB/s", "x floor");
    for (int k = 1; k <= 6; k++) {
        double best = INFINITY;
        for (int r = 0; r < reps * 3; r++) {
            double t0 = now();
            sgm__lc(s, v[6], k, c, (const void *const *)v);
            double t = now() - t0;
            if (t < best) best = t;
        }
        char name[64];
        snprintf(name, sizeof name, "sgm__lc, %d input%s", k, k > 1 ? "s" : "");
        printf("%-26s %10.0f %10.1f %8.2f\n", name, best * 1e9,
               (double)(k + 1) * (double)count * 4 / best * 1e-9, best * 1e9 / floor_ns);
    }
    double best = INFINITY;
    for (int r = 0; r < reps * 3; r++) {
        double t0 = now();
        int fin = sgm__all_finite(s, v[0]);
        double t = now() - t0;
        if (t < best) best = t;
        if (!fin) printf("(unexpected non-finite)\n");
    }
    printf("%-26s %10.0f %10.1f %8.2f\n", "sgm__all_finite", best * 1e9,
           (double)count * 4 / best * 1e-9, best * 1e9 / floor_ns);
    best = INFINITY;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        sgm_rng_normal_rows_f32(1, (uint64_t)r, 0, N, D, v[5]);
        double t = now() - t0;
        if (t < best) best = t;
    }
    printf("%-26s %10.0f %10.1f %8.2f   (%.1f ns per value)\n", "Philox normals (f32)",
           best * 1e9, (double)count * 4 / best * 1e-9, best * 1e9 / floor_ns,
           best * 1e9 / (double)count);
    for (int j = 0; j < 7; j++) free(v[j]);
    sgm_sampler_free(s);
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 100;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (steps < WARMUP + 3 || reps < 1) {
        fprintf(stderr, "usage: bench_sampler_overhead [STEPS >= %d] [REPS >= 1]\n", WARMUP + 3);
        return 2;
    }
    size_t count = (size_t)N * D;
    float *x = malloc(count * sizeof *x), *a = malloc(count * sizeof *a),
          *b = malloc(count * sizeof *b);
    if (!x || !a || !b) return 1;
    for (size_t i = 0; i < count; i++) a[i] = (float)i;
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    double tc = copy_seconds(a, b, count, reps);
    double bw = 2.0 * (double)count * sizeof(float) / tc; /* bytes / s */
    double floor_ns = 3.0 * (double)count * sizeof(float) / bw * 1e9;
    double den_ns = memset_seconds(b, count, reps) * 1e9;
    printf("sampler overhead: N = %d, D = %d, float32, %d steps (timed %d..%d), best of %d, "
           "%d OpenMP threads\n",
           N, D, steps, WARMUP, steps - 2, reps, threads);
    printf("copy bandwidth %.2f GB/s; floor (read x, D, write x = %.1f MB) %.0f ns; "
           "denoiser memset %.0f ns\n",
           bw * 1e-9, 3.0 * (double)count * 4 / 1e6, floor_ns, den_ns);

    sgm_error err = {0};
    sgm_process *ve = NULL, *vp = NULL;
    sgm_schedule *sve = NULL, *svp = NULL;
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VE);
    sgm_process_config pp = sgm_process_config_default(SGM_PROCESS_VP_LINEAR);
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_KARRAS);
    sc.steps = steps;
    if (sgm_process_create(&pc, &ve, &err) || sgm_process_create(&pp, &vp, &err) ||
        sgm_schedule_create(&sc, ve, &sve, &err) || sgm_schedule_create(&sc, vp, &svp, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    static const char *const one_nfe[] = {"euler",        "euler_a",      "ddim",  "ddpm",
                                          "lms",          "dpmpp_2m",     "dpmpp_2m_sde",
                                          "dpmpp_3m_sde", "dpm_solver",   "deis",  "unipc",
                                          "ipndm",        "pndm",         "sa_solver", "em",
                                          NULL};
    table("VE process (alpha = 1: the model sees x directly)", one_nfe, ve, sve, x, reps,
          floor_ns, den_ns);
    static const char *const some[] = {"euler", "ddim", "dpmpp_2m", "dpm_solver", "unipc", NULL};
    table("VP process (alpha != 1: the core writes alpha * x for the model)", some, vp, svp, x,
          reps, floor_ns, den_ns);
    breakdown(ve, reps, floor_ns);
    printf("\nratio = ns/step / floor; x den = ns/step / (denoiser memset alone); "
           "GB/s counts every input read and the output written once\n");
    sgm_schedule_free(sve);
    sgm_schedule_free(svp);
    sgm_process_free(ve);
    sgm_process_free(vp);
    free(x);
    free(a);
    free(b);
    return 0;
}
