/* kd_lms.c - linear multistep (Adams-Bashforth in sigma) of k-diffusion
 * (crowsonkb/k-diffusion k_diffusion/sampling.py: sample_lms,
 * linear_multistep_coeff).
 *
 * On the probability-flow ODE dx/ds = d(x, s) = (x - D(x, s)) / s (Karras et
 * al. 2022, eq. 3 in VE form), step i uses the last m = min(i + 1, order)
 * derivatives d_{i-j} at sigmas s_{i-j}:
 *     x_{i+1} = x_i + sum_j c_j d_{i-j},
 *     c_j = integral_{s_i}^{s_{i+1}} prod_{k != j} (tau - s_{i-k}) / (s_{i-j} - s_{i-k}) dtau.
 * k-diffusion evaluates the integral with scipy quad (epsrel 1e-4), which is
 * exact for these polynomials of degree < 4; here the Lagrange basis is
 * expanded in u = tau - s_i and integrated exactly.
 * Buffer 0 holds D (for the step callback); buffers 1..order are a ring of d.
 */
#include "sampler_internal.h"

/* c[j] = integral over [sig[0], s_next] of the Lagrange basis polynomial j
 * through the nodes sig[0..m-1] (sig[0] the newest). */
static void lms_coeffs(int m, const double *sig, double s_next, double *c) {
    double H = s_next - sig[0];
    for (int j = 0; j < m; j++) {
        double poly[4] = {1, 0, 0, 0}; /* coefficients in u = tau - sig[0] */
        int deg = 0;
        double den = 1;
        for (int k = 0; k < m; k++) {
            if (k == j) continue;
            double uk = sig[k] - sig[0];
            /* poly *= (u - uk) */
            for (int e = deg + 1; e > 0; e--) poly[e] = poly[e - 1] - uk * poly[e];
            poly[0] = -uk * poly[0];
            deg++;
            den *= sig[j] - sig[k];
        }
        double integral = 0, hp = H;
        for (int e = 0; e <= deg; e++) {
            integral += poly[e] * hp / (double)(e + 1);
            hp *= H;
        }
        c[j] = integral / den;
    }
}

static int lms_nbuf(const sgm_sampler_config *c) { return 1 + (c->order > 0 ? c->order : 4); }

static sgm_status lms_validate(const sgm_sampler_config *c, sgm_error *err) {
    if (c->order < 0 || c->order > 4)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "lms: order must be 1..4 (got %d)", c->order);
    return SGM_OK;
}

static sgm_status lms_step(sgm__s *s, void *x) {
    int order = s->cfg.order > 0 ? s->cfg.order : 4;
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    void *D = s->buf[0];
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    int slot = sgm__hist_slot(s, 1, order);
    /* d = (x - D) / s */
    sgm__lc2(s, s->buf[slot], 1 / p.s, x, -1 / p.s, D);
    sgm__hist_push(s, slot, p.s, order);
    int m = s->hn;
    double c[5];
    const void *in[5];
    lms_coeffs(m, s->hs, q.s, c + 1);
    c[0] = 1;
    in[0] = x;
    for (int j = 0; j < m; j++) in[j + 1] = s->buf[s->ibuf[j]];
    sgm__lc(s, x, m + 1, c, in);
    s->i++;
    return SGM_OK;
}

const sgm__method sgm__m_lms = {
    {"lms", "k_lms,lms_discrete",
     "linear multistep on d = (x - D)/sigma, order up to 4", 4, 0, 0},
    NULL, lms_validate, lms_nbuf, NULL, lms_step};
