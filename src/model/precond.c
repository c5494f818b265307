/* precond.c - network input/output conditioning of every parameterization
 * (sgm_train.h): c_in, c_noise = log(sigma/alpha)/4, the regression target
 * a_x0 x0 + a_eps eps and k = |dx0/dF|; EDM's c_skip / c_out (Karras et al.
 * 2022, arXiv:2206.00364, table 1 / eq. 7); v (Salimans & Ho 2022); flow
 * velocity (Liu et al. 2022). Shared by training and the trained-model
 * denoiser so the two can never disagree. */
#include <math.h>
#include <string.h>

#include "model_internal.h"

sgm__dsm_coef sgm__dsm_coefs(sgm_param p, double alpha, double sigma, double dalpha,
                             double dsigma, double sd) {
    sgm__dsm_coef c;
    memset(&c, 0, sizeof c);
    c.c_in = 1 / sqrt(alpha * alpha * sd * sd + sigma * sigma);
    c.c_noise = log(sigma / alpha) / 4;
    double s = sigma / alpha;
    switch (p) {
    case SGM_PARAM_EPS: c.a_eps = 1, c.k = s; break;
    case SGM_PARAM_X0: c.a_x0 = 1, c.k = 1; break;
    case SGM_PARAM_V:
        c.a_x0 = -sigma, c.a_eps = alpha;
        c.k = sigma / (alpha * alpha + sigma * sigma);
        break;
    case SGM_PARAM_FLOW:
        c.a_x0 = dalpha, c.a_eps = dsigma;
        c.k = sigma / fabs(dsigma * alpha - sigma * dalpha);
        break;
    case SGM_PARAM_EDM:
    default:
        c.c_skip = sd * sd / (s * s + sd * sd);
        c.c_out = s * sd / sqrt(s * s + sd * sd);
        c.a_x0 = (1 - c.c_skip) / c.c_out;
        c.a_eps = -c.c_skip * s / c.c_out;
        c.k = c.c_out;
        break;
    }
    return c;
}
