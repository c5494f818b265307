/* sgm_eval.h - sample-quality metrics between two sample sets, and against an
 * exact Gaussian mixture.
 *
 * Every metric takes two row-major float64 sets a [na, d] and b [nb, d]. In
 * k-NN precision/recall `a` is the reference (real data) set and `b` the
 * generated set; the other metrics are symmetric. All inputs are validated
 * (non-NULL, na, nb >= the metric's minimum, d >= 1, every value finite); a
 * failing call returns a negative sgm_status, fills err, and leaves *out
 * untouched.
 *
 * Conventions (exact definitions; src/eval/ cites the papers):
 *  - sliced W2 (Rabin et al. 2011; Bonneel et al. 2015):
 *      SW2 = ( mean_{l=1..L} W2^2(<theta_l, a>, <theta_l, b>) )^(1/2),
 *    theta_l unit directions (seeded Philox normals, normalised, or given by
 *    the caller). The 1-D W2 is exact between the empirical measures:
 *    int_0^1 (Fa^-1(u) - Fb^-1(u))^2 du with the step quantile functions
 *    (sorted pairing when na == nb). se: delta-method standard error of the
 *    Monte-Carlo mean over directions.
 *  - MMD^2 (Gretton et al. 2012, eq. 3): the unbiased U-statistic with
 *    k(x, y) = exp(-|x - y|^2 / (2 ell^2)). Median heuristic (bandwidth <= 0):
 *    ell^2 = median of |z_i - z_j|^2 over all pairs i < j of the pooled set
 *    z = (a, b) (mean of the two middle values for an even count, as
 *    numpy.median); when na + nb > median_max_points a seeded random subset of
 *    that many pooled points is used. The ell used is returned in `param`.
 *  - energy distance (Szekely & Rizzo 2013): 2 E|X - Y| - E|X - X'| - E|Y - Y'|
 *    with unbiased U-statistics for the within-set terms (not its square root).
 *  - For MMD^2 and energy: se is the first-order (Hoeffding projection)
 *    standard error sqrt(4 var_i(h_a(a_i)) / na + 4 var_j(h_b(b_j)) / nb),
 *    h_a(x) = mean_{a' != x} k(x, a') - mean_b k(x, b) (resp. for b), with k
 *    = -|x - y| for energy. It is consistent when the distributions differ
 *    and tends to 0 when they are equal (degenerate U-statistic); use the
 *    bootstrap interval there.
 *  - Frechet distance (Dowson & Landau 1982; Heusel et al. 2017, FID):
 *    |m_a - m_b|^2 + tr(C_a + C_b - 2 (C_a^1/2 C_b C_a^1/2)^1/2) between the
 *    Gaussians fitted with the sample means and unbiased covariances (n - 1).
 *    Square roots through a symmetric eigendecomposition (LAPACK dsyevd);
 *    negative round-off eigenvalues are clamped to 0.
 *  - k-NN precision / recall (Kynkaanniemi et al. 2019): r_k(x) = distance
 *    from x to its k-th nearest neighbour in its own set (itself excluded);
 *    precision = fraction of b rows within r_k(a_i) of some a_i (<=), recall
 *    = fraction of a rows within r_k(b_j) of some b_j. se: binomial
 *    sqrt(p (1 - p) / n), conditional on the radii.
 *  - bootstrap (n_bootstrap > 0; Efron & Tibshirani 1993): a and b are
 *    resampled with replacement independently (seeded), the statistic is
 *    recomputed (same directions and bandwidth), and [lo, hi] is the
 *    percentile interval at `level` (linear interpolation between order
 *    statistics, as numpy.quantile). Available for SW2, MMD^2, energy, FD.
 *  - GMM: mean of log p(x_i) (sgm_gmm_logpdf at sigma 0) with se = sample
 *    standard deviation / sqrt(n); per-component mass = fraction of rows whose
 *    largest responsibility is component c (ties: lowest index), se =
 *    sqrt(p (1 - p) / n).
 *
 * Randomness comes only from cfg->seed through Philox (sgm_core.h): draw 1
 * for the directions, draw 2 for the median subset, draws 16 + 2 r and
 * 17 + 2 r for bootstrap replicate r of a and b. Pairwise sums run in
 * parallel over rows (OpenMP) and are reduced in a fixed order, so results
 * do not depend on the thread count. Pairwise metrics cost O((na + nb)^2 d);
 * the bootstrap of MMD^2 / energy adds O(n_bootstrap (na + nb)^2).
 */
#ifndef SGM_EVAL_H
#define SGM_EVAL_H

