/* restart.c - Restart sampling (Xu et al. 2023, "Restart Sampling for
 * Improving Generative Processes", arXiv:2306.14878, Alg. 1): the
 * probability-flow ODE solved with Heun's method (Karras et al. 2022 Alg. 1,
 * Euler on the step to sigma = 0) along the schedule, plus restart intervals
 * [t_min, t_max] (VE sigmas) each repeated K times: on reaching t_min, jump
 * forward to t_max by adding noise, x += sqrt(t_max^2 - t_min^2) z (the exact
 * forward transition of the VE process), then solve the ODE back to t_min
 * with Heun on a Karras schedule (rho 7) of N points t_max .. t_min.
 *
 * Segment convention of the authors' code and of ComfyUI's restart nodes
 * (ssitu/ComfyUI_restart_sampling: "[N, K, t_min, t_max]", default
 * [3,2,0.06,0.30],[3,1,0.30,0.59]): t_min snaps to the nearest schedule sigma
 * and the restart happens after the step that lands there; t_max is used as
 * given. NFE = 2 per main step (1 for the step to 0) + 2 K (N - 1) per
 * segment. A segment must fit the schedule: t_min within the schedule's
 * positive sigmas after the first, t_max above the snapped t_min and at most
 * the first sigma, and no two segments on the same point; otherwise begin
 * fails with SGM_ERR_INVALID_ARG naming the segment.
 *
 * Noise: the jump draws through sgm__noise_interval(t_min, t_max) (per-sample
 * Philox rows, --rng torch, or the external noise hook); under
 * SGM_NOISE_BROWNIAN a fresh draw instead, since a Brownian path would hand
 * every repeat the same increment.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../schedule/schedule_internal.h"
#include "sampler_internal.h"

static int rs_nbuf(const sgm_sampler_config *c) {
    (void)c;
    return 3; /* sgm__heun_move */
}

static void rs_defaults(sgm_sampler_config *c) {
    static const sgm_restart_segment def[2] = {{3, 2, 0.06, 0.30}, {3, 1, 0.30, 0.59}};
    c->n_restart = 2;
    c->restart[0] = def[0];
    c->restart[1] = def[1];
}

static sgm_status rs_validate(const sgm_sampler_config *c, sgm_error *err) {
    if (c->n_restart < 0 || c->n_restart > SGM_RESTART_MAX)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "restart: %d segments (at most %d)",
                         c->n_restart, SGM_RESTART_MAX);
    for (int j = 0; j < c->n_restart; j++) {
        const sgm_restart_segment *g = &c->restart[j];
        if (g->n < 2 || g->n > 1000 || g->k < 1 || g->k > 1000)
            return sgm__fail(err, SGM_ERR_INVALID_ARG,
                             "restart: segment %d needs N in 2..1000 and K in 1..1000 "
                             "(got N %d, K %d)", j + 1, g->n, g->k);
        if (!(g->t_min > 0 && g->t_min < g->t_max && isfinite(g->t_max)))
            return sgm__fail(err, SGM_ERR_INVALID_ARG,
                             "restart: segment %d needs 0 < t_min < t_max < inf (got %g, %g)",
                             j + 1, g->t_min, g->t_max);
    }
    return SGM_OK;
}

/* mstate: for every schedule point, the segment restarting there or -1 */
static sgm_status rs_begin(sgm__s *s, void *x) {
    (void)x;
    int *at = malloc(sizeof(int) * s->n_pts);
    if (!at) return sgm__fail(s->err, SGM_ERR_NOMEM, "out of memory");
    s->mstate = at;
    for (size_t i = 0; i < s->n_pts; i++) at[i] = -1;
    double s_first = s->pts[0].s, lo = INFINITY, hi = 0;
    for (size_t i = 1; i < s->n_pts; i++)
        if (s->pts[i].s > 0) {
            lo = fmin(lo, s->pts[i].s);
            hi = fmax(hi, s->pts[i].s);
        }
    for (int j = 0; j < s->cfg.n_restart; j++) {
        const sgm_restart_segment *g = &s->cfg.restart[j];
        size_t best = 0;
        if (g->t_min >= lo && g->t_min <= hi)
            for (size_t i = 1; i < s->n_pts; i++)
                if (s->pts[i].s > 0 &&
                    (!best || fabs(s->pts[i].s - g->t_min) < fabs(s->pts[best].s - g->t_min)))
                    best = i;
        char why[160] = "";
        if (!best)
            snprintf(why, sizeof why, "t_min is outside the schedule's positive sigmas %g..%g",
                     isfinite(lo) ? lo : 0, hi);
        else if (!(g->t_max > s->pts[best].s))
            snprintf(why, sizeof why, "t_max is not above t_min's schedule point %g",
                     s->pts[best].s);
        else if (g->t_max > s_first)
            snprintf(why, sizeof why, "t_max is above the schedule's first sigma %g", s_first);
        else if (at[best] >= 0)
            snprintf(why, sizeof why, "t_min snaps to sigma %g, the point of segment %d",
                     s->pts[best].s, at[best] + 1);
        if (why[0])
            return sgm__fail(s->err, SGM_ERR_INVALID_ARG,
                             "restart: segment %d [%d,%d,%g,%g] does not fit the schedule: %s",
                             j + 1, g->n, g->k, g->t_min, g->t_max, why);
        at[best] = j;
    }
    return SGM_OK;
}

/* K restarts of segment g from the current point p (x at p.s = t_min) */
static sgm_status restart(sgm__s *s, void *x, const sgm_restart_segment *g, sgm__pt p) {
    double t_min = p.s, t_max = g->t_max, rho = 7;
    double a = pow(t_max, 1 / rho), b = pow(t_min, 1 / rho);
    size_t m = (size_t)g->n;
    for (int k = 0; k < g->k; k++) {
        if (s->cfg.noise == SGM_NOISE_BROWNIAN && !s->cfg.noise_fn)
            sgm__randn(s, s->noise);
        else
            sgm__noise_interval(s, t_min, t_max, s->noise);
        sgm__lc2(s, x, 1, x, s->cfg.s_noise * sqrt(t_max * t_max - t_min * t_min), s->noise);
        sgm__pt from = sgm__pt_from_s(s, t_max);
        for (size_t j = 1; j < m; j++) {
            /* Karras points (k-diffusion get_sigmas_karras(N, t_min, t_max)); the
             * last is t_min exactly, the schedule's own point */
            double r = sgm__torch_linspace(0, 1, m, j);
            sgm__pt to = j + 1 == m ? p : sgm__pt_from_s(s, pow(a + r * (b - a), rho));
            sgm_status st = sgm__heun_move(s, x, from, to);
            if (st) return st;
            from = to;
        }
    }
    return SGM_OK;
}

static sgm_status rs_step(sgm__s *s, void *x) {
    const int *at = s->mstate;
    sgm_status st = sgm__heun_move(s, x, sgm__cur(s), sgm__next(s));
    if (st) return st;
    s->i++;
    if (at[s->i] >= 0) return restart(s, x, &s->cfg.restart[at[s->i]], sgm__cur(s));
    return SGM_OK;
}

const sgm__method sgm__m_restart = {
    {"restart", "restart_sampling,restart_heun",
     "Heun ODE + restart intervals: K x (noise jump t_min -> t_max, Heun back) "
     "(Xu et al. 2023; segments [N, K, t_min, t_max])", 2, 1, 0},
    rs_defaults, rs_validate, rs_nbuf, rs_begin, rs_step};
