/* pndm.c - STUB: placeholder until the family is implemented. */
#include "sampler_internal.h"

const sgm__method sgm__m_pndm = {
    {"pndm", "plms,pndm_discrete",
     "PNDM: Runge-Kutta warm-up then pseudo linear multistep (PLMS)", 4, 0, 0},
    NULL, NULL, NULL, NULL, NULL};
