/* cfg.c - classifier-free guidance as a denoiser wrapper (Ho & Salimans 2022,
 * "Classifier-free diffusion guidance", eq. 6):
 *   out = D_u + g (D_c - D_u),  g = 1 + w (SGM_CFG_PLUS_ONE) or g (SGM_CFG_SCALE),
 * in the wrapped model's own prediction (eps, x0, v, ...: the combination is
 * affine with weights summing to 1, so it is the same data prediction in
 * every parameterization). Guidance rescale (Lin et al. 2023, "Common
 * diffusion noise schedules and sample steps are flawed", eq. 15-16, as
 * diffusers rescale_noise_cfg): out <- phi out std(D_c)/std(out) + (1 - phi) out,
 * std per row over its d values (unbiased, as torch.std). Guidance interval
 * (Kynkaenniemi et al. 2024, "Applying guidance in a limited interval"):
 * outside [lo, hi] in VE sigma the query is answered by D_c alone (one call).
 * g = 1 also answers with D_c alone. The unguided prediction of the latest
 * query is kept for the CFG++ samplers (sgm_sampler_set_unguided). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "edit_internal.h"

struct sgm_cfg {
    sgm_cfg_config cfg;
    sgm_cond_denoiser cond;
    int *labels;
    size_t n_labels;
    double g;
    /* scratch, grown on demand: 2 * rows * d elements each */
    void *x2, *o2, *u;
    int *lab;
    size_t cap; /* rows */
    size_t u_count;
    sgm_cfg_stats stats;
};

sgm_cfg_config sgm_cfg_config_default(void) {
    sgm_cfg_config c = {0, SGM_CFG_PLUS_ONE, 0, 0, INFINITY, 1};
    return c;
}

double sgm_cfg_weight(const sgm_cfg_config *c) {
    return c->convention == SGM_CFG_SCALE ? c->scale : 1 + c->scale;
}

sgm_status sgm_cfg_create(const sgm_cfg_config *cfg, const sgm_cond_denoiser *cond,
                          const int *labels, size_t count, sgm_cfg **out, sgm_error *err) {
    *out = NULL;
    if (!cfg || !cond || !cond->fn)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "guidance: NULL config or denoiser");
    if (cond->n_classes <= 0)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "guidance needs a class-conditional model (this one has no classes)");
    if (!(cfg->scale >= 0) || !isfinite(cfg->scale))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "guidance scale %g must be finite and >= 0", cfg->scale);
    if (cfg->convention != SGM_CFG_PLUS_ONE && cfg->convention != SGM_CFG_SCALE)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "unknown guidance convention");
    if (!(cfg->rescale >= 0 && cfg->rescale <= 1))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "guidance rescale %g is outside [0, 1]", cfg->rescale);
    if (!(cfg->interval_lo >= 0) || !(cfg->interval_hi >= cfg->interval_lo))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "guidance interval [%g, %g] must satisfy 0 <= lo <= hi",
                              cfg->interval_lo, cfg->interval_hi);
    if (count == 0 || !labels)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "guidance: no class labels");
    for (size_t i = 0; i < count; i++)
        if (labels[i] < 0 || labels[i] >= cond->n_classes)
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "class %d is outside [0, %d)", labels[i], cond->n_classes);
    sgm_cfg *c = calloc(1, sizeof *c);
    if (!c || !(c->labels = malloc(count * sizeof(int)))) {
        free(c);
        return sgm__set_error(err, SGM_ERR_NOMEM, "guidance: out of memory");
    }
    memcpy(c->labels, labels, count * sizeof(int));
    c->n_labels = count;
    c->cfg = *cfg;
    c->cond = *cond;
    c->g = sgm_cfg_weight(cfg);
    *out = c;
    return SGM_OK;
}

void sgm_cfg_free(sgm_cfg *c) {
    if (!c) return;
    free(c->labels), free(c->x2), free(c->o2), free(c->u), free(c->lab);
    free(c);
}

void sgm_cfg_get_stats(const sgm_cfg *c, sgm_cfg_stats *out) { *out = c->stats; }

static int grow(sgm_cfg *c, size_t n, size_t d, size_t esz) {
    if (n <= c->cap) return 0;
    free(c->x2), free(c->o2), free(c->u), free(c->lab);
    c->x2 = malloc(2 * n * d * esz), c->o2 = malloc(2 * n * d * esz);
    c->u = malloc(n * d * esz), c->lab = malloc(2 * n * sizeof(int));
    c->cap = (c->x2 && c->o2 && c->u && c->lab) ? n : 0;
    return c->cap ? 0 : 1;
}

