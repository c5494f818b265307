/* test_convergence.c - empirical convergence order of every deterministic,
 * non-adaptive sampler on the probability-flow ODE of an exact Gaussian
 * mixture (acceptance item 2).
 *
 * Model: the 8 means of tests/data/models/gmm2d.json (a ring of radius 4)
 * with component std 1.0 instead of 0.3. With std 0.3 the ODE is stiff (the
 * denoiser's Jacobian between modes grows like |mu_j - mu_k|^2 / std^2) and
 * the asymptotic orders only show at thousands of steps; with std 1 the
 * solution varies on a scale of ~1 in s and 16..1024 steps are asymptotic.
 *
 * Setup: VE process (alpha = 1), 32 rows, x_T = s_max z, ending at
 * s_min = 0.05 (explicit list of sigmas, no final zero: the step to s = 0 is
 * x = D by construction in most methods and only adds the stiff end). Every
 * method runs with lower_order_final = SGM_LOF_NONE (lowering the order of the
 * last steps caps the global order by construction), eta = 0, tau = 0.
 *
 * Reference: classic RK4 on dx/dlambda = D(x, e^{-lambda}) - x with 8192
 * steps; its error (~1/15 of the 4096-vs-8192 difference, checked < 1.5e-11)
 * is >= 100x below ERR_FLOOR. The rk45 sampler (rtol = atol = 1e-11) is checked
 * against it; it is not used as the reference itself because its own global
 * error (~1e-10) would cut off the range in which 3rd/4th-order errors can
 * be measured.
 *
 * Grids (steps double from n0 over n_lev levels):
 *   LAMBDA, s_max = 1000: uniform in lambda = -log s. Exponential integrators
 *     (DPM-Solver, DEIS, UniPC, SA-Solver, DDIM, dpmpp_*) are analysed in
 *     lambda; the Karras-ODE methods (euler, heun, dpm2, lms with exact
 *     Lagrange weights) have their order on any smooth grid. The large s_max
 *     matters for the multistep methods: their first-order warm-up step has a
 *     local error O(h^2) that does not average out, so asymptotically every
 *     Euler-started multistep method is globally O(h^2) + O(h^k). That O(h^2)
 *     constant is proportional to dD/dlambda ~ Var(data) / s at the start and
 *     is then contracted by ~1 / s_max along the flow, so at s_max = 1000 it
 *     stays far below the O(h^k) term over the tested range (at s_max = 20,
 *     lms order 4 measures ~2.5).
 *   SIGMA, s_max = 20: uniform in s, for ipndm and pndm, whose fixed
 *     constant-step Adams-Bashforth weights (on d = eps = (x~ - D)/s; PNDM's
 *     transfer is x~ + (s' - s) eps in VE coordinates, and on the VE process
 *     its time is s) are only 4th order on grids uniform in s: on other smooth
 *     grids they differ from the variable-step weights by O(h).
 *
 * Error: RMS over all values at s_min (smoother in h than the max, whose
 * maximizing row can switch between levels). The empirical order is the
 * least-squares slope of log2(error) against log2(steps) over the last four
 * levels with errors above ERR_FLOOR, and must lie within 0.3 of the
 * theoretical order.
 *
 * ComfyUI samplers (theoretical order of the method as coded):
 *   ipndm_v: 3. Its order-4 weights on equal steps are (57, -65, 43, -11)/24,
 *     not Adams-Bashforth's (55, -59, 37, -9)/24, so the coded scheme is
 *     third order (as diff-solvers / ComfyUI code it; parity cases pass).
 *   er_sde (ODE, x^1 noise scaler): 1 asymptotically. Its stage integrals
 *     are the reference's 200-point Riemann sums, whose O(h^2 / 200) error per
 *     step dominates below ~500 steps' error of the 3-stage terms; measured
 *     from 512 steps up.
 *   gradient_estimation, heunpp2: 1 (Euler plus an O(h) correction; heunpp2's
 *     weights use the schedule's first sigma).
 *   sa_solver_comfy / sa_solver_pece p3c4: 4 (as sa_solver p3c4).
 * Theoretical orders, where not simply the method's order:
 *   dpm_solver multistep order 3 (data and noise) and dpmpp_3m_sde: 2. The
 *     reference update (DPM-Solver multistep_dpm_solver_third_update, k-diffusion
 *     sample_dpmpp_3m_sde) adds -phi_3 D2 with D2 = (D1_0 - D1_1)/(r0 + r1)
 *     ~ h^2 D''/2, while the exponential-integrator Taylor term is
 *     -h^2 phi_3 D'' (= -2 phi_3 D2): the D'' term is weighted by half, a local
 *     error O(h^3), so the methods as published (and as sgm must reproduce them
 *     for parity) are globally second order. Checked outside this test: with
 *     exact starting values the published update measures 2.0 and the update
 *     with 2 phi_3 D2 measures 3.0 on this problem.
 *   unipc order p (bh1, bh2): p + 1 (the UniC corrector raises the order by
 *     one; the last, uncorrected step is a single O(h^(p+1)) local error).
 *   sa_solver predictor p, corrector c: min(c, p + 1). Tested (p, c) = (1, 1),
 *     (1, 2), (2, 2) (the default), (2, 3), (3, 3), (3, 4). (4, 4) is left out:
 *     the 4-node corrector's error constant is small and it measures ~5 over
 *     this range (errors reach the floor before the O(h^4) term dominates);
 *     (3, 3) shows the same effect mildly (~3.8 in the max norm, ~3.1 in RMS).
 *   dpm_solver singlestep runs with SGM_SSPLAN_FIXED and step counts that are
 *     multiples of the order, so every macro step has the full order (the
 *     default DPM-Solver plan ends with a first- or second-order macro step
 *     whose parity alternates with the step count, making the ratios erratic).
 * Methods that are not implemented yet fail with their error message.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sgm.h"
#include "test_order.h"
#include "test_util.h"

#define S_MAX_SIGMA 20.0 /* start of the sigma-uniform grid */
#define S_MAX_LAMBDA 1000.0 /* start of the lambda-uniform grid */
#define S_MIN 0.05
#define ROWS 32
#define DIM 2
#define MAX_LEV 10

