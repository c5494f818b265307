/* train.c - denoising score matching for every process and parameterization
 * (formulas in sgm_train.h: Song et al. 2021 arXiv:2011.13456 eq. 7 and
 * thm. 1 for the likelihood weighting; Karras et al. 2022 arXiv:2206.00364
 * table 1 / eq. 7-8 for EDM preconditioning, lambda(sigma) and the
 * log-normal density; Salimans & Ho 2022 for v; Liu et al. 2022 for flow;
 * Hang et al. 2023 arXiv:2303.09556 for min-SNR-gamma) on the residual MLP
 * of sgm_nn.h or the U-Net of sgm_unet.h (images, optional class labels with
 * label dropout to the null class for classifier-free guidance, Ho & Salimans
 * 2022), with Adam(W), clipping, warmup + cosine LR and EMA, and the
 * safetensors checkpoint (params, ema, adam_m, adam_v tensors + metadata). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "train_internal.h"

/* ------------------------------------------------------------- names --- */

static const char *const param_names[] = {"eps", "x0", "v", "flow", "edm"};
static const char *const weight_names[] = {"uniform", "likelihood", "min_snr", "edm"};
static const char *const ts_names[] = {"uniform", "lognormal", "importance"};

static int find_name(const char *name, const char *const *tab, int n) {
    for (int i = 0; i < n; i++)
        if (sgm__name_eq(name, tab[i])) return i;
    return -1;
}
sgm_status sgm_param_from_name(const char *name, sgm_param *out) {
    int i = find_name(name, param_names, 5);
    if (i < 0 && (sgm__name_eq(name, "epsilon") || sgm__name_eq(name, "noise"))) i = 0;
    if (i < 0 && (sgm__name_eq(name, "data") || sgm__name_eq(name, "sample"))) i = 1;
    if (i < 0) return SGM_ERR_UNKNOWN_NAME;
    *out = (sgm_param)i;
    return SGM_OK;
}
const char *sgm_param_name(sgm_param p) { return (unsigned)p < 5 ? param_names[p] : "?"; }
sgm_status sgm_weighting_from_name(const char *name, sgm_weighting *out) {
    int i = find_name(name, weight_names, 4);
    if (i < 0 && (sgm__name_eq(name, "min-snr") || sgm__name_eq(name, "minsnr"))) i = 2;
    if (i < 0) return SGM_ERR_UNKNOWN_NAME;
    *out = (sgm_weighting)i;
    return SGM_OK;
}
const char *sgm_weighting_name(sgm_weighting w) { return (unsigned)w < 4 ? weight_names[w] : "?"; }
sgm_status sgm_tsampling_from_name(const char *name, sgm_tsampling *out) {
    int i = find_name(name, ts_names, 3);
    if (i < 0 && sgm__name_eq(name, "log-normal")) i = 1;
    if (i < 0) return SGM_ERR_UNKNOWN_NAME;
    *out = (sgm_tsampling)i;
    return SGM_OK;
}
const char *sgm_tsampling_name(sgm_tsampling t) { return (unsigned)t < 3 ? ts_names[t] : "?"; }

/* ------------------------------------------------------ coefficients --- */

sgm__dsm_coef sgm__dsm_coefs(sgm_param p, double alpha, double sigma, double dalpha,
                             double dsigma, double sd) {
    sgm__dsm_coef c;
    memset(&c, 0, sizeof c);
    c.c_in = 1 / sqrt(alpha * alpha * sd * sd + sigma * sigma);
    c.c_noise = log(sigma / alpha) / 4;
    double s = sigma / alpha;
    switch (p) {
    case SGM_PARAM_EPS: c.a_eps = 1, c.k = s; break;
    case SGM_PARAM_X0: c.a_x0 = 1, c.k = 1; break;
    case SGM_PARAM_V:
        c.a_x0 = -sigma, c.a_eps = alpha;
        c.k = sigma / (alpha * alpha + sigma * sigma);
        break;
    case SGM_PARAM_FLOW:
        c.a_x0 = dalpha, c.a_eps = dsigma;
        c.k = sigma / fabs(dsigma * alpha - sigma * dalpha);
        break;
    case SGM_PARAM_EDM:
    default:
        c.c_skip = sd * sd / (s * s + sd * sd);
        c.c_out = s * sd / sqrt(s * s + sd * sd);
        c.a_x0 = (1 - c.c_skip) / c.c_out;
        c.a_eps = -c.c_skip * s / c.c_out;
        c.k = c.c_out;
        break;
    }
    return c;
}

sgm_nn_mlp_config sgm__mlp_config(const sgm_train_config *cfg, int d) {
    sgm_nn_mlp_config m;
    m.d_in = d;
    m.d_emb = cfg->emb;
    m.width = cfg->width;
    m.n_blocks = cfg->depth;
    m.emb = sgm_nn_sinusoidal_defaults();
    m.emb.scale = cfg->emb_scale;
    return m;
}

sgm_train_config sgm_train_config_default(sgm_process_kind kind, sgm_param param) {
    sgm_train_config c;
    memset(&c, 0, sizeof c);
    c.process = sgm_process_config_default(kind);
    c.param = param;
    c.sigma_data = 1;
    c.weighting = SGM_WEIGHT_UNIFORM;
    c.min_snr_gamma = 5;
    /* log-normal for every process: on standardized data it spends the
       batch where the denoiser has structure to learn (uniform t in VP puts
       ~90% of it at SNR where D is nearly the mean); measured on the 2-D
       mixture of test_train_quality: mean log-density gap 0.5 nats with
       log-normal vs 14 nats with uniform t after 500-2000 steps */
    c.tsampling = SGM_TS_LOGNORMAL;
    c.p_mean = -1.2, c.p_std = 1.2;
    c.width = 256, c.depth = 4, c.emb = 128, c.emb_scale = 100;
    c.batch = 1024;
    c.lr = 1e-3, c.lr_min = -1, c.warmup = 100, c.lr_total = 0;
    sgm_nn_adam a = sgm_nn_adam_defaults(0);
    c.beta1 = a.beta1, c.beta2 = a.beta2, c.adam_eps = a.eps, c.weight_decay = a.weight_decay;
    c.decoupled = 0;
    c.clip = 1;
    c.ema = 0.999;
    c.seed = 0;
    c.arch = SGM_ARCH_MLP;
    c.unet = sgm_unet_config_default();
    c.label_dropout = 0.1;
    return c;
}

