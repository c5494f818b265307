/* langevin.c - Langevin MCMC from the model's score (and, for MALA, its
 * log-density), run at the noise levels of the schedule: at every point with
 * sigma > 0, cfg.n_corrector MCMC steps targeting p_sigma (the data convolved
 * with N(0, sigma^2), in VE coordinates x~ where score = (D - x~) / s^2),
 * then on to the next level; a final sigma = 0 point returns the data
 * prediction D at the last level (Tweedie). A schedule of one level followed
 * by 0 samples a fixed-noise-level target. Step sizes scale with the level
 * (cfg.step_size is dimensionless), so one value serves every sigma:
 *
 *   ula   unadjusted Langevin (Roberts & Tweedie 1996):
 *         x <- x + h score + sqrt(2 h) z, h = step_size s^2. Run over a
 *         geometric schedule this is annealed Langevin dynamics (Song & Ermon
 *         2019, NCSN Alg. 1, alias ald): their x + a/2 score + sqrt(a) z with
 *         a_i = eps sigma_i^2 / sigma_L^2 is h = step_size sigma_i^2 with
 *         step_size = eps / (2 sigma_L^2) (their 2e-5 and 0.01 give 0.1; the
 *         default 0.25 anneals faster for the same bias on the test mixture).
 *   mala  ULA proposal with a Metropolis-Hastings correction (Roberts &
 *         Tweedie 1996) from the model's log-density (set with
 *         sgm_sampler_set_log_density; the exact mixture has one):
 *         accept y with prob min(1, p(y) q(x|y) / (p(x) q(y|x))),
 *         log q(y|x) = -|y - x - h score(x)|^2 / (4 h). 2 evaluations a step
 *         (D and log p at the proposal; the current point's are kept).
 *   ubla  underdamped Langevin, BAOAB splitting (Leimkuhler & Matthews 2013)
 *         with unit mass: B v += h/2 score; A x += h/2 v; O v = c v +
 *         sqrt(1 - c^2) z, c = exp(-gamma h); A; B. h = step_size s, gamma =
 *         friction / s. Velocities start N(0, I) and carry across levels.
 *         1 evaluation a step (the closing B's score opens the next step).
 *   rmm   randomized midpoint method (Shen & Lee 2019) for the overdamped
 *         Langevin diffusion (the form analysed by He, Balasubramanian &
 *         Erdogdu 2020): a ~ U(0, 1) per sample, W_a = sqrt(a h) xi1,
 *         W_h = W_a + sqrt((1 - a) h) xi2,
 *         y = x + a h score(x) + sqrt(2) W_a, x <- x + h score(y) + sqrt(2) W_h.
 *         2 evaluations a step.
 * Noise and uniforms come from the sampler's rng (Philox rows: batch
 * independent).
 */
#include <stdlib.h>
#include <string.h>

#include "sampler_internal.h"

enum { B_D = 0, B_V, B_Y, B_D2 };
enum { K_ULA = 0, K_MALA, K_UBLA, K_RMM };

typedef struct lgv_state {
    int kind;
    int have_D;    /* buf[B_D] holds D(x) at the current level */
    double *logp;  /* [n] log p(x) at the current level (mala) */
    double *aux;   /* [2 n] log p(y), uniforms / midpoints */
    double *xd;    /* [n d] f64 copy for the log-density (f32 runs) */
    int have_logp;
} lgv_state;

static int lgv_nbuf(const sgm_sampler_config *c) {
    (void)c;
    return SGM__LGV_NBUF;
}

int sgm__lgv_kind(const char *name) {
    static const char *const names[] = {"ula", "mala", "ubla", "rmm"};
    for (int k = 0; k < 4; k++) {
        const sgm__method *m = sgm__method_lookup(names[k]);
        if (sgm__name_eq(name, names[k]) || (m && sgm__name_in_list(name, m->info.aliases)))
            return k;
    }
    return -1;
}

static int kind_of(const char *name) {
    int k = sgm__lgv_kind(name);
    return k < 0 ? K_RMM : k;
}

static void lgv_defaults(sgm_sampler_config *c) {
    int k = kind_of(c->method);
    c->n_corrector = 5;
    c->step_size = k == K_UBLA ? 0.3 : k == K_MALA ? 0.3 : 0.25;
    c->friction = 2;
    c->denoise_to_zero = 1;
}

static sgm_status lgv_validate(const sgm_sampler_config *c, sgm_error *err) {
    if (!(c->step_size > 0 && isfinite(c->step_size)))
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "%s: step_size must be finite and > 0 (got %g)",
                         c->method, c->step_size);
    if (!(c->friction > 0 && isfinite(c->friction)))
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "%s: friction must be finite and > 0 (got %g)",
                         c->method, c->friction);
    if (c->n_corrector < 1 || c->n_corrector > 100000)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "%s: n_corrector (MCMC steps per level) must "
                         "be in 1..100000 (got %d)", c->method, c->n_corrector);
    return SGM_OK;
}

