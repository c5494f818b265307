/* step_control.c - the adaptive step size controller (step_control.h):
 * Hairer, Norsett & Wanner, Solving ODEs I, II.4 eq. (4.13) (STANDARD) and
 * k-diffusion's PIDStepSizeController (Soderlind 2003) (PID), with one
 * treatment of non-finite error estimates: reject and shrink.
 */
#include "step_control.h"

#include <math.h>

sgm__ctl sgm__ctl_standard(double order, double safety, double fac_min, double fac_max) {
    sgm__ctl c = {SGM__CTL_STANDARD, order, safety, fac_min, fac_max, {0, 0, 0}, 0, fac_min};
    return c;
}

sgm__ctl sgm__ctl_dpm_solver(double order, double theta) {
    sgm__ctl c = sgm__ctl_standard(order, theta, 0, INFINITY);
    c.nonfinite_shrink = 0.2;
    return c;
}

sgm__ctl sgm__ctl_pid(double order, double pcoeff, double icoeff, double dcoeff,
                      double accept_safety) {
    sgm__ctl c = {SGM__CTL_PID, order, 0, 0, 0, {0, 0, 0}, accept_safety, 0};
    c.b[0] = (pcoeff + icoeff + dcoeff) / order;
    c.b[1] = -(pcoeff + 2 * dcoeff) / order;
    c.b[2] = dcoeff / order;
    /* the limiter's range is (1 - pi/2, 1 + pi/2); on [0, inf) it is >= 1 - pi/4 */
    c.fac_min = 1 + atan(-1.0);
    c.fac_max = 1 + 1.5707963267948966;
    c.nonfinite_shrink = c.fac_min;
    return c;
}

void sgm__ctl_reset(sgm__ctl_state *st) {
    st->errs[0] = st->errs[1] = st->errs[2] = 0;
    st->have_errs = 0;
    st->n_nonfinite = 0;
}

int sgm__ctl_propose(const sgm__ctl *c, sgm__ctl_state *st, double err, double *h) {
    if (!(err >= 0) || isinf(err)) {
        /* NaN, Inf (or a negative value, which no norm gives): no information
         * on the error's size, so the history is left alone */
        st->n_nonfinite++;
        *h *= c->nonfinite_shrink;
        return 0;
    }
    st->n_nonfinite = 0;
    if (c->form == SGM__CTL_PID) {
        double inv = 1 / (err + 1e-8);
        if (!st->have_errs) {
            st->errs[0] = st->errs[1] = st->errs[2] = inv;
            st->have_errs = 1;
        }
        st->errs[0] = inv;
        double factor =
            pow(st->errs[0], c->b[0]) * pow(st->errs[1], c->b[1]) * pow(st->errs[2], c->b[2]);
        factor = 1 + atan(factor - 1);
        int accept = factor >= c->accept_safety;
        if (accept) {
            st->errs[2] = st->errs[1];
            st->errs[1] = st->errs[0];
        }
        *h *= factor;
        return accept;
    }
    double fac = err > 0 ? c->safety * pow(err, -1 / c->order) : c->fac_max;
    int accept = err <= 1;
    *h = *h * fmin(accept ? c->fac_max : 1, fmax(c->fac_min, fac));
    return accept;
}

double sgm__ctl_clip(double t, double t_end, double h, int *last) {
    double left = t_end - t;
    *last = h >= left;
    return *last ? left : h;
}

int sgm__ctl_underflow(double t, double h) { return !(h > 1e-13 * fmax(1, fabs(t))); }
