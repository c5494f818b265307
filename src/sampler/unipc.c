/* unipc.c - UniPC: the unified predictor-corrector of Zhao et al. 2023
 * (arXiv:2302.04867, Alg. 2 UniP-p and Alg. 1 UniC-p, B(h) = h "bh1" or
 * e^h - 1 "bh2"), as huggingface/diffusers v0.35.2
 * scheduling_unipc_multistep.py (multistep_uni_p_bh_update,
 * multistep_uni_c_bh_update, step).
 *
 * Data prediction (cfg.algorithm SGM_DPM_DATA, diffusers predict_x0 = True,
 * the default), in VE coordinates (x~ = x/alpha, s = e^-lambda), from point
 * s0 to t with h = lambda_t - lambda_s0, hh = -h:
 *   x~_t = e^-h x~_s0 + (1 - e^-h) m0 - B(hh) sum_k rho_k D1_k,
 * m the data predictions, D1_k = (m_k - m0)/r_k, r_k = (lambda_k - lambda_s0)/h,
 * rho from R rho = b with R_ij = r_j^i, b_i = i! h phi_{i+1}(hh) / B(hh)
 * (predictor: rho = 1/2 for order 2, the leading (p-1) system for order 3;
 * corrector: the full system with r = 1 for the new value, rho = 1/2 at
 * order 1). Noise prediction (SGM_DPM_NOISE, predict_x0 = False) uses eps
 * and hh = h: x~_t = x~_s0 - (s0 - s_t) m0 - s_t B(hh) sum_k rho_k D1_k.
 * The UniC corrector runs when the model has been evaluated at the point the
 * predictor reached, reusing that evaluation (no extra NFE); it refines the
 * state and the evaluation is kept in the history unchanged. cfg.n_corrector
 * = 0 disables it (UniP only). cfg.solver_type: SGM_SOLVER_BH1 or
 * SGM_SOLVER_BH2 (default).
 * Orders: cfg.order 1..3; step k uses at most k + 1 (warm-up);
 * lower_order_final SGM_LOF_DIFFUSERS (default, as diffusers' UniPC always)
 * caps the order at the number of steps left; SGM_LOF_DPMSOLVER does so only
 * for schedules under 10 steps. A step to s = 0 is first order: x = D (with
 * bh1 the higher-order terms are -inf * 0 there, which is why diffusers
 * returns NaN with a final sigma of 0; sgm stays finite).
 */
#include <math.h>
#include <stdlib.h>

#include "sampler_internal.h"

typedef struct unipc_state {
    int this_order; /* order of the last predictor step */
    int have_last;  /* last_sample holds the state before that step */
} unipc_state;

static void defaults(sgm_sampler_config *c) {
    c->order = 2;
    c->solver_type = SGM_SOLVER_BH2;
    c->lower_order_final = SGM_LOF_DIFFUSERS;
    c->algorithm = SGM_DPM_DATA;
}

static sgm_status validate(const sgm_sampler_config *c, sgm_error *err) {
    if (c->order < 1 || c->order > 3)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "unipc: order must be 1..3 (got %d)",
                         c->order);
    if (c->solver_type != SGM_SOLVER_BH1 && c->solver_type != SGM_SOLVER_BH2)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "unipc: solver_type must be bh1 or bh2");
    if (c->n_corrector < 0)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "unipc: n_corrector must be >= 0");
    return SGM_OK;
}

/* history ring of order + 1 model values (the corrector of an order-p step
 * needs p old values and the new one), then last_sample */
static int nbuf(const sgm_sampler_config *c) { return c->order + 2; }

static sgm_status begin(sgm__s *s, void *x) {
    (void)x;
    unipc_state *m = calloc(1, sizeof *m);
    if (!m) return sgm__fail(s->err, SGM_ERR_NOMEM, "out of memory");
    s->mstate = m;
    return SGM_OK;
}

/* solves A y = b (n <= 3) by Gaussian elimination with partial pivoting */
static void solve(int n, double A[3][3], double *b, double *y) {
    for (int c = 0; c < n; c++) {
        int piv = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(A[r][c]) > fabs(A[piv][c])) piv = r;
        if (piv != c) {
            for (int j = 0; j < n; j++) {
                double t = A[c][j];
                A[c][j] = A[piv][j];
                A[piv][j] = t;
            }
            double t = b[c];
            b[c] = b[piv];
            b[piv] = t;
        }
        for (int r = c + 1; r < n; r++) {
            double f = A[r][c] / A[c][c];
            for (int j = c; j < n; j++) A[r][j] -= f * A[c][j];
            b[r] -= f * b[c];
        }
    }
    for (int r = n - 1; r >= 0; r--) {
        double v = b[r];
        for (int j = r + 1; j < n; j++) v -= A[r][j] * y[j];
        y[r] = v / A[r][r];
    }
}

