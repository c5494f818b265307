/* datasets.c - training data: the 2-D toy sets of the score-model literature
 * generated from a Philox seed (moons as sklearn.make_moons; swiss roll,
 * checkerboard, 8 gaussians, rings and pinwheel as in FFJORD's toy_data.py,
 * Grathwohl et al. 2019), exact samples of a Gaussian mixture, .npy and CSV
 * tables, and per-column standardisation statistics. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../io/parse_mem.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_model.h"
#include "sgm/sgm_data.h"

static const char *const builtin[] = {"moons", "swissroll", "checkerboard",
                                      "8gaussians", "rings", "pinwheel"};

const char *sgm_data_builtin_names(void) {
    return "moons,swissroll,checkerboard,8gaussians,rings,pinwheel";
}

static int builtin_index(const char *name) {
    int i = sgm__name_index(name, builtin, 6);
    if (i >= 0) return i;
    if (sgm__name_eq(name, "swiss_roll") || sgm__name_eq(name, "swiss-roll")) return 1;
    if (sgm__name_eq(name, "8-gaussians") || sgm__name_eq(name, "eight_gaussians")) return 3;
    return -1;
}

/* n rows of `width` doubles (plus the generators' scratch, at most 4 a row)
 * past 2^40 bytes (1 TiB, also the largest block ASan's allocator hands
 * out) are refused with a message before anything is allocated */
static sgm_status check_rows(size_t n, size_t width, sgm_error *err) {
    if (n == 0) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "data set of 0 rows");
    size_t w = width > 4 ? width : 4;
    if (n > ((size_t)1 << 40) / sizeof(double) / w)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "%zu rows of %zu columns is too large to hold in memory", n, width);
    return SGM_OK;
}

