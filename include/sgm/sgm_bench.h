/* sgm_bench.h - the NFE-vs-error benchmark: a grid of samplers x schedules x
 * NFE budgets on one model, with the error of every deterministic sampler
 * against a tight adaptive (rk45) solution of the same probability-flow ODE
 * from the same x_T, and distribution metrics of every sampler's samples
 * against exact samples of the mixture.
 *
 * Budgets, not steps: a budget B is turned into the largest step count whose
 * actual denoiser-evaluation count (sgm_sampler_stats.nfe, one per batch
 * call) is <= B (a 2-evaluation-per-step sampler at B = 10 gets 5 steps);
 * adaptive samplers get the tightest tolerance of a ladder (rtol = atol =
 * 1e-1, 3e-2, ..., 1e-8) whose NFE is <= B, with the batch error norm so that
 * their NFE counts batch calls like every other sampler. Every row reports
 * the NFE actually used. A budget a sampler cannot meet (e.g. 5 for rk45) is
 * a row with status SGM_ERR_UNSUPPORTED and a message, not a failure.
 *
 * Every schedule ends at its smallest nonzero sigma (SGM_FINAL_SIGMA_MIN):
 * the compared quantity is the ODE solution there, without the method-
 * dependent final denoising step. x_T = sigma(t_0) z with z ~ N(0, I) from
 * (seed, draw 0); stochastic samplers draw their noise from sgm_rng(seed + 1).
 * Exact reference samples are sgm_gmm_sample(seed, draw 1).
 *
 * Error: RMS over samples of the Euclidean norm ||x_i - x_ref,i|| (NaN for
 * stochastic samplers, whose samples do not follow the ODE). Metrics: sliced
 * W2 (sgm_metric_sw2), unbiased MMD^2 with the median-heuristic RBF
 * (sgm_metric_mmd2; the bandwidth is the median heuristic of the first
 * "exact" baseline, then held fixed for every row so that the values are
 * comparable) and the mean exact log-density (sgm_metric_gmm_loglik),
 * each with its standard error. Two baseline rows per schedule show the
 * metrics' floor at this n: "exact" (a second exact sample set, draw 2) and
 * "reference" (the rk45 solution itself).
 */
#ifndef SGM_BENCH_H
#define SGM_BENCH_H

#include "sgm_core.h"
#include "sgm_model.h"
#include "sgm_process.h"
#include "sgm_sampler.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sgm_bench_row {
    char sampler[32];   /* canonical method name, "exact" or "reference" */
    char schedule[24];
    int stochastic, adaptive;
    int nfe_budget;     /* 0 for the baseline rows */
    int steps;          /* schedule steps used (0: adaptive / baseline) */
    double tol;         /* adaptive: rtol = atol used; NaN otherwise */
    size_t nfe;         /* evaluations actually used */
    double err_rms;     /* sqrt(mean_i ||x_i - x_ref,i||^2); NaN when stochastic */
    double err_max;     /* max_i ||x_i - x_ref,i||; NaN when stochastic */
    double sw2, sw2_se, mmd2, mmd2_se, loglik, loglik_se; /* NaN if not computed */
    double seconds;     /* wall time of the sampling run (excl. NFE search, metrics) */
    sgm_status status;  /* SGM_OK, or why the row has no result */
    char msg[160];
    int shard;          /* the shard that ran the row (sgm_bench_config.shard_*) */
} sgm_bench_row;

typedef struct sgm_bench_config {
    const sgm_process *proc;   /* borrowed */
    const sgm_gmm *gmm;        /* the model: exact mixture (borrowed) */
    const char *const *samplers; /* method names; NULL = every registered method */
    size_t n_samplers;
    const sgm_schedule_kind *schedules; /* NULL = {KARRAS} */
    size_t n_schedules;
    const int *nfe;            /* budgets (>= 1); NULL = {5, 10, 20, 50} */
    size_t n_nfe;
    size_t n;                  /* samples (default 1000) */
    uint64_t seed;             /* default 0 */
    double ref_rtol, ref_atol; /* reference tolerances (default 1e-9, 1e-9) */
    int metrics;               /* 1: distribution metrics (default), 0: errors only */
    size_t n_projections;      /* SW2 directions (default 256) */
    int n_threads;             /* 0: OpenMP default */
    /* Another model (a trained network, sgm_train.h): when den is set, it is
       sampled (dimension d) and gmm is optional: given, it only supplies the
       exact samples and log-density of the metrics, and to_data (may be NULL)
       maps n rows of the sampler's values to the mixture's units in place
       before the metrics (errors stay in the sampler's units); without a gmm
       no distribution metrics are computed. */
    const sgm_denoiser *den;
    size_t d;
    void (*to_data)(size_t n, double *x, void *user_data);
    void *to_data_user_data;
    /* progress (may be NULL): called after each row */
    void (*on_row)(const sgm_bench_row *row, void *user_data);
    void *on_row_user_data;
    /* Sharding over shard_size processes (e.g. MPI ranks; default 1: none):
       every process runs the same configuration with its own shard_rank in
       [0, shard_size). Grid cell g (the sampler x budget rows, counted over
       all schedules in row order from 0) is run by shard g mod shard_size;
       the other shards' cells are rows with status SGM_ERR_UNSUPPORTED and
       `shard` naming the shard that runs them (on_row is not called for
       them). The baseline rows ("exact", "reference") are computed by all
       shards together, since every cell needs the reference solution and
       the bandwidth: the rk45 reference by rows in contiguous blocks (the
       per-sample error norm integrates and counts every row on its own),
       their metrics with sgm_metric_config.shard_* (sgm_eval.h); both go
       through all_gather (the same contract as sgm_metric_config's:
       required when shard_size > 1). Every shard returns the same rows in
       the same order: taking row i from shard rows[i].shard (0 for the
       baselines) gives the one-process result except the timings
       (seconds). */
    size_t shard_rank, shard_size;
    int (*all_gather)(double *buf, size_t m, size_t width, void *user_data);
    void *all_gather_user_data;
} sgm_bench_config;

typedef struct sgm_bench_result {
    sgm_bench_row *rows;
    size_t n_rows;
    size_t n, d;
    double seconds;     /* whole run */
} sgm_bench_result;

void sgm_bench_config_default(sgm_bench_config *cfg);
/* Runs the grid. Fails (nothing allocated in *out) on bad configuration:
 * unknown sampler, n < 2, budgets < 1, no model/process. Per-row sampler
 * failures are recorded in the row. */
sgm_status sgm_bench_run(const sgm_bench_config *cfg, sgm_bench_result *out, sgm_error *err);
void sgm_bench_result_free(sgm_bench_result *r);

/* Writes every row as CSV (header line first), atomically (temporary file in
 * the same folder, then rename). */
sgm_status sgm_bench_write_csv(const sgm_bench_result *r, const char *path, sgm_error *err);
/* Log-log PNG of err_rms against NFE: one panel per schedule, one line per
 * deterministic sampler, legend, labelled axes (atomic). SGM_ERR_UNSUPPORTED
 * when the library was built without cairo. */
sgm_status sgm_bench_plot(const sgm_bench_result *r, const char *path, const char *title,
                          sgm_error *err);
/* Index of the row with the smallest err_rms among successful deterministic
 * rows of this budget (any schedule), or -1. */
long sgm_bench_best_error(const sgm_bench_result *r, int nfe_budget);
/* Same for the smallest sw2 among all successful sampler rows. */
long sgm_bench_best_sw2(const sgm_bench_result *r, int nfe_budget);

#ifdef __cplusplus
}
#endif
#endif
