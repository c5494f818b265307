/* sde.c - score-SDE samplers of Song et al. 2021 ("Score-Based Generative
 * Modeling through Stochastic Differential Equations", arXiv:2011.13456),
 * following yang-song/score_sde_pytorch sampling.py:
 *
 *   em  EulerMaruyamaPredictor on the reverse-time SDE (eq. 6)
 *         dx = [f(t) x - g(t)^2 score(x, t)] dt + g(t) dW-bar,
 *       for every process (f, g^2 from sgm_process_f / _g2), with
 *       dt = t_next - t taken from the schedule (score_sde uses dt = -1/N on
 *       a uniform grid):
 *         x_next = x + (f x - g^2 score) dt + sqrt(g^2 |dt|) z.
 *   pc  get_pc_sampler with the ReverseDiffusionPredictor and the
 *       LangevinCorrector (Alg. 2-4 of the paper's appendix G): at every
 *       schedule point, cfg.n_corrector Langevin steps at t, then one
 *       reverse-diffusion step to t_next. NFE = steps * (n_corrector + 1).
 *
 * The score comes from the data prediction: score = (alpha D - x_t) / sigma^2
 * in process coordinates x_t = alpha x~. The arithmetic below is the process-
 * coordinate update written directly on x~ (divide by alpha_next), so every
 * update stays one fused linear combination and the state between steps is
 * in VE coordinates as the core requires.
 *
 * Reverse-diffusion predictor, generalized to any process and schedule: the
 * forward transition t_next -> t is x_t = a x_next + G n with
 * a = alpha(t)/alpha(t_next), G^2 = sigma(t)^2 - a^2 sigma(t_next)^2; this is
 * score_sde's VPSDE.discretize (a = sqrt(1 - beta_i), G^2 = beta_i) and
 * VESDE.discretize (a = 1, G^2 = sigma_i^2 - sigma_{i-1}^2) on their own grids.
 * The reverse step is x_next = (2 - a) x_t + G^2 score + G z (score_sde
 * ReverseDiffuser: x - f + G^2 s + G z with f = (a - 1) x). For sub-VP,
 * score_sde falls back to an Euler-Maruyama discretization; we use the exact
 * transition for it too.
 *
 * Langevin corrector: x <- x + eps score + sqrt(2 eps) z. score_sde's
 * LangevinCorrector takes eps = 2 a_c (snr ||z|| / ||score||)^2 with the norms
 * averaged over the batch, and a_c = 1 - beta_i for VP/sub-VP (the DDPM
 * alpha_i of the step), generalized here to a_c = (alpha(t)/alpha(t_next))^2
 * (1 for VE). That rule is cfg.error_norm = SGM_NORM_BATCH; a sample's step
 * then depends on the rest of the batch. Taking each sample's own norms
 * instead is unusable in low dimension: eps grows like 1/||score||^2 and
 * explodes for samples near a mode of p_t (score -> 0); on the 2-D mixture
 * of tests/test_stochastic.c it inflated the variance from 8.1 to 22.8.
 * So the default, SGM_NORM_PER_SAMPLE, uses the value the batch rule tends
 * to when the noise dominates (||z||^2 ~ d, ||score||^2 ~ d / sigma_t^2):
 * eps = 2 a_c (snr sigma_t)^2, which is score_sde's AnnealedLangevinDynamics
 * step; it is batch-independent and bounded.
 *
 * cfg.corrector selects another corrector: one of the Langevin samplers of
 * langevin.c (ula, mala, ubla, rmm), n_corrector steps of it at every level
 * with its step_size (h = step_size sigma^2; ubla: sigma) and friction, the
 * same code as the samplers (sgm__lgv_level).
 *
 * Ends: a step whose next point is sigma = 0 returns D (Tweedie denoise). With
 * cfg.denoise_to_zero (default 1, score_sde's noise_removal = True) the last
 * step adds no noise (score_sde returns x_mean). Predictor noise comes from
 * sgm__noise_interval (Brownian tree with SGM_NOISE_BROWNIAN); corrector noise
 * is always a fresh draw.
 */
