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
/* ComfyUI's schedulers (schedule_comfy.c): the raw value list (VE sigma, or
 * flow time for the flow process) into v (capacity sgm__comfy_max_values) */
size_t sgm__comfy_max_values(const sgm_schedule_config *c, const sgm_process *p);
sgm_status sgm__comfy_values(const sgm_schedule_config *c, const sgm_process *p, double *v,
                             size_t *nv, sgm_error *err);
sgm_status sgm__schedule_comfy(const sgm_schedule_config *c, const sgm_process *p,
                               sgm_schedule **out, sgm_error *err);
/* published tables (schedule_tables.c): GITS coeff 1.20 for 2..20 steps;
 * AYS (ays = 1: sd1, sdxl, svd) or OptimalSteps (ays = 0: flux, wan, chroma) */
const double *sgm__gits_table(int steps, size_t *len);
const double *sgm__named_table(int ays, const char *name, size_t *len);
/* flow-matching time shift of a flow-process schedule (schedule.c) */
void sgm__sched_flow_shift(const sgm_schedule_config *c, const sgm_process *p, sgm_schedule *s);

#endif
