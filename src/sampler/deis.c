/* deis.c - STUB: placeholder until the family is implemented. */
#include "sampler_internal.h"

const sgm__method sgm__m_deis = {
    {"deis", "deis_multistep",
     "DEIS exponential-integrator Adams (logrho), orders 1-3", 2, 0, 0},
    NULL, NULL, NULL, NULL, NULL};
