/* sa_solver.c - STUB: placeholder until the family is implemented. */
#include "sampler_internal.h"

const sgm__method sgm__m_sa_solver = {
    {"sa_solver", "sasolver,sa-solver",
     "SA-Solver stochastic Adams predictor-corrector (tau)", 2, 1, 0},
    NULL, NULL, NULL, NULL, NULL};
