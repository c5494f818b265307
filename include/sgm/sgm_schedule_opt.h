/* sgm_schedule_opt.h - the schedule optimiser: the K + 1 points (VE sigmas)
 * that minimise a sampler's error against a tight reference solve of the
 * same probability-flow ODE on a calibration batch (docs/schedule-optimizer.md).
 *
 * A problem (sgm_schedule_problem) is a batch of n starting points and their
 * reference solutions: row r of x_T is sigma(t_max) z_r with z_r the Philox
 * normals of (seed, draw 0, row r), exactly the x_T of `sgm sample --seed`
 * and of sgm_bench, and its reference is the rk45 solution (sgm_bench.h's
 * mechanism) from sigma_max to sigma_min. Every schedule of a problem runs
 * between these two fixed endpoints and ends at sigma_min (no final
 * "denoise to 0" step), so all schedules share x_T and the reference.
 *
 * Objective: err(sigma) = sqrt(mean_r ||x_r(sigma) - x_ref,r||^2), the RMS
 * over rows of the Euclidean error of the sampler's final sample.
 * Search: start from the best of the standard schedules (karras,
 * exponential, logsnr, ays by default) at the same NFE, then coordinate
 * descent on u_i = log sigma_i of the interior points i = 1..K-1 (the
 * endpoints stay fixed): per coordinate, a compass step +-h_i inside the
 * open interval of its neighbours (so the points stay strictly decreasing),
 * extended by doubling while it improves, and a parabolic step through the
 * three values when neither side improves; h_i halves when the coordinate
 * does not move. Deterministic: the same inputs give the same schedule.
 *
 * NFE: the steps of every schedule compared are the largest step count whose
 * actual NFE (sgm_sampler_stats.nfe) is <= the budget (K steps = K NFE for
 * dpmpp_2m, unipc, ipndm, which evaluate once per step here).
 */
#ifndef SGM_SCHEDULE_OPT_H
#define SGM_SCHEDULE_OPT_H

#include <stddef.h>
#include <stdint.h>

#include "sgm_core.h"
#include "sgm_process.h"
#include "sgm_sampler.h"
#include "sgm_schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ problem --- */

typedef struct sgm_schedule_problem_config {
    const sgm_process *proc;     /* borrowed, must outlive the problem */
    sgm_denoiser den;            /* the model (its user_data borrowed) */
    size_t d;                    /* values per row */
    size_t n;                    /* rows of the batch (64) */
    uint64_t seed;               /* x_T from (seed, draw 0) (0) */
    double sigma_min, sigma_max; /* VE endpoints; 0: the process's range */
    double ref_rtol, ref_atol;   /* rk45 reference tolerances (1e-9, 1e-9) */
    sgm_error_norm ref_norm;     /* PER_SAMPLE (default; rows independent) or BATCH
                                    (one step sequence: fewer, larger network calls) */
    int n_threads;               /* 0: OpenMP default */
} sgm_schedule_problem_config;

typedef struct sgm_schedule_problem sgm_schedule_problem; /* opaque */

void sgm_schedule_problem_config_default(sgm_schedule_problem_config *cfg);
/* Draws x_T and solves the reference (the expensive part). Fails on a bad
 * configuration (no process / denoiser, d or n = 0, sigma_min >= sigma_max,
 * tolerances <= 0) or a failed reference solve. */
sgm_status sgm_schedule_problem_create(const sgm_schedule_problem_config *cfg,
                                       sgm_schedule_problem **out, sgm_error *err);
void sgm_schedule_problem_free(sgm_schedule_problem *p);
/* The endpoints (VE sigmas) and the reference's NFE. */
void sgm_schedule_problem_range(const sgm_schedule_problem *p, double *sigma_min,
                                double *sigma_max);
size_t sgm_schedule_problem_ref_nfe(const sgm_schedule_problem *p);

/* Steps of `budget` NFE for the sampler (largest step count whose NFE is
 * <= budget; SGM_ERR_UNSUPPORTED when one step needs more). */
sgm_status sgm_schedule_problem_steps(const sgm_schedule_problem *p,
                                      const sgm_sampler_config *scfg, int budget, int *steps,
                                      sgm_error *err);

