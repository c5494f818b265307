/* sampler_internal.h - what every sampler file sees: the sampler object, the
 * method table entry, and the shared numerical helpers (vector kernels in the
 * run's dtype, denoiser call with parameterization conversion, noise, phi
 * functions, ancestral split).
 *
 * Coordinates: samplers work on x~ = x / alpha ("VE coordinates") and the VE
 * noise level s = sigma / alpha = exp(-lambda). The probability-flow ODE is
 * dx~/ds = (x~ - D(x~, s)) / s (Karras et al. 2022, eq. 3 with s(t) = 1).
 * sgm_sampler_begin converts x to VE coordinates, the last step converts back.
 */
#ifndef SGM_SAMPLER_INTERNAL_H
#define SGM_SAMPLER_INTERNAL_H

#include <math.h>
#include <stdarg.h>
#include <stddef.h>

#include "sgm/sgm_sampler.h"
#include "../core/internal.h"

#define SGM__MAX_BUF 16 /* scratch [n, d] vectors a method may ask for */
#define SGM__MAX_HIST 8 /* scalar history slots */

/* A point on the noise-level axis. s = VE sigma, lambda = -log s
 * (+inf at s = 0), t = process time, alpha = alpha(t). */
typedef struct sgm__pt {
    double t, s, alpha, lambda;
} sgm__pt;

struct sgm_sampler;
typedef struct sgm_sampler sgm__s;

/* Method table entry: one per sampler, listed in registry.c. */
typedef struct sgm__method {
    sgm_method_info info;
    /* method-specific defaults (after the generic ones); may be NULL */
    void (*defaults)(sgm_sampler_config *c);
    /* validates the method-specific fields; may be NULL */
    sgm_status (*validate)(const sgm_sampler_config *c, sgm_error *err);
    /* number of [n, d] scratch buffers needed (<= SGM__MAX_BUF) */
    int (*n_buffers)(const sgm_sampler_config *c);
    /* called by begin after the schedule is set and x is in VE coordinates;
     * resets method state; may be NULL */
    sgm_status (*begin)(sgm__s *s, void *x);
    /* advances x from s->pts[s->i] to s->pts[s->i + 1] (or a macro step) and
     * sets s->i to the index of the point reached; sets s->done at the end */
    sgm_status (*step)(sgm__s *s, void *x);
} sgm__method;

struct sgm_sampler {
    sgm_sampler_config cfg;
    const sgm__method *m;
    const sgm_process *proc;
    size_t n_max, d;
    sgm_dtype dt;
    size_t esz;

    /* per run */
    size_t n;               /* rows in this run */
    size_t count;           /* n * d */
    sgm__pt *pts;           /* schedule points (capacity pts_cap) */
    size_t n_pts, pts_cap;
    sgm__pt *land;          /* [n_pts - 1] landing points (schedule land_*) or NULL;
                               stored in pts after pts_cap entries */
    size_t i;               /* index of the current point */
    int done;
    const sgm_denoiser *den;
    sgm_rng *rng;
    sgm_torch_rng *torch;   /* cfg.noise == SGM_NOISE_TORCH: the stream (borrowed) */
    sgm_log_density_fn logp_fn; /* model log-density (mala), borrowed */
    void *logp_user;
    uint64_t row0;
    sgm_error *err;

    /* scratch */
    void *buf[SGM__MAX_BUF]; /* method buffers, each [n_max, d] */
    int n_buf;
    void *xt;                /* denoiser input (alpha * x~) */
    void *noise;             /* a [n_max, d] buffer for noise draws */
    const void *last_D;      /* latest data prediction (for on_step) */
    int noise_rc;            /* first non-zero return of cfg.noise_fn in this run */

    /* method state (reset by begin) */
    double hs[SGM__MAX_HIST]; /* scalar history (e.g. previous lambdas / sigmas) */
    int hn;                   /* history entries in use */
    int ibuf[SGM__MAX_HIST];  /* which buffers hold the history, newest first */
    size_t k;                 /* steps taken in this run */
    void *mstate;             /* method private state (freed by the core) */

    /* Brownian tree range, set by begin from the schedule */
    double bt_smin, bt_smax;

    sgm_sampler_stats stats;

    /* CFG++ hook (sgm_sampler_set_unguided): the unguided prediction of the
     * latest denoiser call; fn NULL when unset */
    sgm_denoiser unguided;

    /* dpm_solver_v3 statistics (sgm_sampler_set_ems): [3][ems_n][d] l, s, b, or NULL */
    double *ems;
    size_t ems_n;
    double ems_l0, ems_l1;
};