/* ----------------------------------------------------------- trainer --- */

struct sgm_trainer {
    sgm_train_config cfg;
    sgm_process *proc;
    sgm_nn_mlp mlp;
    sgm_unet unet;
    int is_unet;
    float *P, *G;     /* the network's parameters / gradients */
    size_t np;
    int *labels;      /* [rows] or NULL */
    int *lab;         /* [batch] labels of the step (U-Net) */
    double *ud;       /* [batch] label-dropout uniforms */
    float *ema, *m, *v;
    size_t rows;
    int d;
    float *z;
    double *mean, *std;
    long step;
    double ema_loss;
    double t_lo, t_hi;
    /* batch buffers */
    double *u, *gn, *gl;
    float *eps, *xin, *cn, *out, *tgt, *dout;
    double *w;
    double lam_lo, lam_hi; /* lambda(t_hi) < lambda(t_lo) */
};

/* -2 d lambda / dt = 2 (sigma'/sigma - alpha'/alpha): the (unnormalised)
 * density of t when lambda is uniform; equals g^2/sigma^2 where g^2 is
 * consistent with the marginal (every continuous process) */
static double imp_density(const sgm_process *p, double t) {
    return 2 * (sgm_process_dsigma(p, t) / sgm_process_sigma(p, t) -
                sgm_process_dalpha(p, t) / sgm_process_alpha(p, t));
}


static sgm_status validate(const sgm_train_config *c, sgm_error *err) {
    if ((unsigned)c->param > 4 || (unsigned)c->weighting > 3 || (unsigned)c->tsampling > 2)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "bad parameterization/weighting/t-sampling");
    if (c->width < 1 || c->depth < 0 || c->emb < 2 || c->batch < 1)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "need width >= 1, depth >= 0, emb >= 2, batch >= 1");
    if (!(c->sigma_data > 0) || !(c->lr > 0) || !(c->ema >= 0 && c->ema < 1) ||
        !(c->p_std > 0) || c->warmup < 0 || !(c->clip >= 0))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "need sigma_data > 0, lr > 0, 0 <= ema < 1, p_std > 0, "
                              "warmup >= 0, clip >= 0");
    if (c->process.betas == SGM_BETAS_USER)
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED, "training with user betas");
    if ((unsigned)c->arch > 1 || !(c->label_dropout >= 0 && c->label_dropout <= 1))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "bad architecture or label dropout");
    return SGM_OK;
}

static sgm_status build(const sgm_train_config *cfg, const double *data, size_t rows, int d,
                        const double *mean, const double *std, sgm_trainer **out,
                        sgm_error *err) {
    *out = NULL;
    sgm_status rc = validate(cfg, err);
    if (rc != SGM_OK) return rc;
    if (rows == 0 || d < 1) return sgm__set_error(err, SGM_ERR_SHAPE, "empty training data");
    sgm_trainer *t = calloc(1, sizeof *t);
    if (!t) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    t->cfg = *cfg;
    t->rows = rows;
    t->d = d;
    if ((rc = sgm_process_create(&cfg->process, &t->proc, err)) != SGM_OK) goto fail;
    if (cfg->arch == SGM_ARCH_UNET) {
        const sgm_unet_config *uc = &cfg->unet;
        if ((long)uc->in_ch * uc->height * uc->width != d) {
            rc = sgm__set_error(err, SGM_ERR_SHAPE,
                                "the U-Net takes %d x %d x %d images but the data have %d columns",
                                uc->in_ch, uc->height, uc->width, d);
            goto fail;
        }
        if ((rc = sgm_unet_init(&t->unet, uc, cfg->batch, cfg->seed, err)) != SGM_OK) goto fail;
        t->is_unet = 1;
        t->P = t->unet.params, t->G = t->unet.grads, t->np = t->unet.n_params;
    } else {
        sgm_nn_mlp_config mc = sgm__mlp_config(cfg, d);
        if ((rc = sgm_nn_mlp_init(&t->mlp, &mc, cfg->batch, cfg->seed, err)) != SGM_OK) goto fail;
        t->P = t->mlp.params, t->G = t->mlp.grads, t->np = t->mlp.n_params;
    }
    size_t np = t->np, B = (size_t)cfg->batch, D = (size_t)d;
    t->lab = sgm__calloc(B, sizeof(int));
    t->ud = sgm__calloc(B, sizeof(double));
    t->ema = malloc(np * sizeof(float));
    t->m = sgm__calloc(np, sizeof(float));
    t->v = sgm__calloc(np, sizeof(float));
    t->z = sgm__calloc(rows * D, sizeof(float));
    t->mean = sgm__calloc(D, sizeof(double));
    t->std = sgm__calloc(D, sizeof(double));
    t->u = sgm__calloc(B * 2, sizeof(double));
    t->gn = sgm__calloc(B * D, sizeof(double));
    t->gl = sgm__calloc(B, sizeof(double));
    t->w = sgm__calloc(B, sizeof(double));
    t->eps = sgm__calloc(B * D, sizeof(float));
    t->xin = sgm__calloc(B * D, sizeof(float));
    t->cn = sgm__calloc(B, sizeof(float));
    t->out = sgm__calloc(B * D, sizeof(float));
    t->tgt = sgm__calloc(B * D, sizeof(float));
    t->dout = sgm__calloc(B * D, sizeof(float));
    if (!t->ema || !t->m || !t->v || !t->z || !t->mean || !t->std || !t->u || !t->gn || !t->gl ||
        !t->w || !t->eps || !t->xin || !t->cn || !t->out || !t->tgt || !t->dout || !t->lab ||
        !t->ud) {
        rc = sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    memcpy(t->ema, t->P, np * sizeof(float));
    if (mean) {
        memcpy(t->mean, mean, D * sizeof(double));
        memcpy(t->std, std, D * sizeof(double));
    } else if (t->is_unet) { /* images in [-1, 1]: not standardized (sgm_train.h) */
        for (size_t j = 0; j < D; j++) t->mean[j] = 0, t->std[j] = 1;
    } else {
        sgm_data_stats(data, rows, D, t->mean, t->std);
    }
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < D; j++)
            t->z[i * D + j] = (float)((data[i * D + j] - t->mean[j]) / t->std[j]);
    /* training time range */
    t->t_lo = cfg->t_lo > 0 ? cfg->t_lo : sgm_process_t_min(t->proc);
    if (!(t->t_lo > 0)) t->t_lo = 1e-3;
    t->t_hi = cfg->t_hi > 0 ? cfg->t_hi : sgm_process_t_max(t->proc);
    if (cfg->process.kind == SGM_PROCESS_FLOW && t->t_hi > 1 - 1e-3) t->t_hi = 1 - 1e-3;
    if (!(t->t_hi > t->t_lo)) {
        rc = sgm__set_error(err, SGM_ERR_INVALID_ARG, "empty training time range [%g, %g]",
                            t->t_lo, t->t_hi);
        goto fail;
    }
    /* importance density q(t) ~ g^2 / sigma^2 = -2 d lambda / dt (g^2 = sigma^2
       d log(sigma^2 / alpha^2) / dt for every process): lambda uniform */
    t->lam_hi = sgm_process_lambda(t->proc, t->t_lo);
    t->lam_lo = sgm_process_lambda(t->proc, t->t_hi);
    if (cfg->tsampling == SGM_TS_IMPORTANCE &&
        !(isfinite(t->lam_hi) && isfinite(t->lam_lo) && t->lam_hi > t->lam_lo)) {
        rc = sgm__set_error(err, SGM_ERR_INVALID_ARG,
                            "importance sampling needs a finite lambda range on [%g, %g]", t->t_lo,
                            t->t_hi);
        goto fail;
    }
    *out = t;
    return SGM_OK;
fail:
    sgm_trainer_free(t);
    return rc;
}

