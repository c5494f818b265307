/* net.c - the network interface (sgm_net.h): the architecture registry and
 * the calls that dispatch to it. An architecture is one file defining an
 * sgm__net_arch (net_internal.h) and one line in `archs` below. */
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../io/json_util.h"
#include "net_internal.h"

/* the registry: one line per architecture, indexed by sgm_arch */
static const sgm__net_arch *const archs[SGM_ARCH_COUNT] = {
    &sgm__net_arch_mlp,
    &sgm__net_arch_unet,
};

const sgm__net_arch *sgm__net_arch_by_id(sgm_arch id) {
    if ((unsigned)id >= SGM_ARCH_COUNT) return NULL;
    return archs[id];
}

const sgm__net_arch *sgm__net_arch_by_name(const char *name) {
    for (int i = 0; i < SGM_ARCH_COUNT; i++)
        if (name && sgm__name_eq(name, archs[i]->name)) return archs[i];
    return NULL;
}

sgm_status sgm_arch_from_name(const char *name, sgm_arch *out) {
    const sgm__net_arch *a = sgm__net_arch_by_name(name);
    if (!a) return SGM_ERR_UNKNOWN_NAME;
    *out = a->id;
    return SGM_OK;
}

const char *sgm_arch_name(sgm_arch a) {
    const sgm__net_arch *x = sgm__net_arch_by_id(a);
    return x ? x->name : "?";
}

sgm_net_config sgm_net_config_default(sgm_arch arch) {
    sgm_net_config c;
    memset(&c, 0, sizeof c);
    for (int i = 0; i < SGM_ARCH_COUNT; i++) archs[i]->config_default(&c);
    c.arch = sgm__net_arch_by_id(arch) ? arch : SGM_ARCH_MLP;
    return c;
}

int sgm_net_default_chunk(sgm_arch arch) {
    const sgm__net_arch *a = sgm__net_arch_by_id(arch);
    return a ? a->chunk : 64;
}

sgm_status sgm_net_create(const sgm_net_config *cfg, int d, int max_batch, uint64_t seed,
                          sgm_net **out, sgm_error *err) {
    if (!out) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "net: NULL output");
    *out = NULL;
    if (!cfg) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "net: NULL configuration");
    const sgm__net_arch *a = sgm__net_arch_by_id(cfg->arch);
    if (!a) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "net: unknown architecture %d",
                                  (int)cfg->arch);
    if (d < 1 || d > 1 << 24)
        return sgm__set_error(err, SGM_ERR_SHAPE, "net: row width %d outside [1, 2^24]", d);
    if (max_batch < 1)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "net: max_batch %d < 1", max_batch);
    sgm_net *n = calloc(1, sizeof *n);
    if (!n) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    n->arch = a;
    n->cfg = *cfg;
    n->d = d;
    n->max_batch = max_batch;
    sgm_status rc = a->create(n, seed, err);
    if (rc != SGM_OK) {
        free(n);
        return rc;
    }
    *out = n;
    return SGM_OK;
}

void sgm__net_adopt(sgm_net *n, void *impl, size_t n_params, float *params, float *grads,
                    int n_tensors) {
    n->impl = impl;
    n->n_params = n_params;
    n->params = params;
    n->grads = grads;
    n->n_tensors = n_tensors;
}

void sgm_net_free(sgm_net *n) {
    if (!n) return;
    n->arch->destroy(n);
    free(n);
}

const char *sgm_net_name(const sgm_net *n) { return n->arch->name; }
const sgm_net_config *sgm_net_get_config(const sgm_net *n) { return &n->cfg; }
int sgm_net_dim(const sgm_net *n) { return n->d; }
int sgm_net_max_batch(const sgm_net *n) { return n->max_batch; }
int sgm_net_n_classes(const sgm_net *n) { return n->arch->n_classes(n); }

sgm_status sgm_net_set_precision(sgm_net *n, sgm_nn_precision want, int no_bf16,
                                 sgm_nn_precision *used, sgm_error *err) {
    if (!n) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "net: NULL argument");
    if (want != SGM_NN_FP32 && want != SGM_NN_BF16)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "net: unknown precision %d", (int)want);
    sgm_nn_precision p = n->arch->set_precision ? sgm_nn_precision_resolve(want, no_bf16)
                                                : SGM_NN_FP32;
    sgm_status st = SGM_OK;
    if (n->arch->set_precision) st = n->arch->set_precision(n, p, err);
    if (st == SGM_OK) n->precision = p;
    if (used) *used = n->precision;
    return st;
}

