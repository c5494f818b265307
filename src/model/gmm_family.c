/* gmm_family.c - a seeded family of random diagonal Gaussian mixtures (the
 * test family of the training defaults, docs/training-defaults.md), and the
 * JSON writer of a mixture (the format sgm_gmm_load reads, so that
 * `gmm:FILE.json` data and the exact model take what is written here).
 * A member is a pure function of (seed, d), drawn from Philox streams:
 *   - K = 3..8 components, unequal weights (ratio up to ~4 among the main ones);
 *   - per component a base scale in [0.25, 0.8] and per-axis factors in
 *     [0.6, 1.6] (anisotropic, unequal scales);
 *   - means in a box of half-width 4, separated by at least 2.5 times the sum
 *     of the two components' largest stds, except for one overlapping pair
 *     (K >= 4: the second mean 1.5 stds from the first along a random axis
 *     direction) ;
 *   - on odd seeds one far-out small component: weight 0.05, std 0.2-0.3, at
 *     radius ~9 from the others' centre.
 * Weights are at least 0.05 so that the component masses of 10,000 draws
 * have a binomial relative se of at most ~0.045. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../core/internal.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_model.h"

#define FAM_KMAX 8
#define FAM_DRAWS 64 /* uniforms per stream draw (one row each) */

/* uniform j of the member's stream (row = j / FAM_DRAWS) */
typedef struct fam_rng {
    uint64_t seed;
    double buf[FAM_DRAWS];
    uint64_t row;
    int i;
} fam_rng;

static double fam_u(fam_rng *r) {
    if (r->i == FAM_DRAWS) {
        sgm_rng_uniform_rows_f64(r->seed, 0x6d6978ull, r->row++, 1, FAM_DRAWS, r->buf);
        r->i = 0;
    }
    return r->buf[r->i++];
}

static double fam_normal(fam_rng *r) { /* Box-Muller on two uniforms */
    double u1 = fam_u(r), u2 = fam_u(r);
    return sqrt(-2 * log(1 - u1)) * cos(6.283185307179586 * u2);
}

static double max_sd(const double *sd, size_t d) {
    double m = 0;
    for (size_t j = 0; j < d; j++) m = fmax(m, sd[j]);
    return m;
}

static double dist(const double *a, const double *b, size_t d) {
    double s = 0;
    for (size_t j = 0; j < d; j++) s += (a[j] - b[j]) * (a[j] - b[j]);
    return sqrt(s);
}

/* a mean for component k away from components [0, k) (rejection; after 200
   tries the farthest candidate of the last ones is kept) */
static void place_apart(fam_rng *r, double *mu, const double *sd, size_t k, size_t d) {
    double *m = mu + k * d, best = -1, cand[256];
    for (int tr = 0; tr < 200; tr++) {
        for (size_t j = 0; j < d; j++) cand[j] = 8 * fam_u(r) - 4;
        double slack = 1e9;
        for (size_t i = 0; i < k; i++) {
            double need = 2.5 * (max_sd(sd + i * d, d) + max_sd(sd + k * d, d));
            slack = fmin(slack, dist(cand, mu + i * d, d) - need);
        }
        if (slack > best) {
            best = slack;
            for (size_t j = 0; j < d; j++) m[j] = cand[j];
        }
        if (slack >= 0) return;
    }
}

