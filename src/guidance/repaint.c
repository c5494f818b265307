/* repaint.c - RePaint (Lugmayr et al. 2022, "RePaint: inpainting using
 * denoising diffusion probabilistic models", Algorithm 1 and the jump
 * schedule of its code, get_schedule_jump): descend one schedule step with
 * the chosen sampler, replace the measured part by the measurement noised to
 * the new level (for any linear A: x <- x + A^+ (y + s A z - A x), VE
 * coordinates, A^+ damped by sigma_y as in replacement, posterior.c), and every jump_length steps go back up jump_length steps by
 * the forward process (x_ve += sqrt(s_i^2 - s_j^2) z), resample - 1 times.
 * Each descent is a one-interval run of the sampler, so multistep samplers
 * restart their history at every step (first-order ones lose nothing).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "guidance_internal.h"

/* The RePaint index sequence over points 0 (noisiest) .. N: writes up to cap
 * entries, returns the count (0 when cap is too small). */
static size_t jump_sequence(size_t N, size_t jl, size_t r, size_t *seq, size_t cap) {
    /* RePaint time t = N - i; jumps at t = 0, jl, 2 jl, ... < N - jl */
    size_t njump = N > jl ? (N - jl + jl - 1) / jl : 0;
    size_t *left = sgm__calloc(njump ? njump : 1, sizeof *left);
    if (!left) return 0;
    for (size_t j = 0; j < njump; j++) left[j] = r - 1;
    size_t len = 0, t = N;
    if (len < cap) seq[len++] = N - t;
    while (t >= 1) {
        t--;
        if (len >= cap) break;
        seq[len++] = N - t;
        if (t % jl == 0 && t / jl < njump && left[t / jl] > 0) {
            left[t / jl]--;
            for (size_t k = 0; k < jl && len < cap; k++) {
                t++;
                seq[len++] = N - t;
            }
        }
    }
    free(left);
    return len < cap ? len : 0;
}

sgm_status sgm__repaint_run(sgm__post *c, const sgm_sampler_config *scfg,
                            const sgm_schedule *sched, double *x) {
    sgm_error *err = c->err;
    size_t N = sched->n - 1, jl = (size_t)c->pc->jump_length, r = (size_t)c->pc->resample;
    const sgm_method_info *mi = sgm_method_find(scfg->method);
    if (!mi || mi->adaptive)
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                              "repaint: needs a fixed-step sampler (got %s)", scfg->method);
    size_t cap = N * (r + 1) * 2 + 4;
    size_t *seq = malloc(cap * sizeof *seq);
    if (!seq) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    size_t len = jump_sequence(N, jl, r, seq, cap);
    sgm_sampler *s = NULL;
    sgm_status st = len ? sgm_sampler_create(scfg, c->proc, c->n, c->d, &s, err)
                        : sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    sgm_denoiser den = sgm__post_counting_denoiser(c);
    size_t nd = c->n * c->d;
    for (size_t k = 1; k < len && !st; k++) {
        size_t a = seq[k - 1], b = seq[k];
        if (b == a + 1) { /* descend one step, then replace */
            double t2[2] = {sched->t[a], sched->t[b]}, s2[2] = {sched->sigma[a], sched->sigma[b]};
            sgm_schedule *one = NULL;
            st = sgm_schedule_from_arrays(c->proc, 2, t2, s2, &one, err);
            if (!st) {
                one->alpha[0] = sched->alpha[a]; /* exactly the schedule's points */
                one->alpha[1] = sched->alpha[b];
                st = sgm_sampler_run(s, one, &den, c->rng, c->row0, c->n, x, err);
            }
            sgm_schedule_free(one);
            double al = sched->alpha[b];
            if (!st && al > 0) {
                for (size_t i = 0; i < nd; i++) x[i] /= al;
                st = sgm__post_replace(c, x, sched->sigma[b]);
                for (size_t i = 0; i < nd; i++) x[i] *= al;
            }
        } else if (b + 1 == a) { /* back up one step by the forward process */
            double sa = sched->sigma[a], sb = sched->sigma[b];
            double ra = sched->alpha[a], rb = sched->alpha[b];
            double k2 = sqrt(sb * sb - sa * sa);
            sgm_rng_normal(c->rng, c->row0, c->n, c->d, SGM_F64, c->u);
            for (size_t i = 0; i < nd; i++) x[i] = rb * (x[i] / ra + k2 * c->u[i]);
        } else {
            st = sgm__set_error(err, SGM_ERR_INVALID_ARG, "repaint: bad jump sequence");
        }
    }
    sgm_sampler_free(s);
    free(seq);
    return st;
}