sgm_nn_precision sgm_net_precision(const sgm_net *n) { return n->precision; }
int sgm_net_cond_dim(const sgm_net *n) { return n->arch->cond_dim(n); }
int sgm_net_image_shape(const sgm_net *n, int *c, int *h, int *w) {
    return n->arch->image_shape(n, c, h, w);
}
size_t sgm_net_n_params(const sgm_net *n) { return n->n_params; }
float *sgm_net_params(sgm_net *n) { return n->params; }
float *sgm_net_grads(sgm_net *n) { return n->grads; }
int sgm_net_n_tensors(const sgm_net *n) { return n->n_tensors; }

sgm_status sgm_net_tensor_info(const sgm_net *n, int i, sgm_net_tensor *t, sgm_error *err) {
    if (i < 0 || i >= n->n_tensors)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "net: tensor %d outside [0, %d)", i,
                              n->n_tensors);
    memset(t, 0, sizeof *t);
    n->arch->tensor(n, i, t);
    return SGM_OK;
}

static sgm_status check_batch(const sgm_net *n, int N, sgm_error *err) {
    if (N < 1 || N > n->max_batch)
        return sgm__set_error(err, SGM_ERR_SHAPE, "%s: batch %d outside [1, %d]", n->arch->name,
                              N, n->max_batch);
    return SGM_OK;
}

unsigned long long sgm__net_calls(const sgm_net *n) { return n->calls; }

sgm_status sgm_net_forward(sgm_net *n, float *out, const float *x, const float *c,
                           const int *labels, int N, sgm_error *err) {
    sgm_status rc = check_batch(n, N, err);
    n->calls++;
    return rc != SGM_OK ? rc : n->arch->forward(n, out, x, c, labels, N, err);
}

sgm_status sgm_net_backward(sgm_net *n, float *dx, float *dc, const float *dout, int N,
                            int param_grads, sgm_error *err) {
    sgm_status rc = check_batch(n, N, err);
    n->calls++;
    return rc != SGM_OK ? rc : n->arch->backward(n, dx, dc, dout, N, param_grads, err);
}

sgm_status sgm_net_vjp(sgm_net *n, float *out, float *vjp, const float *x, const float *c,
                       const int *labels, const float *v, int N, sgm_error *err) {
    if (n->arch->cond_dim(n) > 0) /* vjp is (N, d): the condition has no place in it */
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                              "%s: input VJP of a network with a condition input", n->arch->name);
    sgm_status rc = sgm_net_forward(n, out, x, c, labels, N, err);
    if (rc != SGM_OK) return rc;
    memset(vjp, 0, (size_t)N * (size_t)n->d * sizeof *vjp);
    n->calls++;
    return n->arch->backward(n, vjp, NULL, v, N, 0, err);
}

cJSON *sgm__net_config_to_json(const sgm_net_config *c, int d) {
    const sgm__net_arch *a = sgm__net_arch_by_id(c->arch);
    cJSON *o = cJSON_CreateObject();
    if (!o || !a) {
        cJSON_Delete(o);
        return NULL;
    }
    if (!cJSON_AddNumberToObject(o, "d_in", d) || a->config_to_json(c, o) != 0) {
        cJSON_Delete(o); /* out of memory: no partial configuration */
        return NULL;
    }
    return o;
}

sgm_status sgm__net_config_from_json(const cJSON *o, const char *arch_name, const char *path,
                                     sgm_net_config *c, int *d, sgm_error *err) {
    const sgm__net_arch *a = sgm__net_arch_by_name(arch_name);
    if (!a) {
        char known[128] = "";
        for (int i = 0; i < SGM_ARCH_COUNT; i++) {
            strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
            strncat(known, archs[i]->name, sizeof known - strlen(known) - 1);
        }
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                              "%s: architecture '%s' (this build knows: %s)", path,
                              arch_name ? arch_name : "missing", known);
    }
    long dd;
    if (!sgm__json_int(o, "d_in", 1, 1 << 24, &dd))
        return sgm__set_error(err, SGM_ERR_FORMAT, "%s: arch_config has no valid 'd_in'", path);
    *c = sgm_net_config_default(a->id);
    if (a->config_from_json(o, (int)dd, c) != 0)
        return sgm__set_error(err, SGM_ERR_FORMAT,
                              "%s: incomplete or invalid %s configuration (arch_config)", path,
                              a->name);
    *d = (int)dd;
    return SGM_OK;
}
