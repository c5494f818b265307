/* schedule_diffusers.c - STUB: diffusers timestep spacings (leading, trailing,
 * linspace) are not implemented yet. */
#include "../core/internal.h"
#include "schedule_internal.h"

sgm_status sgm__schedule_diffusers(const sgm_schedule_config *c, const sgm_process *p,
                                   sgm_schedule **out, sgm_error *err) {
    (void)c;
    (void)p;
    *out = NULL;
    return sgm__set_error(err, SGM_ERR_UNSUPPORTED, "diffusers spacings not implemented");
}
