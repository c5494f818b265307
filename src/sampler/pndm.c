/* pndm.c - PNDM: pseudo numerical methods for diffusion models (Liu et al.
 * 2022, arXiv:2202.09778, eq. 9 transfer, eq. 12 PRK, eq. 13 PLMS), as
 * huggingface/diffusers v0.35.2 scheduling_pndm.py PNDMScheduler.
 *
 * The "transfer" phi(x, eps, t -> t') of the paper (diffusers
 * _get_prev_sample) is the deterministic DDIM step; in VE coordinates
 * (x~ = x/alpha, s = sigma/alpha, eps = (x~ - D)/s) it is
 *   x~' = x~ + (s' - s) eps,
 * so every update below is one fused linear combination.
 *
 * Warm-up (cfg.skip_prk = 0, diffusers' default): the first 3 steps are
 * pseudo Runge-Kutta (classic RK4 weights 1/6, 1/3, 1/3, 1/6 on eps, stages at
 * the half step and the end; the half step is timestep t - (N // n) // 2 on a
 * discrete process, the midpoint in t otherwise), 4 evaluations each; their
 * first eps feed the multistep history. Then PLMS: Adams-Bashforth on eps,
 * (55, -59, 37, -9)/24 once 4 values exist (lower orders while filling up,
 * cfg.order caps it).
 * skip_prk = 1 (Stable Diffusion configs): the first step is the pseudo
 * improved Euler step, eps' = (eps(x0, t0) + eps(x1, t1))/2 from x0 (2
 * evaluations); then AB2, AB3, AB4 with the history [eps_0, eps_t1', ...]
 * exactly as diffusers (the evaluation at the predictor x1 is not kept).
 *
 * For a v model diffusers keeps the history in v and converts each
 * combination to eps at the start point of the transfer with that point's
 * sample (also for the PRK stages and the improved-Euler restart); this file
 * does the same, which is not the same as combining exact eps values.
 *
 * diffusers steps to timestep t - N // n: on schedules with landing points
 * (diffusers 'linspace') the transfer goes to the landing point (sgm__next)
 * and the core relabels. diffusers' improved Euler step then restarts from x0
 * as if it sat at timestep t1 + N // n; this file does the same (point
 * t_1 + (t_0 - t_landing)). A step to s = 0 is a plain transfer (x = D).
 * With set_alpha_to_one = False diffusers' last step goes from timestep 0 to
 * alphas_cumprod[0], a no-op costing one evaluation; the library's schedule
 * simply ends at timestep 0 (SGM_FINAL_SIGMA_MIN), one NFE less.
 */
#include <stdlib.h>

#include "sampler_internal.h"

/* buffers: eps ring 0..3, scratch eps, saved x0 / RK4 accumulator, stage x */
enum { B_E = 4, B_ACC = 5, B_X = 6, NBUF = 7 };

typedef struct pndm_state {
    int n_ets, head; /* ring of eps: newest in buf[head] */
} pndm_state;

static int nbuf(const sgm_sampler_config *c) {
    (void)c;
    return NBUF;
}

static sgm_status validate(const sgm_sampler_config *c, sgm_error *err) {
    if (c->order < 1 || c->order > 4)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "pndm: order must be 1..4 (got %d)",
                         c->order);
    return SGM_OK;
}

static sgm_status begin(sgm__s *s, void *x) {
    (void)x;
    /* with fewer steps the run is nothing but PRK warm-up steps, whose
       middle stages sit at the half step in t (diffusers), far off the
       half step in s on a wide step: finite nonsense (1e4 on a radius-4
       mixture from 1-3 steps), so refused */
    if (!s->cfg.skip_prk && sgm__left(s) < 4)
        return sgm__fail(s->err, SGM_ERR_INVALID_ARG,
                         "pndm: needs at least 4 steps (got %zu; its 3 Runge-Kutta warm-up "
                         "steps are not a sampler on their own): use more steps, skip_prk, "
                         "ipndm or ddim",
                         sgm__left(s));
    pndm_state *m = calloc(1, sizeof *m);
    if (!m) return sgm__fail(s->err, SGM_ERR_NOMEM, "out of memory");
    s->mstate = m;
    return SGM_OK;
}

