/* ckpt_write.c - writes an sgm checkpoint (format in sgm_ckpt.h): the
 * network's named tensors in four blocks and the metadata that rebuilds the
 * trainer or the sampling model, every enumerated value by name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../io/json_util.h"
#include "../net/net_internal.h"
#include "ckpt_internal.h"

const char *const sgm__ckpt_blocks[SGM__CKPT_N_BLOCKS] = {"params", "ema", "adam_m", "adam_v"};

/* o, or NULL (o freed) when a cJSON_Add* failed (out of memory) */
static cJSON *json_done(cJSON *o, int ok) {
    if (ok) return o;
    cJSON_Delete(o);
    return NULL;
}

static cJSON *process_json(const sgm_process_config *p) {
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    ok &= cJSON_AddStringToObject(o, "kind", sgm_process_kind_name(p->kind)) != NULL;
    ok &= cJSON_AddNumberToObject(o, "sigma_min", p->sigma_min) != NULL;
    ok &= cJSON_AddNumberToObject(o, "sigma_max", p->sigma_max) != NULL;
    ok &= cJSON_AddNumberToObject(o, "beta_0", p->beta_0) != NULL;
    ok &= cJSON_AddNumberToObject(o, "beta_1", p->beta_1) != NULL;
    ok &= cJSON_AddNumberToObject(o, "cosine_s", p->cosine_s) != NULL;
    ok &= cJSON_AddNumberToObject(o, "t_eps", p->t_eps) != NULL;
    ok &= cJSON_AddNumberToObject(o, "t_max", p->t_max) != NULL;
    ok &= cJSON_AddStringToObject(o, "betas", sgm_beta_schedule_name(p->betas)) != NULL;
    ok &= cJSON_AddNumberToObject(o, "n_train", p->n_train) != NULL;
    ok &= cJSON_AddNumberToObject(o, "beta_start", p->beta_start) != NULL;
    ok &= cJSON_AddNumberToObject(o, "beta_end", p->beta_end) != NULL;
    ok &= cJSON_AddStringToObject(o, "interp", sgm_vp_interp_name(p->interp)) != NULL;
    ok &= cJSON_AddNumberToObject(o, "rescale_zero_snr", p->rescale_zero_snr) != NULL;
    ok &= cJSON_AddNumberToObject(o, "clip_lambda", p->clip_lambda) != NULL;
    if (p->kind == SGM_PROCESS_MR) { /* the mean-reverting process's own parameters */
        ok &= cJSON_AddNumberToObject(o, "mr_lambda", p->mr_lambda) != NULL;
        ok &= cJSON_AddNumberToObject(o, "mr_alpha_T", p->mr_alpha_T) != NULL;
        ok &= cJSON_AddStringToObject(o, "mr_theta", p->mr_theta == SGM_MR_THETA_CONSTANT
                                                         ? "constant"
                                                         : "cosine") != NULL;
    }
    return json_done(o, ok);
}

static cJSON *training_json(const sgm_train_config *c) {
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    ok &= cJSON_AddStringToObject(o, "prediction", sgm_param_name(c->param)) != NULL;
    ok &= cJSON_AddNumberToObject(o, "sigma_data", c->sigma_data) != NULL;
    ok &= cJSON_AddStringToObject(o, "weighting", sgm_weighting_name(c->weighting)) != NULL;
    ok &= cJSON_AddNumberToObject(o, "min_snr_gamma", c->min_snr_gamma) != NULL;
    ok &= cJSON_AddStringToObject(o, "t_sampling", sgm_tsampling_name(c->tsampling)) != NULL;
    ok &= cJSON_AddNumberToObject(o, "p_mean", c->p_mean) != NULL;
    ok &= cJSON_AddNumberToObject(o, "p_std", c->p_std) != NULL;
    ok &= cJSON_AddNumberToObject(o, "t_lo", c->t_lo) != NULL;
    ok &= cJSON_AddNumberToObject(o, "t_hi", c->t_hi) != NULL;
    ok &= cJSON_AddNumberToObject(o, "batch", c->batch) != NULL;
    ok &= cJSON_AddNumberToObject(o, "label_dropout", c->label_dropout) != NULL;
    if (c->degrade[0]) { /* MR restoration: how mu was made from the training images */
        char sb[32];
        snprintf(sb, sizeof sb, "%llu", (unsigned long long)c->degrade_seed);
        ok &= cJSON_AddStringToObject(o, "degrade", c->degrade) != NULL;
        ok &= cJSON_AddStringToObject(o, "degrade_seed", sb) != NULL;
    }
    return json_done(o, ok);
}

static cJSON *optimizer_json(const sgm_train_config *c) {
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    ok &= cJSON_AddStringToObject(o, "type", c->decoupled ? "adamw" : "adam") != NULL;
    ok &= cJSON_AddNumberToObject(o, "lr", c->lr) != NULL;
    ok &= cJSON_AddNumberToObject(o, "lr_min", c->lr_min) != NULL;
    ok &= cJSON_AddNumberToObject(o, "warmup", (double)c->warmup) != NULL;
    ok &= cJSON_AddNumberToObject(o, "lr_total", (double)c->lr_total) != NULL;
    ok &= cJSON_AddNumberToObject(o, "beta1", c->beta1) != NULL;
    ok &= cJSON_AddNumberToObject(o, "beta2", c->beta2) != NULL;
    ok &= cJSON_AddNumberToObject(o, "eps", c->adam_eps) != NULL;
    ok &= cJSON_AddNumberToObject(o, "weight_decay", c->weight_decay) != NULL;
    ok &= cJSON_AddNumberToObject(o, "clip", c->clip) != NULL;
    ok &= cJSON_AddNumberToObject(o, "ema", c->ema) != NULL;
    ok &= cJSON_AddNumberToObject(o, "ema_warmup", c->ema_warmup) != NULL;
    return json_done(o, ok);
}

