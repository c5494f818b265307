/* eval_internal.h - helpers shared by the metric files in src/eval/
 * (validation, configuration, seeded bootstrap resampling, quantiles,
 * squared distances). */
#ifndef SGM_EVAL_INTERNAL_H
#define SGM_EVAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "../core/internal.h"
#include "sgm/sgm_eval.h"

#ifdef _OPENMP
#define SGM__EV_PRAGMA(x) _Pragma(x)
#else
#define SGM__EV_PRAGMA(x)
#endif

/* squared Euclidean distance of two d-vectors, summed in index order
 * (pairwise.c: MMD / energy distances, prdc.c: k-NN radii and counts) */
static inline double sgm__ev_sqdist(const double *x, const double *y, size_t d) {
    double s = 0;
    for (size_t j = 0; j < d; j++) {
        double t = x[j] - y[j];
        s += t * t;
    }
    return s;
}

/* Philox draws used by the metrics (see sgm_eval.h). */
#define SGM__EV_DRAW_DIRS 1u
#define SGM__EV_DRAW_MEDIAN 2u
#define SGM__EV_DRAW_BOOT 16u

/* Copies *cfg (or the defaults when NULL) into *out and validates it. */
sgm_status sgm__ev_config(const sgm_metric_config *cfg, sgm_metric_config *out,
                          sgm_error *err);
/* Sharding (sgm_metric_config.shard_*): this process's items [*lo, *hi) of
 * m, contiguous blocks, the first m % P shards one item more; [0, m) when
 * not sharded. */
void sgm__ev_share(const sgm_metric_config *c, size_t m, size_t *lo, size_t *hi);
/* buf [m, width], each shard holding its share of rows: every row on every
 * shard afterwards (nothing when not sharded); SGM_ERR_CALLBACK on failure. */
sgm_status sgm__ev_gather(const sgm_metric_config *c, double *buf, size_t m, size_t width,
                          const char *what, sgm_error *err);
/* Checks pointers, sizes (na, nb >= min_n, d >= 1, no size overflow) and that
 * every value is finite; `what` names the metric in the message. */
sgm_status sgm__ev_check_pair(const char *what, const double *a, size_t na, const double *b,
                              size_t nb, size_t d, size_t min_n, sgm_error *err);
sgm_status sgm__ev_check_set(const char *what, const char *name, const double *x, size_t n,
                             size_t d, size_t min_n, sgm_error *err);
/* Result with every field NaN / 0. */
sgm_metric_result sgm__ev_result_nan(void);
/* Multiplicities of a bootstrap resample of n rows: replicate r of set
 * `which` (0: a, 1: b); counts[n] sum to n. */
void sgm__ev_boot_counts(uint64_t seed, size_t r, int which, size_t n, uint32_t *counts,
                         double *u_scratch);
/* Percentile interval at `level` of v[n] (sorted in place), numpy.quantile's
 * linear interpolation. */
void sgm__ev_interval(double *v, size_t n, double level, double *lo, double *hi);
/* Sample mean and standard deviation (n - 1); sd is NaN for n < 2. */
void sgm__ev_mean_sd(const double *v, size_t n, double *mean, double *sd);

#endif
