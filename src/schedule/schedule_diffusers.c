/* schedule_diffusers.c - diffusers timestep spacings 'leading', 'trailing' and
 * 'linspace' (huggingface/diffusers v0.35.2, set_timesteps of
 * scheduling_ddim.py / scheduling_pndm.py (grid SGM_DGRID_DDIM),
 * scheduling_euler_discrete.py / scheduling_heun_discrete.py /
 * scheduling_lms_discrete.py (SGM_DGRID_EULER) and
 * scheduling_dpmsolver_multistep.py / scheduling_unipc_multistep.py /
 * scheduling_deis_multistep.py (SGM_DGRID_DPMSOLVER); Lin et al. 2023,
 * arXiv:2305.08891, Table 2), on a discrete VP process of N training steps
 * (timestep k sits at t = (k + 1) / N).
 *
 * With n steps:
 *   DDIM/EULER linspace:  linspace(0, N-1, n) reversed (DDIM rounds half to
 *                         even, EULER keeps the float32 values)
 *   DDIM/EULER leading:   k (N // n) + steps_offset, k = n-1 .. 0
 *   DPMSOLVER linspace:   round(linspace(0, N-1, n+1)) reversed, minus the last (0)
 *   DPMSOLVER leading:    k (N // (n+1)) + steps_offset, k = n .. 1
 *   trailing (all):       round(N - k N/n) - 1, k = 0 .. n-1
 * The VE sigma of a timestep is np.interp of the table
 * sqrt((1 - abar_k) / abar_k) (linear in sigma, as set_timesteps does), so a
 * fractional timestep gets the sigma diffusers' solver uses while the model is
 * queried at t = (timestep + 1) / N.
 *
 * Final point: ZERO (the default for every grid) appends sigma = 0 (DDIM
 * set_alpha_to_one, final_sigmas_type 'zero'); SIGMA_MIN appends timestep 0
 * (alphas_cumprod[0]: PNDM set_alpha_to_one=False, DEIS, final_sigmas_type
 * 'sigma_min') unless the last timestep already is 0; NONE appends nothing.
 *
 * DDIM grid: DDIM and PNDM step from timestep t to t - N // n (or to the final
 * point when that is negative), which for 'linspace' is not the next
 * scheduled timestep; the schedule then carries landing points (see
 * sgm_schedule.land_*), otherwise none.
 *
 * Difference: for n where numpy's arange(N, 0, -N/n) yields n + 1 values
 * (rounding of N/n), diffusers' trailing grid gets a spurious timestep -1;
 * this file always makes n values.
 */
#include <math.h>
#include <stdlib.h>

#include "../core/internal.h"
#include "schedule_internal.h"

/* numpy linspace(a, b, num)[i] (float64: i * step + a, last value exactly b) */
static double np_linspace(double a, double b, size_t num, size_t i) {
    if (num == 1) return a;
    if (i == num - 1) return b;
    double step = (b - a) / (double)(num - 1);
    return (double)i * step + a;
}

/* np.interp of the VE sigma table at (possibly fractional) timestep ts */
static double table_sigma(const double *abar, int N, double ts) {
    if (ts <= 0) return sqrt((1 - abar[0]) / abar[0]);
    if (ts >= N - 1) return sqrt((1 - abar[N - 1]) / abar[N - 1]);
    int k = (int)floor(ts);
    double w = ts - k;
    double s0 = sqrt((1 - abar[k]) / abar[k]), s1 = sqrt((1 - abar[k + 1]) / abar[k + 1]);
    return s0 + w * (s1 - s0);
}

static void set_point(sgm_schedule *s, size_t i, const sgm_process *p, const double *abar,
                      int N, double ts) {
    s->t[i] = sgm_process_timestep_to_t(p, ts);
    s->sigma[i] = table_sigma(abar, N, ts);
    s->alpha[i] = sgm_process_alpha_of_sigma_ve(p, s->sigma[i]);
}

