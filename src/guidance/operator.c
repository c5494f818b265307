/* operator.c - measurement operators y = A(x) (sgm_guidance.h): mask
 * (inpainting), separable Gaussian blur with zero padding, average-pool
 * downsampling (super-resolution), a seeded Gaussian projection (compressed
 * sensing, entries N(0, 1/m) as in Candes & Tao's random ensembles), the
 * pointwise tanh nonlinearity and user callbacks; the adjoint / VJP of each,
 * and for linear operators the dense matrix, the SVD (from the eigen-
 * decomposition of A A^T) and the projection x + A^+ (y - A x).
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "sgm/sgm_eval.h"
#include "guidance_internal.h"

struct sgm_operator {
    sgm_operator_kind kind;
    size_t c, h, w, d, m;
    int linear;
    double *mask;        /* MASK [d] */
    double *kern;        /* BLUR [2 rad + 1] */
    int rad;
    size_t fh, fw;       /* DOWN: factors along h, w */
    double *P;           /* PROJ [m, d] */
    double scale;        /* TANH */
    sgm_op_forward_fn fwd;
    sgm_op_vjp_fn vjp;
    void *ud;
    double *svd_u, *svd_s; /* cache: U [m, m], s [m] */
};

static const char *const kind_names[] = {"mask", "blur", "down", "proj", "tanh", "user"};

sgm_status sgm_operator_kind_from_name(const char *name, sgm_operator_kind *out) {
    int i = sgm__name_index(name, kind_names, 6);
    if (i < 0) return SGM_ERR_INVALID_ARG;
    *out = (sgm_operator_kind)i;
    return SGM_OK;
}

const char *sgm_operator_kind_name(sgm_operator_kind k) {
    return (unsigned)k < 6 ? kind_names[k] : "?";
}

sgm_operator_config sgm_operator_config_default(sgm_operator_kind kind) {
    sgm_operator_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.blur_sigma = 1.0;
    c.factor = 2;
    c.seed = 0;
    c.tanh_scale = 1.0;
    return c;
}

void sgm_operator_free(sgm_operator *op) {
    if (!op) return;
    free(op->mask);
    free(op->kern);
    free(op->P);
    free(op->svd_u);
    free(op->svd_s);
    free(op);
}

size_t sgm_operator_in_dim(const sgm_operator *op) { return op->d; }
size_t sgm_operator_out_dim(const sgm_operator *op) { return op->m; }
int sgm_operator_is_linear(const sgm_operator *op) { return op->linear; }

