/* dpm_solver_v3.c - DPM-Solver-v3 (Zheng et al. 2023, "DPM-Solver-v3:
 * Improved Diffusion ODE Solver with Empirical Model Statistics", NeurIPS;
 * the multistep predictor, the pseudo-order predictor and the (pseudo-order)
 * corrector as thu-ml/DPM-Solver-v3 dpm_solver_v3.py codes them).
 *
 * In VE coordinates (x~ = x / alpha, lambda = -log s) the model enters
 * through f = (1 - l) x~ - D (the reference's (sigma eps - l x) / alpha) with
 * the empirical model statistics l, s, b (per dimension, functions of
 * lambda; sgm_sampler_set_ems). With origin at the step's start lambda_s:
 *   L(u) = int_s^u l,  S(u) = int_s^u s,  B(u) = int_s^u e^{-S} b,
 *   g(u) = e^{-S(u)} f(u) - B(u),
 *   x~_t = e^{-L_t} [ x~_s - I_t g_s - C_t - sum_n E_n,t g^(n) ],
 *   I = int e^{L+S},  C = int e^{L+S} B,  E_n = int e^{L+S} (u - lambda_s)^n / n!
 * (the reference's formula with its cumulative integrals shifted to start at
 * lambda_s, which leaves every term unchanged). g^(n) are estimated from the
 * g of the previous points: a Taylor fit (Vandermonde solve) or, pseudo, the
 * Newton divided differences times n!. The integrals are solved as one small
 * ODE system by RK4 on 64 sub-steps per segment (the reference takes
 * trapezoid sums on its EMS grid and snaps the schedule to it); without
 * statistics (l = 1, s = b = 0) they are closed forms, e^{-L_t} I_t =
 * 1 - e^{-h}, e^{-L_t} E_n = h^(n+1) phi_(n+1)(-h), and the method is
 * DPM-Solver++ multistep in its 'taylor' form (Appendix A.2 of the paper).
 *
 * Sequence per schedule point (as the reference's sample loop): evaluate D,
 * store f; if the corrector is on and the previous predictor step had order
 * p with p + c_pseudo > 1, redo the previous step from x at the previous
 * point with the new f included (order p + c_pseudo, points [prev, current,
 * older]) and keep f fixed at the corrected x (no extra evaluation); then the
 * predictor of order min(step, order) (lower_order_final: also <= steps
 * left) to the next point. A step to sigma = 0 returns D.
 */
#include <stdlib.h>
#include <string.h>

#include "sampler_internal.h"

#define V3_RING 4    /* f at the latest points: order 3 + pseudo corrector */
#define V3_SUB 64    /* RK4 sub-steps per integral */
enum { B_XP = V3_RING, B_D, N_BUF };

typedef struct v3_state {
    int ring[V3_RING]; /* buffer of f, newest first */
    double lam[V3_RING];
    int n;             /* entries in use */
    int p_order;       /* order of the last predictor step (0: none) */
    double lam_prev;   /* lambda of the point the last predictor started at */
    double *cf;        /* [(V3_RING + 2) d] per-dimension coefficients */
} v3_state;

static int v3_nbuf(const sgm_sampler_config *c) {
    (void)c;
    return N_BUF;
}

static void v3_defaults(sgm_sampler_config *c) {
    c->lower_order_final = SGM_LOF_DPMSOLVER;
    c->v3_predictor_pseudo = 0;
    c->v3_corrector = 1;
    c->v3_corrector_pseudo = 1;
}

static sgm_status v3_validate(const sgm_sampler_config *c, sgm_error *err) {
    if (c->order < 1 || c->order > 3)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "dpm_solver_v3: order must be in 1..3 (got %d)",
                         c->order);
    if ((c->v3_predictor_pseudo | c->v3_corrector | c->v3_corrector_pseudo) & ~1)
        return sgm__fail(err, SGM_ERR_INVALID_ARG,
                         "dpm_solver_v3: v3_predictor_pseudo, v3_corrector and "
                         "v3_corrector_pseudo must be 0 or 1");
    return SGM_OK;
}

static sgm_status v3_begin(sgm__s *s, void *x) {
    (void)x;
    v3_state *V = calloc(1, sizeof *V + (V3_RING + 2) * s->d * sizeof(double));
    if (!V) return sgm__fail(s->err, SGM_ERR_NOMEM, "out of memory");
    V->cf = (double *)(V + 1);
    for (int i = 0; i < V3_RING; i++) V->ring[i] = i;
    s->mstate = V;
    return SGM_OK;
}

