/* unipc.c - STUB: placeholder until the family is implemented. */
#include "sampler_internal.h"

const sgm__method sgm__m_unipc = {
    {"unipc", "uni_pc,unipc_multistep",
     "UniPC predictor + UniC corrector (bh1/bh2), orders 1-3", 2, 0, 0},
    NULL, NULL, NULL, NULL, NULL};