static sgm_status setup_kind(sgm_operator *op, const sgm_operator_config *cfg, sgm_error *err) {
    size_t d = op->d;
    switch (cfg->kind) {
    case SGM_OP_MASK:
        if (!cfg->mask) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "mask operator: no mask");
        op->mask = malloc(d * sizeof *op->mask);
        if (!op->mask) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < d; i++) {
            if (cfg->mask[i] != 0 && cfg->mask[i] != 1)
                return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                      "mask operator: entry %zu is %g (need 0 or 1)", i,
                                      cfg->mask[i]);
            op->mask[i] = cfg->mask[i];
        }
        op->m = d;
        return SGM_OK;
    case SGM_OP_BLUR: {
        if (!(cfg->blur_sigma > 0 && cfg->blur_sigma < 1e6) || cfg->blur_radius < 0)
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "blur operator: sigma %g / radius %d (need sigma > 0, "
                                  "radius >= 0)", cfg->blur_sigma, cfg->blur_radius);
        int r = cfg->blur_radius ? cfg->blur_radius : (int)ceil(3 * cfg->blur_sigma);
        if (r > 1000) r = 1000;
        op->rad = r;
        op->kern = malloc((size_t)(2 * r + 1) * sizeof *op->kern);
        if (!op->kern) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
        double s = 0;
        for (int i = -r; i <= r; i++)
            s += op->kern[i + r] = exp(-0.5 * i * i / (cfg->blur_sigma * cfg->blur_sigma));
        for (int i = 0; i <= 2 * r; i++) op->kern[i] /= s;
        op->m = d;
        return SGM_OK;
    }
    case SGM_OP_DOWN: {
        size_t f = cfg->factor >= 1 ? (size_t)cfg->factor : 0;
        op->fh = op->h > 1 ? f : 1;
        op->fw = op->w > 1 ? f : 1;
        if (f == 0 || op->h % op->fh || op->w % op->fw)
            return sgm__set_error(err, SGM_ERR_SHAPE,
                                  "down operator: factor %d does not divide the shape %zux%zu",
                                  cfg->factor, op->h, op->w);
        op->m = op->c * (op->h / op->fh) * (op->w / op->fw);
        return SGM_OK;
    }
    case SGM_OP_PROJ: {
        size_t m = cfg->proj_dim;
        if (m == 0 || m > 65536)
            return sgm__set_error(err, SGM_ERR_SHAPE, "proj operator: bad row count %zu", m);
        op->P = malloc(m * d * sizeof *op->P);
        if (!op->P) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
        sgm_rng_normal_rows_f64(cfg->seed, 0, 0, m, d, op->P);
        double sc = 1 / sqrt((double)m);
        for (size_t i = 0; i < m * d; i++) op->P[i] *= sc;
        op->m = m;
        return SGM_OK;
    }
    case SGM_OP_TANH:
        if (!(cfg->tanh_scale > 0 && isfinite(cfg->tanh_scale)))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG, "tanh operator: scale %g (need > 0)",
                                  cfg->tanh_scale);
        op->scale = cfg->tanh_scale;
        op->linear = 0;
        op->m = d;
        return SGM_OK;
    case SGM_OP_USER:
        if (!cfg->forward || !cfg->vjp || cfg->user_out_dim == 0)
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "user operator: forward, vjp and out_dim are required");
        op->fwd = cfg->forward;
        op->vjp = cfg->vjp;
        op->ud = cfg->user_data;
        op->linear = cfg->user_linear != 0;
        op->m = cfg->user_out_dim;
        return SGM_OK;
    }
    return sgm__set_error(err, SGM_ERR_INVALID_ARG, "operator: unknown kind %d", (int)cfg->kind);
}

sgm_status sgm_operator_create(const sgm_operator_config *cfg, sgm_operator **out,
                               sgm_error *err) {
    if (!out) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "operator: NULL argument");
    *out = NULL;
    if (!cfg) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "operator: NULL argument");
    if (cfg->c == 0 || cfg->h == 0 || cfg->w == 0 || cfg->c > 65536 || cfg->h > 65536 ||
        cfg->w > 65536 || cfg->c * cfg->h * cfg->w > 100000000)
        return sgm__set_error(err, SGM_ERR_SHAPE, "operator: bad shape %zux%zux%zu", cfg->c,
                              cfg->h, cfg->w);
    sgm_operator *op = sgm__calloc(1, sizeof *op);
    if (!op) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    op->kind = cfg->kind;
    op->c = cfg->c;
    op->h = cfg->h;
    op->w = cfg->w;
    op->d = cfg->c * cfg->h * cfg->w;
    op->linear = 1;
    sgm_status st = setup_kind(op, cfg, err);
    if (st) {
        sgm_operator_free(op);
        return st;
    }
    *out = op;
    return SGM_OK;
}

/* 1-D correlation with the symmetric kernel along one axis (stride st, len
 * L, count of lines `lines` with line stride ls and inner count `inner`). */
static void blur_axis(const sgm_operator *op, const double *in, double *out, size_t len,
                      size_t stride, size_t outer, size_t outer_stride, size_t inner) {
    int r = op->rad;
    for (size_t o = 0; o < outer; o++)
        for (size_t j = 0; j < inner; j++) {
            const double *a = in + o * outer_stride + j;
            double *b = out + o * outer_stride + j;
            for (size_t i = 0; i < len; i++) {
                double s = 0;
                for (int k = -r; k <= r; k++) {
                    long p = (long)i + k;
                    if (p >= 0 && p < (long)len) s += op->kern[k + r] * a[(size_t)p * stride];
                }
                b[i * stride] = s;
            }
        }
}