/* errors below this are within ~100x of the reference's own error: left out */
#define ERR_FLOOR 1e-10
/* acceptance: |observed - theoretical| <= 0.3 (issue acceptance item 2) */
#define ORDER_TOL 0.3

typedef enum { G_LAMBDA = 0, G_SIGMA } grid_kind;

typedef struct conv_case {
    const char *label;
    const char *method;
    int order;        /* cfg.order (0: default) */
    int multistep;    /* -1: default */
    int algorithm;    /* -1: default, else sgm_dpm_algorithm */
    int solver_type;  /* -1: default, else sgm_solver_type */
    int po, co;       /* sa_solver predictor / corrector order (0: default) */
    double expect;    /* theoretical order */
    grid_kind grid;
    int n0, n_lev;    /* steps n0, 2 n0, ... (n_lev levels) */
} conv_case;

#define D_ -1
#define DATA SGM_DPM_DATA
#define NOISE SGM_DPM_NOISE
#define LAM G_LAMBDA
static const conv_case cases[] = {
    {"euler", "euler", 0, D_, D_, D_, 0, 0, 1, LAM, 32, 6},
    {"heun", "heun", 0, D_, D_, D_, 0, 0, 2, LAM, 16, 7},
    {"dpm2", "dpm2", 0, D_, D_, D_, 0, 0, 2, LAM, 16, 7},
    {"lms-1", "lms", 1, D_, D_, D_, 0, 0, 1, LAM, 32, 6},
    {"lms-2", "lms", 2, D_, D_, D_, 0, 0, 2, LAM, 16, 7},
    {"lms-3", "lms", 3, D_, D_, D_, 0, 0, 3, LAM, 16, 7},
    {"lms-4", "lms", 4, D_, D_, D_, 0, 0, 4, LAM, 16, 7},
    {"dpmpp_2m", "dpmpp_2m", 0, D_, D_, D_, 0, 0, 2, LAM, 16, 7},
    {"dpm_solver-ms-1-data", "dpm_solver", 1, 1, DATA, D_, 0, 0, 1, LAM, 32, 6},
    {"dpm_solver-ms-2-data", "dpm_solver", 2, 1, DATA, D_, 0, 0, 2, LAM, 16, 7},
    {"dpm_solver-ms-3-data", "dpm_solver", 3, 1, DATA, D_, 0, 0, 2, LAM, 16, 7},
    {"dpm_solver-ms-1-noise", "dpm_solver", 1, 1, NOISE, D_, 0, 0, 1, LAM, 32, 6},
    {"dpm_solver-ms-2-noise", "dpm_solver", 2, 1, NOISE, D_, 0, 0, 2, LAM, 16, 7},
    {"dpm_solver-ms-3-noise", "dpm_solver", 3, 1, NOISE, D_, 0, 0, 2, LAM, 16, 7},
    {"dpm_solver-ss-1-data", "dpm_solver", 1, 0, DATA, D_, 0, 0, 1, LAM, 32, 6},
    {"dpm_solver-ss-2-data", "dpm_solver", 2, 0, DATA, D_, 0, 0, 2, LAM, 16, 7},
    {"dpm_solver-ss-3-data", "dpm_solver", 3, 0, DATA, D_, 0, 0, 3, LAM, 24, 7},
    {"dpm_solver-ss-1-noise", "dpm_solver", 1, 0, NOISE, D_, 0, 0, 1, LAM, 32, 6},
    {"dpm_solver-ss-2-noise", "dpm_solver", 2, 0, NOISE, D_, 0, 0, 2, LAM, 16, 7},
    {"dpm_solver-ss-3-noise", "dpm_solver", 3, 0, NOISE, D_, 0, 0, 3, LAM, 24, 7},
    {"ddim", "ddim", 0, D_, D_, D_, 0, 0, 1, LAM, 32, 6},
    {"pndm", "pndm", 0, D_, D_, D_, 0, 0, 4, G_SIGMA, 64, 6},
    {"ipndm", "ipndm", 0, D_, D_, D_, 0, 0, 4, G_SIGMA, 64, 6},
    {"deis-1", "deis", 1, D_, D_, D_, 0, 0, 1, LAM, 32, 6},
    {"deis-2", "deis", 2, D_, D_, D_, 0, 0, 2, LAM, 16, 7},
    {"deis-3", "deis", 3, D_, D_, D_, 0, 0, 3, LAM, 16, 7},
    {"unipc-bh1-1", "unipc", 1, D_, D_, SGM_SOLVER_BH1, 0, 0, 2, LAM, 16, 7},
    {"unipc-bh1-2", "unipc", 2, D_, D_, SGM_SOLVER_BH1, 0, 0, 3, LAM, 16, 7},
    {"unipc-bh1-3", "unipc", 3, D_, D_, SGM_SOLVER_BH1, 0, 0, 4, LAM, 16, 7},
    {"unipc-bh2-1", "unipc", 1, D_, D_, SGM_SOLVER_BH2, 0, 0, 2, LAM, 16, 7},
    {"unipc-bh2-2", "unipc", 2, D_, D_, SGM_SOLVER_BH2, 0, 0, 3, LAM, 16, 7},
    {"unipc-bh2-3", "unipc", 3, D_, D_, SGM_SOLVER_BH2, 0, 0, 4, LAM, 16, 7},
    {"sa_solver-p1c1", "sa_solver", 0, D_, D_, D_, 1, 1, 1, LAM, 32, 6},
    {"sa_solver-p1c2", "sa_solver", 0, D_, D_, D_, 1, 2, 2, LAM, 16, 7},
    {"sa_solver-p2c2", "sa_solver", 0, D_, D_, D_, 2, 2, 2, LAM, 16, 7},
    {"sa_solver-p2c3", "sa_solver", 0, D_, D_, D_, 2, 3, 3, LAM, 16, 7},
    {"sa_solver-p3c3", "sa_solver", 0, D_, D_, D_, 3, 3, 3, LAM, 16, 8},
    {"sa_solver-p3c4", "sa_solver", 0, D_, D_, D_, 3, 4, 4, LAM, 16, 8},
    {"dpmpp_2s_a-eta0", "dpmpp_2s_a", 0, D_, D_, D_, 0, 0, 2, LAM, 16, 7},
    {"dpmpp_sde-eta0", "dpmpp_sde", 0, D_, D_, D_, 0, 0, 2, LAM, 16, 7},
    {"dpmpp_2m_sde-mid-eta0", "dpmpp_2m_sde", 0, D_, D_, SGM_SOLVER_MIDPOINT, 0, 0, 2, LAM, 16,
     7},
    {"dpmpp_2m_sde-heun-eta0", "dpmpp_2m_sde", 0, D_, D_, SGM_SOLVER_HEUN, 0, 0, 2, LAM, 16, 7},
    {"dpmpp_3m_sde-eta0", "dpmpp_3m_sde", 0, D_, D_, D_, 0, 0, 2, LAM, 16, 7},
    /* DPM-Solver-v3 (po 1: pseudo-order predictor; co 1: its corrector of
       pseudo order p + 1), without statistics (l = 1, s = b = 0: DPM-Solver++
       'taylor') and with the calibrated statistics of this mixture held
       constant in lambda ("ems"). Orders: the Taylor-fit predictor of order p
       is order p. The pseudo-order forms take g^(1) as the first divided
       difference (g_0 - g_1) / (lambda_0 - lambda_1), an O(h) error against
       the O(h^2) weight of the g^(1) term: a local O(h^3), globally 2 for any
       p >= 2 (pseudo predictor of order 3; the corrector of pseudo order 3
       after a second-order predictor), as measured; "pseudo" is the paper's
       word for this. ems-3 is left out: with the mid-range statistics (l 0.37
       where the flow starts at s = 1000 and l should be ~1) the first,
       first-order warm-up step's local O(h^2) error (proportional to g'',
       large under the mismatched l) dominates below ~1e-4 and the fit sees
       that O(h^2) floor (local orders 3.3, 3.6, 4.3, 1.2). */
    {"dpm_solver_v3-1", "dpm_solver_v3", 1, D_, D_, D_, 0, 0, 1, LAM, 32, 6},
    {"dpm_solver_v3-2", "dpm_solver_v3", 2, D_, D_, D_, 0, 0, 2, LAM, 16, 7},
    {"dpm_solver_v3-3", "dpm_solver_v3", 3, D_, D_, D_, 0, 0, 3, LAM, 16, 7},
    {"dpm_solver_v3-3-pseudo", "dpm_solver_v3", 3, D_, D_, D_, 1, 0, 2, LAM, 16, 7},
    {"dpm_solver_v3-2-corr", "dpm_solver_v3", 2, D_, D_, D_, 0, 1, 2, LAM, 16, 7},
    {"dpm_solver_v3-ems-1", "dpm_solver_v3", 1, D_, D_, D_, 0, 0, 1, LAM, 32, 6},
    {"dpm_solver_v3-ems-2", "dpm_solver_v3", 2, D_, D_, D_, 0, 0, 2, LAM, 16, 7},
    {"dpm_solver_v3-ems-2-corr", "dpm_solver_v3", 2, D_, D_, D_, 0, 1, 2, LAM, 16, 7},
    /* ComfyUI samplers */
    {"ipndm_v", "ipndm_v", 0, D_, D_, D_, 0, 0, 3, LAM, 16, 7},
    {"deis_tab", "deis_tab", 0, D_, D_, D_, 0, 0, 3, LAM, 16, 7},
    {"res_multistep", "res_multistep", 0, D_, D_, D_, 0, 0, 2, LAM, 16, 7},
    {"gradient_estimation", "gradient_estimation", 0, D_, D_, D_, 0, 0, 1, LAM, 32, 6},
    {"heunpp2", "heunpp2", 0, D_, D_, D_, 0, 0, 1, LAM, 32, 6},
    {"er_sde-ode", "er_sde", 0, D_, D_, D_, 0, 0, 1, LAM, 512, 5},
    {"seeds_2-eta0", "seeds_2", 0, D_, D_, D_, 0, 0, 2, LAM, 16, 7},
    {"seeds_3-eta0", "seeds_3", 0, D_, D_, D_, 0, 0, 3, LAM, 16, 7},
    {"sa_solver_comfy-p3c4", "sa_solver_comfy", 0, D_, D_, D_, 3, 4, 4, LAM, 16, 8},
    {"sa_solver_pece-p3c4", "sa_solver_pece", 0, D_, D_, D_, 3, 4, 4, LAM, 16, 8},
    /* MR Sampler ODE (on VE: the DPM-Solver(++) multistep updates in Taylor
       form; on the MR process: tests/test_mr.c) */
    {"mrs_ode-1-data", "mrs_ode", 1, D_, DATA, D_, 0, 0, 1, LAM, 16, 7},
    {"mrs_ode-2-data", "mrs_ode", 2, D_, DATA, D_, 0, 0, 2, LAM, 16, 7},
    {"mrs_ode-2-noise", "mrs_ode", 2, D_, NOISE, D_, 0, 0, 2, LAM, 16, 7},
};

