/* seeds.c - SEEDS-2 and SEEDS-3: stochastic explicit exponential
 * derivative-free solvers (Gonzalez et al. 2023, arXiv:2305.14267, NeurIPS,
 * VP data prediction), as ComfyUI's sample_seeds_2 / sample_seeds_3. In VE
 * coordinates (lambda = -log s, alpha = 1), h = lambda_{i+1} - lambda_i,
 * stage points lambda_i + r h, each stage
 *   x~_r = (s_r/s_i) e^{-r h eta} x~ - expm1(-r h (1 + eta)) (combination of D)
 *          + s_r s_noise n_r,
 * the noise n carried between stages: n_r = n_prev e^{(r_prev - r) h eta} +
 * sqrt(1 - e^{2 (r_prev - r) h eta}) z (one draw per stage when eta > 0).
 * SEEDS-2 (r = cfg.r1, 1/2) combines D with D_2 by lerp(D, D_2, 1/(2r));
 * SEEDS-3 (r1, r2 = 1/3, 2/3) uses the phi_2 weights of the reference.
 * eta = 0 gives the ODE solvers (SEEDS-2 is then DPM-Solver++(2S)). The step to
 * s = 0 returns D. NFE 2 / 3 per step (1 on the last). */
#include <math.h>

#include "sampler_internal.h"

enum { SD_D1 = 0, SD_D2, SD_D3, SD_X2, SD_N, SD_NBUF };

static int sd_nbuf(const sgm_sampler_config *c) {
    (void)c;
    return SD_NBUF;
}

static sgm_status sd_validate(const sgm_sampler_config *c, sgm_error *err) {
    if (!(c->r1 >= 0 && c->r1 < 1) || !(c->r2 >= 0 && c->r2 < 1))
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "seeds: r1, r2 must be in (0, 1)");
    return SGM_OK;
}

static double hphi1(double h) { return expm1(h); }
static double hphi2(double h) { return (expm1(h) - h) / h; }

/* noise of the stage ending at s_to, r_from -> r_to in units of h */
static void sd_noise(sgm__s *s, int first, double seg, double s_from, double s_to) {
    void *n = s->buf[SD_N];
    sgm__noise_interval(s, s_from, s_to, s->noise);
    if (first) { /* n is uninitialized here: no 0 * n (NaN garbage) */
        double c = sqrt(-expm1(2 * seg));
        const void *in[1] = {s->noise};
        sgm__lc(s, n, 1, &c, in);
    } else {
        sgm__lc2(s, n, exp(seg), n, sqrt(-expm1(2 * seg)), s->noise);
    }
}

static sgm_status sd_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    int three = s->m->info.order == 3;
    void *D1 = s->buf[SD_D1], *D2 = s->buf[SD_D2], *D3 = s->buf[SD_D3], *x2 = s->buf[SD_X2];
    void *n = s->buf[SD_N];
    sgm_status st = sgm__denoise(s, x, p, D1);
    if (st) return st;
    if (q.s == 0) {
        sgm__copy(s, x, D1);
        s->i++;
        return SGM_OK;
    }
    double eta = s->cfg.eta, sn = s->cfg.s_noise;
    int noise = eta > 0 && sn > 0;
    double ls = -log(p.s), lt = -log(q.s), h = lt - ls, he = h * (eta + 1);
    double r1 = s->cfg.r1 > 0 ? s->cfg.r1 : three ? 1.0 / 3 : 0.5;
    double r2 = s->cfg.r2 > 0 ? s->cfg.r2 : 2.0 / 3;
    double s1 = exp(-(ls + r1 * (lt - ls)));
    /* stage 1 */
    sgm__lc2(s, x2, s1 / p.s * exp(-r1 * h * eta), x, -hphi1(-r1 * he), D1);
    if (noise) {
        sd_noise(s, 1, -r1 * h * eta, p.s, s1);
        sgm__lc2(s, x2, 1, x2, s1 * sn, n);
    }
    if ((st = sgm__denoise(s, x2, sgm__pt_from_s(s, s1), D2))) return st;
    double rl = r1; /* r of the last stage point */
    if (!three) {
        double fac = 1 / (2 * r1);
        sgm__lc3(s, x, q.s / p.s * exp(-h * eta), x, -hphi1(-he) * (1 - fac), D1,
                 -hphi1(-he) * fac, D2);
    } else {
        double s2 = exp(-(ls + r2 * (lt - ls)));
        double a32 = r2 / r1 * hphi2(-r2 * he), a31 = hphi1(-r2 * he) - a32;
        sgm__lc3(s, x2, s2 / p.s * exp(-r2 * h * eta), x, -a31, D1, -a32, D2);
        if (noise) {
            sd_noise(s, 0, (r1 - r2) * h * eta, s1, s2);
            sgm__lc2(s, x2, 1, x2, s2 * sn, n);
        }
        if ((st = sgm__denoise(s, x2, sgm__pt_from_s(s, s2), D3))) return st;
        double b3 = hphi2(-he) / r2, b1 = hphi1(-he) - b3;
        sgm__lc3(s, x, q.s / p.s * exp(-h * eta), x, -b1, D1, -b3, D3);
        rl = r2;
    }
    if (noise) {
        sd_noise(s, 0, (rl - 1) * h * eta, three ? exp(-(ls + r2 * h)) : s1, q.s);
        sgm__lc2(s, x, 1, x, q.s * sn, n);
    }
    s->i++;
    return SGM_OK;
}

static void sd_defaults(sgm_sampler_config *c) { c->eta = 1; }

const sgm__method sgm__m_seeds_2 = {
    {"seeds_2", "seeds2,seeds-2",
     "SEEDS-2 stochastic exponential 2-stage solver (Gonzalez et al. 2023; ComfyUI)", 2, 1, 0},
    sd_defaults, sd_validate, sd_nbuf, NULL, sd_step};

const sgm__method sgm__m_seeds_3 = {
    {"seeds_3", "seeds3,seeds-3",
     "SEEDS-3 stochastic exponential 3-stage solver (Gonzalez et al. 2023; ComfyUI)", 3, 1, 0},
    sd_defaults, sd_validate, sd_nbuf, NULL, sd_step};
