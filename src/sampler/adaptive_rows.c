/* adaptive_rows.c - the per-row driver and the end of the run of the
 * adaptive samplers (adaptive_rows.h): dpm_adaptive (kd_dpm_solver.c) and
 * sde_adaptive (sde_adaptive.c).
 */
#include "adaptive_rows.h"

sgm__batch sgm__rows_view(sgm__s *s) {
    sgm__batch b = {s->n, s->count, s->row0};
    s->n = 1;
    s->count = s->d;
    return b;
}

void sgm__rows_restore(sgm__s *s, const sgm__batch *b) {
    s->n = b->n;
    s->count = b->count;
    s->row0 = b->row0;
}

sgm_status sgm__arows_step(sgm__s *s, void *k, sgm__arow *rows, int per_sample, sgm__arow_fn fn,
                           void *x, uint64_t rng_base, int sync_counter, double *t_min,
                           int *all_done) {
    sgm_status st = SGM_OK;
    if (!per_sample) {
        st = fn(s, k, &rows[0], 0, x);
        *t_min = rows[0].t;
        *all_done = rows[0].finished;
        return st;
    }
    *all_done = 1;
    sgm__batch b = sgm__rows_view(s);
    for (size_t r = 0; r < b.n && !st; r++) {
        sgm__arow *rs = &rows[r];
        if (!rs->finished) {
            s->row0 = b.row0 + r;
            st = fn(s, k, rs, r, x);
        }
        if (rs->t < *t_min) *t_min = rs->t;
        if (!rs->finished) *all_done = 0;
    }
    sgm__rows_restore(s, &b);
    uint64_t maxd = 0;
    for (size_t r = 0; r < b.n; r++)
        if (rows[r].draws > maxd) maxd = rows[r].draws;
    if (sync_counter) s->rng->counter = rng_base + maxd;
    return st;
}

sgm_status sgm__arows_finish(sgm__s *s, void *x, size_t i_end, void *dbuf) {
    double alpha_reached = s->pts[i_end].alpha;
    if (s->cfg.denoise_to_zero) {
        sgm_status st = sgm__denoise(s, x, s->pts[i_end], dbuf);
        if (st) return st;
        sgm__copy(s, x, dbuf);
        alpha_reached = 1;
    }
    double af = s->pts[s->n_pts - 1].alpha;
    if (af > 0 && alpha_reached != af) {
        double c = alpha_reached / af;
        sgm__lc(s, x, 1, &c, (const void *const *)&x);
    }
    s->last_D = dbuf;
    s->i = s->n_pts - 1;
    return SGM_OK;
}
