/* net_model_grad.c - input derivatives of a trained network denoiser
 * (sgm_model_denoiser) for the likelihood solver (sgm_likelihood.h), and the
 * standardisation map with its log-determinant.
 *
 * The denoiser's raw output in standardized process coordinates is
 *   m(x) = F(c_in x, c_noise)                      (eps, x0, v, flow)
 *   m(x) = c_skip x / alpha + c_out F(c_in x, c_noise)   (EDM, reported as x0)
 * with the coefficients of training (sgm_train.h; Karras et al. 2022, eq. 7),
 * so the vector-Jacobian product with respect to x is
 *   v^T dm/dx = c_in (v^T dF/dx_in)                 and, for EDM,
 *   v^T dm/dx = c_in c_out (v^T dF/dx_in) + (c_skip / alpha) v,
 * where v^T dF/dx_in is the network's backward pass with upstream v and no
 * parameter gradients (sgm_net_backward, for any architecture of sgm_net.h),
 * in chunks of the net's max_batch rows, each backward right after the
 * forward of its chunk. The forward is skipped when the net still holds
 * the activations of this very chunk (same float input and noise input,
 * unconditional, no net call since): what a denoiser call at the same query
 * leaves for its last chunk (sgm__model_get_tape), so a denoiser call
 * followed by the vjp at that query (DPS, Pi-GDM: sgm_guidance.h) costs one
 * forward and one backward, with the same bits as a recomputed forward.
 * The chunks run last first for that reason. Scratch is the model's, no
 * allocation per call. At
 * sigma = 0 the denoiser returns its exact limit (x0 = x, or 0 for eps / v /
 * flow), whose VJP is v or 0.
 *
 * Class-conditional U-Nets: the VJP is that of the unconditional (null
 * class) model, the density the label dropout of training fits. With class
 * labels or classifier-free guidance set on the net (sgm_model_set_labels) it
 * refuses (code 4) instead: a guided output (1 + w) F(x, c) - w F(x, null)
 * is not the score of any density, and per-row labels would not even be
 * per-sample here (sgm_nll queries the d or K directions of one sample as
 * rows row0, row0 + 1, ..., which net_fn would give different labels);
 * sgm_model_density_check says why in words.
 *
 * Standardisation: the network models z = (x - mean) / std (per column), so
 * log p_data(x) = log p_std(z) - sum_j log std_j (change of variables with the
 * diagonal Jacobian 1 / std). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "model_internal.h"

void sgm_model_standardize(const sgm_model *n, size_t rows, sgm_dtype dt, void *x) {
    sgm__model_parts p = sgm__model_get_parts((sgm_model *)n);
    size_t D = (size_t)p.d;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < D; j++) {
            if (dt == SGM_F32) {
                float *e = (float *)x + i * D + j;
                *e = (float)((*e - p.mean[j]) / p.std[j]);
            } else {
                double *e = (double *)x + i * D + j;
                *e = (*e - p.mean[j]) / p.std[j];
            }
        }
}

double sgm_model_log_std_sum(const sgm_model *n) {
    sgm__model_parts p = sgm__model_get_parts((sgm_model *)n);
    double s = 0;
    for (int j = 0; j < p.d; j++) s += log(p.std[j]);
    return s;
}

/* vj[i] = v_i^T dm/dx (x_i), out[i] = m(x_i); f64 queries (the solver's). */
static int net_vjp(const sgm_eval *q, const double *v, double *out, double *vj, void *ud) {
    sgm__model_parts p = sgm__model_get_parts(ud);
    const size_t D = (size_t)p.d;
    if (q->d != D || q->dtype != SGM_F64) return 1;
    if (p.conditioned) return 4;
    const double *x = q->x;
    const sgm_param par = p.cfg->param;
    const int x0_like = par == SGM_PARAM_X0 || par == SGM_PARAM_EDM;
    if (!(q->sigma > 0)) { /* the exact limit of net_denoiser.c */
        for (size_t i = 0; i < q->n * D; i++) {
            out[i] = x0_like ? x[i] : 0;
            vj[i] = x0_like ? v[i] : 0;
        }
        return 0;
    }
    double da = 0, ds = 0;
    if (par == SGM_PARAM_FLOW) {
        da = sgm_process_dalpha(p.proc, q->t);
        ds = sgm_process_dsigma(p.proc, q->t);
    }
    sgm__dsm_coef k = sgm__dsm_coefs(par, q->alpha, q->sigma, da, ds, p.cfg->sigma_data);
    if (!isfinite(k.c_noise) || !isfinite(k.c_in)) return 1;
    const int edm = par == SGM_PARAM_EDM;
    const double c_out = edm ? k.c_out : 1, c_skip = edm ? k.c_skip / q->alpha : 0;
    const size_t B = (size_t)p.max_batch;
    sgm__model_tape tp = sgm__model_get_tape(ud);
    if (!tp.scratch) return 2;
    float *xin = tp.scratch, *fo = xin + B * D, *dout = fo + B * D, *dx = dout + B * D;
    float *cns = dx + B * D;
    const float cn = (float)k.c_noise;
    for (size_t i = 0; i < B; i++) cns[i] = cn;
    /* the last chunk first: it is the one whose activations a denoiser call
       at this query left on the net */
    size_t nchunks = (q->n + B - 1) / B;
    for (size_t ci = nchunks; ci-- > 0;) {
        size_t r0 = ci * B, m = q->n - r0 < B ? q->n - r0 : B;
        const double *xr = x + r0 * D, *vr = v + r0 * D;
        for (size_t i = 0; i < m * D; i++) {
            xin[i] = (float)(k.c_in * xr[i]);
            dout[i] = (float)(c_out * vr[i]);
        }
        int reuse = ci + 1 == nchunks && tp.rows == (int)m &&
                    memcmp(xin, tp.x, m * D * sizeof *xin) == 0;
        for (size_t i = 0; reuse && i < m; i++) reuse = memcmp(&tp.c[i], &cn, sizeof cn) == 0;
        const float *f = tp.out;
        if (!reuse) {
            /* labels NULL: the null class (unconditional) */
            if (sgm_net_forward(p.net, fo, xin, cns, NULL, (int)m, NULL) != SGM_OK) return 3;
            f = fo;
        }
        memset(dx, 0, m * D * sizeof *dx);
        if (sgm_net_backward(p.net, dx, NULL, dout, (int)m, 0, NULL) != SGM_OK) return 3;
        for (size_t i = 0; i < m * D; i++) {
            out[r0 * D + i] = c_skip * xr[i] + c_out * (double)f[i];
            vj[r0 * D + i] = k.c_in * (double)dx[i] + c_skip * vr[i];
        }
    }
    return 0;
}

sgm_denoiser_grad sgm_model_denoiser_grad(sgm_model *n) {
    sgm_denoiser_grad g;
    memset(&g, 0, sizeof g);
    g.vjp = net_vjp;
    g.user_data = n;
    return g;
}