sgm_status sgm_gmm_family(uint64_t seed, size_t d, sgm_gmm **out, sgm_error *err) {
    *out = NULL;
    if (d < 1 || d > 256)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "gmm family: dimension %zu outside [1, 256]", d);
    fam_rng r = {seed, {0}, 0, FAM_DRAWS};
    size_t K = 3 + (size_t)(6 * fam_u(&r));
    if (K > FAM_KMAX) K = FAM_KMAX;
    const int far = (seed & 1) != 0;
    const size_t overlap = K >= 4 ? 1 : 0; /* one overlapping pair: components 0, 1 */
    double w[FAM_KMAX], *mu = calloc(K * d, sizeof *mu), *sd = calloc(K * d, sizeof *sd);
    if (!mu || !sd) {
        free(mu), free(sd);
        return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    }
    size_t kfar = far ? K - 1 : K; /* the far component, when there is one, is last */
    for (size_t k = 0; k < K; k++) {
        double base = k == kfar ? 0.2 + 0.1 * fam_u(&r) : 0.25 + 0.55 * fam_u(&r);
        for (size_t j = 0; j < d; j++)
            sd[k * d + j] = base * (k == kfar ? 1 : 0.6 + 1.0 * fam_u(&r));
        w[k] = 1 + 3 * fam_u(&r);
    }
    for (size_t k = 0; k < kfar; k++) {
        if (overlap && k == 1) { /* 1.5 (summed) stds from component 0 along a random direction */
            double nrm = 0, *dir = mu + d; /* dir is overwritten by the mean below */
            for (size_t j = 0; j < d; j++) dir[j] = fam_normal(&r), nrm += dir[j] * dir[j];
            nrm = sqrt(nrm);
            double sep = 1.5 * (max_sd(sd, d) + max_sd(sd + d, d));
            for (size_t j = 0; j < d; j++) mu[d + j] = mu[j] + sep * dir[j] / nrm;
        } else {
            place_apart(&r, mu, sd, k, d);
        }
    }
    double wsum = 0;
    for (size_t k = 0; k < kfar; k++) wsum += w[k];
    if (far) {
        /* far-out small component: radius 9 from the centre of the others */
        double nrm = 0, *m = mu + kfar * d;
        for (size_t j = 0; j < d; j++) m[j] = fam_normal(&r), nrm += m[j] * m[j];
        nrm = sqrt(nrm);
        for (size_t j = 0; j < d; j++) {
            double c = 0;
            for (size_t k = 0; k < kfar; k++) c += mu[k * d + j] / (double)kfar;
            m[j] = c + 9 * m[j] / nrm;
        }
        for (size_t k = 0; k < kfar; k++) w[k] *= 0.95 / wsum;
        w[kfar] = 0.05;
    } else {
        for (size_t k = 0; k < K; k++) w[k] /= wsum;
    }
    /* weights at least 0.05: mix with the uniform weight where needed */
    double wmin = 1;
    for (size_t k = 0; k < K; k++) wmin = fmin(wmin, w[k]);
    if (wmin < 0.05) {
        double a = (0.05 - wmin) / (1.0 / (double)K - wmin);
        for (size_t k = 0; k < K; k++) w[k] = (1 - a) * w[k] + a / (double)K;
    }
    sgm_status rc = sgm_gmm_create(K, d, w, mu, sd, out, err);
    free(mu), free(sd);
    return rc;
}

static cJSON *rows_json(const double *a, size_t k, size_t d) {
    cJSON *o = cJSON_CreateArray();
    for (size_t i = 0; i < k; i++) {
        cJSON *row = cJSON_CreateArray();
        for (size_t j = 0; j < d; j++) cJSON_AddItemToArray(row, cJSON_CreateNumber(a[i * d + j]));
        cJSON_AddItemToArray(o, row);
    }
    return o;
}

sgm_status sgm_gmm_save(const sgm_gmm *g, const char *path, const char *note, sgm_error *err) {
    size_t k = sgm_gmm_components(g), d = sgm_gmm_dim(g);
    cJSON *o = cJSON_CreateObject();
    if (!o) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    cJSON_AddStringToObject(o, "kind", "gmm");
    cJSON_AddNumberToObject(o, "dim", (double)d);
    cJSON *w = cJSON_AddArrayToObject(o, "weights");
    for (size_t i = 0; i < k; i++) cJSON_AddItemToArray(w, cJSON_CreateNumber(sgm_gmm_weights(g)[i]));
    cJSON_AddItemToObject(o, "means", rows_json(sgm_gmm_means(g), k, d));
    cJSON_AddItemToObject(o, "stds", rows_json(sgm_gmm_stds(g), k, d));
    if (note) cJSON_AddStringToObject(o, "note", note);
    char *text = cJSON_Print(o); /* cJSON prints doubles with 17 significant digits */
    cJSON_Delete(o);
    if (!text) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    sgm_atomic_file *af = NULL;
    sgm_status rc = sgm_atomic_open(path, &af, err);
    if (rc == SGM_OK) {
        fprintf(sgm_atomic_stream(af), "%s\n", text);
        rc = sgm_atomic_commit(af, err);
    }
    free(text);
    return rc;
}