sgm_status sgm_trainer_create(const sgm_train_config *cfg, const double *data, size_t rows,
                              size_t cols, sgm_trainer **out, sgm_error *err) {
    if (cols < 1 || cols > 1 << 20) return sgm__set_error(err, SGM_ERR_SHAPE, "bad data width");
    return build(cfg, data, rows, (int)cols, NULL, NULL, out, err);
}

void sgm_trainer_free(sgm_trainer *t) {
    if (!t) return;
    sgm_process_free(t->proc);
    if (t->is_unet) sgm_unet_free(&t->unet);
    else sgm_nn_mlp_free(&t->mlp);
    free(t->labels), free(t->lab), free(t->ud);
    free(t->ema), free(t->m), free(t->v), free(t->z), free(t->mean), free(t->std);
    free(t->u), free(t->gn), free(t->gl), free(t->w);
    free(t->eps), free(t->xin), free(t->cn), free(t->out), free(t->tgt), free(t->dout);
    free(t);
}

sgm_status sgm_trainer_set_labels(sgm_trainer *t, const int *labels, size_t rows,
                                  sgm_error *err) {
    if (rows != t->rows)
        return sgm__set_error(err, SGM_ERR_SHAPE, "%zu labels for %zu training rows", rows,
                              t->rows);
    int K = t->is_unet ? t->cfg.unet.n_classes : 0;
    if (K <= 0)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "the network has no class input");
    for (size_t i = 0; i < rows; i++)
        if (labels[i] < 0 || labels[i] >= K)
            return sgm__set_error(err, SGM_ERR_INVALID_ARG, "label %d of row %zu is outside [0, %d)",
                                  labels[i], i, K);
    int *l = malloc(rows * sizeof(int));
    if (!l) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    memcpy(l, labels, rows * sizeof(int));
    free(t->labels);
    t->labels = l;
    return SGM_OK;
}

long sgm_trainer_steps_done(const sgm_trainer *t) { return t->step; }
double sgm_trainer_ema_loss(const sgm_trainer *t) { return t->ema_loss; }
const sgm_train_config *sgm_trainer_config(const sgm_trainer *t) { return &t->cfg; }
void sgm_trainer_set_total(sgm_trainer *t, long total) {
    if (t->cfg.lr_total == 0) t->cfg.lr_total = total;
}

static double sample_t(const sgm_trainer *tr, double u, double g) {
    const sgm_train_config *c = &tr->cfg;
    double t;
    switch (c->tsampling) {
    case SGM_TS_LOGNORMAL: {
        double ls = c->p_mean + c->p_std * g; /* ln of the VE noise level */
        t = sgm_process_t_of_lambda(tr->proc, -ls);
        if (!(t >= tr->t_lo)) t = tr->t_lo; /* also catches NaN */
        if (t > tr->t_hi) t = tr->t_hi;
        return t;
    }
    case SGM_TS_IMPORTANCE: {
        t = sgm_process_t_of_lambda(tr->proc, tr->lam_lo + u * (tr->lam_hi - tr->lam_lo));
        if (!(t >= tr->t_lo)) t = tr->t_lo;
        if (t > tr->t_hi) t = tr->t_hi;
        return t;
    }
    default:
        return tr->t_lo + u * (tr->t_hi - tr->t_lo);
    }
}

/* the seed of the data / noise streams (the init uses cfg.seed directly) */
static uint64_t noise_seed(uint64_t seed) { return seed ^ 0x9E3779B97F4A7C15ull; }

