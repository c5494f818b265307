/* sgm_sampler.h - the denoiser interface and samplers (schedules:
 * sgm_schedule.h).
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
#include "sgm_schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/* ------------------------------------------------ denoiser derivatives --- */

/* Derivatives of a model's output m(x) (the denoiser's raw prediction, in
 * the process coordinates of sgm_eval, f64 only) with respect to its input
 * x. Each callback evaluates q->n rows and also returns m itself in out
 * ([n, d]); rows may repeat the same x with different directions. Return 0
 * on success. Any of them may be NULL:
 *   jvp: jv[i] = (dm/dx)(x_i) v_i          (forward mode)
 *   vjp: vj[i] = v_i^T (dm/dx)(x_i)        (reverse mode; network engines)
 *   div: div[i] = tr (dm/dx)(x_i)          (closed form, exact models)
 * Passed alongside the sgm_denoiser, whose `prediction` says what m is. */
typedef int (*sgm_dir_deriv_fn)(const sgm_eval *q, const double *v, double *out,
                                double *jv, void *user_data);
typedef int (*sgm_trace_fn)(const sgm_eval *q, double *out, double *div, void *user_data);

typedef struct sgm_denoiser_grad {
    sgm_dir_deriv_fn jvp;
    sgm_dir_deriv_fn vjp;
    sgm_trace_fn div;
    void *user_data;
} sgm_denoiser_grad;

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
    SGM_NOISE_BROWNIAN,        /* Brownian tree over sigma: same path at any step count */
    SGM_NOISE_TORCH            /* PyTorch's CPU stream (sgm_torch_rng, attached with
                                  sgm_sampler_set_torch_rng): every draw is
                                  torch.randn of the whole [n, d] batch in float32,
                                  widened to the run's dtype, as k-diffusion's
                                  torch.randn_like(x) for a float32 x. One stream
                                  per run, so results depend on the batch. */
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

/* External noise, k-diffusion's noise_sampler(sigma, sigma_next): fills z
 * ([n, d] of `dtype`, rows row0.. of the run) with the unit-normal noise of
 * the interval of VE sigmas s_from -> s_to, in place of the Philox draw or
 * the Brownian tree of cfg.noise. It is asked only where a method adds noise
 * over an interval (ancestral steps, SDE steps; not EDM churn, not the
 * corrector of pc). Return non-zero to stop the run (SGM_ERR_CALLBACK). */
typedef int (*sgm_noise_fn)(double s_from, double s_to, size_t n, size_t d, uint64_t row0,
                            sgm_dtype dtype, void *z, void *user_data);

/* One restart segment (Xu et al. 2023, "Restart Sampling for Improving
 * Generative Processes", Alg. 1; the [N_restart, K, t_min, t_max] of their
 * code and of ComfyUI's restart nodes): when the main ODE path reaches the
 * schedule point nearest t_min (VE sigma), K times: jump to t_max by adding
 * N(0, t_max^2 - t_min^2) noise, then solve back to t_min with Heun on a
 * Karras schedule of n points (n - 1 steps). */
typedef struct sgm_restart_segment {
    int n;          /* restart schedule points (>= 2) */
    int k;          /* repeats K (>= 1) */
    double t_min;   /* VE sigma, snapped to the nearest schedule point */
    double t_max;   /* VE sigma to jump to (> the snapped t_min, <= sigma_max) */
} sgm_restart_segment;

#define SGM_RESTART_MAX 8

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
    /* external noise (NULL: cfg.noise) */
    sgm_noise_fn noise_fn;
    void *noise_user_data;
    /* Langevin MCMC (ald, ula, mala, ubla, rmm; steps per level: n_corrector) */
    double step_size;           /* dimensionless: h = step_size sigma^2 (ubla: sigma) */
    double friction;            /* ubla: gamma sigma (2) */
    /* ComfyUI samplers */
    double ge_gamma;            /* gradient_estimation gamma (2) */
    int er_noise_scaler;        /* er_sde: 0 ER-SDE's x (e^{x^0.3} + 10) (default),
                                   1 x^(eta + 1) (eta 0: the ODE, 1: reverse-time SDE) */
    /* restart (defaults: ComfyUI restart nodes' [3,2,0.06,0.30],[3,1,0.30,0.59]) */
    int n_restart;              /* segments in use, 0..SGM_RESTART_MAX */
    sgm_restart_segment restart[SGM_RESTART_MAX];
    /* pc: the corrector, "" or "langevin" (score_sde's snr rule), or one of the
     * Langevin samplers ula | mala | ubla | rmm (their step_size, friction;
     * n_corrector steps per level) */
    char corrector[16];
    /* dpm_solver_v3 (order: cfg.order, 1..3; lower_order_final != NONE: the
     * reference's min(order, steps left)); its statistics: sgm_sampler_set_ems */
    int v3_predictor_pseudo;    /* pseudo-order predictor (0) */
    int v3_corrector;           /* the multistep corrector (1) */
    int v3_corrector_pseudo;    /* corrector of pseudo order + 1 (1) */
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