sgm_status sgm__lgv_begin(sgm__s *s, int kind) {
    size_t nxd = kind == K_MALA && s->dt != SGM_F64 ? s->count : 0;
    lgv_state *L = calloc(1, sizeof *L + (3 * s->n + nxd) * sizeof(double));
    if (!L) return sgm__fail(s->err, SGM_ERR_NOMEM, "out of memory");
    s->mstate = L;
    L->kind = kind;
    L->logp = (double *)(L + 1);
    L->aux = L->logp + s->n;
    L->xd = nxd ? L->aux + 2 * s->n : NULL;
    if (L->kind == K_MALA && !s->logp_fn)
        return sgm__fail(s->err, SGM_ERR_UNSUPPORTED,
                         "mala needs the model's log-density (sgm_sampler_set_log_density); "
                         "this model has none: use ula");
    if (L->kind == K_UBLA) sgm__randn(s, s->buf[B_V]);
    return SGM_OK;
}

static sgm_status lgv_begin(sgm__s *s, void *x) {
    (void)x;
    return sgm__lgv_begin(s, kind_of(s->m->info.name));
}

static void uniforms(sgm__s *s, double *u) {
    sgm_rng_uniform_rows_f64(s->rng->seed, s->rng->counter, s->row0, s->n, 1, u);
    s->rng->counter++;
}

static sgm_status logp_at(sgm__s *s, const void *x, double sig, double *out) {
    double *xd = ((lgv_state *)s->mstate)->xd;
    if (xd) { /* f32 run: the callback takes f64 */
        for (size_t i = 0; i < s->count; i++) xd[i] = sgm__get(s, x, i);
        x = xd;
    }
    int rc = s->logp_fn(s->n, s->d, x, sig, out, s->logp_user);
    s->stats.nfe++;
    if (rc) return sgm__fail(s->err, SGM_ERR_CALLBACK, "log-density callback returned %d", rc);
    return SGM_OK;
}

/* one MALA step at level p; D of x in B_D, log p(x) in L->logp */
static sgm_status mala_step(sgm__s *s, lgv_state *L, void *x, sgm__pt p, double h) {
    void *D = s->buf[B_D], *Y = s->buf[B_Y], *D2 = s->buf[B_D2];
    double s2 = p.s * p.s, c = h / s2;
    sgm_status st;
    if (!L->have_logp && (st = logp_at(s, x, p.s, L->logp))) return st;
    L->have_logp = 1;
    sgm__randn(s, s->noise);
    sgm__lc3(s, Y, 1 - c, x, c, D, sqrt(2 * h), s->noise);
    if ((st = sgm__denoise(s, Y, p, D2))) return st;
    if ((st = logp_at(s, Y, p.s, L->aux))) return st;
    uniforms(s, L->aux + s->n);
    size_t d = s->d, row = d * s->esz;
    for (size_t r = 0; r < s->n; r++) {
        double fwd = 0, bwd = 0; /* |y - x - h sx|^2, |x - y - h sy|^2 */
        for (size_t j = 0; j < d; j++) {
            size_t k = r * d + j;
            double xv = sgm__get(s, x, k), yv = sgm__get(s, Y, k);
            double a = yv - xv - c * (sgm__get(s, D, k) - xv);
            double b = xv - yv - c * (sgm__get(s, D2, k) - yv);
            fwd += a * a;
            bwd += b * b;
        }
        double logr = L->aux[r] - L->logp[r] - (bwd - fwd) / (4 * h);
        if (log(L->aux[s->n + r]) < logr) {
            memcpy((char *)x + r * row, (char *)Y + r * row, row);
            memcpy((char *)D + r * row, (char *)D2 + r * row, row);
            L->logp[r] = L->aux[r];
        }
    }
    return SGM_OK;
}

