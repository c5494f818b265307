/* net_model.c - a trained network (an sgm checkpoint, sgm_ckpt.h) as an
 * sgm_denoiser (sgm_model.h): maps the sampler's query (x_t, t, alpha,
 * sigma) to the network's input (c_in x_t, c_noise = log(sigma/alpha)/4, as
 * in training: sgm_train.h), runs the network (sgm_net.h) forward in chunks and returns the output with
 * its sgm_prediction; EDM preconditioning (Karras et al. 2022, eq. 7) is
 * applied here and reported as x0. A class-conditional U-Net gets per-row
 * labels (default: the null class) and optional classifier-free guidance
 * F = (1 + w) F(x, c) - w F(x, null) (Ho & Salimans 2022, eq. 6; linear in
 * the output, so it holds for every parameterization). Samples live in
 * standardized units (mean 0, std 1 for images: no change); 
 * sgm_model_unstandardize maps them back to data units. A network with a
 * condition input (an MR restoration U-Net, sgm_net_cond_dim) gets row r's
 * condition (mu) from sgm_model_set_cond, mu[r % rows], after c_in x_t. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ckpt/ckpt_internal.h"
#include "../core/internal.h"
#include "../net/net_internal.h"
#include "model_internal.h"

struct sgm_model {
    sgm_train_config cfg;
    sgm_process *proc;
    sgm_net *net;
    int d, max_batch;
    size_t dc;             /* condition columns of the net's input (sgm_net_cond_dim) */
    float *cond;           /* [n_cond, dc] the condition rows (MR: mu), NULL: none */
    size_t n_cond;
    double *mean, *std;
    float *xin, *cn, *out, *out2;
    int *lab, *lab_null;   /* [max_batch] */
    int *labels;           /* [n_labels] query-row labels, NULL: null class */
    size_t n_labels;
    double guidance;
    /* the net's activations after net_fn's last chunk: its unconditional
       forward of tape_rows rows of xin (output in out), valid while the net's
       call count is still tape_calls; net_model_grad.c's vjp then runs the
       backward alone (sgm__model_tape) */
    int tape_rows;
    unsigned long long tape_calls;
    float *vjp_buf; /* [4 max_batch d] vjp scratch, allocated by the first vjp */
};

void sgm_model_free(sgm_model *n) {
    if (!n) return;
    sgm_process_free(n->proc);
    sgm_net_free(n->net);
    free(n->mean), free(n->std), free(n->xin), free(n->cn), free(n->out);
    free(n->out2), free(n->lab), free(n->lab_null), free(n->labels), free(n->vjp_buf);
    free(n->cond);
    free(n);
}

sgm_status sgm_model_load(const char *path, int use_ema, int max_batch, sgm_model **out,
                          sgm_error *err) {
    *out = NULL;
    sgm_model *n = calloc(1, sizeof *n);
    if (!n) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    sgm__ckpt ck;
    sgm_status rc = sgm__ckpt_load(path, &ck, err);
    if (rc != SGM_OK) {
        free(n);
        return rc;
    }
    n->cfg = ck.info.train;
    n->d = (int)ck.info.d;
    n->mean = ck.mean, n->std = ck.std; /* taken over */
    ck.mean = ck.std = NULL;
    if (max_batch <= 0) max_batch = sgm_net_default_chunk(n->cfg.net.arch);
    n->max_batch = max_batch;
    if ((rc = sgm_process_create(&n->cfg.process, &n->proc, err)) != SGM_OK ||
        (rc = sgm_net_create(&n->cfg.net, n->d, max_batch, 0, &n->net, err)) != SGM_OK ||
        (rc = sgm__ckpt_block(&ck, path, use_ema ? "ema" : "params", n->net,
                              sgm_net_params(n->net), err)) != SGM_OK)
        goto fail;
    size_t B = (size_t)max_batch, D = (size_t)n->d;
    n->dc = (size_t)sgm_net_cond_dim(n->net);
    n->xin = sgm__calloc(B * (D + n->dc), sizeof(float));
    n->cn = sgm__calloc(B, sizeof(float));
    n->out = sgm__calloc(B * D, sizeof(float));
    n->out2 = sgm__calloc(B * D, sizeof(float));
    n->lab = sgm__calloc(B, sizeof(int));
    n->lab_null = sgm__calloc(B, sizeof(int));
    if (!n->xin || !n->cn || !n->out || !n->out2 || !n->lab || !n->lab_null) {
        rc = sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < B; i++) n->lab[i] = n->lab_null[i] = SGM_UNET_NULL_LABEL;
    sgm__ckpt_free(&ck);
    *out = n;
    return SGM_OK;
fail:
    sgm__ckpt_free(&ck);
    sgm_model_free(n);
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
    sgm_model *n = user;
    size_t D = (size_t)n->d;
    if (q->d != D || (n->dc > 0 && !n->cond)) return 1; /* a condition net needs its rows */
    const size_t W = D + n->dc; /* input row: [c_in x_t, condition] */
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
        for (size_t i = 0; i < m; i++) {
            for (size_t j = 0; j < D; j++) {
                size_t s = (r0 + i) * D + j;
                n->xin[i * W + j] = (float)(k.c_in * (f32 ? xf[s] : xd[s]));
            }
            if (n->dc)
                memcpy(n->xin + i * W + D, n->cond + ((q->row0 + r0 + i) % n->n_cond) * n->dc,
                       n->dc * sizeof(float));
        }
        for (size_t i = 0; i < m; i++) n->cn[i] = (float)k.c_noise;
        int cond = 0;
        for (size_t i = 0; i < m; i++) {
            n->lab[i] = n->labels ? n->labels[(q->row0 + r0 + i) % n->n_labels]
                                  : SGM_UNET_NULL_LABEL;
            cond |= n->lab[i] != SGM_UNET_NULL_LABEL;
        }
        n->tape_rows = 0;
        if (sgm_net_forward(n->net, n->out, n->xin, n->cn, cond ? n->lab : NULL, (int)m, NULL) !=
            SGM_OK)
            return 1;
        if (!cond && !n->dc) n->tape_rows = (int)m, n->tape_calls = sgm__net_calls(n->net);
        if (cond && n->guidance != 0) { /* F = (1 + w) F_c - w F_null (per row) */
            if (sgm_net_forward(n->net, n->out2, n->xin, n->cn, n->lab_null, (int)m, NULL) !=
                SGM_OK)
                return 1;
            const double w = n->guidance;
            for (size_t i = 0; i < m; i++) {
                if (n->lab[i] == SGM_UNET_NULL_LABEL) continue;
                float *o = n->out + i * D;
                const float *u = n->out2 + i * D;
                for (size_t j = 0; j < D; j++)
                    o[j] = (float)((1 + w) * (double)o[j] - w * (double)u[j]);
            }
        }
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

sgm_denoiser sgm_model_denoiser(sgm_model *n) {
    sgm_denoiser d;
    d.fn = net_fn;
    d.user_data = n;
    d.prediction = pred_of(n->cfg.param);
    return d;
}

sgm_status sgm_model_set_labels(sgm_model *n, const int *labels, size_t count, double guidance,
                              sgm_error *err) {
    if (!isfinite(guidance))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "guidance %g is not finite", guidance);
    int K = sgm_model_n_classes(n);
    if (count > 0 && !labels) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "NULL labels");
    for (size_t i = 0; i < count; i++)
        if (labels[i] != SGM_UNET_NULL_LABEL && (labels[i] < 0 || labels[i] >= K))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "class %d: the network has %d classes (-1: the null class)",
                                  labels[i], K);
    int *l = NULL;
    if (count > 0 && K > 0) {
        l = malloc(count * sizeof(int));
        if (!l) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
        memcpy(l, labels, count * sizeof(int));
    }
    free(n->labels);
    n->labels = l;
    n->n_labels = l ? count : 0;
    n->guidance = guidance;
    return SGM_OK;
}

