/* trainer.c - the trainer's life cycle (sgm_train.h): the default
 * configuration, validation, building the network (sgm_net.h) and the
 * standardized data z = (x - mean) / std, class labels, and checkpoints
 * through src/ckpt (save, and resume bit for bit). One step of training is
 * train_step.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ckpt/ckpt_internal.h"
#include "../core/internal.h"
#include "sgm/sgm_data.h"
#include "train_internal.h"

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
    /* MR restoration: t uniform, as IR-SDE draws its timesteps (Luo et al.
       2023); its terminal state mu + lambda n is far from the log-normal's
       noise levels when lambda is small */
    if (kind == SGM_PROCESS_MR) c.tsampling = SGM_TS_UNIFORM;
    c.net = sgm_net_config_default(SGM_ARCH_MLP);
    c.batch = 1024;
    /* cosine decay to 1e-5 over lr_total steps (sgm train: --steps): at
       full scale on the mixture family it took the 8-D member 2 from 0.339
       to 0.031 nats at 50 steps (docs/training-defaults.md); sgm train
       raises lr to 2e-3 for the mlp with EDM preconditioning, its default
       (sgm_train_config_for) */
    c.lr = 1e-3, c.lr_min = 1e-5, c.warmup = 100, c.lr_total = 0;
    sgm_nn_adam a = sgm_nn_adam_defaults(0);
    c.beta1 = a.beta1, c.beta2 = a.beta2, c.adam_eps = a.eps, c.weight_decay = a.weight_decay;
    c.decoupled = 0;
    c.clip = 1;
    c.ema = 0.999;
    c.ema_warmup = 1;
    c.seed = 0;
    c.label_dropout = 0.1;
    return c;
}

sgm_param sgm_train_param_default(sgm_arch arch, sgm_process_kind kind) {
    return arch == SGM_ARCH_MLP && kind != SGM_PROCESS_MR ? SGM_PARAM_EDM : SGM_PARAM_EPS;
}

sgm_train_config sgm_train_config_for(sgm_arch arch, sgm_process_kind kind, sgm_param param) {
    sgm_train_config c = sgm_train_config_default(kind, param);
    c.net = sgm_net_config_default(arch);
    /* the preconditioned mlp takes twice the library's rate: on the mixture
       family it cut the 20-step gap of the 8-D and 16-D members that still
       failed by 1.4-3.3x (member 3: 0.176 -> 0.054 nats) */
    if (arch == SGM_ARCH_MLP && param == SGM_PARAM_EDM && kind != SGM_PROCESS_MR) c.lr = 2e-3;
    return c;
}

/* ----------------------------------------------------------- trainer --- */

static sgm_status validate(const sgm_train_config *c, sgm_error *err) {
    if ((unsigned)c->param > 4 || (unsigned)c->weighting > 3 || (unsigned)c->tsampling > 2)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "bad parameterization/weighting/t-sampling");
    if (c->batch < 1) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "need batch >= 1");
    if (!(c->sigma_data > 0) || !(c->lr > 0) || !(c->ema >= 0 && c->ema < 1) ||
        !(c->p_std > 0) || c->warmup < 0 || !(c->clip >= 0))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "need sigma_data > 0, lr > 0, 0 <= ema < 1, p_std > 0, "
                              "warmup >= 0, clip >= 0");
    if (c->process.betas == SGM_BETAS_USER)
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED, "training with user betas");
    if (!(c->label_dropout >= 0 && c->label_dropout <= 1))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "label dropout %g outside [0, 1]",
                              c->label_dropout);
    const int mr = c->process.kind == SGM_PROCESS_MR;
    if (mr != (c->degrade[0] != 0))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              mr ? "the MR process needs a degradation (cfg.degrade) that makes "
                                   "the condition mu of each image"
                                 : "a degradation (cfg.degrade) applies to the MR process only");
    return SGM_OK;
}

/* MR (cfg.degrade): the condition mu of every row, degrade(x0), as float,
   and the check that the network takes it (U-Net: extra input channels;
   mlp: d_cond extra input columns); rows that are not images are degraded
   as 1 x 1 x d */