#include <string.h>

#include "sampler_internal.h"

static int sde_nbuf(const sgm_sampler_config *c) {
    (void)c;
    return 1;
}

static void sde_defaults(sgm_sampler_config *c) { c->denoise_to_zero = 1; }

/* the pc corrector: -1 score_sde's Langevin corrector, else a Langevin kind */
static int pc_kind(const sgm_sampler_config *c) {
    return c->corrector[0] && !sgm__name_eq(c->corrector, "langevin")
               ? sgm__lgv_kind(c->corrector)
               : -1;
}

static sgm_status pc_validate(const sgm_sampler_config *c, sgm_error *err) {
    if (!(c->snr > 0 && isfinite(c->snr)))
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "pc: snr must be finite and > 0 (got %g)",
                         c->snr);
    if (c->n_corrector < 0 || c->n_corrector > 1000)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "pc: n_corrector must be in 0..1000 (got %d)",
                         c->n_corrector);
    if (!memchr(c->corrector, 0, sizeof c->corrector) ||
        (c->corrector[0] && !sgm__name_eq(c->corrector, "langevin") &&
         sgm__lgv_kind(c->corrector) < 0))
        return sgm__fail(err, SGM_ERR_INVALID_ARG,
                         "pc: unknown corrector '%.15s' (langevin, ula, mala, ubla, rmm)",
                         c->corrector);
    if (pc_kind(c) >= 0 && !(c->step_size > 0 && isfinite(c->step_size) &&
                             c->friction > 0 && isfinite(c->friction)))
        return sgm__fail(err, SGM_ERR_INVALID_ARG,
                         "pc: corrector %s needs finite step_size > 0 and friction > 0 "
                         "(got %g, %g)", c->corrector, c->step_size, c->friction);
    return SGM_OK;
}

static int pc_nbuf(const sgm_sampler_config *c) { return pc_kind(c) >= 0 ? SGM__LGV_NBUF : 1; }

static sgm_status pc_begin(sgm__s *s, void *x) {
    (void)x;
    int k = pc_kind(&s->cfg);
    return k >= 0 ? sgm__lgv_begin(s, k) : SGM_OK;
}

/* 1 when this step is the last one and must not add noise */
static int noise_free(const sgm__s *s) {
    return s->cfg.denoise_to_zero && s->i + 2 == s->n_pts;
}

/* ---------------------------------------------------------------- em --- */

static sgm_status em_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    void *D = s->buf[0];
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    if (q.s == 0) {
        sgm__copy(s, x, D);
        s->i++;
        return SGM_OK;
    }
    double dt = q.t - p.t; /* < 0 */
    double f = sgm_process_f(s->proc, p.t), g2 = sgm_process_g2(s->proc, p.t);
    double sig = p.alpha * p.s;
    /* x_t = alpha x~, score = alpha (D - x~) / sigma^2:
     * alpha_n x~_next = alpha (1 + f dt) x~ - g2 dt alpha (D - x~) / sigma^2 + sqrt(g2 |dt|) z */
    double k = -g2 * dt * p.alpha / (sig * sig); /* >= 0 */
    double cx = (p.alpha * (1 + f * dt) - k) / q.alpha;
    double cD = k / q.alpha;
    if (noise_free(s) || !(g2 > 0)) {
        sgm__lc2(s, x, cx, x, cD, D);
    } else {
        double cz = s->cfg.s_noise * sqrt(g2 * fabs(dt)) / q.alpha;
        sgm__lc3_noise(s, x, cx, x, cD, D, cz, p.s, q.s);
    }
    s->i++;
    return SGM_OK;
}

/* ---------------------------------------------------------------- pc --- */