/* ------------------------------------------------------- reference --- */

/* classic RK4 in lambda on dx/dlambda = D(x, e^{-lambda}) - x */
static void rk4_lambda(const sgm_gmm *g, double smax, double *x, int m) {
    size_t cnt = (size_t)ROWS * DIM;
    double l0 = -log(smax), l1 = -log(S_MIN), h = (l1 - l0) / m;
    double *k1 = malloc(sizeof(double) * cnt * 5), *k2 = k1 + cnt, *k3 = k2 + cnt,
           *k4 = k3 + cnt, *y = k4 + cnt;
    for (int i = 0; i < m; i++) {
        double l = l0 + h * i;
        sgm_gmm_denoise(g, ROWS, x, exp(-l), k1);
        for (size_t j = 0; j < cnt; j++) {
            k1[j] -= x[j];
            y[j] = x[j] + 0.5 * h * k1[j];
        }
        sgm_gmm_denoise(g, ROWS, y, exp(-(l + 0.5 * h)), k2);
        for (size_t j = 0; j < cnt; j++) {
            k2[j] -= y[j];
            y[j] = x[j] + 0.5 * h * k2[j];
        }
        sgm_gmm_denoise(g, ROWS, y, exp(-(l + 0.5 * h)), k3);
        for (size_t j = 0; j < cnt; j++) {
            k3[j] -= y[j];
            y[j] = x[j] + h * k3[j];
        }
        sgm_gmm_denoise(g, ROWS, y, exp(-(l + h)), k4);
        for (size_t j = 0; j < cnt; j++) {
            k4[j] -= y[j];
            x[j] += h / 6 * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]);
        }
    }
    free(k1);
}

