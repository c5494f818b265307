/* sgm_edit.h - guidance and editing on top of the denoiser interface
 * (sgm_sampler.h): classifier-free guidance (CFG, rescale, interval, the
 * hook CFG++ samplers read), thresholding of the data prediction, noising
 * (add_noise), SDEdit / img2img, DDIM and DPM-Solver++ inversion, and the
 * algebraically reversible solver whose invert-then-regenerate round trip is
 * exact up to rounding. Formulas and papers: docs/conditioning-edit.md.
 *
 * Every wrapper here is a denoiser (sgm_denoiser) built over another one, so
 * it composes with every sampler. Wrappers hold scratch state: one thread at
 * a time, like the denoisers they wrap.
 */
#ifndef SGM_EDIT_H
#define SGM_EDIT_H

#include "sgm_core.h"
#include "sgm_model.h"
#include "sgm_process.h"
#include "sgm_sampler.h"
#include "sgm_schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------ class-conditional denoiser --- */

/* A denoiser that takes one class label per query row (label -1: the null
 * class, i.e. the unconditional model). out: [q->n, q->d] in `prediction`. */
typedef int (*sgm_cond_denoise_fn)(const sgm_eval *q, const int *labels, void *out,
                                   void *user_data);
typedef struct sgm_cond_denoiser {
    sgm_cond_denoise_fn fn;
    void *user_data;
    sgm_prediction prediction;
    int n_classes; /* valid labels are 0 .. n_classes - 1 */
} sgm_cond_denoiser;

/* The exact class-conditional mixture: class k = component k, whose exact
 * denoiser is the single Gaussian's; the null class is the whole mixture. */
sgm_cond_denoiser sgm_gmm_cond_denoiser(const sgm_gmm *g);
/* A class-conditional trained model (sgm_model_n_classes > 0). Each call
 * sets the model's labels (sgm_model_set_labels, guidance 0). */
sgm_cond_denoiser sgm_model_cond_denoiser(sgm_model *m);

/* ----------------------------------------- classifier-free guidance --- */

typedef enum sgm_cfg_convention {
    SGM_CFG_PLUS_ONE = 0, /* Ho & Salimans 2022: (1 + w) D_c - w D_u  (w = 0: conditional) */
    SGM_CFG_SCALE         /* diffusers guidance_scale g: D_u + g (D_c - D_u)  (g = 1: conditional) */
} sgm_cfg_convention;

typedef struct sgm_cfg_config {
    double scale;                  /* w or g, >= 0 (see convention) */
    sgm_cfg_convention convention;
    double rescale;                /* phi in [0, 1] (Lin et al. 2023 eq. 15-16); 0: off */
    double interval_lo, interval_hi; /* guide only for VE sigma in [lo, hi]
                                        (Kynkaenniemi et al. 2024); default [0, inf] */
    int batched;                   /* 1: cond + uncond rows in one call; 0: two calls */
} sgm_cfg_config;

typedef struct sgm_cfg_stats {
    size_t queries;     /* denoiser queries answered */
    size_t guided;      /* of which guided (both predictions combined) */
    size_t net_calls;   /* calls of the wrapped conditional denoiser */
    size_t net_rows;    /* rows evaluated by it */
} sgm_cfg_stats;

sgm_cfg_config sgm_cfg_config_default(void);
typedef struct sgm_cfg sgm_cfg; /* opaque */
/* labels: [count] per-sample classes, row r of a query gets labels[r % count]
 * (r = sgm_eval.row0 + i); copied. Fails on a model without classes, a label
 * out of range, a negative scale, phi outside [0, 1], an empty interval. */
sgm_status sgm_cfg_create(const sgm_cfg_config *cfg, const sgm_cond_denoiser *cond,
                          const int *labels, size_t count, sgm_cfg **out, sgm_error *err);
void sgm_cfg_free(sgm_cfg *c);
/* The guided denoiser (prediction = the wrapped one's). */
sgm_denoiser sgm_cfg_denoiser(sgm_cfg *c);
/* The unguided prediction of the latest query (D_u; D_c outside the
 * interval), as a denoiser that makes no network call: pass it to
 * sgm_sampler_set_unguided for the CFG++ samplers. */
sgm_denoiser sgm_cfg_unguided(sgm_cfg *c);
void sgm_cfg_get_stats(const sgm_cfg *c, sgm_cfg_stats *out);
/* Weight on D_c - D_u for cfg's convention (the diffusers guidance_scale). */
double sgm_cfg_weight(const sgm_cfg_config *cfg);

/* ----------------------------------------------------- thresholding --- */

typedef enum sgm_threshold_kind {
    SGM_THRESH_NONE = 0,
    SGM_THRESH_CLIP,    /* x0 = clip(x0, -max, max) */
    SGM_THRESH_DYNAMIC  /* Imagen (Saharia et al. 2022): s = max(max_value, quantile_p |x0|)
                           per sample, x0 = clip(x0, -s, s) * max / s */
} sgm_threshold_kind;

typedef struct sgm_threshold_config {
    sgm_threshold_kind kind;
    double percentile; /* p in (0, 1] (0.995) */
    double max_value;  /* clip bound / dynamic floor (1) */
} sgm_threshold_config;

sgm_threshold_config sgm_threshold_config_default(void);
typedef struct sgm_threshold sgm_threshold; /* opaque */
/* proc: needed only when the wrapped prediction is SGM_PRED_FLOW (else NULL ok). */
sgm_status sgm_threshold_create(const sgm_threshold_config *cfg, const sgm_denoiser *inner,
                                const sgm_process *proc, sgm_threshold **out, sgm_error *err);