/* Raw model output in the space diffusers combines: eps, or v for a v model
 * (diffusers keeps v's history and converts the combination at the start
 * point of each transfer with that point's sample, see transfer()). VE form:
 * eps = (x - D)/s, v = alpha eps - sigma D with sigma = s alpha. p.s > 0. */
static sgm_status m_at(sgm__s *s, const void *x, sgm__pt p, void *out) {
    sgm_status st = sgm__denoise(s, x, p, out);
    if (st) return st;
    if (s->den->prediction == SGM_PRED_V) {
        double r = p.alpha / p.s;
        sgm__lc2(s, out, r, x, -(r + p.s * p.alpha), out);
    } else {
        sgm__lc2(s, out, 1 / p.s, x, -1 / p.s, out);
    }
    return SGM_OK;
}

/* out = post * (x~ + d eps'), x~ = xscale * xs the state at point p, eps' the
 * combination sum_j c_j m_j converted at (x~, p): for v models
 * eps' = (a M + sigma a x~) / (a^2 + sigma^2) (diffusers _get_prev_sample).
 * One fused update; k <= 4. */
static void transfer(sgm__s *s, void *out, const void *xs, double xscale, sgm__pt p,
                     double d, double post, int k, const double *c, const void *const *m) {
    double A = 1, B = 1;
    if (s->den->prediction == SGM_PRED_V) {
        double a = p.alpha, sg = p.s * p.alpha, g = a * a + sg * sg;
        A = 1 + d * sg * a / g;
        B = a / g;
    }
    double cc[5];
    const void *in[5];
    cc[0] = post * xscale * A;
    in[0] = xs;
    for (int j = 0; j < k; j++) {
        cc[j + 1] = post * d * B * c[j];
        in[j + 1] = m[j];
    }
    sgm__lc(s, out, k + 1, cc, in);
}

/* evaluates m at (x, p) into a new ring slot and makes it the newest */
static sgm_status push_m(sgm__s *s, pndm_state *m, const void *x, sgm__pt p) {
    int slot = m->n_ets ? (m->head + 1) % 4 : 0;
    sgm_status st = m_at(s, x, p, s->buf[slot]);
    if (st) return st;
    m->head = slot;
    if (m->n_ets < 4) m->n_ets++;
    return SGM_OK;
}

static const void *ets(const sgm__s *s, const pndm_state *m, int k) { /* k-th newest */
    return s->buf[(m->head - k + 4) % 4];
}

/* the half-step point of a PRK step from p to q */
static sgm__pt half_point(const sgm__s *s, sgm__pt p, sgm__pt q) {
    const sgm_process_config *pc = sgm_process_get_config(s->proc);
    if (pc->kind == SGM_PROCESS_VP_DISCRETE) {
        double a = sgm_process_t_to_timestep(s->proc, p.t);
        double b = q.s > 0 ? sgm_process_t_to_timestep(s->proc, q.t) : -1;
        long r = lround(a - b) / 2;
        return sgm__pt_from_t(s, sgm_process_timestep_to_t(s->proc, a - (double)r));
    }
    return sgm__pt_from_t(s, 0.5 * (p.t + q.t));
}

static const double one = 1;