sgm_status sgm_data_builtin(const char *name, size_t n, uint64_t seed, double **out,
                            sgm_error *err) {
    *out = NULL;
    int k = builtin_index(name);
    if (k < 0)
        return sgm__set_error(err, SGM_ERR_UNKNOWN_NAME, "unknown data set '%s' (built-in: %s)",
                              name, sgm_data_builtin_names());
    sgm_status rc = check_rows(n, 2, err);
    if (rc != SGM_OK) return rc;
    double *x = sgm__calloc(n * 2, sizeof *x), *u = sgm__calloc(n * 4, sizeof *u),
           *g = sgm__calloc(n * 2, sizeof *g);
    if (!x || !u || !g) {
        free(x), free(u), free(g);
        return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory (%zu rows)", n);
    }
    sgm_rng_uniform_rows_f64(seed, 0, 0, n, 4, u);
    sgm_rng_normal_rows_f64(seed, 1, 0, n, 2, g);
    const double pi = 3.14159265358979323846;
    for (size_t i = 0; i < n; i++) {
        const double *ui = u + 4 * i, *gi = g + 2 * i;
        double a, b;
        switch (k) {
        case 0: { /* two interleaved half circles, noise 0.1 */
            double th = pi * ui[0];
            if (i % 2 == 0)
                a = cos(th), b = sin(th);
            else
                a = 1 - cos(th), b = 0.5 - sin(th);
            a += 0.1 * gi[0], b += 0.1 * gi[1];
            break;
        }
        case 1: { /* swiss roll: t = 1.5 pi (1 + 2u), (t cos t, t sin t) / 5 + noise */
            double t = 1.5 * pi * (1 + 2 * ui[0]);
            a = t * cos(t) / 5 + 0.1 * gi[0];
            b = t * sin(t) / 5 + 0.1 * gi[1];
            break;
        }
        case 2: { /* checkerboard on [-4, 4]^2 */
            double x1 = 4 * ui[0] - 2;
            double x2 = ui[1] - 2 * floor(2 * ui[2]);
            x2 += fmod(floor(x1) + 4, 2);
            a = 2 * x1, b = 2 * x2;
            break;
        }
        case 3: { /* 8 gaussians on a circle of radius 4, std 0.5, divided by 1.414 */
            int c = (int)(8 * ui[0]);
            if (c > 7) c = 7;
            double th = c * pi / 4;
            a = (4 * cos(th) + 0.5 * gi[0]) / 1.414;
            b = (4 * sin(th) + 0.5 * gi[1]) / 1.414;
            break;
        }
        case 4: { /* 4 concentric rings, radii 3 (k+1)/4, noise 0.08 */
            int c = (int)(4 * ui[0]);
            if (c > 3) c = 3;
            double r = 3.0 * (c + 1) / 4, th = 2 * pi * ui[1];
            a = r * cos(th) + 0.08 * gi[0];
            b = r * sin(th) + 0.08 * gi[1];
            break;
        }
        default: { /* pinwheel: 5 arms, radial std 0.3, tangential std 0.1, rate 0.25 */
            int c = (int)(5 * ui[0]);
            if (c > 4) c = 4;
            double f0 = 0.3 * gi[0] + 1, f1 = 0.1 * gi[1];
            double ang = 2 * pi * c / 5 + 0.25 * exp(f0);
            a = 2 * (f0 * cos(ang) - f1 * sin(ang));
            b = 2 * (f0 * sin(ang) + f1 * cos(ang));
            break;
        }
        }
        x[2 * i] = a;
        x[2 * i + 1] = b;
    }
    free(u);
    free(g);
    *out = x;
    return SGM_OK;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static sgm_status load_csv(const char *path, double **out, size_t *rows, size_t *cols,
                           sgm_error *err) {
    char *text = NULL;
    size_t len = 0;
    sgm_status rc = sgm_read_file(path, &text, &len, err);
    if (rc != SGM_OK) return rc;
    rc = sgm__csv_parse(path, text, out, rows, cols, err);
    free(text);
    return rc;
}

sgm_status sgm__csv_parse(const char *path, char *text, double **out, size_t *rows,
                          size_t *cols, sgm_error *err) {
    *out = NULL;
    *rows = *cols = 0;
    size_t cap = 1024, n = 0, nc = 0, line_no = 0;
    double *x = malloc(cap * sizeof *x);
    if (!x) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    char *p = text;
    while (*p) {
        char *eol = strchr(p, '\n');
        if (eol) *eol = 0;
        line_no++;
        char *q = p;
        while (isspace((unsigned char)*q)) q++;
        if (*q && *q != '#') {
            size_t c = 0;
            int bad = 0;
            while (*q) {
                char *e;
                errno = 0;
                double v = strtod(q, &e);
                if (e == q) {
                    bad = 1;
                    break;
                }
                if (n + c + 1 > cap) {
                    cap *= 2;
                    double *nx = realloc(x, cap * sizeof *x);
                    if (!nx) {
                        free(x);
                        return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
                    }
                    x = nx;
                }
                x[n + c++] = v;
                q = e;
                while (isspace((unsigned char)*q) && *q != 0) q++;
                if (*q == ',' || *q == ';') q++;
                while (isspace((unsigned char)*q)) q++;
            }
            if (bad) {
                if (n == 0 && nc == 0 && line_no == 1) goto next; /* header line */
                /* the message quotes the file text: formatted before it is freed */
                sgm__set_error(err, SGM_ERR_FORMAT, "%s:%zu: not a number: '%.20s'", path,
                               line_no, q);
                free(x);
                return SGM_ERR_FORMAT;
            }
            if (nc == 0) nc = c;
            if (c != nc) {
                free(x);
                return sgm__set_error(err, SGM_ERR_FORMAT, "%s:%zu: %zu columns, expected %zu",
                                      path, line_no, c, nc);
            }
            n += c;
        }
    next:
        if (!eol) break;
        p = eol + 1;
    }
    if (nc == 0) {
        free(x);
        return sgm__set_error(err, SGM_ERR_FORMAT, "%s: no data rows", path);
    }
    *out = x;
    *rows = n / nc;
    *cols = nc;
    return SGM_OK;
}

sgm_status sgm_data_load(const char *spec, size_t n, uint64_t seed, double **out,
                         size_t *rows, size_t *cols, sgm_error *err) {
    *out = NULL;
    *rows = *cols = 0;
    sgm_status rc;
    if (strncmp(spec, "gmm:", 4) == 0) {
        sgm_gmm *g = NULL;
        if ((rc = sgm_gmm_load(spec + 4, &g, err)) != SGM_OK) return rc;
        size_t d = sgm_gmm_dim(g);
        double *x = NULL;
        if ((rc = check_rows(n, d, err)) != SGM_OK || !(x = sgm__calloc(n * d, sizeof *x))) {
            sgm_gmm_free(g);
            return rc != SGM_OK ? rc
                                : sgm__set_error(err, SGM_ERR_NOMEM,
                                                 "out of memory for %zu mixture samples", n);
        }
        sgm_gmm_sample(g, seed, 0, 0, n, x);
        sgm_gmm_free(g);
        *out = x, *rows = n, *cols = d;
        return SGM_OK;
    }
    if (ends_with(spec, ".npy")) {
        sgm_array a;
        if ((rc = sgm_npy_load(spec, &a, err)) != SGM_OK) return rc;
        if (a.ndim != 2 || a.count == 0) {
            sgm_array_free(&a);
            return sgm__set_error(err, SGM_ERR_SHAPE, "%s: expected a non-empty 2-D table "
                                  "(rows, columns)", spec);
        }
        *rows = a.shape[0], *cols = a.shape[1];
        *out = a.data;
        return SGM_OK;
    }
    if (ends_with(spec, ".csv") || ends_with(spec, ".txt") || ends_with(spec, ".tsv"))
        return load_csv(spec, out, rows, cols, err);
    if ((rc = sgm_data_builtin(spec, n, seed, out, err)) != SGM_OK) return rc;
    *rows = n, *cols = 2;
    return SGM_OK;
}

void sgm_data_stats(const double *x, size_t rows, size_t cols, double *mean, double *std) {
    for (size_t j = 0; j < cols; j++) {
        double m = 0, v = 0;
        for (size_t i = 0; i < rows; i++) m += x[i * cols + j];
        m /= (double)rows;
        for (size_t i = 0; i < rows; i++) {
            double e = x[i * cols + j] - m;
            v += e * e;
        }
        v /= (double)rows;
        mean[j] = m;
        std[j] = v > 0 ? sqrt(v) : 1;
    }
}
