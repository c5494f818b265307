/* gmm.c - the exact Gaussian-mixture model (diagonal covariances): JSON
 * loading with full validation, the closed-form denoiser (Tweedie's formula
 * for a mixture: posterior responsibilities times per-component posterior
 * means), the noisy log-density, responsibilities and exact sampling.
 * All arithmetic in double; rows are processed in parallel (OpenMP) and each
 * row's result does not depend on the others.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_model.h"

struct sgm_gmm {
    size_t k, d;
    double *w;     /* [k] normalised weights */
    double *logw;  /* [k] */
    double *mu;    /* [k, d] */
    double *sd;    /* [k, d] */
};

static const double LOG2PI = 1.8378770664093454836;

void sgm_gmm_free(sgm_gmm *g) {
    if (!g) return;
    free(g->w);
    free(g->logw);
    free(g->mu);
    free(g->sd);
    free(g);
}

size_t sgm_gmm_dim(const sgm_gmm *g) { return g->d; }
size_t sgm_gmm_components(const sgm_gmm *g) { return g->k; }
const double *sgm_gmm_weights(const sgm_gmm *g) { return g->w; }
const double *sgm_gmm_means(const sgm_gmm *g) { return g->mu; }
const double *sgm_gmm_stds(const sgm_gmm *g) { return g->sd; }

sgm_status sgm_gmm_create(size_t k, size_t d, const double *weights, const double *means,
                          const double *stds, sgm_gmm **out, sgm_error *err) {
    *out = NULL;
    if (k == 0 || d == 0 || k > 1000000 || d > 100000000 / k)
        return sgm__set_error(err, SGM_ERR_SHAPE, "gmm: bad size (%zu components, dim %zu)", k,
                              d);
    double wsum = 0;
    for (size_t i = 0; i < k; i++) {
        if (!(weights[i] >= 0 && isfinite(weights[i])))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "gmm: weight %zu is %g (need finite, >= 0)", i, weights[i]);
        wsum += weights[i];
    }
    if (!(wsum > 0)) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "gmm: weights sum to 0");
    for (size_t i = 0; i < k * d; i++) {
        if (!isfinite(means[i]))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG, "gmm: mean value %zu is not finite",
                                  i);
        if (!(stds[i] > 0 && isfinite(stds[i])))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "gmm: std value %zu is %g (need finite, > 0)", i, stds[i]);
    }
    sgm_gmm *g = calloc(1, sizeof *g);
    if (!g) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    g->k = k;
    g->d = d;
    g->w = malloc(k * sizeof(double));
    g->logw = malloc(k * sizeof(double));
    g->mu = malloc(k * d * sizeof(double));
    g->sd = malloc(k * d * sizeof(double));
    if (!g->w || !g->logw || !g->mu || !g->sd) {
        sgm_gmm_free(g);
        return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < k; i++) {
        g->w[i] = weights[i] / wsum;
        g->logw[i] = log(g->w[i]);
    }
    memcpy(g->mu, means, k * d * sizeof(double));
    memcpy(g->sd, stds, k * d * sizeof(double));
    *out = g;
    return SGM_OK;
}

/* reads a JSON array of numbers of length n into out */
static int read_vec(const cJSON *a, size_t n, double *out) {
    if (!cJSON_IsArray(a) || (size_t)cJSON_GetArraySize(a) != n) return 0;
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        if (!cJSON_IsNumber(e)) return 0;
        out[i++] = e->valuedouble;
    }
    return 1;
}

/* whether a is k arrays of d elements: checked before allocating k * d,
 * so that a large "dim" costs memory only when the arrays hold the numbers */
static int mat_shape(const cJSON *a, size_t k, size_t d) {
    if (!cJSON_IsArray(a) || (size_t)cJSON_GetArraySize(a) != k) return 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, a) {
        if (!cJSON_IsArray(row) || (size_t)cJSON_GetArraySize(row) != d) return 0;
    }
    return 1;
}

static int read_mat(const cJSON *a, size_t k, size_t d, double *out) {
    if (!cJSON_IsArray(a) || (size_t)cJSON_GetArraySize(a) != k) return 0;
    size_t i = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, a) {
        if (!read_vec(row, d, out + i * d)) return 0;
        i++;
    }
    return 1;
}

