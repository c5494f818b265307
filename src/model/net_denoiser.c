/* net_denoiser.c - a trained network (an sgm checkpoint) as an sgm_denoiser:
 * maps the sampler's query (x_t, t, alpha, sigma) to the network's input
 * (c_in x_t, c_noise = log(sigma/alpha)/4, as in training: sgm_train.h),
 * runs the MLP forward in chunks and returns the output with its
 * sgm_prediction; EDM preconditioning (Karras et al. 2022, eq. 7) is applied
 * here and reported as x0. Samples live in standardized units; 
 * sgm_net_unstandardize maps them back to data units. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../train/train_internal.h"

struct sgm_net {
    sgm_train_config cfg;
    sgm_process *proc;
    sgm_nn_mlp mlp;
    int d, max_batch;
    double *mean, *std;
    float *xin, *cn, *out;
};

void sgm_net_free(sgm_net *n) {
    if (!n) return;
    sgm_process_free(n->proc);
    sgm_nn_mlp_free(&n->mlp);
    free(n->mean), free(n->std), free(n->xin), free(n->cn), free(n->out);
    free(n);
}

sgm_status sgm_net_load(const char *path, int use_ema, int max_batch, sgm_net **out,
                        sgm_error *err) {
    *out = NULL;
    if (max_batch <= 0) max_batch = 4096;
    sgm_net *n = calloc(1, sizeof *n);
    if (!n) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    sgm_safetensors st;
    long step;
    double el;
    sgm_status rc = sgm__ckpt_read(path, &st, &n->cfg, &n->d, &n->mean, &n->std, &step, &el, err);
    if (rc != SGM_OK) {
        free(n);
        return rc;
    }
    n->max_batch = max_batch;
    sgm_nn_mlp_config mc = sgm__mlp_config(&n->cfg, n->d);
    if ((rc = sgm_process_create(&n->cfg.process, &n->proc, err)) != SGM_OK ||
        (rc = sgm_nn_mlp_init(&n->mlp, &mc, max_batch, 0, err)) != SGM_OK)
        goto fail;
    if ((rc = sgm__ckpt_tensors(&st, path, use_ema ? "ema" : "params", &n->mlp, n->mlp.params,
                                err)) != SGM_OK)
        goto fail;
    size_t B = (size_t)max_batch, D = (size_t)n->d;
    n->xin = sgm__calloc(B * D, sizeof(float));
    n->cn = sgm__calloc(B, sizeof(float));
    n->out = sgm__calloc(B * D, sizeof(float));
    if (!n->xin || !n->cn || !n->out) {
        rc = sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    sgm_st_free(&st);
    *out = n;
    return SGM_OK;
fail:
    sgm_st_free(&st);
    sgm_net_free(n);
    return rc;
}

static sgm_prediction pred_of(sgm_param p) {
    switch (p) {
    case SGM_PARAM_EPS: return SGM_PRED_EPS;
    case SGM_PARAM_V: return SGM_PRED_V;
    case SGM_PARAM_FLOW: return SGM_PRED_FLOW;
    default: return SGM_PRED_X0;
    }
}

static int net_fn(const sgm_eval *q, void *outp, void *user) {
    sgm_net *n = user;
    size_t D = (size_t)n->d;
    if (q->d != D) return 1;
    const int f32 = q->dtype == SGM_F32;
    const float *xf = q->x;
    const double *xd = q->x;
    float *of = outp;
    double *od = outp;
    sgm_param p = n->cfg.param;
    if (!(q->sigma > 0)) { /* the data end: x0 = x; any eps / v / flow value converts to it */
        for (size_t i = 0; i < q->n * D; i++) {
            double v = (p == SGM_PARAM_X0 || p == SGM_PARAM_EDM) ? (f32 ? xf[i] : xd[i]) : 0;
            if (f32) of[i] = (float)v;
            else od[i] = v;
        }
        return 0;
    }
    double da = 0, ds = 0;
    if (p == SGM_PARAM_FLOW) {
        da = sgm_process_dalpha(n->proc, q->t);
        ds = sgm_process_dsigma(n->proc, q->t);
    }
    sgm__dsm_coef k = sgm__dsm_coefs(p, q->alpha, q->sigma, da, ds, n->cfg.sigma_data);
    if (!isfinite(k.c_noise) || !isfinite(k.c_in)) return 1;
    for (size_t r0 = 0; r0 < q->n; r0 += (size_t)n->max_batch) {
        size_t m = q->n - r0 < (size_t)n->max_batch ? q->n - r0 : (size_t)n->max_batch;
        for (size_t i = 0; i < m * D; i++)
            n->xin[i] = (float)(k.c_in * (f32 ? xf[r0 * D + i] : xd[r0 * D + i]));
        for (size_t i = 0; i < m; i++) n->cn[i] = (float)k.c_noise;
        if (sgm_nn_mlp_forward(&n->mlp, n->out, n->xin, n->cn, (int)m, NULL) != SGM_OK) return 1;
        for (size_t i = 0; i < m * D; i++) {
            double v = n->out[i];
            if (p == SGM_PARAM_EDM)
                v = k.c_skip * (f32 ? xf[r0 * D + i] : xd[r0 * D + i]) / q->alpha + k.c_out * v;
            if (f32) of[r0 * D + i] = (float)v;
            else od[r0 * D + i] = v;
        }
    }
    return 0;
}

sgm_denoiser sgm_net_denoiser(sgm_net *n) {
    sgm_denoiser d;
    d.fn = net_fn;
    d.user_data = n;
    d.prediction = pred_of(n->cfg.param);
    return d;
}

const sgm_process_config *sgm_net_process_config(const sgm_net *n) { return &n->cfg.process; }
size_t sgm_net_dim(const sgm_net *n) { return (size_t)n->d; }

sgm__net_parts sgm__net_get_parts(sgm_net *n) {
    sgm__net_parts p = {&n->mlp, &n->cfg, n->proc, n->d, n->max_batch, n->mean, n->std};
    return p;
}
sgm_param sgm_net_param(const sgm_net *n) { return n->cfg.param; }

void sgm_net_unstandardize(const sgm_net *n, size_t rows, sgm_dtype dt, void *x) {
    size_t D = (size_t)n->d;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < D; j++) {
            if (dt == SGM_F32) {
                float *p = (float *)x + i * D + j;
                *p = (float)(n->mean[j] + n->std[j] * *p);
            } else {
                double *p = (double *)x + i * D + j;
                *p = n->mean[j] + n->std[j] * *p;
            }
        }
}
