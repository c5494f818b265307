/* sgm_schedule.h - schedules: the list of points t_0 > t_1 > ... > t_n a
 * sampler walks, each with its time t, VE sigma s = sigma/alpha and signal
 * coefficient alpha, for a process (sgm_process.h). The kinds follow
 * k-diffusion (karras, exponential, polyexponential, vp), DPM-Solver
 * (logSNR, time-uniform, time-quadratic) and diffusers' discrete timestep
 * spacings (leading, trailing, linspace); formulas in docs/samplers.md.
 * A schedule knows nothing of solvers. */
#ifndef SGM_SCHEDULE_H
#define SGM_SCHEDULE_H

#include <stddef.h>

#include "sgm_core.h"
#include "sgm_process.h"

#ifdef __cplusplus
extern "C" {
#endif

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
    SGM_SCHEDULE_USER_TIMES,       /* explicit process times */
    /* ComfyUI's schedulers (comfy/samplers.py, comfy_extras), docs/samplers.md.
       Model-based ones read the model's 1000-entry sigma table: the float32
       sqrt((1 - abar)/abar) of a vp-discrete process, the log-uniform
       sigma_min..sigma_max table of a continuous one, t = i/1000 for flow */
    SGM_SCHEDULE_SIMPLE,           /* table[-(1 + floor(i * len / n))], + 0 */
    SGM_SCHEDULE_SGM_UNIFORM,      /* normal over n + 1 timesteps without the last */
    SGM_SCHEDULE_DDIM_UNIFORM,     /* table[1 + k * (len // n)] reversed, + 0 */
    SGM_SCHEDULE_NORMAL,           /* uniform in table timestep, log-interpolated */
    SGM_SCHEDULE_BETA,             /* Lee et al. 2024: Beta(a, b) quantiles of timesteps */
    SGM_SCHEDULE_LINEAR_QUADRATIC, /* Mochi: linear then quadratic (flow), x sigma_max */
    SGM_SCHEDULE_KL_OPTIMAL,       /* Sabour et al. 2024: uniform in arctan(sigma) */
    SGM_SCHEDULE_AYS,              /* Align Your Steps tables (sd1, sdxl, svd), log-linear
                                      interpolation to other step counts */
    SGM_SCHEDULE_GITS,             /* GITS (Chen et al. 2024) coeff 1.20 tables (SD1) */
    SGM_SCHEDULE_LAPLACE,          /* Laplace-CDF ramp in log sigma (mu, beta); no final 0 */
    SGM_SCHEDULE_OPTIMAL_STEPS     /* OptimalSteps tables (flux, wan, chroma), flow times */
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
    /* ComfyUI kinds */
    double beta_alpha, beta_beta; /* BETA: 0.6, 0.6 (both > 0) */
    double lq_threshold;       /* LINEAR_QUADRATIC threshold_noise (0.025) */
    int lq_linear_steps;       /* LINEAR_QUADRATIC linear steps (0: steps / 2) */
    double laplace_mu, laplace_beta; /* LAPLACE: 0, 0.5 */
    char table[16];            /* AYS: "sd1" (default), "sdxl", "svd";
                                  OPTIMAL_STEPS: "flux" (default), "wan", "chroma" */
    double gits_coeff;         /* GITS: 1.20 (the only table included) */
    /* flow-matching time shift (process flow only, any kind): t -> shift t /
       (1 + (shift - 1) t) (SD3, flow_shift, default 1 = none); with
       flow_shift_seq_len > 0 instead Flux's resolution-dependent exponential
       shift t -> e^mu / (e^mu + 1/t - 1), mu = 0.5 + 0.65 (len - 256) / 3840 */
    double flow_shift;
    int flow_shift_seq_len;
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

#ifdef __cplusplus
}
#endif
#endif
