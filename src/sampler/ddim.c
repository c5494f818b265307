/* ddim.c - STUB: placeholder until the family is implemented. */
#include "sampler_internal.h"

const sgm__method sgm__m_ddim = {
    {"ddim", "ddim_discrete",
     "DDIM (eta; eta = 0 is deterministic)", 1, 0, 0},
    NULL, NULL, NULL, NULL, NULL};
