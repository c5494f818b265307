/* ddpm.c - STUB: placeholder until the family is implemented. */
#include "sampler_internal.h"

const sgm__method sgm__m_ddpm = {
    {"ddpm", "ancestral,ddpm_ancestral",
     "DDPM ancestral sampling (posterior variance)", 1, 1, 0},
    NULL, NULL, NULL, NULL, NULL};
