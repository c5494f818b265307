/* dpm_solver.c - STUB: placeholder until the family is implemented. */
#include "sampler_internal.h"

const sgm__method sgm__m_dpm_solver = {
    {"dpm_solver", "dpmsolver,dpm-solver,dpmsolver++,dpm_solver_pp,dpmsolver_multistep,dpmsolver_singlestep",
     "DPM-Solver / DPM-Solver++ singlestep or multistep, orders 1-3", 2, 0, 0},
    NULL, NULL, NULL, NULL, NULL};
const sgm__method sgm__m_dpm_solver_adaptive = {
    {"dpm_solver_adaptive", "dpmsolver_adaptive",
     "DPM-Solver adaptive (orders 2/3, rtol/atol; Lu et al. 2022 alg. 4)", 3, 0, 1},
    NULL, NULL, NULL, NULL, NULL};