sgm_status sgm_gmm_from_json(const char *text, sgm_gmm **out, sgm_error *err) {
    *out = NULL;
    cJSON *root = cJSON_Parse(text);
    if (!root) {
        const char *where = cJSON_GetErrorPtr();
        char ctx[24] = "";
        if (where) snprintf(ctx, sizeof ctx, "%.20s", where);
        return sgm__set_error(err, SGM_ERR_FORMAT, "gmm: malformed JSON near '%s'", ctx);
    }
    sgm_status st = SGM_OK;
    double *w = NULL, *mu = NULL, *sd = NULL;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
    const cJSON *dim = cJSON_GetObjectItemCaseSensitive(root, "dim");
    const cJSON *jw = cJSON_GetObjectItemCaseSensitive(root, "weights");
    const cJSON *jm = cJSON_GetObjectItemCaseSensitive(root, "means");
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(root, "stds");
    if (!cJSON_IsObject(root)) {
        st = sgm__set_error(err, SGM_ERR_FORMAT, "gmm: the JSON top level must be an object");
        goto done;
    }
    if (kind && (!cJSON_IsString(kind) || strcmp(kind->valuestring, "gmm") != 0)) {
        st = sgm__set_error(err, SGM_ERR_FORMAT, "gmm: \"kind\" must be \"gmm\"");
        goto done;
    }
    if (!cJSON_IsNumber(dim) || dim->valuedouble < 1 || dim->valuedouble > 1e8 ||
        dim->valuedouble != floor(dim->valuedouble)) {
        st = sgm__set_error(err, SGM_ERR_FORMAT, "gmm: \"dim\" must be a positive integer");
        goto done;
    }
    if (!cJSON_IsArray(jw) || cJSON_GetArraySize(jw) < 1) {
        st = sgm__set_error(err, SGM_ERR_FORMAT, "gmm: \"weights\" must be a non-empty array");
        goto done;
    }
    size_t d = (size_t)dim->valuedouble, k = (size_t)cJSON_GetArraySize(jw);
    if (!mat_shape(jm, k, d)) {
        st = sgm__set_error(err, SGM_ERR_SHAPE,
                            "gmm: \"means\" must be %zu arrays of %zu numbers (dim)", k, d);
        goto done;
    }
    if (!mat_shape(js, k, d)) {
        st = sgm__set_error(err, SGM_ERR_SHAPE,
                            "gmm: \"stds\" must be %zu arrays of %zu numbers (dim)", k, d);
        goto done;
    }
    w = malloc(k * sizeof *w);
    mu = malloc(k * d * sizeof *mu);
    sd = malloc(k * d * sizeof *sd);
    if (!w || !mu || !sd) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (!read_vec(jw, k, w)) {
        st = sgm__set_error(err, SGM_ERR_FORMAT, "gmm: \"weights\" must hold %zu numbers", k);
        goto done;
    }
    if (!read_mat(jm, k, d, mu)) {
        st = sgm__set_error(err, SGM_ERR_SHAPE,
                            "gmm: \"means\" must be %zu arrays of %zu numbers (dim)", k, d);
        goto done;
    }
    if (!read_mat(js, k, d, sd)) {
        st = sgm__set_error(err, SGM_ERR_SHAPE,
                            "gmm: \"stds\" must be %zu arrays of %zu numbers (dim)", k, d);
        goto done;
    }
    st = sgm_gmm_create(k, d, w, mu, sd, out, err);
done:
    free(w);
    free(mu);
    free(sd);
    cJSON_Delete(root);
    return st;
}

sgm_status sgm_gmm_load(const char *path, sgm_gmm **out, sgm_error *err) {
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    sgm_status st = sgm_read_file(path, &text, &len, err);
    if (st) return st;
    st = sgm_gmm_from_json(text, out, err);
    free(text);
    if (st && err) {
        char tmp[sizeof err->msg];
        memcpy(tmp, err->msg, sizeof tmp);
        size_t pl = strlen(path);
        if (pl > 120) pl = 120;
        sgm__set_error(err, st, "%.*s: %.*s", (int)pl, path, 120, tmp); /* one line */
    }
    return st;
}