/* ---- errors -------------------------------------------------------- */
/* fills err with a one-line message and returns st (core/status.c) */
#define sgm__fail sgm__set_error

/* ---- points --------------------------------------------------------- */
sgm__pt sgm__pt_from_t(const sgm__s *s, double t);
sgm__pt sgm__pt_from_s(const sgm__s *s, double sigma_ve);
sgm__pt sgm__pt_from_lambda(const sgm__s *s, double lambda);
/* convenience: current and next schedule points. With landing points the
 * next point is where this step lands; the core then relabels the state as
 * being at pts[i + 1] (same process coordinates). */
static inline sgm__pt sgm__cur(const sgm__s *s) { return s->pts[s->i]; }
static inline sgm__pt sgm__next(const sgm__s *s) {
    return s->land ? s->land[s->i] : s->pts[s->i + 1];
}
/* number of steps left from the current point */
static inline size_t sgm__left(const sgm__s *s) { return s->n_pts - 1 - s->i; }

/* ---- vector kernels over the run's n*d elements (dtype generic) ----- */
/* out = sum_j c[j] * in[j], j < k (k <= 8); out may alias any input. */
void sgm__lc(const sgm__s *s, void *out, int k, const double *c, const void *const *in);
/* shorthands */
void sgm__copy(const sgm__s *s, void *out, const void *in);
void sgm__lc2(const sgm__s *s, void *out, double a, const void *x, double b, const void *y);
void sgm__lc3(const sgm__s *s, void *out, double a, const void *x, double b, const void *y,
              double c, const void *z);
void sgm__lc4(const sgm__s *s, void *out, double a, const void *x, double b, const void *y,
              double c, const void *z, double e, const void *w);
/* Per-row RMS of (a - b) / (atol + rtol * max(|a|, |c|)) (c may be NULL:
 * then max(|a|, |b|)); writes n values into rms. */
void sgm__err_rms(const sgm__s *s, const void *a, const void *b, const void *c,
                  double atol, double rtol, double *rms);
/* Like sgm__err_rms with delta = max(atol, rtol * max(|a|, |c|)) (DPM-Solver). */
void sgm__err_rms_dpm(const sgm__s *s, const void *a, const void *b, const void *c,
                      double atol, double rtol, double *rms);
/* 1 if every element is finite */
int sgm__all_finite(const sgm__s *s, const void *x);
/* Element access helpers for methods that need them. */
static inline double sgm__get(const sgm__s *s, const void *v, size_t idx) {
    return s->dt == SGM_F64 ? ((const double *)v)[idx] : (double)((const float *)v)[idx];
}
static inline void sgm__set(const sgm__s *s, void *v, size_t idx, double val) {
    if (s->dt == SGM_F64) ((double *)v)[idx] = val;
    else ((float *)v)[idx] = (float)val;
}

/* ---- denoiser ------------------------------------------------------- */
/* D_out = data prediction at point p for x~ (VE coordinates). Counts NFE. */
sgm_status sgm__denoise(sgm__s *s, const void *x, sgm__pt p, void *D_out);

/* U_out = the unguided data prediction of the latest sgm__denoise call at
 * (x, p) through the CFG++ hook, or a copy of D when no hook is set. */
sgm_status sgm__denoise_unguided(sgm__s *s, const void *x, sgm__pt p, const void *D,
                                 void *U_out);

/* ---- noise ---------------------------------------------------------- */
/* z = standard normals for this run's rows (advances the rng). */
void sgm__randn(sgm__s *s, void *z);
/* z = unit-normal increment for the interval (s_from -> s_to): fresh draw,
 * or (W(s_to) - W(s_from)) / sqrt|s_to - s_from| from the Brownian tree
 * when cfg.noise is SGM_NOISE_BROWNIAN. */
void sgm__noise_interval(sgm__s *s, double s_from, double s_to, void *z);
/* out = sum_j c[j] in[j] (j < k <= 7) + cz z, z the interval's normals as
 * sgm__noise_interval draws them: the same bits as that draw into s->noise
 * followed by sgm__lc with k + 1 inputs, in one pass when the noise is the
 * default Philox stream (src/sampler/ops.c). Shorthands by term count. */
void sgm__lc_noise(sgm__s *s, void *out, int k, const double *c, const void *const *in,
                   double cz, double s_from, double s_to);
void sgm__lc2_noise(sgm__s *s, void *out, double a, const void *x, double cz, double s_from,
                    double s_to);
