/* ipndm.c - STUB: placeholder until the family is implemented. */
#include "sampler_internal.h"

const sgm__method sgm__m_ipndm = {
    {"ipndm", "i_pndm",
     "iPNDM: 4th-order Adams-Bashforth on d with fixed coefficients", 4, 0, 0},
    NULL, NULL, NULL, NULL, NULL};