#include "sgm_core.h"
#include "sgm_model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sgm_metric_config {
    size_t n_projections;     /* SW2 directions L (default 256) */
    const double *directions; /* optional [n_projections, d]; normalised here;
                                 NULL: seeded Gaussian directions (default) */
    double bandwidth;         /* RBF length scale ell; <= 0: median heuristic */
    size_t median_max_points; /* pooled points used by the median (default 2000) */
    size_t knn_k;             /* k of k-NN precision / recall (default 3) */
    size_t n_bootstrap;       /* bootstrap replicates; 0 = no interval (default) */
    double level;             /* interval coverage in (0, 1) (default 0.95) */
    uint64_t seed;            /* seed of every random choice (default 0) */
    /* Sharding over shard_size cooperating processes (e.g. MPI ranks; default
       1: none). Every process calls the same metric with the same arguments
       and its own shard_rank in [0, shard_size); each computes its share of
       the per-row (per-direction, per-replicate, per-column) terms, in
       contiguous blocks of an index range of m items (the first m % P shards
       take one item more), and all_gather(buf, m, width, user) must then
       leave every shard's rows of buf [m, width] on every process (return 0,
       nonzero on failure: the metric fails with SGM_ERR_CALLBACK). The final
       sums run in the one-process order on every process, so every result is
       bit for bit that of shard_size 1. Not sharded (repeated on every
       process): the median heuristic, the mean and eigendecompositions of
       FD, the bootstrap resample counts. */
    size_t shard_rank, shard_size;
    int (*all_gather)(double *buf, size_t m, size_t width, void *user_data);
    void *all_gather_user_data;
} sgm_metric_config;

void sgm_metric_config_default(sgm_metric_config *cfg);
/* SGM_OK if every option is in range; else SGM_ERR_INVALID_ARG and a message. */
sgm_status sgm_metric_config_check(const sgm_metric_config *cfg, sgm_error *err);

typedef struct sgm_metric_result {
    double value;  /* the statistic */
    double se;     /* standard error; NaN when not defined */
    double lo, hi; /* bootstrap percentile interval; NaN when not computed */
    double param;  /* metric-specific: MMD ell used; NaN otherwise */
    size_t n_boot; /* bootstrap replicates used (0: none) */
} sgm_metric_result;

/* cfg may be NULL (defaults). */
sgm_status sgm_metric_sw2(const double *a, size_t na, const double *b, size_t nb, size_t d,
                          const sgm_metric_config *cfg, sgm_metric_result *out,
                          sgm_error *err);
sgm_status sgm_metric_mmd2(const double *a, size_t na, const double *b, size_t nb, size_t d,
                           const sgm_metric_config *cfg, sgm_metric_result *out,
                           sgm_error *err);
sgm_status sgm_metric_energy(const double *a, size_t na, const double *b, size_t nb,
                             size_t d, const sgm_metric_config *cfg, sgm_metric_result *out,
                             sgm_error *err);
sgm_status sgm_metric_fd(const double *a, size_t na, const double *b, size_t nb, size_t d,
                         const sgm_metric_config *cfg, sgm_metric_result *out,
                         sgm_error *err);
sgm_status sgm_metric_prdc(const double *a, size_t na, const double *b, size_t nb, size_t d,
                           const sgm_metric_config *cfg, sgm_metric_result *precision,
                           sgm_metric_result *recall, sgm_error *err);

/* Frechet distance between N(m1, c1) and N(m2, c2) given directly (c1, c2:
 * symmetric positive semi-definite [d, d]). */
sgm_status sgm_frechet_gaussians(size_t d, const double *m1, const double *c1,
                                 const double *m2, const double *c2, double *out,
                                 sgm_error *err);

/* Eigendecomposition of a symmetric [d, d] matrix (LAPACK dsyevd:
 * Householder tridiagonalisation + divide and conquer): evals [d] ascending,
 * evecs [d, d] (column j is the eigenvector of evals[j]; may be NULL). The
 * lower triangle is ignored (the matrix is taken as symmetric). Fails with
 * SGM_ERR_NONFINITE on a non-finite entry of the upper triangle. */
sgm_status sgm_sym_eigen(size_t d, const double *a, double *evals, double *evecs,
                         sgm_error *err);

/* n samples (data units, out [n, d] with d the checkpoint's width) of the
 * checkpoint at path (EMA weights) along its default sampling path
 * (sgm_ckpt.h) with `steps` steps (0: the recorded count), in one batch;
 * x_T from draw 0 of seed, the sampler's noise from draws 1, 2, ...
 * SGM_ERR_UNSUPPORTED when the file records no path. */
sgm_status sgm_ckpt_sample_default(const char *path, int steps, size_t n, uint64_t seed,
                                   double *out, sgm_error *err);

/* Mean exact log-density of x [n, d] under the mixture, with its standard
 * error. Fails with SGM_ERR_NONFINITE if any log-density is not finite. */
sgm_status sgm_metric_gmm_loglik(const sgm_gmm *g, const double *x, size_t n,
                                 sgm_metric_result *out, sgm_error *err);
/* Per-component mass (argmax responsibility at sigma 0): mass [k], se [k]
 * (se may be NULL). */
sgm_status sgm_metric_gmm_mass(const sgm_gmm *g, const double *x, size_t n, double *mass,
                               double *se, sgm_error *err);
/* Both in one pass (loglik or mass may be NULL, not both; se may be NULL),
 * with cfg (may be NULL) for sharding the rows (shard_*, above); the same
 * values and failures as the two calls above, loglik's checked first. */
sgm_status sgm_metric_gmm(const sgm_gmm *g, const double *x, size_t n,
                          const sgm_metric_config *cfg, sgm_metric_result *loglik,
                          double *mass, double *se, sgm_error *err);

#ifdef __cplusplus
}
#endif
#endif