void sgm__lc3_noise(sgm__s *s, void *out, double a, const void *x, double b, const void *y,
                    double cz, double s_from, double s_to);
void sgm__lc4_noise(sgm__s *s, void *out, double a, const void *x, double b, const void *y,
                    double c3, const void *z, double cz, double s_from, double s_to);

/* ---- scalar helpers --------------------------------------------------- */
/* phi_1(h) = (e^h - 1)/h, phi_2 = (phi_1 - 1)/h, phi_3 = (phi_2 - 1/2)/h,
 * evaluated stably for small |h|. */
double sgm__phi1(double h);
double sgm__phi2(double h);
double sgm__phi3(double h);
/* k-diffusion get_ancestral_step: split s_from -> s_to into a deterministic
 * move to s_down and noise of std s_up. */
void sgm__ancestral(double s_from, double s_to, double eta, double *s_down, double *s_up);

/* ---- shared steps ---------------------------------------------------- */
/* One Heun (Karras et al. 2022 Alg. 1) move of x from p to q on the
 * probability-flow ODE (Euler when q.s = 0); uses buffers 0..2 (kd_euler.c). */
sgm_status sgm__heun_move(sgm__s *s, void *x, sgm__pt p, sgm__pt q);

/* Langevin MCMC (langevin.c), shared by its samplers and the correctors of
 * pc: the kind of a name (ula 0, mala 1, ubla 2, rmm 3, aliases too; -1 if
 * none), the state (into s->mstate; velocities for ubla), and n_steps MCMC
 * steps of that kind targeting p_sigma at level p (cfg.step_size,
 * cfg.friction). Uses buffers 0..SGM__LGV_NBUF-1 and s->noise. */
#define SGM__LGV_NBUF 4
int sgm__lgv_kind(const char *name);
sgm_status sgm__lgv_begin(sgm__s *s, int kind);
sgm_status sgm__lgv_level(sgm__s *s, void *x, sgm__pt p, int n_steps);

/* ---- history helpers for multistep methods ---------------------------- */
/* Buffers [first, first + depth) form a ring of previous D values. Pushing
 * makes the new one index 0. */
void sgm__hist_reset(sgm__s *s);
/* Returns the buffer index that will hold the next history entry (the oldest
 * slot in a ring of `depth` buffers starting at `first`). */
int sgm__hist_slot(sgm__s *s, int first, int depth);
void sgm__hist_push(sgm__s *s, int buf_index, double scalar, int depth);

/* ---- method registry -------------------------------------------------- */
const sgm__method *sgm__method_lookup(const char *name);
extern const sgm__method *const sgm__methods[];
extern const size_t sgm__n_methods;

/* ---- DPM-Solver (dpm_solver.c, dpm_solver_adaptive.c) ----------------- */
/* buffers: model-value ring (M0..M2), the latest D (noise algorithm), the
 * base of a singlestep block, an intermediate state; the adaptive solver adds
 * lower/higher results, x_prev and the cached model value at s. */
enum {
    SGM__DPM_M0 = 0, SGM__DPM_M1, SGM__DPM_M2, SGM__DPM_D, SGM__DPM_XB, SGM__DPM_XI,
    SGM__DPM_XL, SGM__DPM_XH, SGM__DPM_XP, SGM__DPM_MS, SGM__DPM_NBUF
};
/* DPM-Solver's 'taylor' (diffusers 'heun') second-order form, else 'dpmsolver' */
static inline int sgm__dpm_taylor(const sgm__s *s) {
    return s->cfg.solver_type == SGM_SOLVER_HEUN;
}
/* Model value at p: D (dpmsolver++) or eps = (x~ - D)/s (dpmsolver). */
sgm_status sgm__dpm_eval_model(sgm__s *s, const void *x, sgm__pt p, void *M, void *Dbuf);
/* One singlestep update of order o from xb at P[0] with model values M at
 * P[0..o-1] to T (the final formula of a macro step, or the intermediate). */
void sgm__dpm_ss_update(sgm__s *s, void *out, const void *xb, const sgm__pt *P,
                        const void *const *M, int o, int taylor, sgm__pt T);
/* The run's last action: one extra data prediction (denoise_to_zero). */
sgm_status sgm__dpm_finish(sgm__s *s, void *x);
/* Checks of the fields both DPM-Solver methods share (algorithm,
 * solver_type, r1, r2). */
sgm_status sgm__dpm_check_common(const sgm_sampler_config *c, sgm_error *err);

#endif
