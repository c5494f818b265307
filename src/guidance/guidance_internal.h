/* guidance_internal.h - what the posterior samplers share (posterior.c,
 * repaint.c, reddiff.c). */
#ifndef SGM_GUIDANCE_INTERNAL_H
#define SGM_GUIDANCE_INTERNAL_H

#include "sgm/sgm_guidance.h"

/* x + A^T (A A^T + reg I)^+ (y_r - A x) for n rows (reg = 0: the projection
 * x + A^+ (y_r - A x); reg > 0: the Tikhonov / Wiener-damped step, gain
 * s_j^2 / (s_j^2 + reg) along singular direction j); y_stride 0: one y for
 * all rows, m: [n, m]. */
sgm_status sgm__op_project_rows(sgm_operator *op, size_t n, const double *x, const double *y,
                                size_t y_stride, double reg, double *out, sgm_error *err);
/* reg of replacement, RePaint and the RED-Diff start: sigma_y^2 / data_var */
double sgm__post_reg(const sgm_posterior_config *pc);

typedef struct sgm__post {
    const sgm_posterior_config *pc;
    const sgm_process *proc;
    const sgm_denoiser *den;
    const sgm_denoiser_grad *grad;
    sgm_operator *op;
    const double *y;
    size_t n, d, m;
    size_t ys;                             /* row stride of y: 0 (one y) or m (y_rows) */
    uint64_t row0;
    sgm_rng *rng;
    double *mb, *x0, *u, *g, *vj, *r, *ym; /* scratch: [n,d] x5, [n,m] x2 */
    double *step_g;                        /* DPS correction of this step [n, d] */
    int want_grad, have_grad;
    double cur_sigma, cur_alpha;           /* where the sampler's state is now */
    sgm_step_fn user_step;
    void *user_step_ud;
    size_t nfe, nvjp;
    sgm_error *err;
} sgm__post;

sgm_status sgm__post_init(sgm__post *c, const sgm_posterior_config *pc,
                          const sgm_process *proc, const sgm_denoiser *den,
                          const sgm_denoiser_grad *grad, sgm_operator *op, const double *y,
                          sgm_rng *rng, uint64_t row0, size_t n, sgm_error *err);
void sgm__post_free(sgm__post *c);
/* The model's x0 at query q into c->x0 (and its raw output into c->mb);
 * 0 or non-zero (callback failure). */
int sgm__post_x0(sgm__post *c, const sgm_eval *q);
/* g = J_x0(q)^T u for rows of q (u, g: [q->n, d]); 0 or non-zero. */
int sgm__post_x0_vjp(sgm__post *c, const sgm_eval *q, const double *u, double *g);
/* x <- x + A^+ (alpha_s (y + s A z) - A x)-style replacement in VE coordinates at
 * VE sigma s: x_ve <- proj(x_ve, y + s A z), z fresh from c->rng. */
sgm_status sgm__post_replace(sgm__post *c, double *x_ve, double s);

/* The model's denoiser counted in c->nfe (RePaint; method must not be DPS / Pi-GDM). */
sgm_denoiser sgm__post_counting_denoiser(sgm__post *c);

sgm_status sgm__repaint_run(sgm__post *c, const sgm_sampler_config *scfg,
                            const sgm_schedule *sched, double *x);
sgm_status sgm__reddiff_run(sgm__post *c, const sgm_schedule *sched, double *x);

#endif