static cJSON *stats_json(const double *mean, const double *std, int d, size_t rows) {
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    cJSON *mn = cJSON_AddArrayToObject(o, "mean"), *sdv = cJSON_AddArrayToObject(o, "std");
    for (int j = 0; j < d; j++) {
        sgm__json_push_num(mn, mean[j], &ok);
        sgm__json_push_num(sdv, std[j], &ok);
    }
    ok &= cJSON_AddNumberToObject(o, "rows", (double)rows) != NULL;
    return json_done(o, ok);
}

static cJSON *source_json(const sgm_train_config *c) {
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    ok &= cJSON_AddStringToObject(o, "spec", c->data_spec) != NULL;
    ok &= cJSON_AddNumberToObject(o, "n", (double)c->data_n) != NULL;
    char sb[32];
    snprintf(sb, sizeof sb, "%llu", (unsigned long long)c->data_seed);
    ok &= cJSON_AddStringToObject(o, "seed", sb) != NULL;
    return json_done(o, ok);
}

enum { META_ARCH_CFG, META_PROCESS, META_TRAINING, META_OPTIMIZER, META_STATS, META_RNG,
       META_STEP, META_EMA_LOSS, META_SOURCE, META_VERSION, META_SAMPLING, N_META_OWNED };

sgm_status sgm__ckpt_save(const char *path, const sgm__ckpt_state *s, sgm_error *err) {
    const sgm_train_config *c = s->cfg;
    const sgm_net *net = s->net;
    const int nt = sgm_net_n_tensors(net), d = sgm_net_dim(net);
    sgm_st_tensor *ts = calloc((size_t)nt * SGM__CKPT_N_BLOCKS, sizeof *ts);
    char *names = calloc((size_t)nt * SGM__CKPT_N_BLOCKS, 128);
    char *vals[N_META_OWNED] = {0};
    sgm_status rc = SGM_OK;
    if (!ts || !names) {
        rc = sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int b = 0; b < SGM__CKPT_N_BLOCKS; b++)
        for (int i = 0; i < nt; i++) {
            sgm_net_tensor info;
            if ((rc = sgm_net_tensor_info(net, i, &info, err)) != SGM_OK) goto done;
            sgm_st_tensor *x = &ts[b * nt + i];
            char *dst = names + (size_t)(b * nt + i) * 128;
            snprintf(dst, 128, "%s.%s", sgm__ckpt_blocks[b], info.name);
            x->name = dst;
            x->dtype = SGM_ST_F32;
            x->ndim = info.ndim;
            for (int k = 0; k < info.ndim; k++) x->shape[k] = info.shape[k];
            x->data = s->blocks[b] + info.off;
        }
    vals[META_ARCH_CFG] = sgm__json_take_string(sgm__net_config_to_json(sgm_net_get_config(net), d));
    vals[META_PROCESS] = sgm__json_take_string(process_json(&c->process));
    vals[META_TRAINING] = sgm__json_take_string(training_json(c));
    vals[META_OPTIMIZER] = sgm__json_take_string(optimizer_json(c));
    vals[META_STATS] = sgm__json_take_string(stats_json(s->mean, s->std, d, s->rows));
    vals[META_SOURCE] = sgm__json_take_string(source_json(c));
    sgm_ckpt_sampling smp;
    if ((rc = sgm_ckpt_sampling_default(c, &smp, err)) != SGM_OK) goto done;
    vals[META_SAMPLING] = sgm__json_take_string(sgm__ckpt_sampling_json(&smp));
    char buf[128];
    snprintf(buf, sizeof buf, "{\"generator\":\"philox4x32-10\",\"seed\":\"%llu\",\"step\":%ld}",
             (unsigned long long)c->seed, s->step);
    vals[META_RNG] = strdup(buf);
    snprintf(buf, sizeof buf, "%ld", s->step);
    vals[META_STEP] = strdup(buf);
    snprintf(buf, sizeof buf, "%.17g", s->ema_loss);
    vals[META_EMA_LOSS] = strdup(buf);
    snprintf(buf, sizeof buf, "%d.%d", SGM_CKPT_VERSION_MAJOR, SGM_CKPT_VERSION_MINOR);
    vals[META_VERSION] = strdup(buf);
    for (int i = 0; i < N_META_OWNED; i++)
        if (!vals[i]) {
            rc = sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
            goto done;
        }
    const char *keys[N_META_OWNED + 2] = {"arch_config", "process",  "training",    "optimizer",
                                          "data_stats",  "rng",      "step",        "ema_loss",
                                          "data_source", "format_version", "sampling",
                                          "format",      "arch"};
    const char *cv[N_META_OWNED + 2];
    for (int i = 0; i < N_META_OWNED; i++) cv[i] = vals[i];
    cv[N_META_OWNED] = SGM_CKPT_FORMAT;
    cv[N_META_OWNED + 1] = sgm_net_name(net);
    rc = sgm_st_save(path, ts, (size_t)nt * SGM__CKPT_N_BLOCKS, keys, cv, N_META_OWNED + 2, err);
done:
    for (int i = 0; i < N_META_OWNED; i++) free(vals[i]);
    free(ts);
    free(names);
    return rc;
}
