/* schedule_internal.h - helpers shared by the schedule files. */
#ifndef SGM_SCHEDULE_INTERNAL_H
#define SGM_SCHEDULE_INTERNAL_H

#include "sgm/sgm_sampler.h"

sgm_schedule *sgm__schedule_alloc(size_t n);
/* value i of torch.linspace(a, b, n) (same rounding as PyTorch) */
double sgm__torch_linspace(double a, double b, size_t n, size_t i);
void sgm__sched_set_sigma(sgm_schedule *s, size_t i, const sgm_process *p, double sigma);
void sgm__sched_set_t(sgm_schedule *s, size_t i, const sgm_process *p, double t);
sgm_status sgm__sched_check(const sgm_schedule *s, sgm_error *err);
/* diffusers timestep spacings (schedule_diffusers.c) */
sgm_status sgm__schedule_diffusers(const sgm_schedule_config *c, const sgm_process *p,
                                   sgm_schedule **out, sgm_error *err);

#endif
