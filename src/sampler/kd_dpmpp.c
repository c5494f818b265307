/* kd_dpmpp.c - STUB: placeholder until the family is implemented. */
#include "sampler_internal.h"

const sgm__method sgm__m_dpmpp_2s_a = {
    {"dpmpp_2s_a", "dpmpp_2s_ancestral,dpm++_2s_a,dpm++2s_a,k_dpmpp_2s_a",
     "DPM-Solver++(2S) ancestral", 2, 1, 0},
    NULL, NULL, NULL, NULL, NULL};
const sgm__method sgm__m_dpmpp_sde = {
    {"dpmpp_sde", "dpm++_sde,k_dpmpp_sde",
     "DPM-Solver++ SDE, 2 stages (r = 1/2)", 2, 1, 0},
    NULL, NULL, NULL, NULL, NULL};
const sgm__method sgm__m_dpmpp_2m = {
    {"dpmpp_2m", "dpm++_2m,dpm++2m,k_dpmpp_2m",
     "DPM-Solver++(2M), k-diffusion form", 2, 0, 0},
    NULL, NULL, NULL, NULL, NULL};
const sgm__method sgm__m_dpmpp_2m_sde = {
    {"dpmpp_2m_sde", "dpm++_2m_sde,dpm++2m_sde,k_dpmpp_2m_sde",
     "DPM-Solver++(2M) SDE (midpoint or heun, eta)", 2, 1, 0},
    NULL, NULL, NULL, NULL, NULL};
const sgm__method sgm__m_dpmpp_3m_sde = {
    {"dpmpp_3m_sde", "dpm++_3m_sde,dpm++3m_sde,k_dpmpp_3m_sde",
     "DPM-Solver++(3M) SDE (eta)", 3, 1, 0},
    NULL, NULL, NULL, NULL, NULL};
