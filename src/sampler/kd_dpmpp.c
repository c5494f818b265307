/* kd_dpmpp.c - the DPM-Solver++ samplers of k-diffusion
 * (crowsonkb/k-diffusion k_diffusion/sampling.py): dpmpp_2s_a
 * (sample_dpmpp_2s_ancestral), dpmpp_sde (sample_dpmpp_sde), dpmpp_2m
 * (sample_dpmpp_2m), dpmpp_2m_sde (sample_dpmpp_2m_sde), dpmpp_3m_sde
 * (sample_dpmpp_3m_sde).
 *
 * Lu et al. 2022, "DPM-Solver++" (arXiv:2211.01095), in the VE form of
 * k-diffusion: t = lambda = -log sigma, h = t_next - t, data prediction D.
 * First-order update (eq. 5 of DPM-Solver++ with alpha = 1):
 *     x_next = (sigma_next / sigma) x - expm1(-h) D.
 * 2S: a stage at t + h/2 (r = 1/2), with an ancestral split (eta) of each
 * step; SDE: two stages at t + r h with ancestral splits of both and noise
 * from sgm__noise_interval (Brownian tree when cfg.noise is BROWNIAN);
 * 2M: D' = (1 + 1/(2r)) D - 1/(2r) D_prev, r = h_prev / h (eq. 8 / Alg. 2);
 * 2M SDE / 3M SDE: the SDE-DPM-Solver++ form with eta h (midpoint or heun
 * correction; 3M adds the second divided difference, phi_2 / phi_3 terms),
 * noise sigma_next sqrt(1 - e^{-2 eta h}) s_noise z.
 * The step to sigma = 0 returns D (2M, 2M SDE, 3M SDE) or is the Euler
 * step (2S a, SDE), which is also x = D.
 * Every update is one fused linear combination with coefficients computed
 * once per step in double precision.
 */
#include "sampler_internal.h"

/* ---------------------------------------------------------- dpmpp_2s_a --- */

enum { B_D = 0, B_X2, B_D2 };

static int nbuf3(const sgm_sampler_config *c) {
    (void)c;
    return 3;
}

static void eta1_defaults(sgm_sampler_config *c) { c->eta = 1; }

static sgm_status dpmpp_2s_a_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    void *D = s->buf[B_D], *x2 = s->buf[B_X2], *D2 = s->buf[B_D2];
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    double down, up;
    sgm__ancestral(p.s, q.s, s->cfg.eta, &down, &up);
    if (down == 0) {
        /* Euler to sigma_down = 0: x = D */
        sgm__copy(s, x, D);
    } else {
        double t = p.lambda, tn = -log(down), h = tn - t;
        double sm = t + 0.5 * h;
        /* x2 = (sigma(sm) / sigma(t)) x - expm1(-h/2) D */
        sgm__lc2(s, x2, exp(-0.5 * h), x, -expm1(-0.5 * h), D);
        if ((st = sgm__denoise(s, x2, sgm__pt_from_lambda(s, sm), D2))) return st;
        double a = down / p.s, b = -expm1(-h);
        if (q.s > 0 && up > 0) {
            sgm__lc3_noise(s, x, a, x, b, D2, s->cfg.s_noise * up, p.s, q.s);
        } else {
            sgm__lc2(s, x, a, x, b, D2);
        }
    }
    s->last_D = D;
    s->i++;
    return SGM_OK;
}

/* ----------------------------------------------------------- dpmpp_sde --- */

static sgm_status sde_validate(const sgm_sampler_config *c, sgm_error *err) {
    if (c->r1 != 0 && !(c->r1 > 0 && c->r1 <= 1))
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "dpmpp_sde: r must be in (0, 1] (got %g)",
                         c->r1);
    return SGM_OK;
}