static sgm_status build_mu(sgm_trainer *t, const double *data, sgm_error *err) {
    const sgm_train_config *c = &t->cfg;
    int ic = 1, ih = 1, iw = t->d;
    size_t D = (size_t)t->d;
    sgm_net_image_shape(t->net, &ic, &ih, &iw);
    if ((size_t)sgm_net_cond_dim(t->net) != D)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "MR training: the network must take the condition mu as input "
                              "(U-Net: in_ch = 2 out_ch, got in_ch %d, out_ch %d; mlp: d_cond = "
                              "%d, got %d)",
                              c->net.unet.in_ch, c->net.unet.out_ch, t->d, c->net.mlp.d_cond);
    t->mu = sgm__calloc(t->rows * D, sizeof(float));
    double *buf = sgm__calloc(D, sizeof(double));
    sgm_status rc = (t->mu && buf) ? SGM_OK : sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == SGM_OK && i < t->rows; i++) {
        rc = sgm_degrade_apply(c->degrade, (size_t)ic, (size_t)ih, (size_t)iw, 1, data + i * D,
                               buf, c->degrade_seed, i, err);
        for (size_t j = 0; rc == SGM_OK && j < D; j++) {
            if (!isfinite(buf[j]))
                rc = sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                    "MR training: mu of row %zu is not finite", i);
            t->mu[i * D + j] = (float)((buf[j] - t->mean[j]) / t->std[j]);
        }
    }
    free(buf);
    return rc;
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
    if ((rc = sgm_net_create(&cfg->net, d, cfg->batch, cfg->seed, &t->net, err)) != SGM_OK)
        goto fail;
    t->cfg.net = *sgm_net_get_config(t->net);
    if (cfg->precision != SGM_NN_FP32 &&
        (rc = sgm_net_set_precision(t->net, cfg->precision, cfg->no_bf16, NULL, err)) != SGM_OK)
        goto fail;
    t->P = sgm_net_params(t->net), t->G = sgm_net_grads(t->net), t->np = sgm_net_n_params(t->net);
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
    t->dc = (size_t)sgm_net_cond_dim(t->net);
    t->xin = sgm__calloc(B * (D + t->dc), sizeof(float));
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
    } else if (sgm_net_image_shape(t->net, NULL, NULL, NULL)) {
        /* images in [-1, 1]: not standardized (sgm_train.h) */
        for (size_t j = 0; j < D; j++) t->mean[j] = 0, t->std[j] = 1;
    } else {
        sgm_data_stats(data, rows, D, t->mean, t->std);
    }
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < D; j++)
            t->z[i * D + j] = (float)((data[i * D + j] - t->mean[j]) / t->std[j]);
    if (cfg->degrade[0] && (rc = build_mu(t, data, err)) != SGM_OK) goto fail;
    /* training time range */
    if ((rc = sgm__train_t_range(cfg, t->proc, &t->t_lo, &t->t_hi, err)) != SGM_OK) goto fail;
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

sgm_nn_precision sgm_trainer_precision(const sgm_trainer *t) { return sgm_net_precision(t->net); }

void sgm_trainer_free(sgm_trainer *t) {
    if (!t) return;
    sgm_process_free(t->proc);
    sgm_net_free(t->net);
    free(t->labels), free(t->lab), free(t->ud), free(t->mu);
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
    int K = sgm_net_n_classes(t->net);
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
sgm_net *sgm_trainer_net(sgm_trainer *t) { return t->net; }
void sgm_trainer_set_total(sgm_trainer *t, long total) {
    if (t->cfg.lr_total == 0) t->cfg.lr_total = total;
}

sgm_status sgm_trainer_set_shard(sgm_trainer *t, const sgm_train_shard *s, sgm_error *err) {
    if (!s || !s->reduce || s->rows < 1 || s->row0 < 0 || s->row0 > t->cfg.batch - s->rows)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "shard: need a reduce function and 1 <= rows, row0 + rows <= batch %d",
                              t->cfg.batch);
    t->shard = *s;
    return SGM_OK;
}

/* -------------------------------------------------------- checkpoint --- */

sgm_status sgm_trainer_save(const sgm_trainer *t, const char *path, sgm_error *err) {
    sgm__ckpt_state s = {&t->cfg, t->net, t->mean, t->std, t->rows, t->step, t->ema_loss,
                         {t->P, t->ema, t->m, t->v}};
    return sgm__ckpt_save(path, &s, err);
}

sgm_status sgm_trainer_resume(const char *ckpt, const double *data, size_t rows, size_t cols,
                              sgm_trainer **out, sgm_error *err) {
    *out = NULL;
    sgm__ckpt ck;
    sgm_status rc = sgm__ckpt_load(ckpt, &ck, err);
    if (rc != SGM_OK) return rc;
    if (ck.info.d != cols) {
        rc = sgm__set_error(err, SGM_ERR_SHAPE,
                            "%s: the network takes %zu-dimensional data but the data have %zu "
                            "columns",
                            ckpt, ck.info.d, cols);
        goto done;
    }
    sgm_trainer *t;
    if ((rc = build(&ck.info.train, data, rows, (int)ck.info.d, ck.mean, ck.std, &t, err)) != SGM_OK)
        goto done;
    float *blocks[SGM__CKPT_N_BLOCKS] = {t->P, t->ema, t->m, t->v};
    for (int b = 0; b < SGM__CKPT_N_BLOCKS && rc == SGM_OK; b++)
        rc = sgm__ckpt_block(&ck, ckpt, sgm__ckpt_blocks[b], t->net, blocks[b], err);
    if (rc != SGM_OK) {
        sgm_trainer_free(t);
        goto done;
    }
    t->step = ck.info.step;
    t->ema_loss = ck.info.ema_loss;
    *out = t;
done:
    sgm__ckpt_free(&ck);
    return rc;
}
