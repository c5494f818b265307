/* sgm_sampler.h - schedules, the denoiser interface, and samplers.
 *
 * The flow of a run:
 *   schedule (list of points t_0 > t_1 > ... with VE sigma s_i = sigma/alpha)
 *   denoiser (a callback that predicts eps, x0, v, score or flow velocity;
 *             converted to a data prediction D in one place)
 *   sampler  (an update rule walking the schedule, drawing noise from an
 *             explicit sgm_rng)
 *
 * Threading: a sampler object is used by one thread at a time; different
 * sampler objects are independent. The denoiser is called serially from the
 * thread that called sgm_sampler_run and may use threads of its own.
 */
#ifndef SGM_SAMPLER_H
#define SGM_SAMPLER_H

#include "sgm_core.h"
#include "sgm_process.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------------- schedule --- */

typedef enum sgm_schedule_kind {
    SGM_SCHEDULE_KARRAS = 0,       /* Karras et al. 2022 eq. 5 (rho, default 7) */
    SGM_SCHEDULE_EXPONENTIAL,      /* uniform in log sigma */
    SGM_SCHEDULE_POLYEXPONENTIAL,  /* k-diffusion: ramp^rho in log sigma (rho 1) */
    SGM_SCHEDULE_VP,               /* k-diffusion get_sigmas_vp (beta_d, beta_min, eps_s) */
    SGM_SCHEDULE_TIME_UNIFORM,     /* uniform in process time t (DPM-Solver) */
    SGM_SCHEDULE_LOGSNR,           /* uniform in lambda (DPM-Solver 'logSNR') */
    SGM_SCHEDULE_TIME_QUADRATIC,   /* t = linspace(sqrt T, sqrt eps)^2 (DPM-Solver) */
    SGM_SCHEDULE_LEADING,          /* diffusers timestep_spacing='leading' */
    SGM_SCHEDULE_TRAILING,         /* diffusers 'trailing' */
    SGM_SCHEDULE_LINSPACE,         /* diffusers 'linspace' */
    SGM_SCHEDULE_USER_SIGMAS,      /* explicit VE sigmas */
    SGM_SCHEDULE_USER_TIMES        /* explicit process times */
} sgm_schedule_kind;

/* What ends the schedule (k-diffusion appends 0; DPM-Solver stops at t_eps). */
typedef enum sgm_final {
    SGM_FINAL_DEFAULT = 0, /* the kind's own convention */
    SGM_FINAL_ZERO,        /* append sigma = 0 (t = 0): the last step returns D */
    SGM_FINAL_SIGMA_MIN,   /* end at the smallest nonzero sigma / t_eps */
    SGM_FINAL_NONE         /* exactly the points the kind generates */
} sgm_final;

/* diffusers grid flavours for LEADING / TRAILING / LINSPACE (they differ by class). */
typedef enum sgm_diffusers_grid {
    SGM_DGRID_DDIM = 0,   /* DDIM/PNDM: n integer points, linspace includes 0; each step
                             lands at timestep t - N // n (see sgm_schedule.land_*) */
    SGM_DGRID_DPMSOLVER,  /* DPMSolver*/
                          /* UniPC/DEIS/SA: linspace over n+1 points minus the last;
                             leading divides by n+1 */
    SGM_DGRID_EULER       /* Euler/Heun/LMS: as DDIM, but linspace keeps fractional
                             (float32) timesteps, no landing points */
} sgm_diffusers_grid;

typedef struct sgm_schedule_config {
    sgm_schedule_kind kind;
    int steps;                 /* number of steps (points = steps + 1) */
    double sigma_min, sigma_max; /* VE range; 0 = from the process */
    double rho;                /* karras 7, polyexponential 1 */
    double t_start, t_end;     /* time range; 0 = process defaults */
    sgm_final final_point;
    /* SGM_SCHEDULE_VP */
    double vp_beta_d, vp_beta_min, vp_eps_s; /* 19.9, 0.1, 1e-3 */
    /* diffusers spacings */
    int steps_offset;          /* default 0 */
    sgm_diffusers_grid grid;   /* default DDIM */
    /* user lists (copied): n_user values, strictly decreasing */
    const double *user;
    size_t n_user;
} sgm_schedule_config;

/* A schedule is plain data: n points, from the noisy end to the data end.
 * sigma is the VE noise level sigma(t)/alpha(t) (0 at the data end), alpha
 * the signal coefficient at that point. Arrays are owned by the schedule. */
