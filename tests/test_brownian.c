/* test_brownian.c - the virtual Brownian tree (src/sampler/brownian.c):
 * unit-normal increments (mean, variance, nested-interval correlation
 * sqrt(len1/len2) of a Brownian motion, independence of disjoint intervals and
 * of rows), exact additivity, batch / thread independence, and the point of
 * it all: an SDE sampler sees the same path at different step counts, so its
 * results at 50 and 100 steps are close (strong convergence) where
 * independent noise gives unrelated samples.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/sampler_internal.h"
#include "sgm.h"
#include "test_util.h"

void sgm__brownian_increment(sgm__s *s, double s_from, double s_to, void *z);

static int zero_fn(const sgm_eval *q, void *out, void *ud) {
    (void)ud;
    memset(out, 0, q->n * q->d * sgm_dtype_size(q->dtype));
    return 0;
}

typedef struct ctx {
    sgm_process *proc;
    sgm_schedule *sched;
    sgm_sampler *smp;
    sgm_rng rng;
    double *x;
} ctx;

/* A sampler begun on a karras schedule over [0.002, 80] (the tree range). */
static int ctx_open(ctx *c, size_t n, size_t d, uint64_t row0, int n_threads, sgm_dtype dt) {
    sgm_error err = {0};
    memset(c, 0, sizeof *c);
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VE);
    if (sgm_process_create(&pc, &c->proc, &err)) return 0;
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_KARRAS);
    sc.steps = 10;
    if (sgm_schedule_create(&sc, c->proc, &c->sched, &err)) return 0;
    sgm_sampler_config cfg;
    sgm_sampler_config_default("euler_a", &cfg, &err);
    cfg.noise = SGM_NOISE_BROWNIAN;
    cfg.n_threads = n_threads;
    cfg.dtype = dt;
    if (sgm_sampler_create(&cfg, c->proc, n, d, &c->smp, &err)) return 0;
    c->x = calloc(n * d, sizeof(double));
    c->rng = sgm_rng_init(2024);
    sgm_denoiser den = {zero_fn, NULL, SGM_PRED_X0};
    if (sgm_sampler_begin(c->smp, c->sched, &den, &c->rng, row0, n, c->x, &err)) {
        fprintf(stderr, "begin: %s\n", err.msg);
        return 0;
    }
    return 1;
}

static void ctx_close(ctx *c) {
    sgm_sampler_free(c->smp);
    sgm_schedule_free(c->sched);
    sgm_process_free(c->proc);
    free(c->x);
}

/* unnormalized increment W(b) - W(a) into w (f64 samplers) */
static void incr(ctx *c, double a, double b, double *w) {
    sgm__brownian_increment(c->smp, a, b, w);
    double sc = sqrt(fabs(b - a));
    for (size_t i = 0; i < c->smp->count; i++) w[i] *= sc;
}