static void blur_row(const sgm_operator *op, const double *x, double *y, double *tmp) {
    size_t c = op->c, h = op->h, w = op->w;
    memcpy(tmp, x, op->d * sizeof *tmp);
    if (w > 1) {
        blur_axis(op, tmp, y, w, 1, c * h, w, 1);
        memcpy(tmp, y, op->d * sizeof *tmp);
    }
    if (h > 1) blur_axis(op, tmp, y, h, w, c, h * w, w);
    else memcpy(y, tmp, op->d * sizeof *y);
}

static void down_row(const sgm_operator *op, const double *x, double *y, int adjoint) {
    size_t oh = op->h / op->fh, ow = op->w / op->fw;
    double inv = 1.0 / (double)(op->fh * op->fw);
    for (size_t ch = 0; ch < op->c; ch++)
        for (size_t i = 0; i < oh; i++)
            for (size_t j = 0; j < ow; j++) {
                size_t oi = (ch * oh + i) * ow + j;
                double s = 0;
                for (size_t a = 0; a < op->fh; a++)
                    for (size_t b = 0; b < op->fw; b++) {
                        size_t xi = (ch * op->h + i * op->fh + a) * op->w + j * op->fw + b;
                        if (adjoint) y[xi] = x[oi] * inv;
                        else s += x[xi];
                    }
                if (!adjoint) y[oi] = s * inv;
            }
}

/* linear maps: forward (adjoint = 0: [n, d] -> [n, m]) or adjoint ([n, m] -> [n, d]) */
static int apply(const sgm_operator *op, size_t n, const double *x, const double *in,
                 double *out, int adjoint) {
    size_t d = op->d, m = op->m;
    switch (op->kind) {
    case SGM_OP_MASK:
        for (size_t r = 0; r < n; r++)
            for (size_t i = 0; i < d; i++) out[r * d + i] = op->mask[i] * in[r * d + i];
        return 0;
    case SGM_OP_BLUR: {
        double *tmp = malloc(d * sizeof *tmp);
        if (!tmp) return -1;
        for (size_t r = 0; r < n; r++) blur_row(op, in + r * d, out + r * d, tmp);
        free(tmp);
        return 0;
    }
    case SGM_OP_DOWN:
        for (size_t r = 0; r < n; r++)
            down_row(op, in + r * (adjoint ? m : d), out + r * (adjoint ? d : m), adjoint);
        return 0;
    case SGM_OP_PROJ:
        if (!adjoint)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)m, (int)d, 1.0,
                        in, (int)d, op->P, (int)d, 0.0, out, (int)m);
        else
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)m, 1.0,
                        in, (int)m, op->P, (int)d, 0.0, out, (int)d);
        return 0;
    case SGM_OP_TANH:
        for (size_t i = 0; i < n * d; i++) {
            double t = tanh(op->scale * (adjoint ? x[i] : in[i]));
            out[i] = adjoint ? in[i] * op->scale * (1 - t * t) : t;
        }
        return 0;
    case SGM_OP_USER:
        return adjoint ? op->vjp(n, x, in, out, op->ud) : op->fwd(n, in, out, op->ud);
    }
    return -1;
}

sgm_status sgm_operator_forward(const sgm_operator *op, size_t n, const double *x, double *y,
                                sgm_error *err) {
    if (!op || !x || !y) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "operator: NULL argument");
    if (apply(op, n, NULL, x, y, 0))
        return sgm__set_error(err, SGM_ERR_CALLBACK, "operator %s: forward failed",
                              kind_names[op->kind]);
    return SGM_OK;
}

sgm_status sgm_operator_vjp(const sgm_operator *op, size_t n, const double *x,
                            const double *v, double *out, sgm_error *err) {
    if (!op || !v || !out || (!op->linear && !x))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "operator: NULL argument");
    if (apply(op, n, x, v, out, 1))
        return sgm__set_error(err, SGM_ERR_CALLBACK, "operator %s: vjp failed",
                              kind_names[op->kind]);
    return SGM_OK;
}