/* l, s, b of dimension j at lambda (linear in the grid; l = 1, s = b = 0 without) */
static void ems_at(const sgm__s *s, double lam, size_t j, double *l, double *sv, double *b) {
    if (!s->ems) {
        *l = 1, *sv = 0, *b = 0;
        return;
    }
    double u = (lam - s->ems_l0) / (s->ems_l1 - s->ems_l0) * (double)(s->ems_n - 1);
    if (!(u > 0)) u = 0;
    if (u > (double)(s->ems_n - 1)) u = (double)(s->ems_n - 1);
    size_t k = (size_t)u;
    if (k + 1 >= s->ems_n) k = s->ems_n - 2;
    double w = u - (double)k;
    const double *L = s->ems, *S = L + s->ems_n * s->d, *B = S + s->ems_n * s->d;
    size_t a = k * s->d + j, c = a + s->d;
    *l = (1 - w) * L[a] + w * L[c];
    *sv = (1 - w) * S[a] + w * S[c];
    *b = (1 - w) * B[a] + w * B[c];
}

/* phi_4(z) = (phi_3(z) - 1/6) / z, by its series near 0 */
static double phi4(double z) {
    if (fabs(z) < 0.05) {
        double t = 1.0 / 24, sum = t;
        for (int k = 1; k < 10; k++) sum += (t *= z / (k + 4));
        return sum;
    }
    return (sgm__phi3(z) - 1.0 / 6) / z;
}

/* Integrals of one dimension from lambda_s along a path to lambda_e, as the
 * ODE system y' = (l, s, e^{-S} b, e^{L+S}, e^{L+S} B, e^{L+S} (u - ls)^n / n!)
 * for y = (L, S, B, I, C, E_1..E_3) from 0, by classic RK4 on V3_SUB steps
 * (trapezoid sums would add an O(h^3 / V3_SUB^2) local error, a second-order
 * floor). Returns e^{-S(e)}, B(e), e^{-L(e)} and the e^{-L(e)}-scaled I, C, E. */
typedef struct v3_int {
    double eS, Bv, eL, I, C, E[3];
} v3_int;

enum { Y_L = 0, Y_S, Y_B, Y_I, Y_C, Y_E, N_Y = Y_E + 3 };

static void v3_rhs(const sgm__s *s, size_t j, double u, double ls, int ne, const double *y,
                   double *dy) {
    double l, sv, b;
    ems_at(s, u, j, &l, &sv, &b);
    double e = exp(y[Y_L] + y[Y_S]), v = u - ls, pw = 1;
    dy[Y_L] = l;
    dy[Y_S] = sv;
    dy[Y_B] = exp(-y[Y_S]) * b;
    dy[Y_I] = e;
    dy[Y_C] = e * y[Y_B];
    for (int n = 1; n <= 3; n++) {
        pw *= v / n;
        dy[Y_E + n - 1] = n <= ne ? e * pw : 0;
    }
}

static v3_int integrate(const sgm__s *s, size_t j, double ls, double le, int ne) {
    double y[N_Y] = {0}, k1[N_Y], k2[N_Y], k3[N_Y], k4[N_Y], t[N_Y];
    double dl = (le - ls) / V3_SUB;
    for (int k = 0; k < V3_SUB; k++) {
        double u = ls + dl * k;
        v3_rhs(s, j, u, ls, ne, y, k1);
        for (int q = 0; q < N_Y; q++) t[q] = y[q] + 0.5 * dl * k1[q];
        v3_rhs(s, j, u + 0.5 * dl, ls, ne, t, k2);
        for (int q = 0; q < N_Y; q++) t[q] = y[q] + 0.5 * dl * k2[q];
        v3_rhs(s, j, u + 0.5 * dl, ls, ne, t, k3);
        for (int q = 0; q < N_Y; q++) t[q] = y[q] + dl * k3[q];
        v3_rhs(s, j, u + dl, ls, ne, t, k4);
        for (int q = 0; q < N_Y; q++) y[q] += dl / 6 * (k1[q] + 2 * k2[q] + 2 * k3[q] + k4[q]);
    }
    v3_int r;
    r.eS = exp(-y[Y_S]);
    r.Bv = y[Y_B];
    r.eL = exp(-y[Y_L]);
    r.I = r.eL * y[Y_I];
    r.C = r.eL * y[Y_C];
    for (int n = 0; n < 3; n++) r.E[n] = r.eL * y[Y_E + n];
    return r;
}

/* Weights W[i][k]: g^(i) = sum_k W[i][k] g_k (i = 1..m, k = 0..m) from the
 * values at lam[0..m] (lam[0] the expansion point). */
