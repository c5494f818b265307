/* train_step.c - one step of denoising score matching (formulas in
 * sgm_train.h): draw rows, noise levels and noise from Philox streams that
 * depend only on (seed, step), build x_t and the parameterization's target
 * (Song et al. 2021 arXiv:2011.13456 eq. 7; Karras et al. 2022
 * arXiv:2206.00364 table 1 for EDM and the log-normal density; importance
 * sampling of t with density ~ g^2/sigma^2, Song et al. 2021 sec. 4 /
 * Huang et al. 2021), the weighted loss (likelihood weighting thm. 1,
 * min-SNR-gamma of Hang et al. 2023 arXiv:2303.09556, EDM eq. 8), the
 * network's forward and backward through sgm_net, clipping, Adam(W) with
 * warmup + cosine LR, and the EMA. Class labels are replaced by the null
 * class with probability label_dropout (Ho & Salimans 2022). The MR process
 * (restoration, Luo et al. 2023 arXiv:2301.11699) trains on y0 = x0 - mu
 * with the condition mu as extra input channels (sgm_train.h). */
#include <math.h>
#include <stdint.h>

#include "../core/internal.h"
#include "../model/model_internal.h"
#include "train_internal.h"

/* -2 d lambda / dt = 2 (sigma'/sigma - alpha'/alpha): the (unnormalised)
 * density of t when lambda is uniform; equals g^2/sigma^2 where g^2 is
 * consistent with the marginal (every continuous process) */
static double imp_density(const sgm_process *p, double t) {
    return 2 * (sgm_process_dsigma(p, t) / sgm_process_sigma(p, t) -
                sgm_process_dalpha(p, t) / sgm_process_alpha(p, t));
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

/* the gradient of the batch's loss (from dout) into the zeroed G */
static sgm_status backward(sgm_trainer *tr, int B, sgm_error *err) {
    sgm_nn_zero(tr->G, tr->np);
    return sgm_net_backward(tr->net, NULL, NULL, tr->dout, B, 1, err);
}

sgm_status sgm_trainer_step(sgm_trainer *tr, double *loss_out, sgm_error *err) {
    const sgm_train_config *c = &tr->cfg;
    /* this process's rows [r0, r0 + B) of the global batch (sgm_train_shard):
       every draw is at the row's global index */
    const sgm_grad_reduce_fn reduce = tr->shard.reduce;
    const int B = reduce ? tr->shard.rows : c->batch, D = tr->d;
    const uint64_t r0 = reduce ? (uint64_t)tr->shard.row0 : 0;
    const uint64_t ns = noise_seed(c->seed), st = (uint64_t)tr->step;
    sgm_rng_uniform_rows_f64(ns, 3 * st, r0, (size_t)B, 2, tr->u);
    sgm_rng_normal_rows_f64(ns, 3 * st + 1, r0, (size_t)B, (size_t)D, tr->gn);
    sgm_rng_normal_rows_f64(ns, 3 * st + 2, r0, (size_t)B, 1, tr->gl);
    if (tr->labels) /* label dropout: its own stream (the other draws stay as they were) */
        sgm_rng_uniform_rows_f64(ns ^ 0xD1B54A32D192ED03ull, st, r0, (size_t)B, 1, tr->ud);
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
        const size_t W = (size_t)D + tr->dc; /* input row: [c_in x_t, condition] */
        float *xi = tr->xin + (size_t)i * W, *tg = tr->tgt + (size_t)i * (size_t)D;
        if (tr->mu) { /* MR: y0 = x0 - mu, y_t = alpha y0 + sigma eps; input [c_in y_t, mu] */
            const float *mu = tr->mu + row * (size_t)D;
            for (int j = 0; j < D; j++) {
                double y0 = (double)z[j] - (double)mu[j];
                xi[j] = (float)(k.c_in * (al * y0 + sg * g[j]));
                xi[D + j] = mu[j];
                tg[j] = (float)(k.a_x0 * y0 + k.a_eps * g[j]);
            }
            continue;
        }
        for (int j = 0; j < D; j++) {
            double xt = al * z[j] + sg * g[j];
            xi[j] = (float)(k.c_in * xt);
            tg[j] = (float)(k.a_x0 * z[j] + k.a_eps * g[j]);
        }
    }
    sgm_status rc = sgm_net_forward(tr->net, tr->out, tr->xin, tr->cn, tr->lab, B, err);
    if (rc != SGM_OK) return rc;
    double loss = 0, scale = 1.0 / ((double)c->batch * (double)D); /* the global batch */
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
    size_t np = tr->np;
    if (reduce) { /* sharded: the sum over the processes comes before the
                     check, so that every process takes the same branch */
        if ((rc = backward(tr, B, err)) != SGM_OK) return rc;
        if (reduce(tr->G, np, &loss, tr->shard.user_data) != 0)
            return sgm__set_error(err, SGM_ERR_CALLBACK, "gradient all-reduce failed at step %ld",
                                  tr->step + 1);
    }
    if (loss_out) *loss_out = loss;
    if (!isfinite(loss))
        return sgm__set_error(err, SGM_ERR_NONFINITE,
                              "loss is %g at step %ld (diverged: lower the learning rate)", loss,
                              tr->step + 1);
    if (!reduce && (rc = backward(tr, B, err)) != SGM_OK) return rc;
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
    /* EMA warm-up (the usual min(decay, (1 + k) / (10 + k))): early
       averages forget the initialisation instead of carrying it for 1/(1-ema) steps */
    double kk = (double)tr->step, decay = c->ema;
    if (c->ema_warmup && (1 + kk) / (10 + kk) < decay) decay = (1 + kk) / (10 + kk);
    sgm_nn_ema_update(tr->ema, tr->P, np, decay);
    tr->ema_loss = tr->step == 0 ? loss : 0.99 * tr->ema_loss + 0.01 * loss;
    tr->step++;
    return SGM_OK;
}