sgm_status sgm__schedule_diffusers(const sgm_schedule_config *c, const sgm_process *p,
                                   sgm_schedule **out, sgm_error *err) {
    *out = NULL;
    const sgm_process_config *pc = sgm_process_get_config(p);
    const double *abar = sgm_process_alphas_cumprod(p);
    if (pc->kind != SGM_PROCESS_VP_DISCRETE || !abar)
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                              "schedule %s: diffusers spacings need a vp-discrete process",
                              sgm_schedule_kind_name(c->kind));
    int N = sgm_process_n_train(p);
    size_t n = (size_t)c->steps;
    if (c->grid != SGM_DGRID_DDIM && c->grid != SGM_DGRID_EULER &&
        c->grid != SGM_DGRID_DPMSOLVER)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule: unknown diffusers grid %d",
                              (int)c->grid);
    if (c->steps > N)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "schedule %s: %d steps exceed the %d training timesteps",
                              sgm_schedule_kind_name(c->kind), c->steps, N);
    if (c->steps_offset < 0)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule: steps_offset must be >= 0");
    int dpm = c->grid == SGM_DGRID_DPMSOLVER;

    double *ts = malloc(n * sizeof *ts);
    if (!ts) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        double v = 0;
        switch (c->kind) {
        case SGM_SCHEDULE_LINSPACE:
            if (dpm) {
                v = rint(np_linspace(0, N - 1, n + 1, n - i));
            } else {
                v = np_linspace(0, N - 1, n, n - 1 - i);
                v = c->grid == SGM_DGRID_EULER ? (double)(float)v : rint(v);
            }
            break;
        case SGM_SCHEDULE_LEADING: {
            int ratio = dpm ? N / (c->steps + 1) : N / c->steps;
            size_t k = dpm ? n - i : n - 1 - i;
            v = (double)k * ratio + c->steps_offset;
            break;
        }
        case SGM_SCHEDULE_TRAILING: {
            double ratio = (double)N / (double)n;
            v = rint((double)N - (double)i * ratio) - 1;
            break;
        }
        default:
            break;
        }
        if (!(v >= 0 && v <= N - 1)) {
            free(ts);
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "schedule %s: timestep %g out of [0, %d] (steps %d, "
                                  "steps_offset %d)",
                                  sgm_schedule_kind_name(c->kind), v, N - 1, c->steps,
                                  c->steps_offset);
        }
        ts[i] = v;
    }

    sgm_final fin = c->final_point == SGM_FINAL_DEFAULT ? SGM_FINAL_ZERO : c->final_point;
    int add = fin == SGM_FINAL_ZERO || (fin == SGM_FINAL_SIGMA_MIN && ts[n - 1] > 0);
    size_t m = n + (add ? 1 : 0);
    if (m < 2) {
        free(ts);
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "schedule %s: one timestep and no final point is not a step; "
                              "use steps >= 2 or final zero",
                              sgm_schedule_kind_name(c->kind));
    }
    sgm_schedule *s = sgm__schedule_alloc(m);
    if (!s) {
        free(ts);
        return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) set_point(s, i, p, abar, N, ts[i]);
    if (add) {
        if (fin == SGM_FINAL_ZERO) {
            s->t[n] = 0;
            s->sigma[n] = 0;
            s->alpha[n] = 1;
        } else {
            set_point(s, n, p, abar, N, 0);
        }
    }

    if (c->grid == SGM_DGRID_DDIM) {
        /* landing of step i: timestep ts_i - N // n, or the final alpha when negative */
        int stride = N / c->steps, any = 0;
        sgm_schedule *L = sgm__schedule_alloc(m - 1); /* scratch for the three arrays */
        if (!L) {
            free(ts);
            sgm_schedule_free(s);
            return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
        }
        for (size_t i = 0; i + 1 < m; i++) {
            double prev = ts[i] - stride;
            if (prev >= 0) {
                set_point(L, i, p, abar, N, prev);
            } else if (fin == SGM_FINAL_ZERO) {
                L->t[i] = 0;
                L->sigma[i] = 0;
                L->alpha[i] = 1;
            } else {
                set_point(L, i, p, abar, N, 0);
            }
            if (L->sigma[i] != s->sigma[i + 1]) any = 1;
        }
        if (any) {
            s->land_t = L->t;
            s->land_sigma = L->sigma;
            s->land_alpha = L->alpha;
            L->t = L->sigma = L->alpha = NULL;
        }
        sgm_schedule_free(L);
    }
    free(ts);
    *out = s;
    return SGM_OK;
}