sgm_status sgm_trainer_step(sgm_trainer *tr, double *loss_out, sgm_error *err) {
    const sgm_train_config *c = &tr->cfg;
    const int B = c->batch, D = tr->d;
    const uint64_t ns = noise_seed(c->seed), st = (uint64_t)tr->step;
    sgm_rng_uniform_rows_f64(ns, 3 * st, 0, (size_t)B, 2, tr->u);
    sgm_rng_normal_rows_f64(ns, 3 * st + 1, 0, (size_t)B, (size_t)D, tr->gn);
    sgm_rng_normal_rows_f64(ns, 3 * st + 2, 0, (size_t)B, 1, tr->gl);
    if (tr->is_unet) /* label dropout: its own stream (the mlp's draws stay as they were) */
        sgm_rng_uniform_rows_f64(ns ^ 0xD1B54A32D192ED03ull, st, 0, (size_t)B, 1, tr->ud);
    const double sd = c->sigma_data;
    for (int i = 0; i < B; i++) {
        size_t row = (size_t)(tr->u[2 * i] * (double)tr->rows);
        if (row >= tr->rows) row = tr->rows - 1;
        double t = sample_t(tr, tr->u[2 * i + 1], tr->gl[i]);
        double al = sgm_process_alpha(tr->proc, t), sg = sgm_process_sigma(tr->proc, t);
        double da = 0, ds = 0;
        if (c->param == SGM_PARAM_FLOW) {
            da = sgm_process_dalpha(tr->proc, t);
            ds = sgm_process_dsigma(tr->proc, t);
        }
        sgm__dsm_coef k = sgm__dsm_coefs(c->param, al, sg, da, ds, sd);
        double s = sg / al, w0; /* w0: weight on the x0-space error */
        switch (c->weighting) {
        case SGM_WEIGHT_LIKELIHOOD: w0 = sgm_process_g2(tr->proc, t) * al * al / (sg * sg * sg * sg); break;
        case SGM_WEIGHT_MIN_SNR: w0 = fmin(1 / (s * s), c->min_snr_gamma); break;
        case SGM_WEIGHT_EDM: w0 = (s * s + sd * sd) / (s * s * sd * sd); break;
        default: w0 = 0; break;
        }
        double w = c->weighting == SGM_WEIGHT_UNIFORM ? 1 : w0 * k.k * k.k;
        if (c->tsampling == SGM_TS_IMPORTANCE) w /= imp_density(tr->proc, t);
        tr->w[i] = w;
        tr->cn[i] = (float)k.c_noise;
        tr->lab[i] = (tr->labels && tr->ud[i] >= c->label_dropout) ? tr->labels[row]
                                                                   : SGM_UNET_NULL_LABEL;
        const float *z = tr->z + row * (size_t)D;
        const double *g = tr->gn + (size_t)i * (size_t)D;
        float *xi = tr->xin + (size_t)i * (size_t)D, *tg = tr->tgt + (size_t)i * (size_t)D;
        for (int j = 0; j < D; j++) {
            double xt = al * z[j] + sg * g[j];
            xi[j] = (float)(k.c_in * xt);
            tg[j] = (float)(k.a_x0 * z[j] + k.a_eps * g[j]);
        }
    }
    sgm_status rc = tr->is_unet
                        ? sgm_unet_forward(&tr->unet, tr->out, tr->xin, tr->cn, tr->lab, B, err)
                        : sgm_nn_mlp_forward(&tr->mlp, tr->out, tr->xin, tr->cn, B, err);
    if (rc != SGM_OK) return rc;
    double loss = 0, scale = 1.0 / ((double)B * (double)D);
    for (int i = 0; i < B; i++) {
        double li = 0;
        for (int j = 0; j < D; j++) {
            size_t q = (size_t)i * (size_t)D + (size_t)j;
            double e = (double)tr->out[q] - (double)tr->tgt[q];
            li += e * e;
            tr->dout[q] = (float)(2 * tr->w[i] * e * scale);
        }
        loss += tr->w[i] * li * scale;
    }
    if (loss_out) *loss_out = loss;
    if (!isfinite(loss))
        return sgm__set_error(err, SGM_ERR_NONFINITE,
                              "loss is %g at step %ld (diverged: lower the learning rate)", loss,
                              tr->step + 1);
    size_t np = tr->np;
    sgm_nn_zero(tr->G, np);
    rc = tr->is_unet ? sgm_unet_backward(&tr->unet, NULL, NULL, tr->dout, B, 1, err)
                     : sgm_nn_mlp_backward(&tr->mlp, NULL, NULL, tr->dout, B, 1, err);
    if (rc != SGM_OK) return rc;
    double gn = c->clip > 0 ? sgm_nn_clip_grad_norm(tr->G, np, c->clip)
                            : sgm_nn_grad_norm(tr->G, np);
    if (!isfinite(gn))
        return sgm__set_error(err, SGM_ERR_NONFINITE, "gradient norm is %g at step %ld", gn,
                              tr->step + 1);
    long total = c->lr_total > 0 ? c->lr_total : tr->step + 1;
    double lr_min = (c->lr_min < 0 || c->lr_total <= 0) ? c->lr : c->lr_min;
    double lr = sgm_nn_lr_warmup_cosine(tr->step, c->warmup, total, c->lr, lr_min);
    sgm_nn_adam a = {c->beta1, c->beta2, c->adam_eps, c->weight_decay, c->decoupled};
    sgm_nn_adam_step(tr->P, tr->G, tr->m, tr->v, np, lr, tr->step + 1, &a);
    /* a finite loss can still push the weights to inf (absurd lr): stop here,
       before such weights reach the EMA or a checkpoint */
    float acc = 0;
    for (size_t i = 0; i < np; i++) acc += 0 * tr->P[i];
    if (acc != 0 || !isfinite(acc))
        return sgm__set_error(err, SGM_ERR_NONFINITE,
                              "weights became non-finite at step %ld (diverged: lower the "
                              "learning rate)",
                              tr->step + 1);
    sgm_nn_ema_update(tr->ema, tr->P, np, c->ema);
    tr->ema_loss = tr->step == 0 ? loss : 0.99 * tr->ema_loss + 0.01 * loss;
    tr->step++;
    return SGM_OK;
}

/* -------------------------------------------------------- checkpoint --- */