static double rms_diff(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
    return sqrt(s / (double)n);
}

static double max_abs_diff(const double *a, const double *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(a[i] - b[i]);
        if (!(e <= m)) m = e; /* NaN propagates as the max */
    }
    return m;
}

/* ------------------------------------------------------------ runs --- */

/* DPM-Solver-v3 statistics for the "ems" cases (set in main) */
static sgm_dpmv3_ems g_ems;

/* Runs one configuration; returns its status (x is overwritten). */
static sgm_status run_case(const conv_case *c, const sgm_process *proc, const sgm_gmm *g,
                           double smax, int steps, double *x, sgm_error *err) {
    sgm_sampler_config cfg;
    sgm_status st = sgm_sampler_config_default(c->method, &cfg, err);
    if (st) return st;
    if (c->order) cfg.order = c->order;
    if (c->multistep != D_) cfg.multistep = c->multistep;
    /* singlestep: every macro step of cfg.order (steps are multiples of the order) */
    if (c->multistep == 0) cfg.singlestep_plan = SGM_SSPLAN_FIXED;
    if (c->algorithm != D_) cfg.algorithm = (sgm_dpm_algorithm)c->algorithm;
    if (c->solver_type != D_) cfg.solver_type = (sgm_solver_type)c->solver_type;
    if (c->po) cfg.predictor_order = c->po;
    if (c->co) cfg.corrector_order = c->co;
    cfg.eta = 0;
    cfg.tau = 0;
    cfg.s_churn = 0;
    cfg.lower_order_final = SGM_LOF_NONE;
    cfg.n_threads = 1;
    cfg.er_noise_scaler = 1; /* er_sde: x^(eta + 1) with eta 0 is its ODE */
    cfg.s_noise = 0;
    int v3 = strcmp(c->method, "dpm_solver_v3") == 0;
    if (v3) {
        cfg.v3_predictor_pseudo = c->po;
        cfg.v3_corrector = c->co;
    }
    sgm_sampler *s = NULL;
    if ((st = sgm_sampler_create(&cfg, proc, ROWS, DIM, &s, err))) return st;
    if (v3 && strstr(c->label, "-ems") && (st = sgm_sampler_set_ems(s, &g_ems, err))) {
        sgm_sampler_free(s);
        return st;
    }
    sgm_schedule *sch = tu_sigma_grid(proc, smax, S_MIN, steps, c->grid == G_LAMBDA);
    sgm_denoiser den = sgm_gmm_denoiser(g);
    sgm_rng rng = sgm_rng_init(7);
    st = sch ? sgm_sampler_run(s, sch, &den, &rng, 0, ROWS, x, err) : SGM_ERR_INVALID_ARG;
    sgm_schedule_free(sch);
    sgm_sampler_free(s);
    return st;
}