typedef struct sgm_schedule {
    size_t n;      /* number of points = steps + 1 */
    double *t;     /* [n] process time passed to the denoiser */
    double *sigma; /* [n] VE sigma (may be 0 at the end) */
    double *alpha; /* [n] alpha(t) */
    /* Optional landing points, NULL = none (the usual behaviour). When set (all
     * three, n - 1 entries each), step i moves the state from point i to the
     * landing point (land_t[i], land_sigma[i], land_alpha[i]) instead of point
     * i + 1; the result, unchanged in process coordinates, is then taken to be
     * at point i + 1. Reproduces diffusers DDIM/PNDM, which step to timestep
     * t - N // steps even where the next scheduled timestep differs
     * ('linspace' spacing). Owned by the schedule. */
    double *land_t, *land_sigma, *land_alpha;
} sgm_schedule;

sgm_schedule_config sgm_schedule_config_default(sgm_schedule_kind kind);
sgm_status sgm_schedule_kind_from_name(const char *name, sgm_schedule_kind *out);
const char *sgm_schedule_kind_name(sgm_schedule_kind k);
/* Builds the schedule for a process. Fails on steps < 1, sigma_min >= sigma_max,
 * non-decreasing user lists, non-finite values. */
sgm_status sgm_schedule_create(const sgm_schedule_config *cfg, const sgm_process *proc,
                               sgm_schedule **out, sgm_error *err);
/* Builds a schedule from explicit times and VE sigmas (both n long; alpha from
 * the process at each sigma). For reproducing libraries whose solver sigmas and
 * model timesteps come from different interpolations (diffusers). */
sgm_status sgm_schedule_from_arrays(const sgm_process *proc, size_t n, const double *t,
                                    const double *sigma, sgm_schedule **out,
                                    sgm_error *err);
void sgm_schedule_free(sgm_schedule *s);

/* ----------------------------------------------------------- denoiser --- */

typedef enum sgm_prediction {
    SGM_PRED_EPS = 0, /* noise eps:           x = alpha x0 + sigma eps */
    SGM_PRED_X0,      /* data x0 directly */
    SGM_PRED_V,       /* v = alpha eps - sigma x0 (Salimans & Ho 2022) */
    SGM_PRED_SCORE,   /* grad log p_t(x) = -eps / sigma */
    SGM_PRED_FLOW     /* velocity dx/dt = alpha' x0 + sigma' eps */
} sgm_prediction;

sgm_status sgm_prediction_from_name(const char *name, sgm_prediction *out);
const char *sgm_prediction_name(sgm_prediction p);

/* One denoiser query: n rows of d values at one time. */
typedef struct sgm_eval {
    size_t n, d;     /* rows in this call, values per row */
    uint64_t row0;   /* global index of the first row (for per-sample conditioning) */
    sgm_dtype dtype; /* element type of x and out */
    const void *x;   /* [n, d] x_t in the process's coordinates */
    double t;        /* process time */
    double alpha;    /* alpha(t) */
    double sigma;    /* sigma(t) (0 at the data end) */
} sgm_eval;

/* Fills out ([n, d], same dtype) with the model's prediction. Returns 0 on
 * success, non-zero to fail the run (SGM_ERR_CALLBACK). Must not modify x. */
typedef int (*sgm_denoise_fn)(const sgm_eval *q, void *out, void *user_data);

typedef struct sgm_denoiser {
    sgm_denoise_fn fn;
    void *user_data;
    sgm_prediction prediction;
} sgm_denoiser;

/* Converts a model output m at (x, alpha, sigma) to the data prediction x0,
 * for a whole [n, d] array (out may alias m). The one audited place.
 * dalpha/dsigma are needed for SGM_PRED_FLOW only. */
void sgm_prediction_to_x0(sgm_prediction pred, sgm_dtype dt, size_t count, const void *x,
                          const void *m, double alpha, double sigma, double dalpha,
                          double dsigma, void *out);

/* ------------------------------------------------------------ sampler --- */

typedef enum sgm_dpm_algorithm {
    SGM_DPM_DATA = 0, /* dpmsolver++ (data prediction, Lu et al. 2022b) */
    SGM_DPM_NOISE     /* dpmsolver (noise prediction, Lu et al. 2022a) */
} sgm_dpm_algorithm;

