/* brownian.c - a virtual Brownian tree over the noise level: the noise source
 * behind SGM_NOISE_BROWNIAN (k-diffusion BrownianTreeNoiseSampler on top of
 * torchsde BrownianTree; Li et al. 2020, "Scalable gradients for stochastic
 * differential equations", arXiv:2001.01328, section 4 "virtual Brownian tree").
 *
 * For every sample row (its global index row0 + r) and every element there is
 * one Brownian motion W(s) on [bt_smin, bt_smax] (the smallest positive and the
 * largest sigma of the schedule, set by sgm_sampler_begin), W(smin) = 0 and
 * W(smax) = sqrt(smax - smin) N_0. W at any s is found by descending a binary
 * tree of Brownian-bridge midpoints: the interval [a, b] with known W(a), W(b)
 * is split at m = sqrt(a b) (the geometric midpoint, so the resolution is
 * relative to the noise level, which the samplers step through geometrically)
 * and W(m) = W(a) + (m - a)/(b - a) (W(b) - W(a)) + sqrt((m - a)(b - m)/(b - a)) N_node,
 * where N_node is a Philox normal that depends only on (seed, row, node,
 * element). The descent stops when (b - a) <= SGM__BT_TOL * a (relative
 * tolerance 1e-6, torchsde's default tol) and W(s) is then the bridge mean
 * (linear interpolation) inside that leaf; the leaf's variance that this
 * omits is below 1e-6 s, negligible next to any step's variance (s - s_next).
 *
 * W is a deterministic function of s, so increments are exactly additive and
 * the same path is seen at any step count, batch size or thread count. The
 * returned value is the unit-normal increment (W(s_to) - W(s_from)) /
 * sqrt|s_to - s_from|. Queries are clamped to [smin, smax]; if an interval lies
 * wholly outside it, a fresh independent draw (sgm__randn) is used instead.
 *
 * The normals use their own Philox key (the seed xor a tag) and counter layout
 * {element pair, node low 32 bits, row low, row high}, so they never coincide
 * with the ordinary per-draw noise streams. The tree depends on the seed, the
 * row and [smin, smax] only (not on the rng counter): two runs with the same
 * seed, rows and range see the same Brownian path.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sampler_internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

void sgm__brownian_increment(sgm__s *s, double s_from, double s_to, void *z);

#define SGM__BT_TOL 1e-6       /* leaf width relative to its left end */
#define SGM__BT_MAX_DEPTH 48   /* node ids < 2^49 */
#define SGM__BT_CHUNK 64       /* elements handled at once (stack buffers) */
#define SGM__BT_TAG 0x5bd1e995b5297a4dULL

/* Standard normals for elements [e0, e0 + m) of (row, node): Box-Muller on
 * Philox blocks, two normals per block (elements 2b, 2b + 1). */
static void node_normals(uint64_t seed, uint64_t row, uint64_t node, size_t e0, size_t m,
                         double *out) {
    uint64_t key = seed ^ SGM__BT_TAG ^ ((node >> 32) << 40);
    size_t e = e0 & ~(size_t)1, end = e0 + m;
    for (; e < end; e += 2) {
        uint64_t blk = e / 2;
        uint32_t ctr[4] = {(uint32_t)blk, (uint32_t)node, (uint32_t)row, (uint32_t)(row >> 32)};
        uint32_t o[4];
        /* element pairs beyond 2^33 (never in practice) go to another key */
        sgm_philox4x32(key ^ ((blk >> 32) << 8), ctr, o);
        uint64_t ua = ((uint64_t)o[0] << 32) | o[1];
        uint64_t ub = ((uint64_t)o[2] << 32) | o[3];
        double u0 = (double)((ua >> 11) + 1) * 0x1.0p-53; /* (0, 1] */
        double u1 = (double)(ub >> 11) * 0x1.0p-53;
        double rad = sqrt(-2.0 * log(u0)), th = 6.283185307179586476925286766559 * u1;
        if (e >= e0) out[e - e0] = rad * cos(th);
        if (e + 1 >= e0 && e + 1 < end) out[e + 1 - e0] = rad * sin(th);
    }
}

/* Tree state: interval [a, b] of node `node` with W(a), W(b) for m elements. */
typedef struct bt_state {
    double a, b;
    uint64_t node;
    int depth;
    double wa[SGM__BT_CHUNK], wb[SGM__BT_CHUNK];
} bt_state;

static int bt_leaf(const bt_state *t) {
    return t->depth >= SGM__BT_MAX_DEPTH || t->b - t->a <= SGM__BT_TOL * t->a;
}

