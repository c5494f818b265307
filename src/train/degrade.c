/* degrade.c - the built-in degradations that make the condition mu of a
 * mean-reverting restoration model (SGM_PROCESS_MR; IR-SDE of Luo et al.
 * 2023, arXiv:2301.11699, trains on pairs (clean x0, degraded mu)): a spec
 * "stage,stage,..." applied in order to each (C, H, W) row (sgm_train.h):
 * blur:S (the Gaussian blur operator of sgm_guidance.h), down:F (F x F
 * average pooling, then nearest upsampling back: the pooled value repeated),
 * mask:P (each pixel, all channels, set to 0 with probability P) and
 * noise:S (+ S n). Random stages draw from Philox at (seed, stage, row), so
 * a row's mu depends only on the seed and its global index. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "sgm/sgm_guidance.h"
#include "sgm/sgm_train.h"

#define DG_MAX_STAGES 8

enum { DG_BLUR = 0, DG_DOWN, DG_MASK, DG_NOISE };
static const char *const dg_names[] = {"blur", "down", "mask", "noise"};

typedef struct dg_stage {
    int kind;
    double v;
} dg_stage;

/* the stages of spec (SGM_ERR_INVALID_ARG / SGM_ERR_UNKNOWN_NAME with the
   stage named); shape checks when h, w > 0 */
static sgm_status dg_parse(const char *spec, size_t h, size_t w, dg_stage *st, int *ns,
                           sgm_error *err) {
    *ns = 0;
    if (!spec || !spec[0])
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "degradation: empty spec");
    char buf[256];
    if (strlen(spec) >= sizeof buf)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "degradation: spec too long");
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *tok = buf, *next; tok; tok = next) {
        next = strchr(tok, ',');
        if (next) *next++ = 0;
        if (!*tok)
            return sgm__set_error(err, SGM_ERR_INVALID_ARG, "degradation: empty stage in '%s'",
                                  spec);
        if (*ns == DG_MAX_STAGES)
            return sgm__set_error(err, SGM_ERR_INVALID_ARG, "degradation: more than %d stages",
                                  DG_MAX_STAGES);
        char *colon = strchr(tok, ':');
        if (colon) *colon = 0;
        int kind = -1;
        for (int k = 0; k < 4; k++)
            if (strcmp(tok, dg_names[k]) == 0) kind = k;
        if (kind < 0)
            return sgm__set_error(err, SGM_ERR_UNKNOWN_NAME,
                                  "degradation: unknown stage '%s' (blur:S, down:F, mask:P, "
                                  "noise:S)", tok);
        char *end = NULL;
        double v = colon ? strtod(colon + 1, &end) : NAN;
        if (!colon || end == colon + 1 || *end || !isfinite(v))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG, "degradation: %s needs a number (%s:X)",
                                  dg_names[kind], dg_names[kind]);
        int ok = kind == DG_BLUR    ? v > 0 && v <= 100
                 : kind == DG_DOWN  ? v >= 1 && v <= 64 && v == floor(v)
                 : kind == DG_MASK  ? v >= 0 && v < 1
                                    : v >= 0 && v <= 100;
        if (!ok)
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "degradation: %s:%g out of range (blur: (0, 100], down: an "
                                  "integer in [1, 64], mask: [0, 1), noise: [0, 100])",
                                  dg_names[kind], v);
        if (kind == DG_DOWN && h > 0 && (h % (size_t)v || w % (size_t)v))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "degradation: down:%g does not divide the %zux%zu image", v, h, w);
        st[*ns].kind = kind;
        st[(*ns)++].v = v;
    }
    if (*ns == 0) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "degradation: empty spec");
    return SGM_OK;
}

sgm_status sgm_degrade_check(const char *spec, size_t c, size_t h, size_t w, sgm_error *err) {
    dg_stage st[DG_MAX_STAGES];
    int ns;
    (void)c;
    return dg_parse(spec, h, w, st, &ns, err);
}

/* y (one row, C H W) pooled F x F and repeated back, in place */
static void down_up(double *y, size_t c, size_t h, size_t w, size_t f) {
    for (size_t ch = 0; ch < c; ch++)
        for (size_t i = 0; i < h; i += f)
            for (size_t j = 0; j < w; j += f) {
                double s = 0;
                for (size_t a = 0; a < f; a++)
                    for (size_t b = 0; b < f; b++) s += y[(ch * h + i + a) * w + j + b];
                s /= (double)(f * f);
                for (size_t a = 0; a < f; a++)
                    for (size_t b = 0; b < f; b++) y[(ch * h + i + a) * w + j + b] = s;
            }
}

sgm_status sgm_degrade_apply(const char *spec, size_t c, size_t h, size_t w, size_t n,
                             const double *x, double *y, uint64_t seed, uint64_t row0,
                             sgm_error *err) {
    dg_stage st[DG_MAX_STAGES];
    int ns;
    if (c < 1 || h < 1 || w < 1)
        return sgm__set_error(err, SGM_ERR_SHAPE, "degradation: image shape %zux%zux%zu", c, h, w);
    sgm_status rc = dg_parse(spec, h, w, st, &ns, err);
    if (rc != SGM_OK) return rc;
    const size_t d = c * h * w, hw = h * w;
    if (y != x) memcpy(y, x, n * d * sizeof *y);
    double *r = malloc((n ? n : 1) * d * sizeof *r);
    if (!r) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    for (int k = 0; k < ns && rc == SGM_OK; k++) {
        const double v = st[k].v;
        switch (st[k].kind) {
        case DG_BLUR: {
            sgm_operator_config oc = sgm_operator_config_default(SGM_OP_BLUR);
            oc.c = c, oc.h = h, oc.w = w, oc.blur_sigma = v;
            sgm_operator *op = NULL;
            rc = sgm_operator_create(&oc, &op, err);
            if (rc == SGM_OK) rc = sgm_operator_forward(op, n, y, r, err);
            if (rc == SGM_OK) memcpy(y, r, n * d * sizeof *y);
            sgm_operator_free(op);
            break;
        }
        case DG_DOWN:
            for (size_t i = 0; i < n; i++) down_up(y + i * d, c, h, w, (size_t)v);
            break;
        case DG_MASK: /* one uniform per pixel position (all channels) */
            sgm_rng_uniform_rows_f64(seed, (uint64_t)k, row0, n, hw, r);
            for (size_t i = 0; i < n; i++)
                for (size_t p = 0; p < hw; p++)
                    if (r[i * hw + p] < v)
                        for (size_t ch = 0; ch < c; ch++) y[i * d + ch * hw + p] = 0;
            break;
        default: /* noise */
            sgm_rng_normal_rows_f64(seed, (uint64_t)k, row0, n, d, r);
            for (size_t i = 0; i < n * d; i++) y[i] += v * r[i];
            break;
        }
    }
    free(r);
    return rc;
}