static int call(sgm_cfg *c, const sgm_eval *q, size_t rows, const void *x, const int *lab,
                void *out) {
    sgm_eval q2 = *q;
    q2.n = rows;
    q2.x = x;
    c->stats.net_calls++;
    c->stats.net_rows += rows;
    return c->cond.fn(&q2, lab, out, c->cond.user_data);
}

/* out <- phi out std(cond) / std(out) + (1 - phi) out, per row */
static void rescale(const sgm_cfg *c, sgm_dtype dt, size_t n, size_t d, const void *cond,
                    void *out) {
    const double phi = c->cfg.rescale;
    for (size_t r = 0; r < n; r++) {
        double mc = 0, mo = 0, vc = 0, vo = 0;
        for (size_t j = 0; j < d; j++) mc += sgm__eget(dt, cond, r * d + j), mo += sgm__eget(dt, out, r * d + j);
        mc /= (double)d, mo /= (double)d;
        for (size_t j = 0; j < d; j++) {
            double a = sgm__eget(dt, cond, r * d + j) - mc, b = sgm__eget(dt, out, r * d + j) - mo;
            vc += a * a, vo += b * b;
        }
        if (!(vo > 0)) continue;
        double f = phi * sqrt(vc / vo) + (1 - phi);
        for (size_t j = 0; j < d; j++) sgm__eset(dt, out, r * d + j, f * sgm__eget(dt, out, r * d + j));
    }
}

static int cfg_fn(const sgm_eval *q, void *out, void *user) {
    sgm_cfg *c = user;
    size_t n = q->n, d = q->d, esz = sgm_dtype_size(q->dtype), nd = n * d;
    sgm_dtype dt = q->dtype;
    if (grow(c, n, d, esz)) return 1;
    c->stats.queries++;
    for (size_t i = 0; i < n; i++) c->lab[i] = c->labels[(q->row0 + i) % c->n_labels];
    double s = q->alpha > 0 ? q->sigma / q->alpha : INFINITY;
    int guide = c->g != 1 && s >= c->cfg.interval_lo && s <= c->cfg.interval_hi;
    c->u_count = nd;
    if (!guide) {
        if (call(c, q, n, q->x, c->lab, out)) return 1;
        memcpy(c->u, out, nd * esz);
        return 0;
    }
    c->stats.guided++;
    for (size_t i = 0; i < n; i++) c->lab[n + i] = -1;
    const void *cv, *uv;
    if (c->cfg.batched) {
        memcpy(c->x2, q->x, nd * esz);
        memcpy((char *)c->x2 + nd * esz, q->x, nd * esz);
        if (call(c, q, 2 * n, c->x2, c->lab, c->o2)) return 1;
        cv = c->o2, uv = (char *)c->o2 + nd * esz;
    } else {
        if (call(c, q, n, q->x, c->lab, c->o2)) return 1;
        if (call(c, q, n, q->x, c->lab + n, (char *)c->o2 + nd * esz)) return 1;
        cv = c->o2, uv = (char *)c->o2 + nd * esz;
    }
    const double g = c->g;
    for (size_t i = 0; i < nd; i++) {
        double u = sgm__eget(dt, uv, i);
        sgm__eset(dt, out, i, u + g * (sgm__eget(dt, cv, i) - u));
    }
    if (c->cfg.rescale > 0) rescale(c, dt, n, d, cv, out);
    memcpy(c->u, uv, nd * esz);
    return 0;
}

static int unguided_fn(const sgm_eval *q, void *out, void *user) {
    sgm_cfg *c = user;
    if (!c->u || q->n * q->d != c->u_count) return 1;
    memcpy(out, c->u, c->u_count * sgm_dtype_size(q->dtype));
    return 0;
}

sgm_denoiser sgm_cfg_denoiser(sgm_cfg *c) {
    sgm_denoiser d = {cfg_fn, c, c->cond.prediction};
    return d;
}

sgm_denoiser sgm_cfg_unguided(sgm_cfg *c) {
    sgm_denoiser d = {unguided_fn, c, c->cond.prediction};
    return d;
}
