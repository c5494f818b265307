/* kd_dpm_solver.c - STUB: placeholder until the family is implemented. */
#include "sampler_internal.h"

const sgm__method sgm__m_dpm_fast = {
    {"dpm_fast", "dpm_solver_fast,k_dpm_fast",
     "DPM-Solver-fast: order plan 3,..,3,2,1 over NFE in lambda-uniform steps", 3, 0, 0},
    NULL, NULL, NULL, NULL, NULL};
const sgm__method sgm__m_dpm_adaptive = {
    {"dpm_adaptive", "k_dpm_adaptive",
     "adaptive DPM-Solver-12/23 with PID step control (rtol, atol)", 3, 0, 1},
    NULL, NULL, NULL, NULL, NULL};