void sgm_threshold_free(sgm_threshold *t);
/* The wrapped denoiser (prediction SGM_PRED_X0). */
sgm_denoiser sgm_threshold_denoiser(sgm_threshold *t);

/* ---------------------------------------------------------- editing --- */

/* x_t = alpha x0 + sigma eps with eps from the rng's per-row Philox streams
 * (rows row0 .. row0 + n - 1 of the rng's current draw; advances it). out
 * may alias x0. */
void sgm_add_noise(sgm_rng *rng, uint64_t row0, size_t n, size_t d, sgm_dtype dt,
                   const void *x0, double alpha, double sigma, void *out);

/* SDEdit / img2img (Meng et al. 2022) with diffusers' strength: of a schedule
 * of S steps, the last k = floor(S * strength) steps are kept (strength 1:
 * the whole schedule from pure noise; 0: no step, the input is returned).
 * *out is the partial schedule (points S - k .. S), NULL when k = 0. */
sgm_status sgm_schedule_tail(const sgm_schedule *full, const sgm_process *proc,
                             double strength, sgm_schedule **out, sgm_error *err);
/* Noises x (data, [n, d], process coordinates) to the tail's first point
 * and samples the tail with the sampler (dtype: its config's), in place. */
sgm_status sgm_sdedit(sgm_sampler *s, const sgm_schedule *full, const sgm_process *proc,
                      double strength, const sgm_denoiser *den, sgm_rng *rng, uint64_t row0,
                      size_t n, size_t d, void *x, sgm_error *err);

/* ---------------------------------------------------------- inversion --- */

typedef enum sgm_invert_method {
    SGM_INVERT_DDIM = 0,   /* DDIM inversion: D at the current (lower) point */
    SGM_INVERT_DPMPP_2M    /* DPM-Solver++(2M) run from the data end upwards */
} sgm_invert_method;

/* Runs the probability-flow ODE backwards over sched (last point to first),
 * in place on x ([n, d], f64 or f32, process coordinates). A schedule that
 * ends at sigma 0 starts from its last nonzero point (x is taken to be there).
 * Regenerate with the matching sampler (ddim / dpmpp_2m) on the same
 * schedule. nfe (may be NULL) receives the denoiser calls. */
sgm_status sgm_invert(sgm_invert_method m, const sgm_schedule *sched, const sgm_process *proc,
                      const sgm_denoiser *den, uint64_t row0, size_t n, size_t d, sgm_dtype dt,
                      void *x, size_t *nfe, sgm_error *err);
sgm_status sgm_invert_method_from_name(const char *name, sgm_invert_method *out);

/* The algebraically reversible solver (McCallum & Foster 2024, "Efficient,
 * accurate and stable gradients for neural ODEs", eq. 5; for diffusion SDEs
 * Blasingame & Liu 2025). State: a pair (y, z). One step n -> n + 1 with a
 * base increment Psi:
 *   y' = c y + (1 - c) z + Psi(s_n -> s_n+1; z)
 *   z' = z - Psi(s_n+1 -> s_n; y')
 * and its exact algebraic inverse
 *   z = z' + Psi(s_n+1 -> s_n; y'),   y = (y' - (1 - c) z - Psi(s_n -> s_n+1; z)) / c.
 * The state is u = x / sigma (= x~ / s), where the probability-flow ODE has
 * no linear part (du = D d(1/s), the variable of DPM-Solver++; as in the
 * reversible exponential solvers of Blasingame & Liu 2025). Psi is the
 * first-order (DDIM) increment D(s_a u, s_a)(1/s_b - 1/s_a) when eta = 0 (the
 * ODE case) and otherwise the first-order exponential integrator
 * (SDE-DPM-Solver-1) of dx~ = (1 + eta^2)(x~ - D)/s ds + eta sqrt(2 s) dW
 * written for u, with the noise of step n a pure function of (seed, n, row)
 * so the inverse replays it. The pair is carried in double for float32 too;
 * float32 round trips stay within 1e-5 up to eta ~ 0.7, larger eta amplifies
 * the latent's rounding (docs/conditioning-edit.md). */
typedef struct sgm_reversible_config {
    double coupling; /* c in (0, 1] (0.999) */
    double eta;      /* 0: the ODE solver; > 0: the SDE solver */
    uint64_t seed;   /* noise of the SDE solver */
} sgm_reversible_config;

sgm_reversible_config sgm_reversible_config_default(void);
/* Forward (generation): (y, z) at sched's first point -> its last. Both
 * [n, d] in dt, process coordinates, in place; start with y = z = x_T, the
 * sample is y. Every sigma of sched must be > 0 (end at sigma_min). */
sgm_status sgm_reversible_sample(const sgm_reversible_config *cfg, const sgm_schedule *sched,
                                 const sgm_process *proc, const sgm_denoiser *den,
                                 uint64_t row0, size_t n, size_t d, sgm_dtype dt, void *y,
                                 void *z, size_t *nfe, sgm_error *err);
/* Inverse: (y, z) at sched's last point -> its first (to invert data x,
 * start with y = z = x). sgm_reversible_sample of the result gives back
 * (y, z) up to rounding. */
sgm_status sgm_reversible_invert(const sgm_reversible_config *cfg, const sgm_schedule *sched,
                                 const sgm_process *proc, const sgm_denoiser *den,
                                 uint64_t row0, size_t n, size_t d, sgm_dtype dt, void *y,
                                 void *z, size_t *nfe, sgm_error *err);

#ifdef __cplusplus
}
#endif
#endif
