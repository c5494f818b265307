/* dopri5.c - one step of the Dormand-Prince 5(4) pair with FSAL and the
 * embedded error estimate (dopri5.h): Dormand & Prince 1980, J. Comp. Appl.
 * Math. 6; Hairer, Norsett & Wanner, Solving ODEs I, table II.5.2.
 *
 * Every linear combination is y + sum_j (h a_ij) k_j over the nonzero a_ij
 * in increasing j, in one ops->lc call: the operation order the rk45 sampler
 * and the likelihood solver had before they shared this code.
 */
#include "dopri5.h"

#include <math.h>

const double sgm__dp_c[7] = {0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1};
const double sgm__dp_a[7][6] = {
    {0},
    {1.0 / 5},
    {3.0 / 40, 9.0 / 40},
    {44.0 / 45, -56.0 / 15, 32.0 / 9},
    {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
    {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
    {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84}};
const double sgm__dp_b4[7] = {5179.0 / 57600,     0,           7571.0 / 16695, 393.0 / 640,
                              -92097.0 / 339200, 187.0 / 2100, 1.0 / 40};

void sgm__dp5_init(sgm__dp5 *dp, const sgm__dp5_ops *ops, void *ctx, void *const bufs[9]) {
    dp->ops = ops;
    dp->ctx = ctx;
    for (int i = 0; i < 7; i++) dp->k[i] = bufs[i];
    dp->ys = bufs[7];
    dp->y5 = bufs[8];
}

sgm_status sgm__dp5_start(sgm__dp5 *dp, double t, const void *y) {
    return dp->ops->f(dp->ctx, 0, t, y, dp->k[0]);
}

/* out = y + sum_{j < nk, w[j] != 0} (h w[j]) k[j] */
static void combine(sgm__dp5 *dp, void *out, const void *y, double h, const double *w, int nk) {
    const void *in[8];
    double cf[8];
    in[0] = y;
    cf[0] = 1;
    int k = 1;
    for (int j = 0; j < nk; j++) {
        if (w[j] == 0) continue;
        in[k] = dp->k[j];
        cf[k++] = h * w[j];
    }
    dp->ops->lc(dp->ctx, out, k, cf, in);
}

sgm_status sgm__dp5_step(sgm__dp5 *dp, double t, double h, const void *y, double *err) {
    sgm_status e;
    for (int i = 1; i < 6; i++) {
        combine(dp, dp->ys, y, h, sgm__dp_a[i], i);
        if ((e = dp->ops->f(dp->ctx, i, t + sgm__dp_c[i] * h, dp->ys, dp->k[i]))) return e;
    }
    /* 5th-order solution (b5 = a[6]), then the FSAL stage at t + h */
    combine(dp, dp->y5, y, h, sgm__dp_a[6], 6);
    if ((e = dp->ops->f(dp->ctx, SGM__DP5_END, t + sgm__dp_c[6] * h, dp->y5, dp->k[6])))
        return e;
    combine(dp, dp->ys, y, h, sgm__dp_b4, 7);
    *err = dp->ops->err(dp->ctx, dp->y5, dp->ys, y);
    return SGM_OK;
}

void sgm__dp5_accept(sgm__dp5 *dp) {
    void *t = dp->k[0];
    dp->k[0] = dp->k[6];
    dp->k[6] = t;
}

void sgm__dp5_lc_f64(size_t m, void *out, int k, const double *c, const void *const *in) {
    double *o = out;
    for (size_t i = 0; i < m; i++) {
        double acc = c[0] * ((const double *)in[0])[i];
        for (int j = 1; j < k; j++) acc += c[j] * ((const double *)in[j])[i];
        o[i] = acc;
    }
}

double sgm__dp5_err_f64(size_t m, double atol, double rtol, const void *y5v, const void *y4v,
                        const void *y0v) {
    const double *y5 = y5v, *y4 = y4v, *y0 = y0v;
    double err2 = 0;
    for (size_t i = 0; i < m; i++) {
        double sc = atol + rtol * fmax(fabs(y0[i]), fabs(y5[i]));
        double r = (y5[i] - y4[i]) / sc;
        err2 += r * r;
    }
    return sqrt(err2 / (double)m);
}