/* The RMS error of the sampler with the explicit schedule sigma[0..n_points-1]
 * (strictly decreasing, from the problem's sigma_max to its sigma_min; a
 * relative mismatch of the endpoints above 1e-9 is SGM_ERR_INVALID_ARG),
 * and its NFE (may be NULL). */
sgm_status sgm_schedule_problem_error(const sgm_schedule_problem *p,
                                      const sgm_sampler_config *scfg, const double *sigma,
                                      size_t n_points, double *err_rms, size_t *nfe,
                                      sgm_error *err);

/* The points of a standard schedule with `steps` steps between sigma_max and
 * sigma_min (out: steps + 1 values, decreasing, ending at sigma_min).
 * karras, exponential, polyexponential, vp, logsnr, time_uniform,
 * time_quadratic, kl_optimal: the kind itself over that range; ays: the
 * Align-Your-Steps table `ays_table` (NULL: "sd1") with its published
 * log-linear interpolation to steps + 1 points, then mapped affinely in
 * log sigma onto [log sigma_min, log sigma_max] (the tables were made for
 * other models' ranges). Other kinds: SGM_ERR_UNSUPPORTED. */
sgm_status sgm_schedule_standard_sigmas(const sgm_process *proc, sgm_schedule_kind kind,
                                        const char *ays_table, int steps, double sigma_min,
                                        double sigma_max, double *out, sgm_error *err);

/* ---------------------------------------------------------- optimiser --- */

typedef struct sgm_schedule_opt_progress {
    const char *phase;   /* "start" (a standard schedule evaluated) or "sweep" */
    const char *start;   /* phase "start": the schedule's name */
    int sweep;           /* completed sweeps */
    size_t evals;        /* objective evaluations so far */
    double err;          /* phase "start": that schedule's error; "sweep": the best */
    const double *sigma; /* the schedule (start) or the best so far (sweep) */
    size_t n_points;
} sgm_schedule_opt_progress;

/* Return non-zero to stop the search (the best schedule so far is kept). */
typedef int (*sgm_schedule_opt_fn)(const sgm_schedule_opt_progress *p, void *user_data);

typedef struct sgm_schedule_opt_config {
    sgm_sampler_config sampler; /* method and options (sgm_sampler_config_default) */
    int nfe;                    /* budget K >= 1 */
    const sgm_schedule_kind *starts; /* candidate starts; NULL: karras, exponential,
                                        logsnr, ays */
    size_t n_starts;
    const char *ays_table;      /* table of the ays start (NULL: "sd1") */
    size_t max_evals;           /* objective evaluations of the descent (400) */
    int max_sweeps;             /* (50) */
    double step0;               /* first step in log sigma, relative to the smaller
                                   neighbouring gap (0.25) */
    double step_min;            /* stop when every step is below this, in log sigma
                                   (1e-3) */
    sgm_schedule_opt_fn on_progress; /* may be NULL */
    void *user_data;
} sgm_schedule_opt_config;

typedef struct sgm_schedule_opt_result {
    double *sigma;       /* [n_points], owned: sigma_max .. sigma_min */
    size_t n_points;     /* steps + 1 */
    int steps;
    size_t nfe;          /* the sampler's NFE with it */
    char start[24];      /* the standard schedule the search started from */
    double err_start;    /* its error on the problem */
    double err;          /* the optimised error on the problem */
    size_t evals;        /* objective evaluations (starts included) */
    int sweeps;
} sgm_schedule_opt_result;

/* Defaults of `method` (sgm_sampler_config_default) and the search. */
sgm_status sgm_schedule_opt_config_default(const char *method, sgm_schedule_opt_config *cfg,
                                           sgm_error *err);
/* Optimises on the problem. Fails on nfe < 1, a budget the sampler cannot
 * meet, an unknown start kind, or a failing sampler on every start. */
sgm_status sgm_schedule_optimize(const sgm_schedule_problem *p,
                                 const sgm_schedule_opt_config *cfg,
                                 sgm_schedule_opt_result *out, sgm_error *err);
void sgm_schedule_opt_result_free(sgm_schedule_opt_result *r);

#ifdef __cplusplus
}
#endif
#endif