static char *json_str(cJSON *o) {
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

sgm_status sgm_trainer_save(const sgm_trainer *tr, const char *path, sgm_error *err) {
    const sgm_train_config *c = &tr->cfg;
    const sgm_process_config *p = &c->process;
    int nt = tr->is_unet ? tr->unet.n_tensors : tr->mlp.n_tensors;
    sgm_st_tensor *ts = calloc((size_t)nt * 4, sizeof *ts);
    char *names = calloc((size_t)nt * 4, 96);
    char *vals[10] = {0};
    sgm_status rc = SGM_OK;
    if (!ts || !names) {
        rc = sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
        goto done;
    }
    static const char *const pre[4] = {"params", "ema", "adam_m", "adam_v"};
    const float *blk[4] = {tr->P, tr->ema, tr->m, tr->v};
    for (int b = 0; b < 4; b++)
        for (int i = 0; i < nt; i++) {
            char nm[80];
            size_t cnt, off;
            if (tr->is_unet) {
                snprintf(nm, sizeof nm, "%s", tr->unet.tensors[i].name);
                off = tr->unet.tensors[i].off, cnt = tr->unet.tensors[i].count;
            } else {
                off = sgm_nn_mlp_tensor(&tr->mlp, i, nm, sizeof nm, &cnt);
            }
            sgm_st_tensor *x = &ts[b * nt + i];
            char *dst = names + (size_t)(b * nt + i) * 96;
            snprintf(dst, 96, "%s.%s", pre[b], nm);
            x->name = dst;
            x->dtype = SGM_ST_F32;
            size_t len = strlen(nm);
            if (tr->is_unet) { /* flat (the PyTorch shape is implied by the name) */
                x->ndim = 1, x->shape[0] = cnt;
            } else if (len > 7 && strcmp(nm + len - 7, ".weight") == 0) {
                size_t r = strncmp(nm, "out.", 4) == 0 ? (size_t)tr->d : (size_t)c->width;
                x->ndim = 2, x->shape[0] = r, x->shape[1] = cnt / r;
            } else {
                x->ndim = 1, x->shape[0] = cnt;
            }
            x->data = blk[b] + off;
        }
    cJSON *a = cJSON_CreateObject();
    if (tr->is_unet) {
        const sgm_unet_config *u = &tr->unet.cfg;
        cJSON_AddNumberToObject(a, "in_ch", u->in_ch);
        cJSON_AddNumberToObject(a, "out_ch", u->out_ch);
        cJSON_AddNumberToObject(a, "image_height", u->height);
        cJSON_AddNumberToObject(a, "image_width", u->width);
        cJSON_AddNumberToObject(a, "base_ch", u->base_ch);
        cJSON_AddNumberToObject(a, "n_levels", u->n_levels);
        cJSON *mu = cJSON_AddArrayToObject(a, "mult"), *at = cJSON_AddArrayToObject(a, "attn");
        for (int l = 0; l < u->n_levels; l++) {
            cJSON_AddItemToArray(mu, cJSON_CreateNumber(u->mult[l]));
            cJSON_AddItemToArray(at, cJSON_CreateNumber(u->attn[l]));
        }
        cJSON_AddNumberToObject(a, "mid_attn", u->mid_attn);
        cJSON_AddNumberToObject(a, "n_res", u->n_res);
        cJSON_AddNumberToObject(a, "groups", u->groups);
        cJSON_AddNumberToObject(a, "heads", u->heads);
        cJSON_AddNumberToObject(a, "emb_dim", u->emb_dim);
        cJSON_AddNumberToObject(a, "n_classes", u->n_classes);
        cJSON_AddNumberToObject(a, "label_dropout", c->label_dropout);
        cJSON_AddNumberToObject(a, "unet_emb_flip_sin_to_cos", u->emb.flip_sin_to_cos);
        cJSON_AddNumberToObject(a, "unet_emb_downscale_freq_shift", u->emb.downscale_freq_shift);
        cJSON_AddNumberToObject(a, "unet_emb_scale", u->emb.scale);
        cJSON_AddNumberToObject(a, "unet_emb_max_period", u->emb.max_period);
    }
    cJSON_AddNumberToObject(a, "d_in", tr->d);
    cJSON_AddNumberToObject(a, "d_emb", c->emb);
    cJSON_AddNumberToObject(a, "width", c->width);
    cJSON_AddNumberToObject(a, "n_blocks", c->depth);
    cJSON_AddNumberToObject(a, "emb_scale", c->emb_scale);
    cJSON_AddNumberToObject(a, "emb_max_period", 10000);
    cJSON_AddNumberToObject(a, "emb_downscale_freq_shift", 1);
    cJSON_AddNumberToObject(a, "emb_flip_sin_to_cos", 0);
    vals[0] = json_str(a);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", sgm_process_kind_name(p->kind));
    cJSON_AddNumberToObject(o, "sigma_min", p->sigma_min);
    cJSON_AddNumberToObject(o, "sigma_max", p->sigma_max);
    cJSON_AddNumberToObject(o, "beta_0", p->beta_0);
    cJSON_AddNumberToObject(o, "beta_1", p->beta_1);
    cJSON_AddNumberToObject(o, "cosine_s", p->cosine_s);
    cJSON_AddNumberToObject(o, "t_eps", p->t_eps);
    cJSON_AddNumberToObject(o, "t_max", p->t_max);
    cJSON_AddNumberToObject(o, "betas", p->betas);
    cJSON_AddNumberToObject(o, "n_train", p->n_train);
    cJSON_AddNumberToObject(o, "beta_start", p->beta_start);
    cJSON_AddNumberToObject(o, "beta_end", p->beta_end);
    cJSON_AddNumberToObject(o, "interp", p->interp);
    cJSON_AddNumberToObject(o, "rescale_zero_snr", p->rescale_zero_snr);
    cJSON_AddNumberToObject(o, "clip_lambda", p->clip_lambda);
    vals[1] = json_str(o);
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "prediction", sgm_param_name(c->param));
    cJSON_AddNumberToObject(o, "sigma_data", c->sigma_data);
    cJSON_AddStringToObject(o, "weighting", sgm_weighting_name(c->weighting));
    cJSON_AddNumberToObject(o, "min_snr_gamma", c->min_snr_gamma);
    cJSON_AddStringToObject(o, "t_sampling", sgm_tsampling_name(c->tsampling));
    cJSON_AddNumberToObject(o, "p_mean", c->p_mean);
    cJSON_AddNumberToObject(o, "p_std", c->p_std);
    cJSON_AddNumberToObject(o, "t_lo", c->t_lo);
    cJSON_AddNumberToObject(o, "t_hi", c->t_hi);
    cJSON_AddNumberToObject(o, "batch", c->batch);
    vals[2] = json_str(o);
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", c->decoupled ? "adamw" : "adam");
    cJSON_AddNumberToObject(o, "lr", c->lr);
    cJSON_AddNumberToObject(o, "lr_min", c->lr_min);
    cJSON_AddNumberToObject(o, "warmup", (double)c->warmup);
    cJSON_AddNumberToObject(o, "lr_total", (double)c->lr_total);
    cJSON_AddNumberToObject(o, "beta1", c->beta1);
    cJSON_AddNumberToObject(o, "beta2", c->beta2);
    cJSON_AddNumberToObject(o, "eps", c->adam_eps);
    cJSON_AddNumberToObject(o, "weight_decay", c->weight_decay);
    cJSON_AddNumberToObject(o, "clip", c->clip);
    cJSON_AddNumberToObject(o, "ema", c->ema);
    vals[3] = json_str(o);
    o = cJSON_CreateObject();
    cJSON *mn = cJSON_AddArrayToObject(o, "mean"), *sdv = cJSON_AddArrayToObject(o, "std");
    for (int j = 0; j < tr->d; j++) {
        cJSON_AddItemToArray(mn, cJSON_CreateNumber(tr->mean[j]));
        cJSON_AddItemToArray(sdv, cJSON_CreateNumber(tr->std[j]));
    }
    cJSON_AddNumberToObject(o, "rows", (double)tr->rows);
    vals[4] = json_str(o);
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "spec", c->data_spec);
    cJSON_AddNumberToObject(o, "n", (double)c->data_n);
    char sb[32];
    snprintf(sb, sizeof sb, "%llu", (unsigned long long)c->data_seed);
    cJSON_AddStringToObject(o, "seed", sb);
    vals[8] = json_str(o);
    char buf[128];
    snprintf(buf, sizeof buf, "{\"generator\":\"philox4x32-10\",\"seed\":\"%llu\",\"step\":%ld}",
             (unsigned long long)c->seed, tr->step);
    vals[5] = strdup(buf);
    snprintf(buf, sizeof buf, "%ld", tr->step);
    vals[6] = strdup(buf);
    snprintf(buf, sizeof buf, "%.17g", tr->ema_loss);
    vals[7] = strdup(buf);
    for (int i = 0; i < 9; i++)
        if (!vals[i]) {
            rc = sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
            goto done;
        }
    const char *keys[11] = {"arch_config", "process", "training", "optimizer", "data_stats",
                            "rng", "step", "ema_loss", "data_source", "format", "arch"};
    const char *cv[11];
    for (int i = 0; i < 9; i++) cv[i] = vals[i];
    cv[9] = "sgm-checkpoint-1";
    cv[10] = tr->is_unet ? "unet" : "mlp";
    rc = sgm_st_save(path, ts, (size_t)nt * 4, keys, cv, 11, err);
