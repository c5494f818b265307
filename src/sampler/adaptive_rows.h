/* adaptive_rows.h - what the adaptive samplers that integrate from the
 * current schedule point to the last point with sigma > 0 in steps of their
 * own choosing share: one row state per integrated problem (the whole batch,
 * or each sample with cfg.error_norm = SGM_NORM_PER_SAMPLE, so that a row's
 * result does not depend on the batch), the driver that advances each row
 * through a 1-row view of the batch, and the end of the run. Users:
 * k-diffusion's dpm_adaptive (kd_dpm_solver.c) and sde_adaptive
 * (sde_adaptive.c; Jolicoeur-Martineau et al. 2021). The step size itself is
 * the controller's (step_control.h). Internal to src/sampler.
 */
#ifndef SGM_ADAPTIVE_ROWS_H
#define SGM_ADAPTIVE_ROWS_H

#include <stdint.h>

#include "sampler_internal.h"
#include "step_control.h"

/* One integrated problem (the batch, or one row of it). */
typedef struct sgm__arow {
    double t;          /* where it is, in the method's time variable */
    double h;          /* its step size */
    sgm__ctl_state cs; /* its controller history */
    int finished;
    int d_valid;       /* the method holds D at (x, t) (sde_adaptive) */
    uint64_t draws;    /* noise draws (per-sample noise counters) */
    size_t attempts;
} sgm__arow;

/* The batch seen as one row (s->n = 1, s->count = s->d; the caller moves
 * s->row0 to the row) and back; also the per-sample mode of rk45 (rk45.c)
 * and dpm_solver_adaptive (dpm_solver_adaptive.c). */
typedef struct sgm__batch {
    size_t n, count;
    uint64_t row0;
} sgm__batch;
sgm__batch sgm__rows_view(sgm__s *s);
void sgm__rows_restore(sgm__s *s, const sgm__batch *b);

/* Advances rows[row] (x: the whole batch; row 0 in batch mode). */
typedef sgm_status (*sgm__arow_fn)(sgm__s *s, void *k, sgm__arow *rs, size_t row, void *x);

/* One step call: per_sample 0: fn on rows[0] with the whole batch, *t_min =
 * rows[0].t. per_sample: fn on each unfinished row through a 1-row view
 * (s->row0 moved to the row) until one fails; *t_min = the smallest t of
 * the rows and of *t_min on entry; afterwards, when sync_counter, the rng
 * counter is set past the most draws any row made from rng_base. *all_done:
 * every row finished. */
sgm_status sgm__arows_step(sgm__s *s, void *k, sgm__arow *rows, int per_sample, sgm__arow_fn fn,
                           void *x, uint64_t rng_base, int sync_counter, double *t_min,
                           int *all_done);

/* Ends the run at schedule point i_end: x~ there (or D with
 * cfg.denoise_to_zero, one evaluation into dbuf) rescaled so that the core's
 * conversion with the final point's alpha gives process coordinates at the
 * point actually reached; s->last_D = dbuf, s->i = the last point. */
sgm_status sgm__arows_finish(sgm__s *s, void *x, size_t i_end, void *dbuf);

#endif
