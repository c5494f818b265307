/* sde.c - STUB: placeholder until the family is implemented. */
#include "sampler_internal.h"

const sgm__method sgm__m_em = {
    {"em", "euler_maruyama,reverse_sde",
     "reverse-time SDE Euler-Maruyama (Song et al. 2021)", 1, 1, 0},
    NULL, NULL, NULL, NULL, NULL};
const sgm__method sgm__m_pc = {
    {"pc", "predictor_corrector",
     "reverse-diffusion predictor + Langevin corrector (snr, n_corrector)", 1, 1, 0},
    NULL, NULL, NULL, NULL, NULL};
