/* refcase_diffusers_dpm.c - STUB: diffusers DPMSolver cases. */
#include "refcase.h"

int refcase_diffusers_dpm(refcase *rc);

int refcase_diffusers_dpm(refcase *rc) {
    return rc_fail(rc, "diffusers DPMSolver cases are not implemented yet");
}