/* The constants of the mixture at noise variance s2, computed once per call
 * rather than once per row (the d logarithms per component were most of the
 * denoiser's time): iv = 1 / (sd^2 + s2) and shr = sd^2 / (sd^2 + s2), each
 * [k, d], and lc[k] = log w - (sum_j log(sd^2 + s2) + d log 2 pi) / 2. */
typedef struct gmm_level {
    double *iv, *shr, *lc;
} gmm_level;

static int level_init(const sgm_gmm *g, double s2, gmm_level *L) {
    size_t k = g->k, d = g->d;
    L->iv = malloc((2 * k * d + k) * sizeof(double));
    if (!L->iv) return -1;
    L->shr = L->iv + k * d;
    L->lc = L->shr + k * d;
    for (size_t c = 0; c < k; c++) {
        double ld = 0;
        for (size_t j = 0; j < d; j++) {
            double v = g->sd[c * d + j] * g->sd[c * d + j], t = v + s2;
            L->iv[c * d + j] = 1 / t;
            L->shr[c * d + j] = v / t;
            ld += log(t);
        }
        L->lc[c] = g->logw[c] - 0.5 * (ld + (double)d * LOG2PI);
    }
    return 0;
}

/* log-weights + log N(x; mu_k, diag(sd_k^2 + sigma^2)) for one row into lp[k];
 * returns log-sum-exp and turns lp into responsibilities. The squared
 * distance is summed in four interleaved partial sums, combined in a fixed
 * order (vectorisable, and the same bits whatever the batch or thread). */
static double row_resp(const sgm_gmm *g, const gmm_level *L, const double *x, double *lp) {
    size_t k = g->k, d = g->d;
    double mx = -INFINITY;
    for (size_t c = 0; c < k; c++) {
        const double *mu = g->mu + c * d, *iv = L->iv + c * d;
        double a[4] = {0, 0, 0, 0};
        size_t j = 0;
        for (; j + 4 <= d; j += 4)
            for (size_t l = 0; l < 4; l++) {
                double r = x[j + l] - mu[j + l];
                a[l] += r * r * iv[j + l];
            }
        for (; j < d; j++) {
            double r = x[j] - mu[j];
            a[0] += r * r * iv[j];
        }
        lp[c] = L->lc[c] - 0.5 * ((a[0] + a[1]) + (a[2] + a[3]));
        if (lp[c] > mx) mx = lp[c];
    }
    double sum = 0;
    for (size_t c = 0; c < k; c++) {
        lp[c] = exp(lp[c] - mx);
        sum += lp[c];
    }
    for (size_t c = 0; c < k; c++) lp[c] /= sum;
    return mx + log(sum);
}

static void row_denoise(const sgm_gmm *g, const gmm_level *L, const double *x, double *lp,
                        double *o) {
    size_t d = g->d;
    row_resp(g, L, x, lp);
    for (size_t j = 0; j < d; j++) o[j] = 0;
    for (size_t c = 0; c < g->k; c++) {
        if (lp[c] == 0) continue;
        const double *mu = g->mu + c * d, *shr = L->shr + c * d;
        for (size_t j = 0; j < d; j++) o[j] += lp[c] * (mu[j] + shr[j] * (x[j] - mu[j]));
    }
}

/* every output NaN: out of memory leaves no stale values behind */
static void fill_nan(double *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = NAN;
}

void sgm_gmm_denoise(const sgm_gmm *g, size_t n, const double *x, double sigma, double *out) {
    gmm_level L;
    if (level_init(g, sigma * sigma, &L) < 0) {
        fill_nan(out, n * g->d);
        return;
    }
    /* small batches stay serial: a parallel region costs more than the work */
#pragma omp parallel if (n * g->k * g->d >= 16384)
    {
        double *lp = malloc(g->k * sizeof *lp);
#pragma omp for schedule(static)
        for (size_t i = 0; i < n; i++) {
            if (lp) row_denoise(g, &L, x + i * g->d, lp, out + i * g->d);
            else fill_nan(out + i * g->d, g->d);
        }
        free(lp);
    }
    free(L.iv);
}