static sgm_status dpmpp_sde_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    void *D = s->buf[B_D], *x2 = s->buf[B_X2], *D2 = s->buf[B_D2];
    const sgm_sampler_config *c = &s->cfg;
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    if (q.s == 0) {
        sgm__copy(s, x, D); /* Euler step to sigma = 0 */
    } else {
        double r = c->r1 > 0 ? c->r1 : 0.5;
        double t = p.lambda, tn = q.lambda, h = tn - t;
        double sl = t + h * r, ssig = exp(-sl), fac = 1 / (2 * r);
        /* stage 1: ancestral step t -> sl */
        double sd, su;
        sgm__ancestral(p.s, ssig, c->eta, &sd, &su);
        double a = sd / p.s, b = sd > 0 ? -expm1(log(sd) - log(p.s)) : 1;
        if (su > 0) {
            sgm__lc3_noise(s, x2, a, x, b, D, c->s_noise * su, p.s, ssig);
        } else {
            sgm__lc2(s, x2, a, x, b, D);
        }
        if ((st = sgm__denoise(s, x2, sgm__pt_from_lambda(s, sl), D2))) return st;
        /* stage 2: t -> t_next with D' = (1 - fac) D + fac D2 */
        sgm__ancestral(p.s, q.s, c->eta, &sd, &su);
        a = sd / p.s;
        b = sd > 0 ? -expm1(log(sd) - log(p.s)) : 1;
        if (su > 0) {
            sgm__lc4_noise(s, x, a, x, b * (1 - fac), D, b * fac, D2, c->s_noise * su, p.s,
                           q.s);
        } else {
            sgm__lc3(s, x, a, x, b * (1 - fac), D, b * fac, D2);
        }
    }
    s->last_D = D;
    s->i++;
    return SGM_OK;
}

/* ------------------------------------------- multistep: 2M, 2M SDE, 3M SDE --- */

/* The ring of previous D values lives in buffers [0, depth); the history
 * scalars are the step sizes h of the steps that produced them. Returns the
 * buffer for this step's D. */
static int ms_slot(sgm__s *s, int depth) { return sgm__hist_slot(s, 0, depth); }

static int nbuf2(const sgm_sampler_config *c) {
    (void)c;
    return 2;
}

static sgm_status dpmpp_2m_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    int slot = ms_slot(s, 2);
    void *D = s->buf[slot];
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    double h = q.lambda - p.lambda;
    if (q.s == 0) {
        sgm__copy(s, x, D);
    } else if (s->hn == 0) {
        sgm__lc2(s, x, q.s / p.s, x, -expm1(-h), D);
    } else {
        double r = s->hs[0] / h, e = -expm1(-h);
        const void *Dold = s->buf[s->ibuf[0]];
        sgm__lc3(s, x, q.s / p.s, x, e * (1 + 1 / (2 * r)), D, -e / (2 * r), Dold);
    }
    sgm__hist_push(s, slot, h, 2);
    s->i++;
    return SGM_OK;
}

static sgm_status dpmpp_2m_sde_validate(const sgm_sampler_config *c, sgm_error *err) {
    if (c->solver_type != SGM_SOLVER_MIDPOINT && c->solver_type != SGM_SOLVER_HEUN)
        return sgm__fail(err, SGM_ERR_INVALID_ARG,
                         "dpmpp_2m_sde: solver_type must be midpoint or heun");
    return SGM_OK;
}

static sgm_status dpmpp_2m_sde_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    const sgm_sampler_config *c = &s->cfg;
    int slot = ms_slot(s, 2);
    void *D = s->buf[slot];
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    double h = q.lambda - p.lambda;
    if (q.s == 0) {
        sgm__copy(s, x, D);
    } else {
        double eta_h = c->eta * h, H = h + eta_h;
        double a = q.s / p.s * exp(-eta_h), b = -expm1(-H);
        double cd = 0; /* coefficient of (D - D_prev) */
        const void *Dold = NULL;
        if (s->hn > 0) {
            double r = s->hs[0] / h;
            Dold = s->buf[s->ibuf[0]];
            if (c->solver_type == SGM_SOLVER_HEUN)
                cd = H * sgm__phi2(-H) / r; /* (1 - e^{-H}) / (-H) + 1 = H phi_2(-H) */
            else
                cd = 0.5 * b / r;
        }
        double cn = 0;
        if (c->eta > 0) {
            cn = q.s * sqrt(-expm1(-2 * eta_h)) * c->s_noise;
            if (cn > 0) sgm__noise_interval(s, p.s, q.s, s->noise);
        }
        double cc[4];
        const void *in[4];
        int k = 0;
        cc[k] = a, in[k++] = x;
        cc[k] = b + cd, in[k++] = D;
        if (Dold) cc[k] = -cd, in[k++] = Dold;
        if (cn > 0) cc[k] = cn, in[k++] = s->noise;
        sgm__lc(s, x, k, cc, in);
    }
    sgm__hist_push(s, slot, h, 2);
    s->i++;
    return SGM_OK;
}

