/* net_unet.c - the U-Net of sgm_unet.h behind the network interface
 * (sgm_net.h): rows are images flattened in (C, H, W) order, optional class
 * labels (the null class -1 when NULL). Checkpoint keys: in_ch, out_ch,
 * image_height, image_width, base_ch, n_levels, mult, attn, mid_attn, n_res,
 * groups, heads, emb_dim, n_classes and the embedding convention
 * (unet_emb_*). in_ch > out_ch: the extra input channels are a condition
 * concatenated at the input (the degraded image mu of an MR restoration
 * model, as IR-SDE concatenates it): a row is (out_ch + cond, H, W) in,
 * (out_ch, H, W) out, and the net's d is out_ch H W. Tensors are written
 * flat (the PyTorch shape is implied by the name; see tools/ref/gen_unet.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../io/json_util.h"
#include "net_internal.h"

static sgm_unet *unet(const sgm_net *n) { return n->impl; }

static void config_default(sgm_net_config *c) { c->unet = sgm_unet_config_default(); }

static sgm_status create(sgm_net *n, uint64_t seed, sgm_error *err) {
    const sgm_unet_config *uc = &n->cfg.unet;
    const int oc = uc->out_ch ? uc->out_ch : uc->in_ch;
    if (uc->out_ch < 0 || uc->in_ch < oc)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "a denoising U-Net takes at least the channels it outputs "
                              "(in_ch %d, out_ch %d; extra input channels are a condition)",
                              uc->in_ch, uc->out_ch);
    if ((long)oc * uc->height * uc->width != n->d)
        return sgm__set_error(err, SGM_ERR_SHAPE,
                              "the U-Net outputs %d x %d x %d images but the data have %d columns",
                              oc, uc->height, uc->width, n->d);
    sgm_unet *u = calloc(1, sizeof *u);
    if (!u) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    sgm_status rc = sgm_unet_init(u, uc, n->max_batch, seed, err);
    if (rc != SGM_OK) {
        free(u);
        return rc;
    }
    n->cfg.unet = u->cfg; /* out_ch 0 resolved */
    sgm__net_adopt(n, u, u->n_params, u->params, u->grads, u->n_tensors);
    return SGM_OK;
}

static void destroy(sgm_net *n) {
    sgm_unet_free(unet(n));
    free(n->impl);
}

static void tensor(const sgm_net *n, int i, sgm_net_tensor *t) {
    const sgm_unet_tensor_info *x = &unet(n)->tensors[i];
    snprintf(t->name, sizeof t->name, "%s", x->name);
    t->off = x->off, t->count = x->count;
    t->ndim = 1, t->shape[0] = x->count;
}

static sgm_status forward(sgm_net *n, float *out, const float *x, const float *c,
                          const int *labels, int N, sgm_error *err) {
    return sgm_unet_forward(unet(n), out, x, c, labels, N, err);
}

static sgm_status backward(sgm_net *n, float *dx, float *dc, const float *dout, int N,
                           int param_grads, sgm_error *err) {
    return sgm_unet_backward(unet(n), dx, dc, dout, N, param_grads, err);
}

static int n_classes(const sgm_net *n) { return n->cfg.unet.n_classes; }

static int cond_dim(const sgm_net *n) {
    const sgm_unet_config *u = &n->cfg.unet;
    return (u->in_ch - u->out_ch) * u->height * u->width; /* out_ch resolved by create */
}

static int image_shape(const sgm_net *n, int *c, int *h, int *w) {
    if (c) *c = n->cfg.unet.out_ch; /* the data's channels (out_ch resolved by create) */
    if (h) *h = n->cfg.unet.height;
    if (w) *w = n->cfg.unet.width;
    return 1;
}

static int config_to_json(const sgm_net_config *c, cJSON *o) {
    int ok = 1;
    const sgm_unet_config *u = &c->unet;
    ok &= cJSON_AddNumberToObject(o, "in_ch", u->in_ch) != NULL;
    ok &= cJSON_AddNumberToObject(o, "out_ch", u->out_ch ? u->out_ch : u->in_ch) != NULL;
    ok &= cJSON_AddNumberToObject(o, "image_height", u->height) != NULL;
    ok &= cJSON_AddNumberToObject(o, "image_width", u->width) != NULL;
    ok &= cJSON_AddNumberToObject(o, "base_ch", u->base_ch) != NULL;
    ok &= cJSON_AddNumberToObject(o, "n_levels", u->n_levels) != NULL;
    cJSON *mu = cJSON_AddArrayToObject(o, "mult"), *at = cJSON_AddArrayToObject(o, "attn");
    for (int l = 0; l < u->n_levels && l < SGM_UNET_MAX_LEVELS; l++) {
        sgm__json_push_num(mu, u->mult[l], &ok);
        sgm__json_push_num(at, u->attn[l], &ok);
    }
    ok &= cJSON_AddNumberToObject(o, "mid_attn", u->mid_attn) != NULL;
    ok &= cJSON_AddNumberToObject(o, "n_res", u->n_res) != NULL;
    ok &= cJSON_AddNumberToObject(o, "groups", u->groups) != NULL;
    ok &= cJSON_AddNumberToObject(o, "heads", u->heads) != NULL;
    ok &= cJSON_AddNumberToObject(o, "emb_dim", u->emb_dim) != NULL;
    ok &= cJSON_AddNumberToObject(o, "n_classes", u->n_classes) != NULL;
    ok &= cJSON_AddNumberToObject(o, "unet_emb_flip_sin_to_cos", u->emb.flip_sin_to_cos) != NULL;
    ok &= cJSON_AddNumberToObject(o, "unet_emb_downscale_freq_shift", u->emb.downscale_freq_shift) != NULL;
    ok &= cJSON_AddNumberToObject(o, "unet_emb_scale", u->emb.scale) != NULL;
    ok &= cJSON_AddNumberToObject(o, "unet_emb_max_period", u->emb.max_period) != NULL;
    return ok ? 0 : -1;
}