/* the rk45 sampler as reference, if implemented: 0 on success */
static int rk45_reference(const sgm_process *proc, const sgm_gmm *g, double smax, double *x) {
    sgm_error err = {0};
    sgm_sampler_config cfg;
    if (sgm_sampler_config_default("rk45", &cfg, &err)) return -1;
    cfg.rtol = 1e-11;
    cfg.atol = 1e-11;
    cfg.n_threads = 1;
    sgm_sampler *s = NULL;
    if (sgm_sampler_create(&cfg, proc, ROWS, DIM, &s, &err)) return -1;
    double sig[2] = {smax, S_MIN};
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_USER_SIGMAS);
    sc.user = sig;
    sc.n_user = 2;
    sc.final_point = SGM_FINAL_NONE;
    sgm_schedule *sch = NULL;
    int rc = -1;
    if (!sgm_schedule_create(&sc, proc, &sch, &err)) {
        sgm_denoiser den = sgm_gmm_denoiser(g);
        sgm_rng rng = sgm_rng_init(7);
        rc = sgm_sampler_run(s, sch, &den, &rng, 0, ROWS, x, &err) ? -1 : 0;
        if (rc) fprintf(stderr, "  rk45 reference unavailable: %s\n", err.msg);
    }
    sgm_schedule_free(sch);
    sgm_sampler_free(s);
    return rc;
}