done:
    for (int i = 0; i < 10; i++) free(vals[i]);
    free(ts);
    free(names);
    return rc;
}

static cJSON *meta_json(const sgm_safetensors *st, const char *key, const char *path,
                        sgm_error *err) {
    const char *s = sgm_st_meta(st, key);
    cJSON *o = s ? cJSON_Parse(s) : NULL;
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        sgm__set_error(err, SGM_ERR_FORMAT, "%s: metadata '%s' is missing or not JSON", path, key);
        return NULL;
    }
    return o;
}

static int num(const cJSON *o, const char *k, double *v) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(x)) return 0;
    *v = x->valuedouble;
    return 1;
}
static const char *str(const cJSON *o, const char *k) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* the U-Net fields of arch_config (see sgm_trainer_save); 0 on success */
static int unet_from_json(const cJSON *a, sgm_train_config *cfg, int d) {
    sgm_unet_config *u = &cfg->unet;
    double v[16];
    /* "height" / "width": the keys of the first U-Net checkpoints (written
       before the mlp's own "width", so the first match is the image's) */
    int hw = (num(a, "image_height", &v[2]) || num(a, "height", &v[2])) &&
             (num(a, "image_width", &v[3]) || num(a, "width", &v[3]));
    if (!num(a, "in_ch", &v[0]) || !num(a, "out_ch", &v[1]) || !hw || !num(a, "base_ch", &v[4]) || !num(a, "n_levels", &v[5]) ||
        !num(a, "mid_attn", &v[6]) || !num(a, "n_res", &v[7]) || !num(a, "groups", &v[8]) ||
        !num(a, "heads", &v[9]) || !num(a, "emb_dim", &v[10]) || !num(a, "n_classes", &v[11]) ||
        !num(a, "label_dropout", &cfg->label_dropout) ||
        !num(a, "unet_emb_flip_sin_to_cos", &v[12]) ||
        !num(a, "unet_emb_downscale_freq_shift", &u->emb.downscale_freq_shift) ||
        !num(a, "unet_emb_scale", &u->emb.scale) || !num(a, "unet_emb_max_period", &u->emb.max_period))
        return 1;
    for (int i = 0; i < 12; i++)
        if (!(v[i] >= 0 && v[i] <= 1 << 20)) return 1;
    u->in_ch = (int)v[0], u->out_ch = (int)v[1], u->height = (int)v[2], u->width = (int)v[3];
    u->base_ch = (int)v[4], u->n_levels = (int)v[5], u->mid_attn = (int)v[6];
    u->n_res = (int)v[7], u->groups = (int)v[8], u->heads = (int)v[9], u->emb_dim = (int)v[10];
    u->n_classes = (int)v[11];
    u->emb.flip_sin_to_cos = (int)v[12];
    if (u->n_levels < 1 || u->n_levels > SGM_UNET_MAX_LEVELS ||
        (long)u->in_ch * u->height * u->width != d)
        return 1;
    const cJSON *mu = cJSON_GetObjectItemCaseSensitive(a, "mult"),
                *at = cJSON_GetObjectItemCaseSensitive(a, "attn");
    if (!cJSON_IsArray(mu) || !cJSON_IsArray(at) || cJSON_GetArraySize(mu) != u->n_levels ||
        cJSON_GetArraySize(at) != u->n_levels)
        return 1;
    for (int l = 0; l < u->n_levels; l++) {
        const cJSON *x = cJSON_GetArrayItem(mu, l), *y = cJSON_GetArrayItem(at, l);
        if (!cJSON_IsNumber(x) || !cJSON_IsNumber(y)) return 1;
        u->mult[l] = (int)x->valuedouble, u->attn[l] = (int)y->valuedouble;
    }
    cfg->arch = SGM_ARCH_UNET;
    return 0;
}