static void deriv_weights(const double *lam, int m, int pseudo, double W[4][5]) {
    memset(W, 0, sizeof(double) * 4 * 5);
    if (pseudo) {
        /* Newton divided differences of each unit vector, times i! */
        for (int k = 0; k <= m; k++) {
            double Dd[5][5];
            for (int q = 0; q <= m; q++) Dd[0][q] = q == k;
            double fact = 1;
            for (int i = 1; i <= m; i++) {
                for (int q = 0; q + i <= m; q++)
                    Dd[i][q] = (Dd[i - 1][q] - Dd[i - 1][q + 1]) / (lam[q] - lam[q + i]);
                fact *= i;
                W[i - 1][k] = Dd[i][0] * fact;
            }
        }
        return;
    }
    /* Taylor fit: sum_i a_i (lam_q - lam_0)^i = g_q - g_0 (q = 1..m), g^(i) = i! a_i */
    double R[3][3], Ri[3][3];
    for (int q = 0; q < m; q++)
        for (int i = 0; i < m; i++) {
            R[q][i] = pow(lam[q + 1] - lam[0], i + 1);
            Ri[q][i] = q == i;
        }
    for (int c = 0; c < m; c++) { /* Gauss-Jordan with partial pivoting */
        int pvt = c;
        for (int q = c + 1; q < m; q++)
            if (fabs(R[q][c]) > fabs(R[pvt][c])) pvt = q;
        for (int i = 0; i < m; i++) {
            double t = R[c][i];
            R[c][i] = R[pvt][i], R[pvt][i] = t;
            t = Ri[c][i];
            Ri[c][i] = Ri[pvt][i], Ri[pvt][i] = t;
        }
        double piv = R[c][c];
        for (int i = 0; i < m; i++) R[c][i] /= piv, Ri[c][i] /= piv;
        for (int q = 0; q < m; q++)
            if (q != c) {
                double f = R[q][c];
                for (int i = 0; i < m; i++) R[q][i] -= f * R[c][i], Ri[q][i] -= f * Ri[c][i];
            }
    }
    double fact = 1;
    for (int i = 0; i < m; i++) {
        fact *= i + 1;
        double sum = 0;
        for (int q = 0; q < m; q++) {
            W[i][q + 1] = fact * Ri[i][q];
            sum += Ri[i][q];
        }
        W[i][0] = -fact * sum;
    }
}

/* out = the update from x_s at lam[0] to lam_t with the f of the points
 * lam[0..m] (buffers F[0..m]); out may alias xs. */
static void update(sgm__s *s, void *out, const void *xs, const double *lam, void *const *F,
                   int m, double lam_t, int pseudo) {
    v3_state *V = s->mstate;
    double W[4][5];
    if (m > 0) deriv_weights(lam, m, pseudo, W);
    size_t d = s->d;
    double *ce = V->cf, *c0 = ce + d, *ck = c0 + d; /* e^{-L_t}, constant, per point */
    double h = lam_t - lam[0];
    for (size_t j = 0; j < d; j++) {
        v3_int t;
        double eSk[V3_RING + 1], Bk[V3_RING + 1];
        if (!s->ems) {
            t.eL = exp(-h);
            t.I = -expm1(-h);
            t.C = 0;
            t.E[0] = h * h * sgm__phi2(-h);
            t.E[1] = h * h * h * sgm__phi3(-h);
            t.E[2] = h * h * h * h * phi4(-h);
            for (int k = 0; k <= m; k++) eSk[k] = 1, Bk[k] = 0;
        } else {
            t = integrate(s, j, lam[0], lam_t, m);
            eSk[0] = 1, Bk[0] = 0;
            for (int k = 1; k <= m; k++) {
                v3_int p = integrate(s, j, lam[0], lam[k], 0);
                eSk[k] = p.eS, Bk[k] = p.Bv;
            }
        }
        /* x_t = eL x_s - I g_0 - C - sum_i E_i sum_k W[i][k] g_k, g_k = eS_k f_k - B_k */
        ce[j] = t.eL;
        double cst = -t.C;
        for (int k = 0; k <= m; k++) {
            double w = k == 0 ? t.I : 0;
            for (int i = 0; i < m; i++) w += t.E[i] * W[i][k];
            ck[(size_t)k * d + j] = -w * eSk[k];
            cst += w * Bk[k];
        }
        c0[j] = cst;
    }
    for (size_t r = 0; r < s->n; r++)
        for (size_t j = 0; j < d; j++) {
            size_t q = r * d + j;
            double v = ce[j] * sgm__get(s, xs, q) + c0[j];
            for (int k = 0; k <= m; k++) v += ck[(size_t)k * d + j] * sgm__get(s, F[k], q);
            sgm__set(s, out, q, v);
        }
}

/* f = (1 - l(lam)) x - D */
static void make_f(sgm__s *s, void *f, const void *x, const void *D, double lam) {
    for (size_t r = 0; r < s->n; r++)
        for (size_t j = 0; j < s->d; j++) {
            double l, sv, b;
            ems_at(s, lam, j, &l, &sv, &b);
            size_t q = r * s->d + j;
            sgm__set(s, f, q, (1 - l) * sgm__get(s, x, q) - sgm__get(s, D, q));
        }
}