static sgm_status dpmpp_3m_sde_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    const sgm_sampler_config *c = &s->cfg;
    int slot = ms_slot(s, 3);
    void *D = s->buf[slot];
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    double h = q.lambda - p.lambda;
    if (q.s == 0) {
        sgm__copy(s, x, D);
    } else {
        double H = h * (c->eta + 1);
        /* k-diffusion's phi_2 = expm1(-H)/H + 1 = H phi2(-H),
         * phi_3 = phi_2 / H - 1/2 = -H phi3(-H) (stable forms) */
        double phi_2 = H * sgm__phi2(-H), phi_3 = -H * sgm__phi3(-H);
        double cD = -expm1(-H), c1 = 0, c2 = 0;
        const void *D1 = NULL, *D2 = NULL;
        if (s->hn >= 2) {
            double r0 = s->hs[0] / h, r1 = s->hs[1] / h;
            D1 = s->buf[s->ibuf[0]];
            D2 = s->buf[s->ibuf[1]];
            /* x += phi_2 d1 - phi_3 d2 with d1_0 = (D - D1)/r0, d1_1 = (D1 - D2)/r1,
             * d1 = d1_0 + (d1_0 - d1_1) r0/(r0+r1), d2 = (d1_0 - d1_1)/(r0+r1):
             * A d1_0 + B d1_1 */
            double A = phi_2 * (1 + r0 / (r0 + r1)) - phi_3 / (r0 + r1);
            double B = -phi_2 * r0 / (r0 + r1) + phi_3 / (r0 + r1);
            cD += A / r0;
            c1 = -A / r0 + B / r1;
            c2 = -B / r1;
        } else if (s->hn == 1) {
            double r = s->hs[0] / h;
            D1 = s->buf[s->ibuf[0]];
            cD += phi_2 / r;
            c1 = -phi_2 / r;
        }
        double cn = 0;
        if (c->eta > 0) {
            cn = q.s * sqrt(-expm1(-2 * h * c->eta)) * c->s_noise;
            if (cn > 0) sgm__noise_interval(s, p.s, q.s, s->noise);
        }
        double cc[5];
        const void *in[5];
        int k = 0;
        cc[k] = exp(-H), in[k++] = x;
        cc[k] = cD, in[k++] = D;
        if (D1) cc[k] = c1, in[k++] = D1;
        if (D2) cc[k] = c2, in[k++] = D2;
        if (cn > 0) cc[k] = cn, in[k++] = s->noise;
        sgm__lc(s, x, k, cc, in);
    }
    sgm__hist_push(s, slot, h, 3);
    s->i++;
    return SGM_OK;
}

static int nbuf3m(const sgm_sampler_config *c) {
    (void)c;
    return 3;
}

const sgm__method sgm__m_dpmpp_2s_a = {
    {"dpmpp_2s_a", "dpmpp_2s_ancestral,dpm++_2s_a,dpm++2s_a,k_dpmpp_2s_a",
     "DPM-Solver++(2S) ancestral", 2, 1, 0},
    eta1_defaults, NULL, nbuf3, NULL, dpmpp_2s_a_step};
const sgm__method sgm__m_dpmpp_sde = {
    {"dpmpp_sde", "dpm++_sde,k_dpmpp_sde,dpmpp_sde_gpu",
     "DPM-Solver++ SDE, 2 stages (r = 1/2)", 2, 1, 0},
    eta1_defaults, sde_validate, nbuf3, NULL, dpmpp_sde_step};
const sgm__method sgm__m_dpmpp_2m = {
    {"dpmpp_2m", "dpm++_2m,dpm++2m,k_dpmpp_2m",
     "DPM-Solver++(2M), k-diffusion form", 2, 0, 0},
    NULL, NULL, nbuf2, NULL, dpmpp_2m_step};
const sgm__method sgm__m_dpmpp_2m_sde = {
    {"dpmpp_2m_sde", "dpm++_2m_sde,dpm++2m_sde,k_dpmpp_2m_sde,dpmpp_2m_sde_gpu,"
                     "dpmpp_2m_sde_heun,dpmpp_2m_sde_heun_gpu,dpm++_2m_sde_heun",
     "DPM-Solver++(2M) SDE (midpoint or heun, eta)", 2, 1, 0},
    eta1_defaults, dpmpp_2m_sde_validate, nbuf2, NULL, dpmpp_2m_sde_step};
const sgm__method sgm__m_dpmpp_3m_sde = {
    {"dpmpp_3m_sde", "dpm++_3m_sde,dpm++3m_sde,k_dpmpp_3m_sde,dpmpp_3m_sde_gpu",
     "DPM-Solver++(3M) SDE (eta)", 3, 1, 0},
    eta1_defaults, NULL, nbuf3m, NULL, dpmpp_3m_sde_step};