sgm_status sgm__ckpt_read(const char *path, sgm_safetensors *st, sgm_train_config *cfg, int *d,
                          double **mean, double **std, long *step, double *ema_loss,
                          sgm_error *err) {
    *mean = *std = NULL;
    sgm_status rc = sgm_st_load(path, st, err);
    if (rc != SGM_OK) return rc;
    const char *fmt = sgm_st_meta(st, "format"), *arch = sgm_st_meta(st, "arch");
    if (!fmt || strcmp(fmt, "sgm-checkpoint-1") != 0) {
        sgm_st_free(st);
        return sgm__set_error(err, SGM_ERR_FORMAT, "%s: not an sgm checkpoint (format '%s')", path,
                              fmt ? fmt : "missing");
    }
    if (!arch || (strcmp(arch, "mlp") != 0 && strcmp(arch, "unet") != 0)) {
        sgm_st_free(st);
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                              "%s: architecture '%s' (this loader: mlp, unet)", path,
                              arch ? arch : "missing");
    }
    const int is_unet = strcmp(arch, "unet") == 0;
    cJSON *a = NULL, *p = NULL, *tr = NULL, *op = NULL, *ds = NULL, *rg = NULL;
    rc = SGM_ERR_FORMAT;
    if (!(a = meta_json(st, "arch_config", path, err)) || !(p = meta_json(st, "process", path, err)) ||
        !(tr = meta_json(st, "training", path, err)) ||
        !(op = meta_json(st, "optimizer", path, err)) ||
        !(ds = meta_json(st, "data_stats", path, err)) || !(rg = meta_json(st, "rng", path, err)))
        goto done;
    double v[16];
    sgm_process_kind kind;
    const char *kn = str(p, "kind");
    if (!kn || sgm_process_kind_from_name(kn, &kind) != SGM_OK) {
        sgm__set_error(err, SGM_ERR_FORMAT, "%s: bad process kind", path);
        goto done;
    }
    sgm_param par;
    sgm_weighting wt;
    sgm_tsampling tsm;
    const char *pn = str(tr, "prediction"), *wn = str(tr, "weighting"), *tn = str(tr, "t_sampling"),
               *seed = str(rg, "seed");
    if (!pn || sgm_param_from_name(pn, &par) || !wn || sgm_weighting_from_name(wn, &wt) || !tn ||
        sgm_tsampling_from_name(tn, &tsm) || !seed) {
        sgm__set_error(err, SGM_ERR_FORMAT, "%s: bad training metadata", path);
        goto done;
    }
    *cfg = sgm_train_config_default(kind, par);
    sgm_process_config *pc = &cfg->process;
    if (!num(p, "sigma_min", &pc->sigma_min) || !num(p, "sigma_max", &pc->sigma_max) ||
        !num(p, "beta_0", &pc->beta_0) || !num(p, "beta_1", &pc->beta_1) ||
        !num(p, "cosine_s", &pc->cosine_s) || !num(p, "t_eps", &pc->t_eps) ||
        !num(p, "t_max", &pc->t_max) || !num(p, "betas", &v[0]) || !num(p, "n_train", &v[1]) ||
        !num(p, "beta_start", &pc->beta_start) || !num(p, "beta_end", &pc->beta_end) ||
        !num(p, "interp", &v[2]) || !num(p, "rescale_zero_snr", &v[3]) ||
        !num(p, "clip_lambda", &v[4])) {
        sgm__set_error(err, SGM_ERR_FORMAT, "%s: incomplete process metadata", path);
        goto done;
    }
    pc->betas = (sgm_beta_schedule)(int)v[0];
    pc->n_train = (int)v[1];
    pc->interp = (sgm_vp_interp)(int)v[2];
    pc->rescale_zero_snr = (int)v[3];
    pc->clip_lambda = (int)v[4];
    cfg->weighting = wt;
    cfg->tsampling = tsm;
    double dd, de, dw, db, bt, wu, lt, dec = 0;
    if (!num(a, "d_in", &dd) || !num(a, "d_emb", &de) || !num(a, "width", &dw) ||
        !num(a, "n_blocks", &db) || !num(a, "emb_scale", &cfg->emb_scale) ||
        !num(tr, "sigma_data", &cfg->sigma_data) ||
        !num(tr, "min_snr_gamma", &cfg->min_snr_gamma) || !num(tr, "p_mean", &cfg->p_mean) ||
        !num(tr, "p_std", &cfg->p_std) || !num(tr, "t_lo", &cfg->t_lo) ||
        !num(tr, "t_hi", &cfg->t_hi) || !num(tr, "batch", &bt) || !num(op, "lr", &cfg->lr) ||
        !num(op, "lr_min", &cfg->lr_min) || !num(op, "warmup", &wu) ||
        !num(op, "lr_total", &lt) || !num(op, "beta1", &cfg->beta1) ||
        !num(op, "beta2", &cfg->beta2) || !num(op, "eps", &cfg->adam_eps) ||
        !num(op, "weight_decay", &cfg->weight_decay) || !num(op, "clip", &cfg->clip) ||
        !num(op, "ema", &cfg->ema) || !num(rg, "step", &v[5]) || dd < 1 || dd > 1 << 20 ||
        de < 2 || de > 1 << 16 || dw < 1 || dw > 1 << 16 || db < 0 || db > 100 || bt < 1 ||
        bt > 1 << 24) {
        sgm__set_error(err, SGM_ERR_FORMAT, "%s: incomplete or invalid architecture/optimizer metadata",
                       path);
        goto done;
    }
    const char *ty = str(op, "type");
    if (ty && strcmp(ty, "adamw") == 0) dec = 1;
    cfg->decoupled = (int)dec;
    cfg->emb = (int)de, cfg->width = (int)dw, cfg->depth = (int)db, cfg->batch = (int)bt;
    cfg->warmup = (long)wu, cfg->lr_total = (long)lt;
    cfg->seed = strtoull(seed, NULL, 10);
    *d = (int)dd;
    if (is_unet && unet_from_json(a, cfg, *d) != 0) {
        sgm__set_error(err, SGM_ERR_FORMAT, "%s: incomplete or invalid U-Net metadata", path);
        goto done;
    }
    *step = (long)v[5];
    const char *dsrc = sgm_st_meta(st, "data_source");
    cJSON *dj = dsrc ? cJSON_Parse(dsrc) : NULL;
    if (dj) {
        const char *sp = str(dj, "spec"), *sd = str(dj, "seed");
        double dn;
        if (sp) snprintf(cfg->data_spec, sizeof cfg->data_spec, "%s", sp);
        if (sd) cfg->data_seed = strtoull(sd, NULL, 10);
        if (num(dj, "n", &dn) && dn >= 0) cfg->data_n = (size_t)dn;
        cJSON_Delete(dj);
    }
    const char *el = sgm_st_meta(st, "ema_loss");
    *ema_loss = el ? strtod(el, NULL) : 0;
    const cJSON *mn = cJSON_GetObjectItemCaseSensitive(ds, "mean"),
                *sv = cJSON_GetObjectItemCaseSensitive(ds, "std");
    if (!cJSON_IsArray(mn) || !cJSON_IsArray(sv) || cJSON_GetArraySize(mn) != *d ||
        cJSON_GetArraySize(sv) != *d) {
        sgm__set_error(err, SGM_ERR_FORMAT, "%s: data statistics do not match d_in = %d", path, *d);
        goto done;
    }
    *mean = malloc((size_t)*d * sizeof(double));
    *std = malloc((size_t)*d * sizeof(double));
    if (!*mean || !*std) {
        rc = sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int j = 0; j < *d; j++) {
        (*mean)[j] = cJSON_GetArrayItem(mn, j)->valuedouble;
        (*std)[j] = cJSON_GetArrayItem(sv, j)->valuedouble;
    }
    rc = SGM_OK;