/* One Langevin corrector step at point p. In process coordinates
 * x_t += eps score + sqrt(2 eps) z with score = alpha g / sigma^2,
 * g = D - x~, sigma = alpha s; on x~ this is
 *   x~ += eps / sigma^2 g + sqrt(2 eps) / alpha z.
 * Batch norm (score_sde): eps = 2 a_c (snr <||z||> / <||score||>)^2 with <.>
 * the batch mean, i.e. with bg = <||g||>, bz = <||z||>:
 *   cg = 2 a_c snr^2 s^2 bz^2 / bg^2,  cz = 2 sqrt(a_c) snr s^2 bz / bg.
 * Per sample: eps = 2 a_c snr^2 sigma^2 (the limit of the batch rule when
 * the noise dominates, ||score|| ~ ||z|| / sigma), i.e.
 *   cg = 2 a_c snr^2,  cz = 2 sqrt(a_c) snr s. */
static sgm_status langevin(sgm__s *s, void *x, sgm__pt p, double a_c) {
    void *D = s->buf[0];
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    sgm__randn(s, s->noise);
    double snr = s->cfg.snr, cg, cz;
    if (s->cfg.error_norm == SGM_NORM_BATCH) {
        size_t d = s->d;
        double bg = 0, bz = 0;
        for (size_t r = 0; r < s->n; r++) {
            double gg = 0, zz = 0;
            for (size_t j = 0; j < d; j++) {
                double g = sgm__get(s, D, r * d + j) - sgm__get(s, x, r * d + j);
                double z = sgm__get(s, s->noise, r * d + j);
                gg += g * g;
                zz += z * z;
            }
            bg += sqrt(gg);
            bz += sqrt(zz);
        }
        if (!(bg > 0) || !isfinite(bg)) return SGM_OK; /* zero score: nothing to correct */
        double s2 = p.s * p.s;
        cg = 2 * a_c * snr * snr * s2 * (bz * bz) / (bg * bg);
        cz = 2 * sqrt(a_c) * snr * s2 * bz / bg;
    } else {
        cg = 2 * a_c * snr * snr;
        cz = 2 * sqrt(a_c) * snr * p.s;
    }
    sgm__lc3(s, x, 1 - cg, x, cg, D, cz, s->noise);
    return SGM_OK;
}

static sgm_status pc_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    void *D = s->buf[0];
    double a = p.alpha / q.alpha; /* forward transition coefficient t_next -> t */
    sgm_status st;
    if (pc_kind(&s->cfg) >= 0) {
        if (s->cfg.n_corrector > 0 && (st = sgm__lgv_level(s, x, p, s->cfg.n_corrector)))
            return st;
    } else {
        for (int c = 0; c < s->cfg.n_corrector; c++)
            if ((st = langevin(s, x, p, a * a))) return st;
    }
    if ((st = sgm__denoise(s, x, p, D))) return st;
    if (q.s == 0) {
        sgm__copy(s, x, D);
        s->i++;
        return SGM_OK;
    }
    /* x~_next = a [(1 - a + rho) x~ + (1 - rho) D + sqrt(s^2 - s_next^2) z],
     * rho = s_next^2 / s^2 (see the file comment) */
    double rho = (q.s * q.s) / (p.s * p.s);
    double cx = a * (1 - a + rho), cD = a * (1 - rho);
    if (noise_free(s)) {
        sgm__lc2(s, x, cx, x, cD, D);
    } else {
        double cz = s->cfg.s_noise * a * sqrt(p.s * p.s - q.s * q.s);
        sgm__lc3_noise(s, x, cx, x, cD, D, cz, p.s, q.s);
    }
    s->i++;
    return SGM_OK;
}

const sgm__method sgm__m_em = {
    {"em", "euler_maruyama,reverse_sde",
     "reverse-time SDE Euler-Maruyama (Song et al. 2021)", 1, 1, 0},
    sde_defaults, NULL, sde_nbuf, NULL, em_step};
const sgm__method sgm__m_pc = {
    {"pc", "predictor_corrector",
     "reverse-diffusion predictor + Langevin corrector (snr, n_corrector; corrector "
     "ula/mala/ubla/rmm: step_size, friction)", 1, 1, 0},
    sde_defaults, pc_validate, pc_nbuf, pc_begin, pc_step};