/* Splits t at its midpoint; fills wm with W(m); returns m. */
static double bt_mid(const bt_state *t, uint64_t seed, uint64_t row, size_t e0, size_t m,
                     double *wm) {
    double mid = sqrt(t->a * t->b);
    if (!(mid > t->a && mid < t->b)) mid = 0.5 * (t->a + t->b);
    double w = (mid - t->a) / (t->b - t->a);
    double sd = sqrt((mid - t->a) * (t->b - mid) / (t->b - t->a));
    node_normals(seed, row, t->node, e0, m, wm);
    for (size_t j = 0; j < m; j++) wm[j] = t->wa[j] + w * (t->wb[j] - t->wa[j]) + sd * wm[j];
    return mid;
}

/* Moves t into the child containing q (wm, mid from bt_mid). */
static void bt_go(bt_state *t, double q, double mid, const double *wm, size_t m) {
    if (q < mid) {
        t->b = mid;
        memcpy(t->wb, wm, m * sizeof *wm);
        t->node = 2 * t->node;
    } else {
        t->a = mid;
        memcpy(t->wa, wm, m * sizeof *wm);
        t->node = 2 * t->node + 1;
    }
    t->depth++;
}

/* W(q) from state t (descends a copy of t). */
static void bt_finish(bt_state t, uint64_t seed, uint64_t row, size_t e0, size_t m, double q,
                      double *out) {
    double wm[SGM__BT_CHUNK];
    while (!bt_leaf(&t)) {
        double mid = bt_mid(&t, seed, row, e0, m, wm);
        if (q == mid) {
            memcpy(out, wm, m * sizeof *wm);
            return;
        }
        bt_go(&t, q, mid, wm, m);
    }
    double w = t.b > t.a ? (q - t.a) / (t.b - t.a) : 0;
    for (size_t j = 0; j < m; j++) out[j] = t.wa[j] + w * (t.wb[j] - t.wa[j]);
}

/* W(q1) and W(q2) for elements [e0, e0 + m) of one row, descending together
 * while both points lie in the same node. */
static void bt_query2(double smin, double smax, uint64_t seed, uint64_t row, size_t e0,
                      size_t m, double q1, double q2, double *w1, double *w2) {
    bt_state t;
    t.a = smin;
    t.b = smax;
    t.node = 1;
    t.depth = 0;
    node_normals(seed, row, 0, e0, m, t.wb);
    double sd = sqrt(smax - smin);
    for (size_t j = 0; j < m; j++) {
        t.wa[j] = 0;
        t.wb[j] *= sd;
    }
    double wm[SGM__BT_CHUNK];
    while (!bt_leaf(&t)) {
        double mid = sqrt(t.a * t.b);
        if (!(mid > t.a && mid < t.b)) mid = 0.5 * (t.a + t.b);
        if ((q1 < mid) != (q2 < mid) || q1 == mid || q2 == mid) break;
        mid = bt_mid(&t, seed, row, e0, m, wm);
        bt_go(&t, q1, mid, wm, m);
    }
    bt_finish(t, seed, row, e0, m, q1, w1);
    bt_finish(t, seed, row, e0, m, q2, w2);
}

void sgm__brownian_increment(sgm__s *s, double s_from, double s_to, void *z) {
    double lo = s->bt_smin, hi = s->bt_smax;
    double q1 = fmin(fmax(s_from, lo), hi), q2 = fmin(fmax(s_to, lo), hi);
    if (!(lo > 0) || !(hi > lo) || !(q1 != q2) || !isfinite(hi)) {
        sgm__randn(s, z);
        return;
    }
    double scale = 1 / sqrt(fabs(q2 - q1));
    uint64_t seed = s->rng->seed;
    size_t n = s->n, d = s->d;
    long long nr = (long long)n;
#ifdef _OPENMP
    int nt = s->cfg.n_threads > 0 ? s->cfg.n_threads : 0;
#pragma omp parallel for schedule(static) num_threads(nt > 0 ? nt : omp_get_max_threads()) \
    if (n * d >= 256)
#endif
    for (long long r = 0; r < nr; r++) {
        double w1[SGM__BT_CHUNK], w2[SGM__BT_CHUNK];
        uint64_t row = s->row0 + (uint64_t)r;
        for (size_t e0 = 0; e0 < d; e0 += SGM__BT_CHUNK) {
            size_t m = d - e0 < SGM__BT_CHUNK ? d - e0 : SGM__BT_CHUNK;
            bt_query2(lo, hi, seed, row, e0, m, q1, q2, w1, w2);
            for (size_t j = 0; j < m; j++)
                sgm__set(s, z, (size_t)r * d + e0 + j, (w2[j] - w1[j]) * scale);
        }
    }
}