static sgm_status v3_step(sgm__s *s, void *x) {
    v3_state *V = s->mstate;
    const sgm_sampler_config *c = &s->cfg;
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    void *D = s->buf[B_D];
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    /* push f at p */
    int slot = V->ring[V3_RING - 1];
    for (int i = V3_RING - 1; i > 0; i--) V->ring[i] = V->ring[i - 1], V->lam[i] = V->lam[i - 1];
    V->ring[0] = slot;
    V->lam[0] = p.lambda;
    if (V->n < V3_RING) V->n++;
    make_f(s, s->buf[slot], x, D, p.lambda);

    /* corrector: redo the last step with f at p; f stays fixed at the new x */
    int co = V->p_order + c->v3_corrector_pseudo;
    if (c->v3_corrector && V->p_order > 0 && co > 1 && co <= V->n) {
        double lam[V3_RING];
        void *F[V3_RING];
        lam[0] = V->lam[1], F[0] = s->buf[V->ring[1]];
        lam[1] = V->lam[0], F[1] = s->buf[V->ring[0]];
        for (int k = 2; k < co; k++) lam[k] = V->lam[k], F[k] = s->buf[V->ring[k]];
        update(s, x, s->buf[B_XP], lam, F, co - 1, p.lambda, c->v3_corrector_pseudo);
    }
    if (q.s == 0) { /* D at the corrected x: (1 - l) x - f */
        make_f(s, D, x, s->buf[V->ring[0]], p.lambda);
        sgm__copy(s, x, D);
        s->i++;
        return SGM_OK;
    }
    int step = (int)s->k + 1, steps = (int)s->n_pts - 1;
    int po = step < c->order ? step : c->order;
    if (c->lower_order_final != SGM_LOF_NONE && po > steps + 1 - step) po = steps + 1 - step;
    if (po > V->n) po = V->n;
    if (po < 1) po = 1;
    double lam[V3_RING];
    void *F[V3_RING];
    for (int k = 0; k < po; k++) lam[k] = V->lam[k], F[k] = s->buf[V->ring[k]];
    sgm__copy(s, s->buf[B_XP], x);
    update(s, x, x, lam, F, po - 1, q.lambda, c->v3_predictor_pseudo);
    V->p_order = po;
    s->i++;
    return SGM_OK;
}

sgm_status sgm_sampler_set_ems(sgm_sampler *s, const sgm_dpmv3_ems *e, sgm_error *err) {
    if (!s) return sgm__fail(err, SGM_ERR_INVALID_ARG, "set_ems: no sampler");
    free(s->ems);
    s->ems = NULL;
    if (!e) return SGM_OK;
    if (e->n < 2 || e->d != s->d || !e->l || !e->s || !e->b ||
        !(e->lambda_first < e->lambda_last) || !isfinite(e->lambda_first) ||
        !isfinite(e->lambda_last))
        return sgm__fail(err, SGM_ERR_INVALID_ARG,
                         "dpm_solver_v3 statistics: need n >= 2 grid points, d = %zu values per "
                         "point and lambda_first < lambda_last (got n %zu, d %zu, %g..%g)",
                         s->d, e->n, e->d, e->lambda_first, e->lambda_last);
    size_t m = e->n * e->d;
    if (m > ((size_t)-1 / sizeof(double)) / 3)
        return sgm__fail(err, SGM_ERR_SHAPE, "dpm_solver_v3 statistics too large");
    double *blk = malloc(3 * m * sizeof(double));
    if (!blk) return sgm__fail(err, SGM_ERR_NOMEM, "out of memory");
    memcpy(blk, e->l, m * sizeof(double));
    memcpy(blk + m, e->s, m * sizeof(double));
    memcpy(blk + 2 * m, e->b, m * sizeof(double));
    for (size_t i = 0; i < 3 * m; i++)
        if (!isfinite(blk[i])) {
            free(blk);
            return sgm__fail(err, SGM_ERR_INVALID_ARG,
                             "dpm_solver_v3 statistics: value %zu of %s is not finite", i % m,
                             i < m ? "l" : i < 2 * m ? "s" : "b");
        }
    s->ems = blk;
    s->ems_n = e->n;
    s->ems_l0 = e->lambda_first;
    s->ems_l1 = e->lambda_last;
    return SGM_OK;
}

const sgm__method sgm__m_dpm_solver_v3 = {
    {"dpm_solver_v3", "dpmv3,dpm-solver-v3,dpmsolver_v3",
     "DPM-Solver-v3 multistep + pseudo-order corrector with empirical model statistics "
     "(Zheng et al. 2023; sgm_sampler_set_ems, none: l=1, s=b=0)", 3, 0, 0},
    v3_defaults, v3_validate, v3_nbuf, v3_begin, v3_step};
