/* test_metrics_shard.c - sharding of the sample-quality metrics
 * (sgm_metric_config.shard_*, sgm_eval.h): P threads stand for P processes,
 * each calling every metric with its own shard_rank and an all_gather that
 * exchanges the documented contiguous shares through a buffer between
 * barriers (what MPI_Allgatherv does across processes in the CLI). Every
 * shard's results must equal the one-process results bit for bit (memcmp),
 * with bootstrap intervals, at P = 2 and 3 (uneven shares) and P = 5 on sets
 * of 3 and 4 rows in 2 dimensions (empty shares of rows, directions and
 * covariance rows). Also: a shard_rank out of range and a missing
 * all_gather are bad input, and a failing all_gather fails the metric with
 * SGM_ERR_CALLBACK.
 */
#include <pthread.h>
#include <string.h>

#include "sgm.h"
#include "test_util.h"

#define MAXP 5

typedef struct hub {
    pthread_barrier_t bar;
    double *buf;
    size_t size; /* P */
    int oom;
} hub;

typedef struct shard {
    hub *h;
    size_t rank;
    const double *a, *b;
    size_t na, nb, d;
    const sgm_gmm *g;
    sgm_metric_config c;
    sgm_metric_result r[9]; /* sw2, mmd2, energy, fd, precision, recall, loglik a, b */
    double mass[2][16];
    sgm_status st;
} shard;

/* the documented share: contiguous blocks, the first m % P one item more */
static void share(size_t m, size_t P, size_t r, size_t *lo, size_t *hi) {
    size_t q = m / P, e = m % P;
    *lo = r * q + (r < e ? r : e);
    *hi = *lo + q + (r < e ? 1 : 0);
}

static int all_gather(double *x, size_t m, size_t w, void *ud) {
    shard *s = ud;
    hub *h = s->h;
    if (s->rank == 0) {
        free(h->buf);
        h->buf = malloc((m * w > 0 ? m * w : 1) * sizeof *h->buf);
        h->oom = !h->buf;
    }
    pthread_barrier_wait(&h->bar);
    if (h->oom) return -1;
    size_t lo, hi;
    share(m, h->size, s->rank, &lo, &hi);
    memcpy(h->buf + lo * w, x + lo * w, (hi - lo) * w * sizeof *x);
    pthread_barrier_wait(&h->bar);
    memcpy(x, h->buf, m * w * sizeof *x);
    pthread_barrier_wait(&h->bar);
    return 0;
}

static void *run_all(void *p) {
    shard *s = p;
    sgm_error err = {0};
    sgm_status st = sgm_metric_sw2(s->a, s->na, s->b, s->nb, s->d, &s->c, &s->r[0], &err);
    if (!st) st = sgm_metric_mmd2(s->a, s->na, s->b, s->nb, s->d, &s->c, &s->r[1], &err);
    if (!st) st = sgm_metric_energy(s->a, s->na, s->b, s->nb, s->d, &s->c, &s->r[2], &err);
    if (!st) st = sgm_metric_fd(s->a, s->na, s->b, s->nb, s->d, &s->c, &s->r[3], &err);
    if (!st)
        st = sgm_metric_prdc(s->a, s->na, s->b, s->nb, s->d, &s->c, &s->r[4], &s->r[5], &err);
    if (!st) st = sgm_metric_gmm(s->g, s->a, s->na, &s->c, &s->r[6], s->mass[0], NULL, &err);
    if (!st) st = sgm_metric_gmm(s->g, s->b, s->nb, &s->c, &s->r[7], s->mass[1], NULL, &err);
    if (st) fprintf(stderr, "shard %zu: %s\n", s->rank, err.msg);
    s->st = st;
    return NULL;
}

