/* rk45.c - STUB: placeholder until the family is implemented. */
#include "sampler_internal.h"

const sgm__method sgm__m_rk45 = {
    {"rk45", "dopri5,ode,rk45_ode",
     "adaptive Dormand-Prince RK45 on the probability-flow ODE (rtol, atol, PID)", 5, 0, 1},
    NULL, NULL, NULL, NULL, NULL};
