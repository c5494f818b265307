/* kd_lms.c - STUB: placeholder until the family is implemented. */
#include "sampler_internal.h"

const sgm__method sgm__m_lms = {
    {"lms", "k_lms,lms_discrete",
     "linear multistep on d = (x - D)/sigma, order up to 4", 4, 0, 0},
    NULL, NULL, NULL, NULL, NULL};