/* One UniP (corr = 0) or UniC (corr = 1) update of order k from (xs at
 * lambda0 = hs[0], history m0 = ibuf[0], m_j = ibuf[j]) to point t; for the
 * corrector mt is the model value at t. Writes out (may alias xs). */
static void uni_update(sgm__s *s, void *out, const void *xs, sgm__pt t, int k, int corr,
                       const void *mt) {
    int data = s->cfg.algorithm == SGM_DPM_DATA;
    double l0 = s->hs[0], s0 = exp(-l0);
    const void *m0 = s->buf[s->ibuf[0]];
    double c[6];
    const void *in[6];
    int n = 0;
    double ratio = t.s / s0; /* e^-h */
    if (data) {
        c[n] = ratio, in[n++] = xs;
        c[n] = 1 - ratio, in[n++] = m0;
    } else {
        c[n] = 1, in[n++] = xs;
        c[n] = -(s0 - t.s), in[n++] = m0;
    }
    int nk = corr ? k : k - 1; /* rho coefficients */
    if (nk > 0 && t.s > 0) {
        double h = t.lambda - l0, hh = data ? -h : h;
        double rks[3];
        for (int j = 1; j < k; j++) rks[j - 1] = (s->hs[j] - l0) / h;
        rks[k - 1] = 1;
        double hphi1 = expm1(hh), hphik = hphi1 / hh - 1, fact = 1;
        double Bh = s->cfg.solver_type == SGM_SOLVER_BH1 ? hh : expm1(hh);
        double R[3][3], b[3], rho[3];
        for (int i = 1; i <= k; i++) {
            for (int j = 0; j < k; j++) R[i - 1][j] = pow(rks[j], i - 1);
            b[i - 1] = hphik * fact / Bh;
            fact *= i + 1;
            hphik = hphik / hh - 1 / fact;
        }
        if (!corr) {
            if (k == 2) rho[0] = 0.5;
            else solve(k - 1, R, b, rho);
        } else {
            if (k == 1) rho[0] = 0.5;
            else solve(k, R, b, rho);
        }
        double K = data ? -Bh : -t.s * Bh; /* factor on sum_k rho_k D1_k */
        double c0 = 0;
        for (int j = 1; j < k; j++) { /* D1_j = (m_j - m0)/r_j */
            double w = K * rho[j - 1] / rks[j - 1];
            c[n] = w, in[n++] = s->buf[s->ibuf[j]];
            c0 -= w;
        }
        if (corr) { /* D1_t = mt - m0 */
            double w = K * rho[k - 1];
            c[n] = w, in[n++] = mt;
            c0 -= w;
        }
        c[1] += c0;
    }
    sgm__lc(s, out, n, c, in);
}

static int step_order(const sgm__s *s) {
    int k = s->cfg.order;
    size_t left = sgm__left(s), n_steps = s->n_pts - 1;
    if (s->cfg.lower_order_final == SGM_LOF_DIFFUSERS ||
        (s->cfg.lower_order_final == SGM_LOF_DPMSOLVER && n_steps < 10))
        if ((size_t)k > left) k = (int)left;
    /* warm-up: at most the model values in the history (s->k + 1 for a
     * plain start; after the pure-noise first step of sampler.c, s->k is 1
     * with one value in the history, and s->k + 1 read ibuf[1] = -1: a
     * buffer out of bounds and NaN, found by tests/test_endpoint_grid.c) */
    if (k > s->hn) k = s->hn;
    if (sgm__next(s).s == 0) k = 1;
    return k;
}

static sgm_status unipc_step(sgm__s *s, void *x) {
    unipc_state *m = s->mstate;
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    int depth = s->cfg.order + 1;
    void *last = s->buf[depth];
    int slot = sgm__hist_slot(s, 0, depth);
    void *mt = s->buf[slot];
    sgm_status st = sgm__denoise(s, x, p, mt);
    if (st) return st;
    if (s->cfg.algorithm != SGM_DPM_DATA) sgm__lc2(s, mt, 1 / p.s, x, -1 / p.s, mt);
    if (m->have_last && s->cfg.n_corrector > 0) uni_update(s, x, last, p, m->this_order, 1, mt);
    sgm__hist_push(s, slot, p.lambda, depth);
    int k = step_order(s);
    sgm__copy(s, last, x);
    m->have_last = 1;
    m->this_order = k;
    uni_update(s, x, x, q, k, 0, NULL);
    s->i++;
    return SGM_OK;
}

const sgm__method sgm__m_unipc = {
    {"unipc", "uni_pc,uni_pc_bh2,unipc_multistep",
     "UniPC predictor + UniC corrector (bh1/bh2), orders 1-3", 2, 0, 0},
    defaults, validate, nbuf, begin, unipc_step};
