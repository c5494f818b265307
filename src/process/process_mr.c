/* process_mr.c - the theta schedules of the mean-reverting process
 * (SGM_PROCESS_MR, IR-SDE of Luo et al. 2023, "Image Restoration with
 * Mean-Reverting Stochastic Differential Equations", arXiv:2301.11699):
 * thetabar(t) = int_0^t theta(u) du, its derivative theta(t) and its inverse.
 *
 * Cosine (IR-SDE's cosine_theta_schedule in continuous time): IR-SDE takes
 * theta_n = 1 - abar(n + 1) / abar(n) with abar(x) = cos^2(pi/2 (x/(T+2) + s)/(1+s)),
 * s = 0.008, over n < T of a grid of T + 2 points (T = 100), i.e. theta is
 * the rate -d log abar on [0, T/(T+2)]. Here
 *     a(t) = pi/2 (tau t + s) / (1 + s),   tau = 100/102,
 *     L(t) = log cos a(0) - log cos a(t),   thetabar(t) = c L(t),
 * with c chosen so that exp(-thetabar(1)) = mr_alpha_T (IR-SDE's eps =
 * 0.005, its normalisation of thetabar_T = -log eps). theta = c tan(a) a'.
 * Constant: thetabar(t) = -log(mr_alpha_T) t.
 */
#include <math.h>

#include "process_internal.h"

#define MR_COS_S 0.008
#define MR_COS_TAU (100.0 / 102.0)

static double mr_a(double t) { return PI / 2 * (MR_COS_TAU * t + MR_COS_S) / (1 + MR_COS_S); }

void sgm__process_mr_init(sgm_process *p) {
    const sgm_process_config *c = &p->cfg;
    double tb1 = -log(c->mr_alpha_T);
    if (c->mr_theta == SGM_MR_THETA_CONSTANT) {
        p->mr_c = tb1;
        return;
    }
    p->mr_lcos0 = log(cos(mr_a(0)));
    p->mr_c = tb1 / (p->mr_lcos0 - log(cos(mr_a(1))));
}

double sgm__process_mr_thetabar(const sgm_process *p, double t, double *theta) {
    if (p->cfg.mr_theta == SGM_MR_THETA_CONSTANT) {
        if (theta) *theta = p->mr_c;
        return p->mr_c * t;
    }
    double a = mr_a(t);
    if (theta) *theta = p->mr_c * tan(a) * PI / 2 * MR_COS_TAU / (1 + MR_COS_S);
    return p->mr_c * (p->mr_lcos0 - log(cos(a)));
}

double sgm__process_mr_t_of_thetabar(const sgm_process *p, double tb) {
    if (p->cfg.mr_theta == SGM_MR_THETA_CONSTANT) return tb / p->mr_c;
    double ca = exp(p->mr_lcos0 - tb / p->mr_c);
    double a = acos(ca);
    return (2 * (1 + MR_COS_S) * a / PI - MR_COS_S) / MR_COS_TAU;
}