/* Reference at s_min for x_T = smax z: RK4 with 8192 steps; the rk45
 * sampler is checked against it when implemented. */
static void make_reference(const sgm_process *proc, const sgm_gmm *g, double smax,
                           const double *z, double *x_T, double *ref) {
    size_t cnt = (size_t)ROWS * DIM;
    double *a = malloc(sizeof(double) * cnt);
    for (size_t i = 0; i < cnt; i++) x_T[i] = smax * z[i];
    memcpy(a, x_T, sizeof(double) * cnt);
    rk4_lambda(g, smax, a, 4096);
    memcpy(ref, x_T, sizeof(double) * cnt);
    rk4_lambda(g, smax, ref, 8192);
    double rk4_err = max_abs_diff(a, ref, cnt);
    printf("reference s_max=%g: RK4(lambda) |4096 - 8192 steps| = %.3g\n", smax, rk4_err);
    /* RK4's error is ~1/15 of this difference: < 1.5e-11 keeps it 100x under ERR_FLOOR */
    CHECK(rk4_err < 1.5e-11, "RK4 reference not converged: %g", rk4_err);
    memcpy(a, x_T, sizeof(double) * cnt);
    clock_t t0 = clock();
    if (rk45_reference(proc, g, smax, a) == 0) {
        double d = max_abs_diff(a, ref, cnt);
        printf("reference s_max=%g: |rk45 (rtol = atol = 1e-11) - RK4| = %.3g (%.2fs)\n", smax,
               d, (double)(clock() - t0) / CLOCKS_PER_SEC);
        /* tolerances of 1e-11 per step: a global error above 1e-8 means rk45 is wrong */
        CHECK(d < 1e-8, "rk45 disagrees with the RK4 reference by %g", d);
    }
    free(a);
}

