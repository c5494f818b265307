/* refcase_diffusers.c - huggingface/diffusers scheduler cases. Dispatches on
 * scheduler.class; DPMSolver{Multistep,Singlestep}Scheduler live in
 * refcase_diffusers_dpm.c. */
#include <string.h>

#include "refcase.h"

int refcase_diffusers_dpm(refcase *rc);

int refcase_diffusers(refcase *rc) {
    const char *cls = rc_str(rc->json, "scheduler.class", "");
    if (strncmp(cls, "DPMSolver", 9) == 0) return refcase_diffusers_dpm(rc);
    return rc_fail(rc, "diffusers %s cases are not implemented yet", cls);
}
