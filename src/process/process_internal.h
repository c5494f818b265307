/* process_internal.h - the process object shared by process.c (the
 * process kinds' formulas) and process_discrete.c (the discrete-beta VP
 * tables and their interpolations). */
#ifndef SGM_PROCESS_INTERNAL_H
#define SGM_PROCESS_INTERNAL_H

#include "../core/internal.h"
#include "sgm/sgm_process.h"

struct sgm_process {
    sgm_process_config cfg;
    /* discrete tables (VP_DISCRETE) */
    int N;
    double *abar;      /* [N] alphas_cumprod */
    double *la;        /* [N] log alpha at t_n = (n + 1) / N */
    double *ls;        /* [N] log sigma_ve */
    double *sv;        /* [N] sigma_ve */
    double *user_betas;
    double cos_la0;    /* VP_COSINE: log cos(pi/2 s/(1+s)) */
    double mr_c;       /* MR: thetabar = mr_c L(t) (constant: mr_c t) */
    double mr_lcos0;   /* MR cosine: log cos a(0) */
};

static const double PI = 3.14159265358979323846;

/* Builds the tables of a VP_DISCRETE process from p->cfg (betas, abar, log
 * alpha, sigma_ve and its log; clip_lambda may shorten them); sets t_eps. */
sgm_status sgm__process_build_discrete(sgm_process *p, sgm_error *err);
/* log alpha of the discrete process at t and, if dla, d(log alpha)/dt. */
double sgm__process_disc_la(const sgm_process *p, double t, double *dla);
/* sigma / alpha of the discrete process at t > 0. */
double sgm__process_disc_sigma_ve(const sgm_process *p, double t);
/* t of the discrete process at lambda < inf (inverse of -log sigma_ve). */
double sgm__process_disc_t_of_lambda(const sgm_process *p, double lambda);

/* MR (process_mr.c): sets mr_c / mr_lcos0 from the config; thetabar(t)
 * and, if theta, its derivative; the inverse t(thetabar). */
void sgm__process_mr_init(sgm_process *p);
double sgm__process_mr_thetabar(const sgm_process *p, double t, double *theta);
double sgm__process_mr_t_of_thetabar(const sgm_process *p, double tb);

#endif
