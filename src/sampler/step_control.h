/* step_control.h - the adaptive step size controller of the adaptive ODE
 * solvers: the rk45 sampler (rk45.c), k-diffusion's dpm_adaptive
 * (kd_dpm_solver.c), DPM-Solver's dpm_solver_adaptive
 * (dpm_solver_adaptive.c) and the likelihood ODE (src/eval/nll.c). One error norm
 * in, accept / reject and the next step size out. Internal to the library
 * (include from src/sampler and src/eval only).
 *
 * Forms (err is the error norm scaled by the tolerances, accept at <= 1):
 *  - SGM__CTL_STANDARD: Hairer, Norsett & Wanner, Solving ODEs I, II.4,
 *    eq. (4.13): accept when err <= 1; h <- h min(fac_max', max(fac_min,
 *    safety err^(-1/q))), fac_max' = fac_max after an accepted step and 1
 *    after a rejected one (no growth right after a rejection, as in HNW's
 *    DOPRI5); err = 0 gives fac_max.
 *  - SGM__CTL_PID: k-diffusion's PIDStepSizeController (Soderlind 2003,
 *    "Digital filters in adaptive time-stepping"; DPM-Solver's adaptive
 *    sampler as k-diffusion implements it): e_n = 1/(err_n + 1e-8),
 *    factor = limiter(e_0^b1 e_1^b2 e_2^b3), b1 = (P + I + D)/q,
 *    b2 = -(P + 2D)/q, b3 = D/q, limiter(u) = 1 + atan(u - 1); accept when
 *    factor >= accept_safety; h <- h factor either way. e_0 is the attempt
 *    at hand, e_1 and e_2 the last two accepted steps (the history moves
 *    only on acceptance); the first proposal fills the history with e_0.
 *    P = D = 0 is the plain integral controller.
 *
 * Non-finite errors (NaN, +-Inf, or negative): always rejected, never fed to
 * the formula or the history, and h shrinks by the form's smallest factor
 * (fac_min; for PID the limiter's floor limiter(0) = 1 - pi/4; 0.2 for
 * the unbounded DPM-Solver rule: nonfinite_shrink). The state
 * counts consecutive ones (n_nonfinite) so that a solver that runs out of
 * step size or attempts can say that non-finite values were the cause.
 *
 * The floating-point operations are those of the solvers' former private
 * controllers, in the same order, so their results are unchanged bit for bit
 * (apart from the non-finite case, which each solver treated differently).
 */
#ifndef SGM_STEP_CONTROL_H
#define SGM_STEP_CONTROL_H

typedef enum sgm__ctl_form { SGM__CTL_STANDARD = 0, SGM__CTL_PID } sgm__ctl_form;

/* Controller parameters (immutable during an integration). */
typedef struct sgm__ctl {
    sgm__ctl_form form;
    double order;                    /* q: the exponents are 1/q (error order + 1) */
    double safety, fac_min, fac_max; /* STANDARD */
    double b[3];                     /* PID exponents b1, b2, b3 */
    double accept_safety;            /* PID: accept when the factor >= this */
    double nonfinite_shrink;         /* h factor on a non-finite error (default fac_min) */
} sgm__ctl;

/* Per-integration controller state. */
typedef struct sgm__ctl_state {
    double errs[3];       /* PID: 1/(err + 1e-8) of this attempt, of the last two accepted */
    int have_errs;        /* PID: errs filled in */
    unsigned n_nonfinite; /* consecutive non-finite errors (0 after a finite one) */
} sgm__ctl_state;

/* HNW II.4 (4.13) with safety factor, factor bounds and exponent 1/order. */
sgm__ctl sgm__ctl_standard(double order, double safety, double fac_min, double fac_max);
/* DPM-Solver's adaptive rule (Lu et al. 2022, alg. 4): the STANDARD form
 * with safety theta and no factor bounds, h <- theta h E^(-1/order) (E = 0:
 * unbounded, the caller clips to the end); a non-finite error shrinks h by
 * 0.2 (HNW's fac_min). */
sgm__ctl sgm__ctl_dpm_solver(double order, double theta);
/* k-diffusion PIDStepSizeController with exponent denominator `order`. */
sgm__ctl sgm__ctl_pid(double order, double pcoeff, double icoeff, double dcoeff,
                      double accept_safety);

void sgm__ctl_reset(sgm__ctl_state *st);

/* One proposal for an attempt with error norm err: returns 1 to accept,
 * 0 to reject, and scales *h (the step size the form applies its factor to:
 * the attempted step for STANDARD, the controller's running h for PID). */
int sgm__ctl_propose(const sgm__ctl *c, sgm__ctl_state *st, double err, double *h);

/* The step to attempt from t toward t_end with step size h: min(h, t_end -
 * t), *last = 1 when it lands on t_end. */
double sgm__ctl_clip(double t, double t_end, double h, int *last);

/* 1 when step h at t is below 1e-13 max(1, |t|) (or NaN): the integration
 * cannot make progress in double precision. */
int sgm__ctl_underflow(double t, double h);

#endif