int main(void) {
    enum { N = 5000, D = 4 };
    const size_t M = (size_t)N * D; /* draws per statistic */
    ctx c;
    CHECK(ctx_open(&c, N, D, 0, 0, SGM_F64), "setup");
    CHECK(fabs(c.smp->bt_smin - 0.002) < 1e-12 && fabs(c.smp->bt_smax - 80) < 1e-9,
          "tree range [%g, %g]", c.smp->bt_smin, c.smp->bt_smax);
    double *z1 = malloc(M * sizeof *z1), *z2 = malloc(M * sizeof *z2),
           *z3 = malloc(M * sizeof *z3);

    /* 1. increments are standard normal, for long, short, tiny, clamped
     * intervals and both directions. With M = 20000 draws the standard error
     * of the mean is 1/sqrt(M), of the variance sqrt(2/M) (normal data);
     * 5 standard errors each. */
    const double iv[6][2] = {{80, 0.002}, {0.5, 0.4}, {0.0101, 0.01},
                             {3.0, 3.0 * (1 - 1e-4)}, {0.002, 80}, {100, 1}};
    for (int k = 0; k < 6; k++) {
        sgm__brownian_increment(c.smp, iv[k][0], iv[k][1], z1);
        double m = 0, v = 0;
        for (size_t i = 0; i < M; i++) m += z1[i];
        m /= (double)M;
        for (size_t i = 0; i < M; i++) v += (z1[i] - m) * (z1[i] - m);
        v /= (double)(M - 1);
        CHECK(fabs(m) < 5 / sqrt((double)M), "interval %d: mean %.4f", k, m);
        CHECK(fabs(v - 1) < 5 * sqrt(2.0 / (double)M), "interval %d: var %.4f", k, v);
    }

    /* 2. nested intervals [a, b] within [a, c]: corr of unit increments is
     * sqrt(|b - a| / |c - a|) for Brownian motion; disjoint ones are
     * uncorrelated; neighbouring rows are uncorrelated. SE of a correlation
     * estimate is at most 1/sqrt(M). */
    {
        const double a = 5.0, b = 2.0, cc = 0.7;
        sgm__brownian_increment(c.smp, a, b, z1);
        sgm__brownian_increment(c.smp, a, cc, z2);
        sgm__brownian_increment(c.smp, b, cc, z3);
        double r12 = 0, r13 = 0, rrow = 0;
        for (size_t i = 0; i < M; i++) {
            r12 += z1[i] * z2[i];
            r13 += z1[i] * z3[i];
        }
        for (size_t r = 0; r + 1 < N; r++)
            for (size_t j = 0; j < D; j++) rrow += z1[r * D + j] * z1[(r + 1) * D + j];
        r12 /= (double)M;
        r13 /= (double)M;
        rrow /= (double)((N - 1) * D);
        double want = sqrt((a - b) / (a - cc));
        CHECK(fabs(r12 - want) < 5 / sqrt((double)M), "nested corr %.4f want %.4f", r12, want);
        CHECK(fabs(r13) < 5 / sqrt((double)M), "disjoint corr %.4f", r13);
        CHECK(fabs(rrow) < 5 / sqrt((double)((N - 1) * D)), "row corr %.4f", rrow);
    }

    /* 3. additivity: W is one function of sigma, so increments add up to
     * rounding (values are O(10), 1e-12 is a few hundred ulps) */
    {
        const double a = 60, b = 0.37, cc = 0.0025;
        incr(&c, a, cc, z1);
        incr(&c, a, b, z2);
        incr(&c, b, cc, z3);
        double worst = 0;
        for (size_t i = 0; i < M; i++) worst = fmax(worst, fabs(z1[i] - (z2[i] + z3[i])));
        CHECK(worst < 1e-12, "additivity: max deviation %.3g", worst);
        /* the same path on a 10-step and a 20-step grid: summed increments agree */
        const double *g = c.sched->sigma; /* 10 steps, ends 0.002 then 0 */
        memset(z3, 0, M * sizeof *z3);
        for (int i = 0; i + 2 < (int)c.sched->n; i++) {
            double lo = g[i + 1], hi = g[i], mid = sqrt(lo * hi);
            incr(&c, hi, mid, z1);
            for (size_t k = 0; k < M; k++) z3[k] += z1[k];
            incr(&c, mid, lo, z1);
            for (size_t k = 0; k < M; k++) z3[k] += z1[k];
        }
        incr(&c, g[0], g[c.sched->n - 2], z2);
        worst = 0;
        for (size_t i = 0; i < M; i++) worst = fmax(worst, fabs(z3[i] - z2[i]));
        CHECK(worst < 1e-12, "fine vs coarse grid: max deviation %.3g", worst);
    }

    /* 4. a row's path does not depend on the batch or the thread count
     * (bitwise), and f32 gives the f64 values rounded */
    {
        sgm__brownian_increment(c.smp, 7.0, 0.3, z1);
        ctx c1, c4, cf;
        CHECK(ctx_open(&c1, 1, D, 1234, 1, SGM_F64), "setup 1 row");
        CHECK(ctx_open(&c4, N, D, 0, 4, SGM_F64), "setup 4 threads");
        CHECK(ctx_open(&cf, N, D, 0, 0, SGM_F32), "setup f32");
        double one[D];
        sgm__brownian_increment(c1.smp, 7.0, 0.3, one);
        CHECK(memcmp(one, z1 + 1234 * D, sizeof one) == 0, "row 1234 alone differs");
        sgm__brownian_increment(c4.smp, 7.0, 0.3, z2);
        CHECK(memcmp(z1, z2, M * sizeof *z1) == 0, "4 threads differ");
        float *zf = malloc(M * sizeof *zf);
        sgm__brownian_increment(cf.smp, 7.0, 0.3, zf);
        int ok = 1;
        for (size_t i = 0; i < M; i++) ok &= zf[i] == (float)z1[i];
        CHECK(ok, "f32 increments are not the rounded f64 ones");
        free(zf);
        ctx_close(&c1);
        ctx_close(&c4);
        ctx_close(&cf);
        /* another seed gives another path */
        c.smp->rng->seed = 99;
        sgm__brownian_increment(c.smp, 7.0, 0.3, z2);
        CHECK(memcmp(z1, z2, M * sizeof *z1) != 0, "seed ignored");
    }
    ctx_close(&c);
    free(z1);
    free(z2);
    free(z3);

    /* 5. end to end: euler_a on the 2-D mixture at 50 and 100 karras steps
     * from the same start. With the Brownian tree both runs follow one path
     * and end close; with independent noise they end in unrelated places. */
    {
        char path[512];
        sgm_error err = {0};
        sgm_gmm *g = NULL;
        CHECK(sgm_gmm_load(tu_src("tests/data/models/gmm2d.json", path, sizeof path), &g,
                           &err) == SGM_OK, "gmm: %s", err.msg);
        sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VE);
        sgm_process *proc = NULL;
        sgm_process_create(&pc, &proc, &err);
        enum { NS = 400 };
        double dist[2] = {0, 0};
        for (int bt = 0; bt < 2 && g; bt++) {
            double out[2][NS * 2];
            for (int k = 0; k < 2; k++) {
                sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_KARRAS);
                sc.steps = k ? 100 : 50;
                sgm_schedule *sched = NULL;
                sgm_schedule_create(&sc, proc, &sched, &err);
                sgm_sampler_config cfg;
                sgm_sampler_config_default("euler_a", &cfg, &err);
                cfg.noise = bt ? SGM_NOISE_BROWNIAN : SGM_NOISE_INDEPENDENT;
                sgm_sampler *smp = NULL;
                sgm_sampler_create(&cfg, proc, NS, 2, &smp, &err);
                sgm_rng_normal_rows_f64(5, 0, 0, NS, 2, out[k]);
                for (int i = 0; i < NS * 2; i++) out[k][i] *= sched->sigma[0];
                sgm_rng rng = sgm_rng_init(11);
                rng.counter = 1;
                sgm_denoiser den = sgm_gmm_denoiser(g);
                CHECK(sgm_sampler_run(smp, sched, &den, &rng, 0, NS, out[k], &err) == SGM_OK,
                      "run: %s", err.msg);
                sgm_sampler_free(smp);
                sgm_schedule_free(sched);
            }
            for (int i = 0; i < NS; i++)
                dist[bt] += hypot(out[0][2 * i] - out[1][2 * i],
                                  out[0][2 * i + 1] - out[1][2 * i + 1]) / NS;
        }
        printf("mean distance 50 vs 100 steps: independent %.3f, brownian %.3f\n", dist[0],
               dist[1]);
        /* independent noise: typical distance between two mixture samples
         * (~4); the tree: a discretization difference, several times smaller */
        CHECK(dist[1] < 0.25 * dist[0], "brownian %.3f vs independent %.3f", dist[1], dist[0]);
        sgm_process_free(proc);
        sgm_gmm_free(g);
    }
    TEST_MAIN_END();
}
