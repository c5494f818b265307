/* test_order.h - what the empirical-order tests share (test_convergence.c,
 * test_mr.c): the smooth ring mixture (tests/data/models/gmm2d.json's means
 * with component std 1), a grid of sigmas uniform in lambda = -log s or in s
 * with no final zero, and the least-squares slope of log2(error) against
 * log2(steps) over the last four levels above an error floor. */
#ifndef SGM_TEST_ORDER_H
#define SGM_TEST_ORDER_H

#include "sgm.h"
#include "test_util.h"

/* the ring of gmm2d.json with every component std 1: smooth enough that
 * 16..1024 steps are in the asymptotic range (std 0.3 makes the ODE stiff) */
static inline sgm_gmm *tu_smooth_ring(void) {
    char path[4096];
    sgm_error err = {0};
    sgm_gmm *g0 = NULL, *g = NULL;
    if (sgm_gmm_load(tu_src("tests/data/models/gmm2d.json", path, sizeof path), &g0, &err)) {
        fprintf(stderr, "cannot load gmm2d.json: %s\n", err.msg);
        return NULL;
    }
    size_t k = sgm_gmm_components(g0), d = sgm_gmm_dim(g0);
    double *stds = malloc(sizeof(double) * k * d);
    for (size_t i = 0; i < k * d; i++) stds[i] = 1.0;
    if (sgm_gmm_create(k, d, sgm_gmm_weights(g0), sgm_gmm_means(g0), stds, &g, &err))
        fprintf(stderr, "gmm create: %s\n", err.msg);
    free(stds);
    sgm_gmm_free(g0);
    return g;
}

/* steps + 1 sigmas from smax to smin, uniform in lambda (in_lambda != 0) or
 * in s, as a user-sigmas schedule with no final zero; NULL on error */
static inline sgm_schedule *tu_sigma_grid(const sgm_process *proc, double smax, double smin,
                                          int steps, int in_lambda) {
    double *sig = malloc(sizeof(double) * (size_t)(steps + 1));
    for (int i = 0; i <= steps; i++) {
        double f = (double)i / steps;
        if (in_lambda)
            sig[i] = exp(log(smax) + f * (log(smin) - log(smax)));
        else
            sig[i] = smax + f * (smin - smax);
    }
    sig[0] = smax;
    sig[steps] = smin;
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_USER_SIGMAS);
    sc.user = sig;
    sc.n_user = (size_t)steps + 1;
    sc.final_point = SGM_FINAL_NONE;
    sgm_schedule *s = NULL;
    sgm_error err = {0};
    if (sgm_schedule_create(&sc, proc, &s, &err)) fprintf(stderr, "grid: %s\n", err.msg);
    free(sig);
    return s;
}

/* least-squares slope of log2(err) over log2(steps) (steps double per
 * level), negated: the empirical order, from the last up-to-4 levels with
 * errors above floor_; *used = how many; NaN when fewer than 2 */
static inline double tu_fit_order(const double *e, int n_lev, double floor_, int *used) {
    int last = n_lev - 1;
    while (last >= 0 && !(e[last] > floor_)) last--;
    int first = last - 3 < 0 ? 0 : last - 3;
    *used = last - first + 1;
    if (*used < 2) return NAN;
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int n = 0;
    for (int k = first; k <= last; k++) {
        double xk = k, yk = log2(e[k]);
        sx += xk;
        sy += yk;
        sxx += xk * xk;
        sxy += xk * yk;
        n++;
    }
    return -(n * sxy - sx * sy) / (n * sxx - sx * sx);
}

#endif
