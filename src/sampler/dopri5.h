/* dopri5.h - one step of the Dormand-Prince 5(4) embedded Runge-Kutta pair
 * (Dormand & Prince 1980, "A family of embedded Runge-Kutta formulae",
 * J. Comp. Appl. Math. 6, 19-26; tableau as in Hairer, Norsett & Wanner,
 * Solving ODEs I, table II.5.2), shared by the rk45 sampler (rk45.c) and the
 * likelihood ODE (src/eval/nll.c). Internal to the library.
 *
 * The stepper is generic over the state: the caller supplies the vector
 * kernel (linear combinations, so the rk45 sampler keeps its float32 /
 * float64 kernels), the right-hand side and the error norm through
 * sgm__dp5_ops, and nine state-sized buffers (allocated once, outside the
 * step loop). The step controller is separate (step_control.h).
 *
 * FSAL (first same as last): k[0] must hold f(t, y) before a step; the
 * seventh stage is f(t + h, y5), which becomes k[0] of the next step when
 * sgm__dp5_accept swaps the two buffers.
 */
#ifndef SGM_DOPRI5_H
#define SGM_DOPRI5_H

#include "sgm/sgm_core.h"

/* Butcher tableau: nodes c, coefficients a (row 6 = the 5th-order weights
 * b5; a[6][1] = 0), embedded 4th-order weights b4 (b4[1] = 0). */
extern const double sgm__dp_c[7];
extern const double sgm__dp_a[7][6];
extern const double sgm__dp_b4[7];

/* Stage index of f calls: 0 = the start point (sgm__dp5_start), 1..5 the
 * interior stages, SGM__DP5_END = the new point t + h (FSAL stage), where a
 * caller may substitute its exact end point when the step lands on it. */
enum { SGM__DP5_END = 6 };

typedef struct sgm__dp5_ops {
    /* out = sum_{j < k} c[j] in[j], summed in order j = 0, 1, ... (k <= 8;
     * out aliases no input) */
    void (*lc)(void *ctx, void *out, int k, const double *c, const void *const *in);
    /* dy = f(t, y); stage as above */
    sgm_status (*f)(void *ctx, int stage, double t, const void *y, void *dy);
    /* scaled error norm of the pair (y5, y4) from y0 (accept at <= 1) */
    double (*err)(void *ctx, const void *y5, const void *y4, const void *y0);
} sgm__dp5_ops;

typedef struct sgm__dp5 {
    const sgm__dp5_ops *ops;
    void *ctx;
    void *k[7]; /* stage derivatives; k[0] = f(t, y) between steps */
    void *ys;   /* stage state; after a step, the embedded 4th-order solution */
    void *y5;   /* after a step, the 5th-order solution */
} sgm__dp5;

/* bufs: nine distinct state-sized buffers (k[0..6], ys, y5). */
void sgm__dp5_init(sgm__dp5 *dp, const sgm__dp5_ops *ops, void *ctx, void *const bufs[9]);
/* k[0] = f(t, y) at the start point (stage 0). */
sgm_status sgm__dp5_start(sgm__dp5 *dp, double t, const void *y);
/* One attempt from (t, y) with step h (k[0] = f(t, y)): y5, ys (4th order),
 * k[1..6] (k[6] = f(t + h, y5)); *err = ops->err(y5, ys, y). y is not
 * changed: on rejection retry with a smaller h. */
sgm_status sgm__dp5_step(sgm__dp5 *dp, double t, double h, const void *y, double *err);
/* After an accepted step (the caller copies y5 into its y): k[0] = k[6]. */
void sgm__dp5_accept(sgm__dp5 *dp);

/* Kernels for a state that is one contiguous double vector of length m, for
 * callers' ops: out = sum_j c[j] in[j] accumulated in order j = 0, 1, ...;
 * the RMS over i of (y5 - y4) / (atol + rtol max(|y0|, |y5|)). */
void sgm__dp5_lc_f64(size_t m, void *out, int k, const double *c, const void *const *in);
double sgm__dp5_err_f64(size_t m, double atol, double rtol, const void *y5, const void *y4,
                        const void *y0);

#endif