/* every metric at P = 1 (no sharding), then at P, compared bit for bit */
static void check_sharded(const double *a, size_t na, const double *b, size_t nb,
                          const sgm_gmm *g, const sgm_metric_config *base, size_t P) {
    shard one;
    memset(&one, 0, sizeof one);
    one.a = a, one.b = b, one.na = na, one.nb = nb, one.d = 2, one.g = g, one.c = *base;
    run_all(&one);
    CHECK(one.st == SGM_OK, "one process: status %d", (int)one.st);
    hub h;
    memset(&h, 0, sizeof h);
    h.size = P;
    pthread_barrier_init(&h.bar, NULL, (unsigned)P);
    shard s[MAXP];
    pthread_t th[MAXP];
    for (size_t r = 0; r < P; r++) {
        s[r] = one;
        s[r].h = &h;
        s[r].rank = r;
        s[r].c.shard_rank = r;
        s[r].c.shard_size = P;
        s[r].c.all_gather = all_gather;
        s[r].c.all_gather_user_data = &s[r];
        memset(s[r].r, 0, sizeof s[r].r);
        memset(s[r].mass, 0, sizeof s[r].mass);
        pthread_create(&th[r], NULL, run_all, &s[r]);
    }
    for (size_t r = 0; r < P; r++) pthread_join(th[r], NULL);
    pthread_barrier_destroy(&h.bar);
    free(h.buf);
    static const char *names[8] = {"sw2", "mmd2", "energy", "fd", "precision", "recall",
                                   "loglik a", "loglik b"};
    for (size_t r = 0; r < P; r++) {
        CHECK(s[r].st == SGM_OK, "P=%zu shard %zu: status %d", P, r, (int)s[r].st);
        for (int m = 0; m < 8; m++)
            CHECK(memcmp(&s[r].r[m], &one.r[m], sizeof one.r[m]) == 0,
                  "P=%zu shard %zu %s: %.17g (se %.17g) vs one process %.17g (se %.17g)", P,
                  r, names[m], s[r].r[m].value, s[r].r[m].se, one.r[m].value, one.r[m].se);
        CHECK(memcmp(s[r].mass, one.mass, sizeof one.mass) == 0, "P=%zu shard %zu masses", P,
              r);
    }
}

static int fail_gather(double *x, size_t m, size_t w, void *ud) {
    (void)x, (void)m, (void)w, (void)ud;
    return 1;
}

int main(void) {
    char path[1024];
    sgm_error err = {0};
    sgm_gmm *g = NULL;
    if (sgm_gmm_load(tu_src("tests/data/models/gmm2d.json", path, sizeof path), &g, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    CHECK(sgm_gmm_components(g) <= 16, "the fixture has %zu components", sgm_gmm_components(g));
    size_t na = 37, nb = 29;
    double *a = malloc(na * 2 * sizeof *a), *b = malloc(nb * 2 * sizeof *b);
    if (!a || !b) return 2;
    sgm_gmm_sample(g, 7, 0, 0, na, a);
    sgm_rng_normal_rows_f64(8, 0, 0, nb, 2, b); /* another distribution */
    sgm_metric_config c;
    sgm_metric_config_default(&c);
    c.n_projections = 11;
    c.n_bootstrap = 6;
    c.knn_k = 2;
    c.seed = 3;
    check_sharded(a, na, b, nb, g, &c, 2);
    check_sharded(a, na, b, nb, g, &c, 3);
    /* more shards than rows, directions, replicates and dimensions */
    c.n_projections = 3;
    c.n_bootstrap = 2;
    c.knn_k = 1;
    check_sharded(a, 3, b, 4, g, &c, 5);

    /* bad configuration, a failing gather */
    sgm_metric_result r;
    c.shard_size = 2;
    c.shard_rank = 0;
    c.all_gather = NULL;
    CHECK(sgm_metric_sw2(a, na, b, nb, 2, &c, &r, &err) == SGM_ERR_INVALID_ARG,
          "no all_gather");
    c.all_gather = fail_gather;
    c.shard_rank = 2;
    CHECK(sgm_metric_mmd2(a, na, b, nb, 2, &c, &r, &err) == SGM_ERR_INVALID_ARG,
          "shard_rank out of range");
    c.shard_rank = 1;
    CHECK(sgm_metric_energy(a, na, b, nb, 2, &c, &r, &err) == SGM_ERR_CALLBACK,
          "failing all_gather");
    CHECK(strstr(err.msg, "all_gather") != NULL, "message: %s", err.msg);
    free(a);
    free(b);
    sgm_gmm_free(g);
    TEST_MAIN_END();
}