static int config_from_json(const cJSON *o, int d, sgm_net_config *c) {
    sgm_unet_config *u = &c->unet;
    const long M = 1 << 20;
    long v[13];
    /* "height" / "width": the keys of the first U-Net checkpoints, which
       wrote them before the mlp's own "width" (so the first match is the
       image's) */
    int hw = (sgm__json_int(o, "image_height", 1, M, &v[2]) ||
              sgm__json_int(o, "height", 1, M, &v[2])) &&
             (sgm__json_int(o, "image_width", 1, M, &v[3]) || sgm__json_int(o, "width", 1, M, &v[3]));
    if (!hw || !sgm__json_int(o, "in_ch", 1, M, &v[0]) || !sgm__json_int(o, "out_ch", 0, M, &v[1]) ||
        !sgm__json_int(o, "base_ch", 1, M, &v[4]) ||
        !sgm__json_int(o, "n_levels", 1, SGM_UNET_MAX_LEVELS, &v[5]) ||
        !sgm__json_int(o, "mid_attn", 0, 1, &v[6]) || !sgm__json_int(o, "n_res", 1, M, &v[7]) ||
        !sgm__json_int(o, "groups", 1, M, &v[8]) || !sgm__json_int(o, "heads", 1, M, &v[9]) ||
        !sgm__json_int(o, "emb_dim", 0, M, &v[10]) || !sgm__json_int(o, "n_classes", 0, M, &v[11]) ||
        !sgm__json_int(o, "unet_emb_flip_sin_to_cos", 0, 1, &v[12]) ||
        !sgm__json_num(o, "unet_emb_downscale_freq_shift", &u->emb.downscale_freq_shift) ||
        !sgm__json_num(o, "unet_emb_scale", &u->emb.scale) ||
        !sgm__json_num(o, "unet_emb_max_period", &u->emb.max_period))
        return 1;
    u->in_ch = (int)v[0], u->out_ch = (int)v[1], u->height = (int)v[2], u->width = (int)v[3];
    u->base_ch = (int)v[4], u->n_levels = (int)v[5], u->mid_attn = (int)v[6];
    u->n_res = (int)v[7], u->groups = (int)v[8], u->heads = (int)v[9], u->emb_dim = (int)v[10];
    u->n_classes = (int)v[11];
    u->emb.flip_sin_to_cos = (int)v[12];
    int oc = u->out_ch ? u->out_ch : u->in_ch;
    if ((long)oc * u->height * u->width != d || u->in_ch < oc) return 1;
    const cJSON *mu = cJSON_GetObjectItemCaseSensitive(o, "mult"),
                *at = cJSON_GetObjectItemCaseSensitive(o, "attn");
    if (!cJSON_IsArray(mu) || !cJSON_IsArray(at) || cJSON_GetArraySize(mu) != u->n_levels ||
        cJSON_GetArraySize(at) != u->n_levels)
        return 1;
    for (int l = 0; l < u->n_levels; l++) {
        const cJSON *x = cJSON_GetArrayItem(mu, l), *y = cJSON_GetArrayItem(at, l);
        if (!cJSON_IsNumber(x) || !cJSON_IsNumber(y) || !(x->valuedouble >= 1 && x->valuedouble <= M) ||
            !(y->valuedouble >= 0 && y->valuedouble <= 1))
            return 1;
        u->mult[l] = (int)x->valuedouble, u->attn[l] = (int)y->valuedouble;
    }
    c->arch = SGM_ARCH_UNET;
    return 0;
}

static sgm_status set_precision(sgm_net *n, sgm_nn_precision p, sgm_error *err) {
    return sgm_unet_set_precision(unet(n), p, err);
}

const sgm__net_arch sgm__net_arch_unet = {SGM__NET_ARCH_ENTRY("unet", SGM_ARCH_UNET, 64),
                                          .set_precision = set_precision};