typedef enum sgm_solver_type {
    SGM_SOLVER_MIDPOINT = 0, /* dpmpp_2m_sde / DPM-Solver 'dpmsolver' second-order term */
    SGM_SOLVER_HEUN,         /* 'heun' / DPM-Solver 'taylor' */
    SGM_SOLVER_BH1,          /* UniPC B(h) = h */
    SGM_SOLVER_BH2,          /* UniPC B(h) = e^h - 1 */
    SGM_SOLVER_LOGRHO        /* DEIS */
} sgm_solver_type;

/* When multistep methods lower their order near the end. */
typedef enum sgm_lower_order_final {
    SGM_LOF_NONE = 0,      /* never (k-diffusion: only the step to sigma = 0 is 1st order) */
    SGM_LOF_DPMSOLVER,     /* DPM-Solver: for steps < 10, final orders ramp down */
    SGM_LOF_DIFFUSERS      /* diffusers: for steps < 15 (and always when final sigma is 0) */
} sgm_lower_order_final;

/* dpm_solver with multistep = 0: how the schedule is cut into singlestep
 * (macro) steps. In the first three plans the schedule lists every point where
 * the model is evaluated (NFE = steps); a k-th order macro step spans k
 * schedule intervals and its intermediate points are the inner schedule points
 * (r1, r2 from their lambdas, as DPM-Solver does for non-logSNR skip types). */
typedef enum sgm_singlestep_plan {
    SGM_SSPLAN_DPMSOLVER = 0, /* DPM-Solver method='singlestep': orders for NFE = steps:
                                 order 3: [3,..,3,2,1] (steps%3==0), [3,..,3,1], [3,..,3,2];
                                 order 2: [2,..,2] or [2,..,2,1]; lower_order_final unused */
    SGM_SSPLAN_FIXED,         /* DPM-Solver 'singlestep_fixed': every macro step has
                                 cfg.order (a remainder of steps % order comes last) */
    SGM_SSPLAN_DIFFUSERS,     /* diffusers DPMSolverSinglestepScheduler: per-step orders
                                 from get_order_list ([1,2,3] cycles; lower_order_final
                                 != NONE, an uneven step count or a final sigma of 0
                                 give its lower-order tail); the second-order
                                 intermediate of a third-order step uses solver_type
                                 (DPM-Solver always uses 'taylor' there) */
    SGM_SSPLAN_MACRO          /* every schedule interval is one macro step of cfg.order
                                 with intermediate points at r1 (, r2) of the step in
                                 lambda (defaults 1/2; 1/3, 2/3); NFE = order * steps */
} sgm_singlestep_plan;

typedef enum sgm_noise_source {
    SGM_NOISE_INDEPENDENT = 0, /* fresh Philox draw per step */
    SGM_NOISE_BROWNIAN         /* Brownian tree over sigma: same path at any step count */
} sgm_noise_source;

typedef enum sgm_error_norm {
    SGM_NORM_PER_SAMPLE = 0, /* adaptive step control per row: batch-independent */
    SGM_NORM_BATCH           /* one step sequence for the batch (k-diffusion / DPM-Solver) */
} sgm_error_norm;

typedef struct sgm_step_info {
    size_t step;        /* 0-based step (or attempt, for adaptive methods) */
    size_t n_steps;     /* planned steps (0 when adaptive) */
    double t, sigma;    /* where x now is (VE sigma) */
    double alpha;       /* alpha(t): process coordinates are alpha * x */
    size_t nfe;         /* denoiser evaluations so far */
    size_t n, d;
    sgm_dtype dtype;
    const void *x;      /* [n, d] current state in VE coordinates x / alpha */
    const void *denoised; /* [n, d] latest data prediction, or NULL */
} sgm_step_info;

/* Called after every step; return non-zero to stop the run (SGM_ERR_ABORTED). */
typedef int (*sgm_step_fn)(const sgm_step_info *info, void *user_data);

