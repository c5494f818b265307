/* test_train_shard.c - the trainer's data-parallel hook (sgm_train_shard,
 * sgm_train.h) without MPI: NT threads each own a trainer on a block of the
 * global batch and sum their gradients through a shared buffer behind a
 * barrier (what the CLI's MPI_Allreduce does between processes). Checks:
 * one shard of the whole batch with an identity reduce equals the plain
 * trainer bit for bit; 2 and 3 shards (3: uneven, 22 + 21 + 21 rows) keep
 * every trainer's weights identical to each other bit for bit and within a
 * float tolerance of the plain trainer after 100 steps; bad shards are
 * refused. */
#include <pthread.h>
#include <string.h>

#include "sgm/sgm_train.h"
#include "test_util.h"

#define B 64
#define STEPS 100
#define NMAX 3

typedef struct group {
    int nt;
    pthread_barrier_t bar;
    float *slot[NMAX];
    double loss[NMAX];
    size_t np;
} group;

typedef struct worker {
    group *g;
    int id;
    sgm_trainer *tr;
    int failed;
} worker;

/* every thread: publish, wait, sum the slots in one fixed order, wait */
static int reduce_threads(float *grad, size_t n, double *loss, void *ud) {
    worker *w = ud;
    group *g = w->g;
    memcpy(g->slot[w->id], grad, n * sizeof *grad);
    g->loss[w->id] = *loss;
    pthread_barrier_wait(&g->bar);
    for (size_t i = 0; i < n; i++) {
        float s = 0;
        for (int k = 0; k < g->nt; k++) s += g->slot[k][i];
        grad[i] = s;
    }
    double l = 0;
    for (int k = 0; k < g->nt; k++) l += g->loss[k];
    *loss = l;
    pthread_barrier_wait(&g->bar);
    return 0;
}

static int reduce_identity(float *grad, size_t n, double *loss, void *ud) {
    (void)grad, (void)n, (void)loss, (void)ud;
    return 0;
}

static void *run_worker(void *arg) {
    worker *w = arg;
    sgm_error err = {0};
    double loss;
    for (int s = 0; s < STEPS && !w->failed; s++)
        if (sgm_trainer_step(w->tr, &loss, &err) != SGM_OK) w->failed = 1;
    return NULL;
}

static sgm_train_config config(void) {
    sgm_train_config c = sgm_train_config_default(SGM_PROCESS_VP_LINEAR, SGM_PARAM_EPS);
    c.net.mlp.width = 32, c.net.mlp.n_blocks = 1, c.net.mlp.d_emb = 16;
    c.batch = B, c.warmup = 5, c.seed = 3;
    return c;
}

static float *params(sgm_trainer *t) { return sgm_net_params(sgm_trainer_net(t)); }

/* largest |a - b| / (|b| + 1e-3) */
static double rel_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]) / (fabs((double)b[i]) + 1e-3);
        if (d > m) m = d;
    }
    return m;
}

static void run_group(int nt, const double *x, size_t rows, const float *ref, size_t np) {
    group g;
    memset(&g, 0, sizeof g);
    g.nt = nt, g.np = np;
    pthread_barrier_init(&g.bar, NULL, (unsigned)nt);
    worker w[NMAX];
    pthread_t th[NMAX];
    sgm_train_config c = config();
    sgm_error err = {0};
    int ok = 1;
    for (int k = 0; k < nt; k++) {
        int lo = k * (B / nt) + (k < B % nt ? k : B % nt), m = B / nt + (k < B % nt);
        w[k] = (worker){&g, k, NULL, 0};
        g.slot[k] = calloc(np, sizeof(float));
        sgm_train_shard sh = {lo, m, reduce_threads, &w[k]};
        ok = ok && g.slot[k] &&
             sgm_trainer_create(&c, x, rows, 2, &w[k].tr, &err) == SGM_OK &&
             sgm_trainer_set_shard(w[k].tr, &sh, &err) == SGM_OK;
    }
    CHECK(ok, "%d shards: setup: %s", nt, err.msg);
    if (ok) {
        for (int k = 0; k < nt; k++) pthread_create(&th[k], NULL, run_worker, &w[k]);
        for (int k = 0; k < nt; k++) pthread_join(th[k], NULL);
        for (int k = 0; k < nt; k++) CHECK(!w[k].failed, "%d shards: a step failed", nt);
        for (int k = 1; k < nt; k++)
            CHECK(memcmp(params(w[k].tr), params(w[0].tr), np * sizeof(float)) == 0,
                  "%d shards: trainer %d's weights differ from trainer 0's", nt, k);
        /* the shards' sum runs in another order than the plain trainer's
           matrix product: last-bit differences per step, 100 Adam steps carry
           them to ~7e-6 relative (measured, as tests/mpi/train.sh); a row
           left out moves the weights by ~1 */
        double r = rel_diff(params(w[0].tr), ref, np);
        CHECK(r <= 1e-4, "%d shards vs one trainer: relative difference %g", nt, r);
        printf("%d shards vs one trainer: relative difference %.3g\n", nt, r);
    }
    for (int k = 0; k < nt; k++) {
        sgm_trainer_free(w[k].tr);
        free(g.slot[k]);
    }
    pthread_barrier_destroy(&g.bar);
}

int main(void) {
    const size_t rows = 500;
    double *x = malloc(rows * 2 * sizeof *x);
    if (!x) return 2;
    sgm_rng_normal_rows_f64(11, 0, 0, rows, 2, x);
    for (size_t i = 0; i < rows; i++) x[2 * i] += (i % 2) ? 2.0 : -2.0; /* two blobs */
    sgm_train_config c = config();
    sgm_error err = {0};
    sgm_trainer *ref = NULL, *one = NULL;
    int ok = sgm_trainer_create(&c, x, rows, 2, &ref, &err) == SGM_OK &&
             sgm_trainer_create(&c, x, rows, 2, &one, &err) == SGM_OK;
    CHECK(ok, "create: %s", err.msg);
    if (!ok) goto done;
    /* bad shards */
    sgm_train_shard bad[4] = {{0, 0, reduce_identity, NULL}, {-1, 10, reduce_identity, NULL},
                              {60, 5, reduce_identity, NULL}, {0, 10, NULL, NULL}};
    for (int i = 0; i < 4; i++)
        CHECK(sgm_trainer_set_shard(one, &bad[i], &err) == SGM_ERR_INVALID_ARG, "bad shard %d", i);
    sgm_train_shard all = {0, B, reduce_identity, NULL};
    CHECK(sgm_trainer_set_shard(one, &all, &err) == SGM_OK, "whole-batch shard: %s", err.msg);
    double l1 = 0, l2 = 0;
    for (int s = 0; s < STEPS; s++) {
        sgm_trainer_step(ref, &l1, &err);
        sgm_trainer_step(one, &l2, &err);
    }
    size_t np = sgm_net_n_params(sgm_trainer_net(ref));
    CHECK(memcmp(params(ref), params(one), np * sizeof(float)) == 0 && l1 == l2,
          "one shard of the whole batch differs from the plain trainer");
    run_group(2, x, rows, params(ref), np);
    run_group(3, x, rows, params(ref), np);
done:
    sgm_trainer_free(ref);
    sgm_trainer_free(one);
    free(x);
    TEST_MAIN_END();
}