/* CFG++ (Chung et al. 2024): the samplers euler_cfgpp, euler_a_cfgpp and
 * dpmpp_2m_cfgpp re-noise with the unguided prediction of the latest
 * denoiser call. `unguided` returns it for the same query without a new
 * network call (sgm_cfg_unguided in sgm_edit.h). Copied; NULL removes it.
 * Unset, those samplers use the guided prediction, i.e. they are euler,
 * euler_a and dpmpp_2m. Other samplers ignore it. */
sgm_status sgm_sampler_set_unguided(sgm_sampler *s, const sgm_denoiser *unguided,
                                    sgm_error *err);

void sgm_sampler_get_stats(const sgm_sampler *s, sgm_sampler_stats *out);

/* Attaches the generator that cfg.noise = SGM_NOISE_TORCH draws from
 * (borrowed, not freed; NULL detaches). Draw x_T from the same generator
 * first to reproduce `torch.manual_seed(S); x = torch.randn(...) * sigma_max;
 * sample(model, x, sigmas)`. */
void sgm_sampler_set_torch_rng(sgm_sampler *s, sgm_torch_rng *g);

/* log p_sigma(x) of the model at VE noise level sigma for n rows of VE
 * coordinates x (x0 + sigma n; f64), up to a constant per sigma; return 0
 * on success. Needed by mala (Metropolis-adjusted Langevin). */
typedef int (*sgm_log_density_fn)(size_t n, size_t d, const double *x, double sigma,
                                  double *logp, void *user_data);
/* Attaches the model's log-density (borrowed; NULL detaches). */
void sgm_sampler_set_log_density(sgm_sampler *s, sgm_log_density_fn fn, void *user_data);
const sgm_sampler_config *sgm_sampler_get_config(const sgm_sampler *s);

/* DPM-Solver-v3 (Zheng et al. 2023) empirical model statistics: l, s, b of
 * the paper per dimension on a grid uniform in lambda = -log(VE sigma),
 * row k at lambda_first + k (lambda_last - lambda_first) / (n - 1). */
typedef struct sgm_dpmv3_ems {
    size_t n, d;                       /* grid points (>= 2), values per point */
    double lambda_first, lambda_last;  /* noisy end (small lambda), clean end */
    double *l, *s, *b;                 /* [n, d] each */
} sgm_dpmv3_ems;

/* Attaches statistics to a dpm_solver_v3 sampler (copied; NULL detaches:
 * then l = 1, s = b = 0, which reduces the method to DPM-Solver++). Lambdas
 * outside the grid use its end rows; between rows, linear interpolation. */
sgm_status sgm_sampler_set_ems(sgm_sampler *s, const sgm_dpmv3_ems *ems, sgm_error *err);

/* The calibration pass: statistics of the denoiser over a calibration batch
 * x0 ([n, d] data, VE coordinates) at n_grid lambdas from -log(sigma_max)
 * to -log(sigma_min) (VE sigmas), with x = x0 + sigma z (z, and the
 * Rademacher probes of the Jacobian diagonal, from seed; the same draws at
 * every lambda, so the statistics are smooth in lambda). Fills out (one
 * allocation; sgm_dpmv3_ems_free). 5 n_grid batch evaluations. */
sgm_status sgm_dpmv3_calibrate(const sgm_process *proc, const sgm_denoiser *den, size_t n,
                               size_t d, const double *x0, double sigma_max, double sigma_min,
                               size_t n_grid, uint64_t seed, sgm_dpmv3_ems *out, sgm_error *err);
void sgm_dpmv3_ems_free(sgm_dpmv3_ems *e);

#ifdef __cplusplus
}
#endif
#endif
