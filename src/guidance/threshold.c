/* threshold.c - clipping and dynamic thresholding of the data prediction, as
 * a denoiser wrapper (prediction x0 out). Dynamic thresholding follows Imagen
 * (Saharia et al. 2022, sec. 2.3; diffusers _threshold_sample): per sample
 * s = quantile_p(|x0|) (linear interpolation, as torch.quantile),
 * s = max(s, max_value), x0 <- clip(x0, -s, s) * max_value / s
 * (max_value = 1 is Imagen's form). Clipping: x0 <- clip(x0, -max, max). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "edit_internal.h"

struct sgm_threshold {
    sgm_threshold_config cfg;
    sgm_denoiser inner;
    const sgm_process *proc;
    double *row; /* [d] sort scratch */
    size_t row_cap;
};

sgm_threshold_config sgm_threshold_config_default(void) {
    sgm_threshold_config c = {SGM_THRESH_NONE, 0.995, 1};
    return c;
}

sgm_status sgm_threshold_create(const sgm_threshold_config *cfg, const sgm_denoiser *inner,
                                const sgm_process *proc, sgm_threshold **out, sgm_error *err) {
    *out = NULL;
    if (!cfg || !inner || !inner->fn)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "threshold: NULL config or denoiser");
    if (cfg->kind != SGM_THRESH_NONE && cfg->kind != SGM_THRESH_CLIP &&
        cfg->kind != SGM_THRESH_DYNAMIC)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "unknown threshold kind %d",
                              (int)cfg->kind);
    if (!(cfg->max_value > 0) || !isfinite(cfg->max_value))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "threshold max value %g must be finite and > 0", cfg->max_value);
    if (!(cfg->percentile > 0 && cfg->percentile <= 1))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "threshold percentile %g is outside (0, 1]", cfg->percentile);
    if (inner->prediction == SGM_PRED_FLOW && !proc)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "threshold: a flow-prediction denoiser needs its process");
    sgm_threshold *t = calloc(1, sizeof *t);
    if (!t) return sgm__set_error(err, SGM_ERR_NOMEM, "threshold: out of memory");
    t->cfg = *cfg, t->inner = *inner, t->proc = proc;
    *out = t;
    return SGM_OK;
}

void sgm_threshold_free(sgm_threshold *t) {
    if (!t) return;
    free(t->row);
    free(t);
}

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int thr_fn(const sgm_eval *q, void *out, void *user) {
    sgm_threshold *t = user;
    int rc = t->inner.fn(q, out, t->inner.user_data);
    if (rc) return rc;
    sgm_dtype dt = q->dtype;
    size_t d = q->d;
    if (t->inner.prediction != SGM_PRED_X0) {
        double da = 0, ds = 0;
        if (t->inner.prediction == SGM_PRED_FLOW) {
            da = sgm_process_dalpha(t->proc, q->t);
            ds = sgm_process_dsigma(t->proc, q->t);
        }
        sgm_prediction_to_x0(t->inner.prediction, dt, q->n * d, q->x, out, q->alpha, q->sigma,
                             da, ds, out);
    }
    const double M = t->cfg.max_value;
    if (t->cfg.kind == SGM_THRESH_NONE) return 0;
    if (t->cfg.kind == SGM_THRESH_DYNAMIC && d > t->row_cap) {
        free(t->row);
        t->row = malloc(d * sizeof(double));
        t->row_cap = t->row ? d : 0;
        if (!t->row) return 1;
    }
    for (size_t r = 0; r < q->n; r++) {
        double s = M;
        if (t->cfg.kind == SGM_THRESH_DYNAMIC) {
            for (size_t j = 0; j < d; j++) t->row[j] = fabs(sgm__eget(dt, out, r * d + j));
            qsort(t->row, d, sizeof(double), cmp_dbl);
            double pos = t->cfg.percentile * (double)(d - 1);
            size_t lo = (size_t)floor(pos), hi = lo + 1 < d ? lo + 1 : lo;
            double qv = t->row[lo] + (pos - (double)lo) * (t->row[hi] - t->row[lo]);
            if (qv > s) s = qv;
        }
        double f = M / s;
        for (size_t j = 0; j < d; j++) {
            double v = sgm__eget(dt, out, r * d + j);
            v = v > s ? s : (v < -s ? -s : v);
            sgm__eset(dt, out, r * d + j, v * f);
        }
    }
    return 0;
}

sgm_denoiser sgm_threshold_denoiser(sgm_threshold *t) {
    sgm_denoiser d = {thr_fn, t, SGM_PRED_X0};
    return d;
}
