/* kd_euler.c - the single-step Karras-ODE samplers of k-diffusion
 * (k_diffusion/sampling.py): euler, euler_a, heun, dpm2, dpm2_a.
 *
 * All work on d = (x - D(x, s)) / s in VE coordinates. euler/heun/dpm2 take
 * EDM churn (Karras et al. 2022, Alg. 2): gamma = min(s_churn / N, sqrt2 - 1)
 * for s in [s_tmin, s_tmax], s_hat = s (1 + gamma), x += sqrt(s_hat^2 - s^2)
 * s_noise z. Unlike k-diffusion, noise is drawn only when gamma > 0.
 * The ancestral variants split each step with sgm__ancestral (eta).
 * A step to s = 0 is always a plain Euler step (x = D).
 */
#include "sampler_internal.h"

enum { B_D = 0, B_X2, B_D2 };

static int nbuf3(const sgm_sampler_config *c) {
    (void)c;
    return 3;
}

/* EDM churn: returns the point to evaluate at (s_hat) and perturbs x. */
static sgm__pt churn(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s);
    const sgm_sampler_config *c = &s->cfg;
    double gamma = 0;
    if (c->s_churn > 0 && p.s >= c->s_tmin && p.s <= c->s_tmax) {
        gamma = c->s_churn / (double)(s->n_pts - 1);
        if (gamma > 1.4142135623730951 - 1) gamma = 1.4142135623730951 - 1;
    }
    if (gamma <= 0) return p;
    double s_hat = p.s * (gamma + 1);
    sgm__randn(s, s->noise);
    sgm__lc2(s, x, 1, x, c->s_noise * sqrt(s_hat * s_hat - p.s * p.s), s->noise);
    return sgm__pt_from_s(s, s_hat);
}

/* x += (x - D)/s_from * (s_to - s_from): the Euler step, as one fused update */
static void euler_move(sgm__s *s, void *x, const void *D, double s_from, double s_to) {
    double r = (s_to - s_from) / s_from;
    sgm__lc2(s, x, 1 + r, x, -r, D);
}

static sgm_status euler_step(sgm__s *s, void *x) {
    sgm__pt p = churn(s, x);
    sgm__pt q = sgm__next(s);
    sgm_status st = sgm__denoise(s, x, p, s->buf[B_D]);
    if (st) return st;
    euler_move(s, x, s->buf[B_D], p.s, q.s);
    s->i++;
    return SGM_OK;
}

sgm_status sgm__heun_move(sgm__s *s, void *x, sgm__pt p, sgm__pt q) {
    void *D = s->buf[B_D], *x2 = s->buf[B_X2], *D2 = s->buf[B_D2];
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    if (q.s == 0) {
        euler_move(s, x, D, p.s, q.s);
    } else {
        double dt = q.s - p.s;
        sgm__lc2(s, x2, 1 + dt / p.s, x, -dt / p.s, D);
        if ((st = sgm__denoise(s, x2, q, D2))) return st;
        /* x + dt/2 (d + d2), d = (x - D)/s_hat, d2 = (x2 - D2)/s_next */
        double a = dt / (2 * p.s), b = dt / (2 * q.s);
        sgm__lc4(s, x, 1 + a, x, -a, D, b, x2, -b, D2);
    }
    return SGM_OK;
}

static sgm_status heun_step(sgm__s *s, void *x) {
    sgm__pt p = churn(s, x);
    sgm_status st = sgm__heun_move(s, x, p, sgm__next(s));
    if (st) return st;
    s->i++;
    return SGM_OK;
}

/* One DPM2 move from s_from to s_to through the log-midpoint (x, D at s_from). */
static sgm_status dpm2_move(sgm__s *s, void *x, sgm__pt from, double s_to) {
    void *D = s->buf[B_D], *x2 = s->buf[B_X2], *D2 = s->buf[B_D2];
    double s_mid = exp(0.5 * (log(from.s) + log(s_to)));
    double dt1 = s_mid - from.s, dt2 = s_to - from.s;
    sgm__lc2(s, x2, 1 + dt1 / from.s, x, -dt1 / from.s, D);
    sgm_status st = sgm__denoise(s, x2, sgm__pt_from_s(s, s_mid), D2);
    if (st) return st;
    /* x + dt2 (x2 - D2)/s_mid */
    sgm__lc3(s, x, 1, x, dt2 / s_mid, x2, -dt2 / s_mid, D2);
    return SGM_OK;
}

static sgm_status dpm2_step(sgm__s *s, void *x) {
    sgm__pt p = churn(s, x);
    sgm__pt q = sgm__next(s);
    sgm_status st = sgm__denoise(s, x, p, s->buf[B_D]);
    if (st) return st;
    if (q.s == 0)
        euler_move(s, x, s->buf[B_D], p.s, q.s);
    else if ((st = dpm2_move(s, x, p, q.s)))
        return st;
    s->i++;
    return SGM_OK;
}

static sgm_status euler_a_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    sgm_status st = sgm__denoise(s, x, p, s->buf[B_D]);
    if (st) return st;
    double down, up;
    sgm__ancestral(p.s, q.s, s->cfg.eta, &down, &up);
    euler_move(s, x, s->buf[B_D], p.s, down);
    if (q.s > 0 && up > 0) {
        sgm__lc2_noise(s, x, 1, x, s->cfg.s_noise * up, p.s, q.s);
    }
    s->i++;
    return SGM_OK;
}

static sgm_status dpm2_a_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    sgm_status st = sgm__denoise(s, x, p, s->buf[B_D]);
    if (st) return st;
    double down, up;
    sgm__ancestral(p.s, q.s, s->cfg.eta, &down, &up);
    if (down == 0) {
        euler_move(s, x, s->buf[B_D], p.s, down);
    } else {
        if ((st = dpm2_move(s, x, p, down))) return st;
        if (up > 0) {
            sgm__lc2_noise(s, x, 1, x, s->cfg.s_noise * up, p.s, q.s);
        }
    }
    s->i++;
    return SGM_OK;
}

static void ancestral_defaults(sgm_sampler_config *c) { c->eta = 1; }

const sgm__method sgm__m_euler = {
    {"euler", "k_euler,euler_discrete",
     "Euler on the probability-flow ODE (Karras et al. 2022 Alg. 2, with optional churn)", 1,
     0, 0},
    NULL, NULL, nbuf3, NULL, euler_step};

const sgm__method sgm__m_euler_a = {
    {"euler_a", "euler_ancestral,k_euler_a,euler_ancestral_discrete",
     "Euler ancestral (eta, s_noise)", 1, 1, 0},
    ancestral_defaults, NULL, nbuf3, NULL, euler_a_step};

const sgm__method sgm__m_heun = {
    {"heun", "k_heun,heun_discrete,edm",
     "Heun 2nd order, Euler on the last step (EDM Alg. 1/2, with churn)", 2, 0, 0},
    NULL, NULL, nbuf3, NULL, heun_step};

const sgm__method sgm__m_dpm2 = {
    {"dpm2", "dpm_2,k_dpm_2,kdpm2", "DPM2: Euler to the log-midpoint sigma, then a full step",
     2, 0, 0},
    NULL, NULL, nbuf3, NULL, dpm2_step};

const sgm__method sgm__m_dpm2_a = {
    {"dpm2_a", "dpm_2_ancestral,dpm2_ancestral,k_dpm_2_a", "DPM2 ancestral", 2, 1, 0},
    ancestral_defaults, NULL, nbuf3, NULL, dpm2_a_step};
