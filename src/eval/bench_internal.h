/* bench_internal.h - the pieces of "error against a tight reference solve"
 * shared by the NFE-vs-error bench (bench.c) and the schedule optimiser
 * (schedule_opt.c): one sampler run from a given x_T, the rk45 reference
 * between two schedule points, the step count that fits an NFE budget and
 * the RMS error (bench_core.c; conventions in include/sgm/sgm_bench.h). */
#ifndef SGM_BENCH_INTERNAL_H
#define SGM_BENCH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sgm/sgm_model.h"
#include "sgm/sgm_sampler.h"

/* The model a run samples: a denoiser over d values per row; gmm (may be
 * NULL) supplies the log-density that mala needs. */
typedef struct sgm__bench_model {
    const sgm_process *proc;
    sgm_denoiser den;
    size_t d;
    const sgm_gmm *gmm;
    uint64_t noise_seed; /* stochastic samplers draw from sgm_rng(noise_seed) */
} sgm__bench_model;

/* Runs scfg over the n rows of x_T (process coordinates at sch->t[0]) into
 * x; stats filled. A non-finite result is SGM_ERR_NONFINITE. */
sgm_status sgm__bench_run_sampler(const sgm__bench_model *m, const sgm_sampler_config *scfg,
                                  const sgm_schedule *sch, const double *x_T, size_t n,
                                  double *x, sgm_sampler_stats *stats, sgm_error *err);

/* The tight reference: rk45 (rtol, atol, error norm) from the point
 * (t0, sigma0) to (t1, sigma1) (VE sigmas) for the n rows of x_T into ref. */
sgm_status sgm__bench_reference(const sgm__bench_model *m, double t0, double sigma0, double t1,
                                double sigma1, double rtol, double atol, sgm_error_norm norm,
                                int n_threads, const double *x_T, size_t n, double *ref,
                                sgm_sampler_stats *stats, sgm_error *err);

/* A schedule of `steps` steps (for the NFE probe). */
typedef sgm_status (*sgm__bench_make_fn)(int steps, void *user_data, sgm_schedule **out,
                                         sgm_error *err);

/* The largest step count whose actual NFE (one-row probe) is <= budget;
 * 0 when one step already exceeds it. scratch: d values. */
sgm_status sgm__bench_steps_for_budget(const sgm__bench_model *m, const sgm_sampler_config *scfg,
                                       sgm__bench_make_fn mk, void *mk_user_data, int budget,
                                       const double *x_T, double *scratch, int *steps_out,
                                       sgm_error *err);

/* sqrt(mean_i ||x_i - ref_i||^2) over n rows of d; *err_max (may be NULL)
 * the largest ||x_i - ref_i||. */
double sgm__bench_err_rms(const double *x, const double *ref, size_t n, size_t d,
                          double *err_max);

/* The process of a schedule-optimiser problem (schedule_problem.c). */
struct sgm_schedule_problem;
const sgm_process *sgm__schedule_problem_proc(const struct sgm_schedule_problem *p);

#endif
