/* invert.c - DDIM inversion (Song et al. 2020 eq. 13 run from the data end
 * upwards, as diffusers DDIMInverseScheduler: the data prediction is taken at
 * the current, lower, noise level) and DPM-Solver++(2M) inversion (Lu et al.
 * 2022b, Alg. 2, the same multistep formula with negative step h in lambda,
 * as in "exact" inversion studies of DPM-Solver, e.g. Hong et al. 2024).
 * In VE coordinates (x~ = x / alpha, s = sigma / alpha, lambda = -log s):
 *   DDIM:   x~' = D + (s' / s) (x~ - D)
 *   2M:     x~' = (s' / s) x~ - expm1(-h) ((1 + 1/(2r)) D - 1/(2r) D_prev),
 *           h = lambda' - lambda, r = h_prev / h (first step: D alone).
 * Neither is exactly reversible: the regenerating sampler evaluates D at the
 * upper point of each step; docs/conditioning-edit.md reports the errors. */
#include <math.h>
#include <stdlib.h>

#include "edit_internal.h"

sgm_status sgm_invert_method_from_name(const char *name, sgm_invert_method *out) {
    if (name && (sgm__name_eq(name, "ddim"))) *out = SGM_INVERT_DDIM;
    else if (name && (sgm__name_eq(name, "dpmpp_2m") || sgm__name_eq(name, "dpm++_2m")))
        *out = SGM_INVERT_DPMPP_2M;
    else return SGM_ERR_INVALID_ARG;
    return SGM_OK;
}

sgm_status sgm_invert(sgm_invert_method m, const sgm_schedule *sched, const sgm_process *proc,
                      const sgm_denoiser *den, uint64_t row0, size_t n, size_t d, sgm_dtype dt,
                      void *x, size_t *nfe, sgm_error *err) {
    if (nfe) *nfe = 0;
    sgm_status st = sgm__edit_check(sched, proc, den, n, d, dt, err);
    if (st) return st;
    if (m != SGM_INVERT_DDIM && m != SGM_INVERT_DPMPP_2M)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "unknown inversion method %d", (int)m);
    size_t last = sched->n - 1;
    if (!(sched->sigma[last] > 0)) last--;
    if (last == 0)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "inversion: the schedule has no step between nonzero sigmas");
    size_t count = n * d, esz = sgm_dtype_size(dt);
    void *D = malloc(count * esz), *Dp = malloc(count * esz), *xt = malloc(count * esz);
    if (!D || !Dp || !xt) {
        free(D), free(Dp), free(xt);
        return sgm__set_error(err, SGM_ERR_NOMEM, "inversion: out of memory");
    }
    sgm__ecall c = {den, proc, n, d, row0, dt, xt, 0, err, 0};
    sgm__edit_scale(dt, count, x, 1 / sched->alpha[last]);
    double h_prev = 0;
    int have_prev = 0;
    for (size_t j = last; j > 0 && !st; j--) {
        sgm__ept p = sgm__edit_pt(sched, j), q = sgm__edit_pt(sched, j - 1);
        if ((st = sgm__edit_denoise(&c, x, p.alpha, p, D))) break;
        double h = log(p.s) - log(q.s); /* lambda' - lambda < 0 */
        double a = q.s / p.s, e = -expm1(-h), b = e, bp = 0;
        if (m == SGM_INVERT_DPMPP_2M && have_prev) {
            double r = h_prev / h;
            b = e * (1 + 1 / (2 * r));
            bp = -e / (2 * r);
        }
        /* DDIM: x' = a x + (1 - a) D, and 1 - a = -expm1(-h) = e */
        for (size_t i = 0; i < count; i++)
            sgm__eset(dt, x, i,
                      a * sgm__eget(dt, x, i) + b * sgm__eget(dt, D, i) +
                          (bp != 0 ? bp * sgm__eget(dt, Dp, i) : 0));
        void *tmp = Dp;
        Dp = D, D = tmp;
        h_prev = h, have_prev = 1;
    }
    if (!st) sgm__edit_scale(dt, count, x, sched->alpha[0]);
    if (nfe) *nfe = c.nfe;
    free(D), free(Dp), free(xt);
    return st;
}
