/* edit_internal.h - what the editing files share: one denoiser call in VE
 * coordinates (x~ = x / alpha, s = sigma / alpha) returning the data
 * prediction, and dtype-generic element access. */
#ifndef SGM_EDIT_INTERNAL_H
#define SGM_EDIT_INTERNAL_H

#include "sgm/sgm_edit.h"
#include "../core/internal.h"

/* A point of a walk: process time, VE sigma, alpha. */
typedef struct sgm__ept {
    double t, s, alpha;
} sgm__ept;

typedef struct sgm__ecall {
    const sgm_denoiser *den;
    const sgm_process *proc;
    size_t n, d;
    uint64_t row0;
    sgm_dtype dt;
    void *xt;   /* [n, d] scratch: the query in process coordinates */
    size_t nfe;
    sgm_error *err;
    int x_f64; /* the x of sgm__edit_denoise is double (else dt) */
} sgm__ecall;

static inline double sgm__eget(sgm_dtype dt, const void *v, size_t i) {
    return dt == SGM_F64 ? ((const double *)v)[i] : (double)((const float *)v)[i];
}
static inline void sgm__eset(sgm_dtype dt, void *v, size_t i, double val) {
    if (dt == SGM_F64) ((double *)v)[i] = val;
    else ((float *)v)[i] = (float)val;
}

/* D = data prediction at point p for the query xscale * x in process
 * coordinates (xscale = alpha for VE coordinates, sigma for x / sigma); x is
 * in c->dt, or double when c->x_f64; the query and D are in c->dt.
 * Counts nfe. */
sgm_status sgm__edit_denoise(sgm__ecall *c, const void *x, double xscale, sgm__ept p,
                             void *D);
/* The schedule's point i. */
sgm__ept sgm__edit_pt(const sgm_schedule *s, size_t i);
/* Scales n*d values in place: v *= a. */
void sgm__edit_scale(sgm_dtype dt, size_t count, void *v, double a);
/* Checks shared by the walks (non-NULL arguments, dtype, d > 0). */
sgm_status sgm__edit_check(const sgm_schedule *sched, const sgm_process *proc,
                           const sgm_denoiser *den, size_t n, size_t d, sgm_dtype dt,
                           sgm_error *err);

#endif