void sgm_gmm_logpdf(const sgm_gmm *g, size_t n, const double *x, double sigma, double *out) {
    gmm_level L;
    double *lp = malloc(g->k * sizeof *lp);
    if (!lp || level_init(g, sigma * sigma, &L) < 0) {
        free(lp);
        fill_nan(out, n);
        return;
    }
    for (size_t i = 0; i < n; i++) out[i] = row_resp(g, &L, x + i * g->d, lp);
    free(lp);
    free(L.iv);
}

void sgm_gmm_responsibilities(const sgm_gmm *g, size_t n, const double *x, double sigma,
                              double *out) {
    gmm_level L;
    if (level_init(g, sigma * sigma, &L) < 0) {
        fill_nan(out, n * g->k);
        return;
    }
    for (size_t i = 0; i < n; i++) row_resp(g, &L, x + i * g->d, out + i * g->k);
    free(L.iv);
}

void sgm_gmm_sample(const sgm_gmm *g, uint64_t seed, uint64_t draw, uint64_t row0, size_t n,
                    double *out) {
    size_t d = g->d;
    for (size_t i = 0; i < n; i++) {
        double u;
        /* the component: inverse CDF of the weights (the uniform comes from a
         * separate stream: draw + 2^31 keeps it apart from the normals) */
        sgm_rng_uniform_rows_f64(seed, draw + 0x80000000u, row0 + i, 1, 1, &u);
        size_t c = 0;
        double acc = g->w[0];
        while (c + 1 < g->k && u >= acc) acc += g->w[++c];
        /* the normals in place: no scratch to allocate (and to fail) */
        double *z = out + i * d;
        sgm_rng_normal_rows_f64(seed, draw, row0 + i, 1, d, z);
        for (size_t j = 0; j < d; j++) z[j] = g->mu[c * d + j] + g->sd[c * d + j] * z[j];
    }
}

/* The denoiser callback: x0 = D(x_t / alpha, sigma / alpha). */
int sgm_gmm_denoise_fn(const sgm_eval *q, void *out, void *user_data) {
    const sgm_gmm *g = user_data;
    if (!g || q->d != g->d || !(q->alpha >= 0)) return -1;
    if (q->alpha == 0) {
        /* pure noise (zero terminal SNR, flow at t = 1): x carries no information,
         * E[x0 | x] is the mixture mean */
        for (size_t j = 0; j < g->d; j++) {
            double m = 0;
            for (size_t c = 0; c < g->k; c++) m += g->w[c] * g->mu[c * g->d + j];
            for (size_t i = 0; i < q->n; i++) {
                if (q->dtype == SGM_F64) ((double *)out)[i * g->d + j] = m;
                else ((float *)out)[i * g->d + j] = (float)m;
            }
        }
        return 0;
    }
    double inv_a = 1 / q->alpha, s = q->sigma / q->alpha;
    size_t d = g->d;
    gmm_level L;
    if (level_init(g, s * s, &L) < 0) return -2;
    int fail = 0;
#pragma omp parallel if (q->n * g->k * d >= 16384)
    {
        double *lp = malloc(g->k * sizeof *lp);
        double *xr = malloc(2 * d * sizeof *xr);
        if (!lp || !xr) {
#pragma omp atomic write
            fail = 1;
        }
#pragma omp for schedule(static)
        for (size_t i = 0; i < q->n; i++) {
            if (!lp || !xr) continue;
            double *xo = xr + d;
            for (size_t j = 0; j < d; j++)
                xr[j] = inv_a * (q->dtype == SGM_F64 ? ((const double *)q->x)[i * d + j]
                                                     : (double)((const float *)q->x)[i * d + j]);
            row_denoise(g, &L, xr, lp, xo);
            for (size_t j = 0; j < d; j++) {
                if (q->dtype == SGM_F64) ((double *)out)[i * d + j] = xo[j];
                else ((float *)out)[i * d + j] = (float)xo[j];
            }
        }
        free(lp);
        free(xr);
    }
    free(L.iv);
    return fail ? -2 : 0;
}

sgm_denoiser sgm_gmm_denoiser(const sgm_gmm *g) {
    sgm_denoiser den;
    den.fn = sgm_gmm_denoise_fn;
    den.user_data = (void *)(uintptr_t)g;
    den.prediction = SGM_PRED_X0;
    return den;
}