/* pseudo Runge-Kutta step (4 evaluations) */
static sgm_status prk_step(sgm__s *s, pndm_state *m, void *x, sgm__pt p, sgm__pt q) {
    sgm_status st = push_m(s, m, x, p);
    if (st) return st;
    const void *m1 = ets(s, m, 0);
    if (q.s == 0) {
        transfer(s, x, x, 1, p, -p.s, 1, 1, &one, &m1);
        return SGM_OK;
    }
    sgm__pt h = half_point(s, p, q);
    void *E = s->buf[B_E], *acc = s->buf[B_ACC], *xs = s->buf[B_X];
    const void *e = E;
    double dh = h.s - p.s, dq = q.s - p.s;
    transfer(s, xs, x, 1, p, dh, 1, 1, &one, &m1);
    if ((st = m_at(s, xs, h, E))) return st;
    sgm__lc2(s, acc, 1.0 / 6, m1, 1.0 / 3, E);
    transfer(s, xs, x, 1, p, dh, 1, 1, &one, &e);
    if ((st = m_at(s, xs, h, E))) return st;
    sgm__lc2(s, acc, 1, acc, 1.0 / 3, E);
    transfer(s, xs, x, 1, p, dq, 1, 1, &one, &e);
    if ((st = m_at(s, xs, q, E))) return st;
    const double c[2] = {1, 1.0 / 6};
    const void *in[2] = {acc, E};
    transfer(s, x, x, 1, p, dq, 1, 2, c, in);
    return SGM_OK;
}

/* diffusers skip_prk_steps first step: predictor to q, then improved Euler from x0 */
static sgm_status bootstrap_step(sgm__s *s, pndm_state *m, void *x, sgm__pt p, sgm__pt q) {
    sgm_status st = push_m(s, m, x, p);
    if (st) return st;
    const void *m0 = ets(s, m, 0);
    sgm__pt n1 = s->pts[s->i + 1];
    if (q.s == 0 || n1.s == 0) {
        transfer(s, x, x, 1, p, q.s - p.s, 1, 1, &one, &m0);
        return SGM_OK;
    }
    void *x0 = s->buf[B_ACC], *E = s->buf[B_E];
    sgm__copy(s, x0, x);
    /* predictor to the landing point q, taken to be at n1 */
    transfer(s, x, x, 1, p, q.s - p.s, q.alpha / n1.alpha, 1, &one, &m0);
    if ((st = m_at(s, x, n1, E))) return st;
    /* corrector from x0, read at C = t1 + (t0 - t_q) (= p without landing) */
    sgm__pt c = q.t == n1.t ? p : sgm__pt_from_t(s, n1.t + (p.t - q.t));
    /* the core relabels from q to n1 after this step: pre-scale by the inverse */
    double pre = s->land ? n1.alpha / q.alpha : 1;
    const double cf[2] = {0.5, 0.5};
    const void *in[2] = {m0, E};
    transfer(s, x, x0, p.alpha / c.alpha, c, n1.s - c.s, pre, 2, cf, in);
    return SGM_OK;
}

static sgm_status pndm_step(sgm__s *s, void *x) {
    pndm_state *m = s->mstate;
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    sgm_status st;
    if (!s->cfg.skip_prk && s->k < 3) {
        st = prk_step(s, m, x, p, q);
    } else if (s->cfg.skip_prk && s->k == 0) {
        st = bootstrap_step(s, m, x, p, q);
    } else {
        if ((st = push_m(s, m, x, p))) return st;
        int ord = m->n_ets < s->cfg.order ? m->n_ets : s->cfg.order;
        static const double ab[4][4] = {{1, 0, 0, 0},
                                        {1.5, -0.5, 0, 0},
                                        {23.0 / 12, -16.0 / 12, 5.0 / 12, 0},
                                        {55.0 / 24, -59.0 / 24, 37.0 / 24, -9.0 / 24}};
        const void *in[4] = {ets(s, m, 0), ets(s, m, 1), ets(s, m, 2), ets(s, m, 3)};
        transfer(s, x, x, 1, p, q.s - p.s, 1, ord, ab[ord - 1], in);
    }
    if (st) return st;
    s->i++;
    return SGM_OK;
}

const sgm__method sgm__m_pndm = {
    {"pndm", "plms,pndm_discrete",
     "PNDM: Runge-Kutta warm-up then pseudo linear multistep (PLMS)", 4, 0, 0},
    NULL, validate, nbuf, begin, pndm_step};