/* DPM-Solver-v3: (1) the calibration pass on 512 samples of this mixture
 * gives finite statistics; their middle row, held constant in lambda, is the
 * "ems" cases' statistics (constant, so they are smooth: a piecewise-linear
 * l(lambda) would cap the measurable order at 2 once steps are finer than
 * its grid). (2) Without statistics the method is DPM-Solver++ multistep in
 * the 'taylor' form (the paper's Appendix A.2): dpm_solver order 1 and 2,
 * solver_type heun, equal to rounding (1e-12 of the data scale ~4; the
 * closed forms differ only in how phi_k are evaluated). */
static void dpmv3_checks(const sgm_process *proc, const sgm_gmm *g, const double *x_T) {
    sgm_error err = {0};
    enum { NC = 512, NG = 101 };
    double *x0 = malloc(sizeof(double) * NC * DIM);
    sgm_gmm_sample(g, 5, 0, 0, NC, x0);
    sgm_denoiser den = sgm_gmm_denoiser(g);
    sgm_dpmv3_ems cal;
    sgm_status st = sgm_dpmv3_calibrate(proc, &den, NC, DIM, x0, 2 * S_MAX_LAMBDA, 0.5 * S_MIN,
                                        NG, 11, &cal, &err);
    free(x0);
    CHECK(st == SGM_OK, "dpmv3 calibrate: %s", err.msg);
    if (st) return;
    int finite = 1;
    for (size_t i = 0; i < (size_t)NG * DIM; i++)
        finite &= isfinite(cal.l[i]) && isfinite(cal.s[i]) && isfinite(cal.b[i]);
    CHECK(finite, "dpmv3 calibrate: non-finite statistics");
    /* l = E[diag dN/dx]: 1 - E[dD/dx]; far from the data D ~ mean (l -> 1),
     * near the data D ~ x (l -> 0): l must lie in [-0.1, 1.1] at both ends */
    printf("dpmv3 EMS (dim 0): l %.4f .. %.4f, s %.4f .. %.4f, b %.4f .. %.4f (first .. last)\n",
           cal.l[0], cal.l[(NG - 1) * DIM], cal.s[0], cal.s[(NG - 1) * DIM], cal.b[0],
           cal.b[(NG - 1) * DIM]);
    CHECK(cal.l[0] > 0.9 && cal.l[0] < 1.1 && cal.l[(NG - 1) * DIM] > -0.1 &&
              cal.l[(NG - 1) * DIM] < 0.5,
          "dpmv3 calibrate: l at the ends %g, %g", cal.l[0], cal.l[(NG - 1) * DIM]);
    static double cl[2 * DIM], cs[2 * DIM], cb[2 * DIM];
    for (int r = 0; r < 2; r++)
        for (int j = 0; j < DIM; j++) {
            cl[r * DIM + j] = cal.l[(NG / 2) * DIM + j];
            cs[r * DIM + j] = cal.s[(NG / 2) * DIM + j];
            cb[r * DIM + j] = cal.b[(NG / 2) * DIM + j];
        }
    g_ems = (sgm_dpmv3_ems){2, DIM, cal.lambda_first, cal.lambda_last, cl, cs, cb};
    sgm_dpmv3_ems_free(&cal);

    size_t cnt = (size_t)ROWS * DIM;
    double *a = malloc(sizeof(double) * cnt), *b = malloc(sizeof(double) * cnt);
    for (int order = 1; order <= 2; order++) {
        conv_case v3 = {"v3", "dpm_solver_v3", order, D_, D_, D_, 0, 0, 0, LAM, 0, 0};
        conv_case pp = {"dpm_solver", "dpm_solver", order, 1, DATA, SGM_SOLVER_HEUN,
                        0, 0, 0, LAM, 0, 0};
        memcpy(a, x_T, sizeof(double) * cnt);
        memcpy(b, x_T, sizeof(double) * cnt);
        sgm_status s1 = run_case(&v3, proc, g, S_MAX_LAMBDA, 24, a, &err);
        sgm_status s2 = s1 ? s1 : run_case(&pp, proc, g, S_MAX_LAMBDA, 24, b, &err);
        CHECK(!s1 && !s2, "dpmv3 degenerate: %s", err.msg);
        double dmax = max_abs_diff(a, b, cnt);
        printf("dpm_solver_v3 order %d without EMS vs dpm_solver++ (taylor): max |diff| %.3g\n",
               order, dmax);
        CHECK(dmax < 1e-12, "dpm_solver_v3 order %d without EMS differs from DPM-Solver++ "
              "(taylor) by %g", order, dmax);
    }
    free(a);
    free(b);
}