/* one randomized-midpoint step at level p (D of x in B_D) */
static sgm_status rmm_step(sgm__s *s, void *x, sgm__pt p, double h) {
    void *D = s->buf[B_D], *Y = s->buf[B_Y], *D2 = s->buf[B_D2], *Z2 = s->buf[B_V];
    double s2 = p.s * p.s;
    double *a = ((lgv_state *)s->mstate)->aux;
    uniforms(s, a);
    sgm__randn(s, s->noise);
    sgm__randn(s, Z2);
    size_t d = s->d;
    for (size_t r = 0; r < s->n; r++) /* y = x + a h (D - x)/s^2 + sqrt(2 a h) xi1 */
        for (size_t j = 0; j < d; j++) {
            size_t k = r * d + j;
            double xv = sgm__get(s, x, k), dv = sgm__get(s, D, k);
            sgm__set(s, Y, k, xv + a[r] * h * (dv - xv) / s2 +
                                  sqrt(2 * a[r] * h) * sgm__get(s, s->noise, k));
        }
    sgm_status st = sgm__denoise(s, Y, p, D2);
    if (st) return st;
    for (size_t r = 0; r < s->n; r++) /* x += h (D(y) - y)/s^2 + sqrt(2) W_h */
        for (size_t j = 0; j < d; j++) {
            size_t k = r * d + j;
            double xv = sgm__get(s, x, k), yv = sgm__get(s, Y, k), dv = sgm__get(s, D2, k);
            double w = sqrt(a[r] * h) * sgm__get(s, s->noise, k) +
                       sqrt((1 - a[r]) * h) * sgm__get(s, Z2, k);
            sgm__set(s, x, k, xv + h * (dv - yv) / s2 + sqrt(2.0) * w);
        }
    return SGM_OK;
}

/* one BAOAB step at level p (D of x in B_D; leaves D of the new x there) */
static sgm_status ubla_step(sgm__s *s, void *x, sgm__pt p, double h, double gamma) {
    void *D = s->buf[B_D], *V = s->buf[B_V];
    double s2 = p.s * p.s, b = 0.5 * h / s2, cfr = exp(-gamma * h);
    sgm__lc3(s, V, 1, V, b, D, -b, x);                 /* B */
    sgm__lc2(s, x, 1, x, 0.5 * h, V);                   /* A */
    sgm__randn(s, s->noise);
    sgm__lc2(s, V, cfr, V, sqrt(1 - cfr * cfr), s->noise); /* O */
    sgm__lc2(s, x, 1, x, 0.5 * h, V);                   /* A */
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    sgm__lc3(s, V, 1, V, b, D, -b, x);                 /* B */
    return SGM_OK;
}

sgm_status sgm__lgv_level(sgm__s *s, void *x, sgm__pt p, int n_steps) {
    lgv_state *L = s->mstate;
    void *D = s->buf[B_D];
    const sgm_sampler_config *c = &s->cfg;
    sgm_status st;
    if ((st = sgm__denoise(s, x, p, D))) return st;
    L->have_logp = 0;
    double s2 = p.s * p.s;
    for (int k = 0; k < n_steps; k++) {
        if (k > 0 && L->kind != K_MALA && L->kind != K_UBLA &&
            (st = sgm__denoise(s, x, p, D)))
            return st;
        switch (L->kind) {
        case K_ULA: {
            double h = c->step_size * s2;
            sgm__randn(s, s->noise);
            sgm__lc3(s, x, 1 - h / s2, x, h / s2, D, sqrt(2 * h), s->noise);
            break;
        }
        case K_MALA:
            st = mala_step(s, L, x, p, c->step_size * s2);
            break;
        case K_UBLA:
            st = ubla_step(s, x, p, c->step_size * p.s, c->friction / p.s);
            break;
        default:
            st = rmm_step(s, x, p, c->step_size * s2);
            break;
        }
        if (st) return st;
    }
    return SGM_OK;
}

static sgm_status lgv_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    void *D = s->buf[B_D];
    sgm_status st = sgm__lgv_level(s, x, p, s->cfg.n_corrector);
    if (st) return st;
    if (q.s == 0 && s->cfg.denoise_to_zero) {
        if ((st = sgm__denoise(s, x, p, D))) return st;
        sgm__copy(s, x, D);
    }
    s->i++;
    return SGM_OK;
}

#define SGM__LGV(var, name, alias, summary)                                            \
    const sgm__method var = {{name, alias, summary, 1, 1, 0},                           \
                             lgv_defaults, lgv_validate, lgv_nbuf, lgv_begin, lgv_step}
SGM__LGV(sgm__m_ula, "ula", "ald,annealed_langevin,ncsn,unadjusted_langevin",
         "(annealed) unadjusted Langevin MCMC at every schedule level (Song & Ermon 2019; "
         "step_size, n_corrector)");
SGM__LGV(sgm__m_mala, "mala", "metropolis_langevin",
         "Metropolis-adjusted Langevin from the model's log-density (step_size, n_corrector)");
SGM__LGV(sgm__m_ubla, "ubla", "underdamped_langevin,baoab",
         "underdamped Langevin, BAOAB splitting (step_size, friction, n_corrector)");
SGM__LGV(sgm__m_rmm, "rmm", "randomized_midpoint",
         "randomized-midpoint Langevin (Shen & Lee 2019; step_size, n_corrector)");