done:
    cJSON_Delete(a), cJSON_Delete(p), cJSON_Delete(tr), cJSON_Delete(op), cJSON_Delete(ds),
        cJSON_Delete(rg);
    if (rc != SGM_OK) {
        free(*mean), free(*std);
        *mean = *std = NULL;
        sgm_st_free(st);
    }
    return rc;
}

/* copies tensor PREFIX.NAME (float32, cnt values) into dst, or names the problem */
static sgm_status ckpt_tensor(const sgm_safetensors *st, const char *path, const char *prefix,
                              const char *name, size_t cnt, float *dst, sgm_error *err) {
    char full[128];
    snprintf(full, sizeof full, "%s.%s", prefix, name);
    const sgm_st_tensor *t = sgm_st_find(st, full);
    if (!t) return sgm__set_error(err, SGM_ERR_FORMAT, "%s: tensor '%s' is missing", path, full);
    size_t c = 1;
    for (int j = 0; j < t->ndim; j++) c *= t->shape[j];
    if (t->dtype != SGM_ST_F32 || c != cnt)
        return sgm__set_error(err, SGM_ERR_SHAPE,
                              "%s: tensor '%s' has %zu elements, the architecture needs %zu "
                              "float32",
                              path, full, c, cnt);
    memcpy(dst, t->data, cnt * sizeof(float));
    return SGM_OK;
}

sgm_status sgm__ckpt_tensors(const sgm_safetensors *st, const char *path, const char *prefix,
                             const sgm_nn_mlp *m, float *dst, sgm_error *err) {
    for (int i = 0; i < m->n_tensors; i++) {
        char nm[80];
        size_t cnt;
        size_t off = sgm_nn_mlp_tensor(m, i, nm, sizeof nm, &cnt);
        sgm_status r = ckpt_tensor(st, path, prefix, nm, cnt, dst + off, err);
        if (r) return r;
    }
    return SGM_OK;
}

sgm_status sgm__ckpt_tensors_unet(const sgm_safetensors *st, const char *path, const char *prefix,
                                  const sgm_unet *u, float *dst, sgm_error *err) {
    for (int i = 0; i < u->n_tensors; i++) {
        sgm_status r = ckpt_tensor(st, path, prefix, u->tensors[i].name, u->tensors[i].count,
                                   dst + u->tensors[i].off, err);
        if (r) return r;
    }
    return SGM_OK;
}

/* params / ema / adam tensors of either network into dst */
static sgm_status load_block(const sgm_trainer *t, const sgm_safetensors *st, const char *path,
                             const char *prefix, float *dst, sgm_error *err) {
    return t->is_unet ? sgm__ckpt_tensors_unet(st, path, prefix, &t->unet, dst, err)
                      : sgm__ckpt_tensors(st, path, prefix, &t->mlp, dst, err);
}

sgm_status sgm_trainer_resume(const char *ckpt, const double *data, size_t rows, size_t cols,
                              sgm_trainer **out, sgm_error *err) {
    *out = NULL;
    sgm_safetensors st;
    sgm_train_config cfg;
    int d;
    double *mean, *std, el;
    long step;
    sgm_status rc = sgm__ckpt_read(ckpt, &st, &cfg, &d, &mean, &std, &step, &el, err);
    if (rc != SGM_OK) return rc;
    if ((size_t)d != cols) {
        rc = sgm__set_error(err, SGM_ERR_SHAPE,
                            "%s: the network takes %d-dimensional data but the data have %zu "
                            "columns",
                            ckpt, d, cols);
        goto done;
    }
    sgm_trainer *t;
    if ((rc = build(&cfg, data, rows, d, mean, std, &t, err)) != SGM_OK) goto done;
    if ((rc = load_block(t, &st, ckpt, "params", t->P, err)) != SGM_OK ||
        (rc = load_block(t, &st, ckpt, "ema", t->ema, err)) != SGM_OK ||
        (rc = load_block(t, &st, ckpt, "adam_m", t->m, err)) != SGM_OK ||
        (rc = load_block(t, &st, ckpt, "adam_v", t->v, err)) != SGM_OK) {
        sgm_trainer_free(t);
        goto done;
    }
    t->step = step;
    t->ema_loss = el;
    *out = t;
done:
    free(mean), free(std);
    sgm_st_free(&st);
    return rc;
}

sgm_status sgm_ckpt_train_config(const char *path, sgm_train_config *cfg, size_t *d,
                                 sgm_error *err) {
    sgm_safetensors st;
    int dd;
    double *mean, *std, el;
    long step;
    sgm_status rc = sgm__ckpt_read(path, &st, cfg, &dd, &mean, &std, &step, &el, err);
    if (rc != SGM_OK) return rc;
    *d = (size_t)dd;
    free(mean), free(std);
    sgm_st_free(&st);
    return SGM_OK;
}
