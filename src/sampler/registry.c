/* registry.c - the table of samplers: name, aliases, summary, order, kind.
 * One line per method; the table drives `sgm list`, the CLI and the docs. */
#include "sampler_internal.h"

extern const sgm__method sgm__m_euler;
extern const sgm__method sgm__m_euler_a;
extern const sgm__method sgm__m_heun;
extern const sgm__method sgm__m_dpm2;
extern const sgm__method sgm__m_dpm2_a;
extern const sgm__method sgm__m_lms;
extern const sgm__method sgm__m_dpm_fast;
extern const sgm__method sgm__m_dpm_adaptive;
extern const sgm__method sgm__m_dpmpp_2s_a;
extern const sgm__method sgm__m_dpmpp_sde;
extern const sgm__method sgm__m_dpmpp_2m;
extern const sgm__method sgm__m_dpmpp_2m_sde;
extern const sgm__method sgm__m_dpmpp_3m_sde;
extern const sgm__method sgm__m_dpm_solver;
extern const sgm__method sgm__m_dpm_solver_adaptive;
extern const sgm__method sgm__m_ddim;
extern const sgm__method sgm__m_pndm;
extern const sgm__method sgm__m_deis;
extern const sgm__method sgm__m_unipc;
extern const sgm__method sgm__m_ipndm;
extern const sgm__method sgm__m_ddpm;
extern const sgm__method sgm__m_em;
extern const sgm__method sgm__m_pc;
extern const sgm__method sgm__m_sa_solver;
extern const sgm__method sgm__m_rk45;
extern const sgm__method sgm__m_euler_cfgpp;
extern const sgm__method sgm__m_euler_a_cfgpp;
extern const sgm__method sgm__m_dpmpp_2m_cfgpp;
extern const sgm__method sgm__m_sde_adaptive;
extern const sgm__method sgm__m_ula;
extern const sgm__method sgm__m_mala;
extern const sgm__method sgm__m_ubla;
extern const sgm__method sgm__m_rmm;
extern const sgm__method sgm__m_ipndm_v;
extern const sgm__method sgm__m_deis_tab;
extern const sgm__method sgm__m_res_multistep;
extern const sgm__method sgm__m_res_multistep_a;
extern const sgm__method sgm__m_gradient_estimation;
extern const sgm__method sgm__m_heunpp2;
extern const sgm__method sgm__m_er_sde;
extern const sgm__method sgm__m_seeds_2;
extern const sgm__method sgm__m_seeds_3;
extern const sgm__method sgm__m_lcm;
extern const sgm__method sgm__m_sa_solver_comfy;
extern const sgm__method sgm__m_sa_solver_pece;
extern const sgm__method sgm__m_restart;
extern const sgm__method sgm__m_dpm_solver_v3;
extern const sgm__method sgm__m_mrs_ode;
extern const sgm__method sgm__m_mrs_sde;

const sgm__method *const sgm__methods[] = {
    &sgm__m_euler,
    &sgm__m_euler_a,
    &sgm__m_heun,
    &sgm__m_dpm2,
    &sgm__m_dpm2_a,
    &sgm__m_lms,
    &sgm__m_dpm_fast,
    &sgm__m_dpm_adaptive,
    &sgm__m_dpmpp_2s_a,
    &sgm__m_dpmpp_sde,
    &sgm__m_dpmpp_2m,
    &sgm__m_dpmpp_2m_sde,
    &sgm__m_dpmpp_3m_sde,
    &sgm__m_dpm_solver,
    &sgm__m_dpm_solver_adaptive,
    &sgm__m_ddim,
    &sgm__m_pndm,
    &sgm__m_deis,
    &sgm__m_unipc,
    &sgm__m_ipndm,
    &sgm__m_ddpm,
    &sgm__m_em,
    &sgm__m_pc,
    &sgm__m_sa_solver,
    &sgm__m_rk45,
    &sgm__m_euler_cfgpp,
    &sgm__m_euler_a_cfgpp,
    &sgm__m_dpmpp_2m_cfgpp,
    &sgm__m_sde_adaptive,
    &sgm__m_ula,
    &sgm__m_mala,
    &sgm__m_ubla,
    &sgm__m_rmm,
    &sgm__m_ipndm_v,
    &sgm__m_deis_tab,
    &sgm__m_res_multistep,
    &sgm__m_res_multistep_a,
    &sgm__m_gradient_estimation,
    &sgm__m_heunpp2,
    &sgm__m_er_sde,
    &sgm__m_seeds_2,
    &sgm__m_seeds_3,
    &sgm__m_lcm,
    &sgm__m_sa_solver_comfy,
    &sgm__m_sa_solver_pece,
    &sgm__m_restart,
    &sgm__m_dpm_solver_v3,
    &sgm__m_mrs_ode,
    &sgm__m_mrs_sde,
};
const size_t sgm__n_methods = sizeof sgm__methods / sizeof sgm__methods[0];

const sgm__method *sgm__method_lookup(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < sgm__n_methods; i++)
        if (sgm__name_eq(name, sgm__methods[i]->info.name) ||
            sgm__name_in_list(name, sgm__methods[i]->info.aliases))
            return sgm__methods[i];
    return NULL;
}

size_t sgm_method_count(void) { return sgm__n_methods; }

const sgm_method_info *sgm_method_at(size_t i) {
    return i < sgm__n_methods ? &sgm__methods[i]->info : NULL;
}

const sgm_method_info *sgm_method_find(const char *name) {
    const sgm__method *m = sgm__method_lookup(name);
    return m ? &m->info : NULL;
}