typedef struct sgm_sampler_config {
    char method[32];            /* canonical name or alias, e.g. "dpmpp_2m" */
    int order;                  /* solver order (method default when 0) */
    double eta;                 /* ancestral / SDE noise strength */
    double s_noise;             /* noise multiplier (1) */
    double s_churn, s_tmin, s_tmax; /* EDM churn (0, 0, inf) */
    int multistep;              /* dpm_solver: 1 multistep, 0 singlestep */
    sgm_dpm_algorithm algorithm;
    sgm_solver_type solver_type;
    sgm_lower_order_final lower_order_final;
    int denoise_to_zero;        /* adaptive/dpm_fast: one extra D at the end */
    int nfe;                    /* dpm_fast budget (0: from the schedule's steps) */
    double r1, r2;              /* singlestep intermediate ratios (1/2; 1/3, 2/3) */
    sgm_singlestep_plan singlestep_plan; /* dpm_solver, multistep = 0 (DPMSOLVER) */
    /* adaptive control */
    double rtol, atol, h_init;
    double pcoeff, icoeff, dcoeff, accept_safety;
    sgm_error_norm error_norm;
    size_t max_steps;           /* adaptive step budget (default 100000) */
    /* score-SDE predictor-corrector */
    double snr;                 /* Langevin corrector signal-to-noise (0.16) */
    int n_corrector;            /* corrector steps per level (1) */
    /* SA-Solver */
    int predictor_order, corrector_order;
    double tau;                 /* stochasticity (1 inside [tau_t_min, tau_t_max]) */
    double tau_sigma_min, tau_sigma_max;
    /* PNDM */
    int skip_prk;               /* 1: PLMS from the first step (diffusers skip_prk_steps);
                                   0: pseudo Runge-Kutta warm-up on the first 3 steps */
    /* noise */
    sgm_noise_source noise;
    /* arithmetic */
    sgm_dtype dtype;            /* element type of x (SGM_F64) */
    int n_threads;              /* 0: OpenMP default */
    /* progress */
    sgm_step_fn on_step;
    void *on_step_user_data;
} sgm_sampler_config;

typedef struct sgm_sampler_stats {
    size_t nfe;       /* denoiser calls (one per batch evaluation) */
    size_t steps;     /* accepted steps */
    size_t n_reject;  /* rejected adaptive steps */
    double last_h;    /* last step size (adaptive, lambda units) */
} sgm_sampler_stats;

/* Method catalogue (drives `sgm list`, the CLI and the docs). */
typedef struct sgm_method_info {
    const char *name;     /* canonical name */
    const char *aliases;  /* comma-separated */
    const char *summary;
    int order;            /* default ODE order */
    int stochastic;       /* draws noise */
    int adaptive;         /* chooses its own steps */
} sgm_method_info;

size_t sgm_method_count(void);
const sgm_method_info *sgm_method_at(size_t i);
/* Looks a name or alias up (case-insensitive, '-' == '_'); NULL if unknown. */
const sgm_method_info *sgm_method_find(const char *name);

/* Fills cfg with the defaults of `method` (name or alias). */
sgm_status sgm_sampler_config_default(const char *method, sgm_sampler_config *cfg,
                                      sgm_error *err);

typedef struct sgm_sampler sgm_sampler; /* opaque */

/* Validates cfg and allocates all scratch for up to n_max rows of d values. */
sgm_status sgm_sampler_create(const sgm_sampler_config *cfg, const sgm_process *proc,
                              size_t n_max, size_t d, sgm_sampler **out, sgm_error *err);
void sgm_sampler_free(sgm_sampler *s);

/* Runs the whole schedule in place on x ([n, d], process coordinates at
 * sched->t[0] in, at the last point out). row0 is the global index of row 0
 * (it selects the noise streams). rng->counter advances. */
sgm_status sgm_sampler_run(sgm_sampler *s, const sgm_schedule *sched,
                           const sgm_denoiser *den, sgm_rng *rng, uint64_t row0,
                           size_t n, void *x, sgm_error *err);

/* Per-step driving: begin, then step until *done. Same result as run.
 * Between begin and done, x holds the working state in VE coordinates
 * (x / alpha(t)); when *done is set it holds process coordinates again. */
sgm_status sgm_sampler_begin(sgm_sampler *s, const sgm_schedule *sched,
                             const sgm_denoiser *den, sgm_rng *rng, uint64_t row0,
                             size_t n, void *x, sgm_error *err);
sgm_status sgm_sampler_step(sgm_sampler *s, void *x, int *done, sgm_error *err);

void sgm_sampler_get_stats(const sgm_sampler *s, sgm_sampler_stats *out);
const sgm_sampler_config *sgm_sampler_get_config(const sgm_sampler *s);

#ifdef __cplusplus
}
#endif
#endif
