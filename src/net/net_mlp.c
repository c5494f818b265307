/* net_mlp.c - the residual MLP of sgm_nn.h (sgm_nn_mlp) behind the network
 * interface (sgm_net.h): any row width, no class input. Checkpoint keys:
 * d_emb, width, n_blocks and the sinusoidal embedding (emb_scale,
 * emb_max_period, emb_downscale_freq_shift, emb_flip_sin_to_cos). Weights
 * are written as 2-D (out, in) tensors, PyTorch's nn.Linear layout.
 * d_cond > 0 (key "d_cond"): input rows [x, condition] (concatenated
 * features: an MR restoration model's mu), output d. */
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../io/json_util.h"
#include "net_internal.h"

static sgm_nn_mlp *mlp(const sgm_net *n) { return n->impl; }

static void config_default(sgm_net_config *c) {
    c->mlp.d_in = 0;
    c->mlp.d_emb = 128;
    c->mlp.width = 256;
    c->mlp.n_blocks = 4;
    c->mlp.emb = sgm_nn_sinusoidal_defaults();
    c->mlp.emb.scale = 100;
}

static sgm_status create(sgm_net *n, uint64_t seed, sgm_error *err) {
    const sgm_nn_mlp_config *c = &n->cfg.mlp;
    if (c->width < 1 || c->n_blocks < 0 || c->d_emb < 2 || c->d_cond < 0 || c->d_cond > 1 << 24)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "mlp: need width >= 1, depth >= 0, emb >= 2, 0 <= d_cond (got %d, "
                              "%d, %d, %d)",
                              c->width, c->n_blocks, c->d_emb, c->d_cond);
    sgm_nn_mlp *m = calloc(1, sizeof *m);
    if (!m) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    n->cfg.mlp.d_in = n->d;
    sgm_status rc = sgm_nn_mlp_init(m, &n->cfg.mlp, n->max_batch, seed, err);
    if (rc != SGM_OK) {
        free(m);
        return rc;
    }
    sgm__net_adopt(n, m, m->n_params, m->params, m->grads, m->n_tensors);
    return SGM_OK;
}

static void destroy(sgm_net *n) {
    sgm_nn_mlp_free(mlp(n));
    free(n->impl);
}

static void tensor(const sgm_net *n, int i, sgm_net_tensor *t) {
    const sgm_nn_mlp *m = mlp(n);
    t->off = sgm_nn_mlp_tensor(m, i, t->name, sizeof t->name, &t->count);
    size_t len = strlen(t->name);
    if (len > 7 && strcmp(t->name + len - 7, ".weight") == 0) {
        size_t r = strncmp(t->name, "out.", 4) == 0 ? (size_t)n->d : (size_t)m->cfg.width;
        t->ndim = 2, t->shape[0] = r, t->shape[1] = t->count / r;
    } else {
        t->ndim = 1, t->shape[0] = t->count;
    }
}

static sgm_status forward(sgm_net *n, float *out, const float *x, const float *c,
                          const int *labels, int N, sgm_error *err) {
    (void)labels;
    return sgm_nn_mlp_forward(mlp(n), out, x, c, N, err);
}

static sgm_status backward(sgm_net *n, float *dx, float *dc, const float *dout, int N,
                           int param_grads, sgm_error *err) {
    return sgm_nn_mlp_backward(mlp(n), dx, dc, dout, N, param_grads, err);
}

static int n_classes(const sgm_net *n) {
    (void)n;
    return 0;
}

static int cond_dim(const sgm_net *n) { return n->cfg.mlp.d_cond; }

static int image_shape(const sgm_net *n, int *c, int *h, int *w) {
    (void)n, (void)c, (void)h, (void)w;
    return 0;
}

static int config_to_json(const sgm_net_config *c, cJSON *o) {
    int ok = 1;
    const sgm_nn_mlp_config *m = &c->mlp;
    ok &= cJSON_AddNumberToObject(o, "d_emb", m->d_emb) != NULL;
    ok &= cJSON_AddNumberToObject(o, "width", m->width) != NULL;
    ok &= cJSON_AddNumberToObject(o, "n_blocks", m->n_blocks) != NULL;
    ok &= cJSON_AddNumberToObject(o, "emb_scale", m->emb.scale) != NULL;
    ok &= cJSON_AddNumberToObject(o, "emb_max_period", m->emb.max_period) != NULL;
    ok &= cJSON_AddNumberToObject(o, "emb_downscale_freq_shift", m->emb.downscale_freq_shift) != NULL;
    ok &= cJSON_AddNumberToObject(o, "emb_flip_sin_to_cos", m->emb.flip_sin_to_cos) != NULL;
    if (m->d_cond > 0) ok &= cJSON_AddNumberToObject(o, "d_cond", m->d_cond) != NULL;
    return ok ? 0 : -1;
}

static int config_from_json(const cJSON *o, int d, sgm_net_config *c) {
    sgm_nn_mlp_config *m = &c->mlp;
    long de, dw, db, flip = m->emb.flip_sin_to_cos;
    if (!sgm__json_int(o, "d_emb", 2, 1 << 16, &de) || !sgm__json_int(o, "width", 1, 1 << 16, &dw) ||
        !sgm__json_int(o, "n_blocks", 0, 100, &db) || !sgm__json_num(o, "emb_scale", &m->emb.scale))
        return 1;
    /* the embedding convention: fixed in the first checkpoints, which still
       wrote it; the defaults stand in when a key is absent */
    sgm__json_num(o, "emb_max_period", &m->emb.max_period);
    sgm__json_num(o, "emb_downscale_freq_shift", &m->emb.downscale_freq_shift);
    if (cJSON_GetObjectItemCaseSensitive(o, "emb_flip_sin_to_cos") &&
        !sgm__json_int(o, "emb_flip_sin_to_cos", 0, 1, &flip))
        return 1;
    long dc = 0; /* condition columns (MR restoration); absent: none */
    if (cJSON_GetObjectItemCaseSensitive(o, "d_cond") && !sgm__json_int(o, "d_cond", 0, 1 << 24, &dc))
        return 1;
    m->d_in = d, m->d_emb = (int)de, m->width = (int)dw, m->n_blocks = (int)db;
    m->d_cond = (int)dc;
    m->emb.flip_sin_to_cos = (int)flip;
    c->arch = SGM_ARCH_MLP;
    return 0;
}

const sgm__net_arch sgm__net_arch_mlp = {SGM__NET_ARCH_ENTRY("mlp", SGM_ARCH_MLP, 4096)};
