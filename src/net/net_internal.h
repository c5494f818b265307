/* net_internal.h - the architecture registry behind sgm_net (sgm_net.h).
 * Each architecture is one file in src/net that defines one sgm__net_arch
 * and one line in the table of net.c. */
#ifndef SGM_NET_INTERNAL_H
#define SGM_NET_INTERNAL_H

#include <cjson/cJSON.h>

#include "sgm/sgm_net.h"

typedef struct sgm__net_arch sgm__net_arch;

struct sgm_net {
    const sgm__net_arch *arch;
    sgm_net_config cfg;
    int d, max_batch;
    size_t n_params;
    float *params, *grads;
    int n_tensors;
    void *impl; /* the architecture's own object */
    /* forward and backward calls so far: a caller that ran a forward can
       tell whether the activations it left are still the net's (a later
       call of anyone else changes the count; sgm__net_calls) */
    unsigned long long calls;
    sgm_nn_precision precision; /* of the products (sgm_net_set_precision) */
};

struct sgm__net_arch {
    const char *name;
    sgm_arch id;
    int chunk; /* default rows per network call when sampling */
    /* fills the architecture's part of a default configuration */
    void (*config_default)(sgm_net_config *c);
    /* builds n->impl from n->cfg for rows of width n->d and sets n_params,
       params, grads, n_tensors (n->arch, cfg, d, max_batch are set) */
    sgm_status (*create)(sgm_net *n, uint64_t seed, sgm_error *err);
    void (*destroy)(sgm_net *n);
    void (*tensor)(const sgm_net *n, int i, sgm_net_tensor *t);
    sgm_status (*forward)(sgm_net *n, float *out, const float *x, const float *c,
                          const int *labels, int N, sgm_error *err);
    sgm_status (*backward)(sgm_net *n, float *dx, float *dc, const float *dout, int N,
                           int param_grads, sgm_error *err);
    int (*n_classes)(const sgm_net *n);
    int (*cond_dim)(const sgm_net *n); /* condition columns after the d of a row */
    int (*image_shape)(const sgm_net *n, int *c, int *h, int *w);
    /* checkpoint metadata ("arch_config"): adds the configuration's keys to
       o (0, or -1 when cJSON ran out of memory); reads them back for rows of
       width d (0 on success; unknown keys are ignored, so newer files with
       extra keys still load) */
    int (*config_to_json)(const sgm_net_config *c, cJSON *o);
    int (*config_from_json)(const cJSON *o, int d, sgm_net_config *c);
    /* optional (NULL: float32 only): switches the products to precision p,
       already resolved against the CPU (sgm_nn_precision_resolve) */
    sgm_status (*set_precision)(sgm_net *n, sgm_nn_precision p, sgm_error *err);
};

/* An architecture file defines static functions with the member names
 * above and its registry entry as
 *   const sgm__net_arch sgm__net_arch_X = {SGM__NET_ARCH_ENTRY("X", SGM_ARCH_X, chunk)}; */
#define SGM__NET_ARCH_ENTRY(name_, id_, chunk_)                                               \
    .name = name_, .id = id_, .chunk = chunk_, .config_default = config_default,             \
    .create = create, .destroy = destroy, .tensor = tensor, .forward = forward,              \
    .backward = backward, .n_classes = n_classes, .cond_dim = cond_dim,                      \
    .image_shape = image_shape, .config_to_json = config_to_json,                            \
    .config_from_json = config_from_json

extern const sgm__net_arch sgm__net_arch_mlp;
extern const sgm__net_arch sgm__net_arch_unet;

/* An architecture's create() hands its built object over: n->impl and the
 * flat blocks it owns. */
void sgm__net_adopt(sgm_net *n, void *impl, size_t n_params, float *params, float *grads,
                    int n_tensors);

/* forward + backward calls on the net so far (see struct sgm_net) */
unsigned long long sgm__net_calls(const sgm_net *n);

/* the registered architecture with this id / name, or NULL */
const sgm__net_arch *sgm__net_arch_by_id(sgm_arch id);
const sgm__net_arch *sgm__net_arch_by_name(const char *name);

/* Checkpoint metadata of a network configuration: {"d_in": d, ...the
 * architecture's keys}; and back (SGM_ERR_FORMAT naming `path` and what is
 * wrong). */
cJSON *sgm__net_config_to_json(const sgm_net_config *c, int d);
sgm_status sgm__net_config_from_json(const cJSON *o, const char *arch_name, const char *path,
                                     sgm_net_config *c, int *d, sgm_error *err);



#endif