int sgm_model_n_classes(const sgm_model *n) { return sgm_net_n_classes(n->net); }

size_t sgm_model_cond_dim(const sgm_model *n) { return n->dc; }

sgm_status sgm_model_set_cond(sgm_model *n, const double *cond, size_t rows, sgm_error *err) {
    if (n->dc == 0)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "the network takes no condition");
    if (!cond || rows == 0)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "condition: need at least one row");
    float *c = malloc(rows * n->dc * sizeof *c);
    if (!c) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < rows * n->dc; i++) {
        if (!isfinite(cond[i])) {
            free(c);
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "condition: value %zu (row %zu) is not finite", i, i / n->dc);
        }
        c[i] = (float)cond[i];
    }
    free(n->cond);
    n->cond = c;
    n->n_cond = rows;
    return SGM_OK;
}

int sgm_model_image_shape(const sgm_model *n, int *c, int *h, int *w) {
    return sgm_net_image_shape(n->net, c, h, w);
}

sgm_net *sgm_model_net(sgm_model *n) { return n->net; }

const sgm_process_config *sgm_model_process_config(const sgm_model *n) { return &n->cfg.process; }
size_t sgm_model_dim(const sgm_model *n) { return (size_t)n->d; }

/* labels that are not all the null class, or a guidance weight on a
 * class-conditional network (ignored, as in net_fn, on an unconditional one) */
static int conditioned(const sgm_model *n, int *guided) {
    int lab = 0;
    for (size_t i = 0; i < n->n_labels; i++) lab |= n->labels[i] != SGM_UNET_NULL_LABEL;
    *guided = sgm_model_n_classes(n) > 0 && n->guidance != 0;
    return lab || *guided;
}

sgm_status sgm_model_density_check(const sgm_model *n, sgm_error *err) {
    int guided;
    if (n->dc > 0)
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                              "likelihood: the network takes a condition input (an MR "
                              "restoration model): its input derivatives are not available");
    if (!conditioned(n, &guided)) return SGM_OK;
    if (guided)
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                              "likelihood: classifier-free guidance (w = %g) is set: a guided "
                              "denoiser is not the score of a density; clear it with "
                              "sgm_model_set_labels(net, NULL, 0, 0)",
                              n->guidance);
    return sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                          "likelihood: class labels are set: the likelihood uses the "
                          "unconditional (null-class) model; clear them with "
                          "sgm_model_set_labels(net, NULL, 0, 0)");
}

sgm__model_tape sgm__model_get_tape(sgm_model *n) {
    sgm__model_tape t = {0, n->xin, n->cn, n->out, NULL};
    if (n->tape_rows > 0 && sgm__net_calls(n->net) == n->tape_calls) t.rows = n->tape_rows;
    if (!n->vjp_buf)
        n->vjp_buf = malloc((4 * (size_t)n->d + 1) * (size_t)n->max_batch * sizeof(float));
    t.scratch = n->vjp_buf;
    return t;
}

sgm__model_parts sgm__model_get_parts(sgm_model *n) {
    int guided;
    sgm__model_parts p = {n->net, &n->cfg, n->proc, n->d, n->max_batch,
                          n->mean, n->std, conditioned(n, &guided) || n->dc > 0};
    return p;
}
sgm_param sgm_model_param(const sgm_model *n) { return n->cfg.param; }

void sgm_model_unstandardize(const sgm_model *n, size_t rows, sgm_dtype dt, void *x) {
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