sgm_status sgm_operator_matrix(const sgm_operator *op, double *a, sgm_error *err) {
    if (!op || !a) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "operator: NULL argument");
    if (!op->linear)
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED, "operator %s is not linear",
                              kind_names[op->kind]);
    if (op->d > 8192 || op->m > 8192)
        return sgm__set_error(err, SGM_ERR_SHAPE,
                              "operator: %zux%zu too large for a dense matrix", op->m, op->d);
    size_t d = op->d, m = op->m;
    double *e = sgm__calloc(m * m, sizeof *e), *at = malloc(m * d * sizeof *at);
    sgm_status st = SGM_OK;
    if (!e || !at) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    } else {
        /* rows of A^T from the adjoint of the unit vectors of R^m */
        for (size_t i = 0; i < m; i++) e[i * m + i] = 1;
        st = sgm_operator_vjp(op, m, NULL, e, at, err);
        if (!st)
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < d; j++) a[i * d + j] = at[i * d + j];
    }
    free(e);
    free(at);
    return st;
}

sgm_status sgm_operator_svd(sgm_operator *op, const double **u, const double **s,
                            sgm_error *err) {
    if (!op) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "operator: NULL argument");
    if (!op->svd_u) {
        size_t d = op->d, m = op->m;
        double *a = malloc(m * d * sizeof *a), *g = malloc(m * m * sizeof *g);
        double *ev = malloc(m * sizeof *ev), *U = malloc(m * m * sizeof *U);
        double *S = malloc(m * sizeof *S);
        sgm_status st = (!a || !g || !ev || !U || !S)
                            ? sgm__set_error(err, SGM_ERR_NOMEM, "out of memory")
                            : sgm_operator_matrix(op, a, err);
        if (!st) {
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)m, (int)d, 1.0, a,
                        (int)d, a, (int)d, 0.0, g, (int)m);
            st = sgm_sym_eigen(m, g, ev, g, err);
        }
        if (!st) /* ascending from LAPACK -> descending */
            for (size_t j = 0; j < m; j++) {
                size_t src = m - 1 - j;
                S[j] = sqrt(ev[src] > 0 ? ev[src] : 0);
                for (size_t i = 0; i < m; i++) U[i * m + j] = g[i * m + src];
            }
        free(a);
        free(g);
        free(ev);
        if (st) {
            free(U);
            free(S);
            return st;
        }
        op->svd_u = U;
        op->svd_s = S;
    }
    if (u) *u = op->svd_u;
    if (s) *s = op->svd_s;
    return SGM_OK;
}

sgm_status sgm__op_project_rows(sgm_operator *op, size_t n, const double *x, const double *y,
                                size_t y_stride, double reg, double *out, sgm_error *err) {
    const double *U, *S;
    sgm_status st = sgm_operator_svd(op, &U, &S, err);
    if (st) return st;
    size_t d = op->d, m = op->m;
    double *r = malloc(n * m * sizeof *r), *q = malloc(n * m * sizeof *q);
    double *dx = malloc(n * d * sizeof *dx);
    if (!r || !q || !dx) st = sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    if (!st) st = sgm_operator_forward(op, n, x, r, err);
    if (!st) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++) r[i * m + j] = y[i * y_stride + j] - r[i * m + j];
        /* q = r U diag(1 / (s^2 + reg)) U^T (rows), pseudo-inverse on the range */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m, (int)m, 1.0, r,
                    (int)m, U, (int)m, 0.0, q, (int)m);
        double tol = 1e-10 * S[0];
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++)
                q[i * m + j] *= S[j] > tol ? 1 / (S[j] * S[j] + reg) : 0;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)m, (int)m, 1.0, q,
                    (int)m, U, (int)m, 0.0, r, (int)m);
        st = sgm_operator_vjp(op, n, NULL, r, dx, err);
    }
    if (!st)
        for (size_t i = 0; i < n * d; i++) out[i] = x[i] + dx[i];
    free(r);
    free(q);
    free(dx);
    return st;
}

sgm_status sgm_operator_project(sgm_operator *op, size_t n, const double *x, const double *y,
                                double *out, sgm_error *err) {
    if (!op || !x || !y || !out)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "operator: NULL argument");
    return sgm__op_project_rows(op, n, x, y, 0, 0.0, out, err);
}