int main(void) {
    sgm_error err = {0};
    sgm_gmm *g = tu_smooth_ring();
    CHECK(g != NULL, "model");
    if (!g) TEST_MAIN_END();
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VE);
    pc.sigma_min = 0.002;
    pc.sigma_max = 2 * S_MAX_LAMBDA;
    sgm_process *proc = NULL;
    CHECK(sgm_process_create(&pc, &proc, &err) == SGM_OK, "process: %s", err.msg);

    size_t cnt = (size_t)ROWS * DIM;
    double *z = malloc(sizeof(double) * cnt), *x = malloc(sizeof(double) * cnt);
    double *x_T[2], *ref[2];
    const double smax[2] = {S_MAX_LAMBDA, S_MAX_SIGMA}; /* indexed by grid_kind */
    sgm_rng_normal_rows_f64(2024, 0, 0, ROWS, DIM, z);
    for (int r = 0; r < 2; r++) {
        x_T[r] = malloc(sizeof(double) * cnt);
        ref[r] = malloc(sizeof(double) * cnt);
        make_reference(proc, g, smax[r], z, x_T[r], ref[r]);
    }

    dpmv3_checks(proc, g, x_T[G_LAMBDA]);

    int n_unimpl = 0;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const conv_case *c = &cases[ci];
        double e[MAX_LEV];
        int lev = 0, steps = c->n0;
        sgm_status st = SGM_OK;
        clock_t t0 = clock();
        for (; lev < c->n_lev && lev < MAX_LEV; lev++, steps *= 2) {
            memcpy(x, x_T[c->grid], sizeof(double) * cnt);
            err.msg[0] = 0;
            st = run_case(c, proc, g, smax[c->grid], steps, x, &err);
            if (st) break;
            e[lev] = rms_diff(x, ref[c->grid], cnt);
            if (!(e[lev] >= ERR_FLOOR)) { /* at the reference's accuracy: stop doubling */
                lev++;
                break;
            }
        }
        if (st) {
            printf("%-24s ERROR (%s)\n", c->label, err.msg);
            CHECK(st == SGM_OK, "%s: %s", c->label, err.msg);
            if (st == SGM_ERR_UNSUPPORTED) n_unimpl++;
            continue;
        }
        int used = 0;
        double p = tu_fit_order(e, lev, ERR_FLOOR, &used);
        printf("%-24s %-6s n0=%-3d err:", c->label, c->grid == G_LAMBDA ? "lambda" : "sigma",
               c->n0);
        for (int k = 0; k < lev; k++) printf(" %.2e", e[k]);
        printf("\n%-24s local orders:", "");
        for (int k = 0; k + 1 < lev; k++) printf(" %5.2f", log2(e[k] / e[k + 1]));
        printf("  -> fitted %.2f over %d levels, expected %.0f (%.2fs)\n", p, used, c->expect,
               (double)(clock() - t0) / CLOCKS_PER_SEC);
        CHECK(fabs(p - c->expect) <= ORDER_TOL, "%s: empirical order %.3f, expected %.0f",
              c->label, p, c->expect);
    }
    if (n_unimpl) printf("%d configurations failed as not implemented\n", n_unimpl);

    for (int r = 0; r < 2; r++) {
        free(x_T[r]);
        free(ref[r]);
    }
    free(z);
    free(x);
    sgm_process_free(proc);
    sgm_gmm_free(g);
    TEST_MAIN_END();
}
