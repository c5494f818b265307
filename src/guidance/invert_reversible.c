/* invert_reversible.c - the algebraically reversible solver (McCallum &
 * Foster 2024, arXiv:2410.11648, eq. 5; the reversible solvers for diffusion
 * SDEs of Blasingame & Liu 2025 build on it). For a base increment Psi and a
 * coupling c in (0, 1], one step n -> n + 1 of the pair (y, z) is
 *   y' = c y + (1 - c) z + Psi(s_n -> s_n+1; z)
 *   z' = z - Psi(s_n+1 -> s_n; y')
 * and the inverse recomputes the same two increments in the other order:
 *   z = z' + Psi(s_n+1 -> s_n; y'),  y = (y' - (1 - c) z - Psi(s_n -> s_n+1; z)) / c,
 * so a sample regenerated from the inverted pair matches up to rounding.
 * The base step is the first-order exponential integrator of the family of
 * reverse-time equations (x~ = x / alpha, s = sigma / alpha, p = 1 + eta^2)
 *   dx~ = p (x~ - D) / s ds + eta sqrt(2 s) dW
 * (eta = 0: the probability-flow ODE; eta = 1: the reverse SDE), with D
 * frozen at the start point and the linear part and the noise integral
 * exact: DDIM for eta = 0, SDE-DPM-Solver-1 (Lu et al. 2022b; the base step
 * of Blasingame & Liu) for eta > 0, the DDPM ancestral step for eta = 1.
 * The state is u = x~ / s (the DPM-Solver++ variable; run in x~ the scheme
 * was unstable on Karras schedules: 10 steps gave a relative error of 3.5 on
 * the test mixture). With rho = s_b / s_a:
 *   Psi(a -> b; u) = (rho^(eta^2) - 1) u + (1 - rho^p) / s_b D(s_a u, s_a)
 *                    + g_ab xi_n,
 * g_ab = sqrt(1 - rho^(2 eta^2)) downwards (the exact noise variance of the
 * step) and -rho^(eta^2) sqrt(1 - rho^(-2 eta^2)) upwards (the downward
 * step's noise mapped back through its inverse); eta = 0 gives the DDIM
 * increment D (1/s_b - 1/s_a). xi_n is draw n of the seed's per-row Philox
 * streams. The first version took Euler-Maruyama steps in u for eta > 0:
 * its upward step is unstable near sigma_min (gain 1 - (s_n / s_n+1 - 1) =
 * -6.4 at the last Karras step of 10), the round trip amplified a
 * perturbation of the latent ~5000-fold and rounding the latent to float32
 * cost 1e-4 of relative error (7e-7 now, 10 steps, eta 0.5). The coupled
 * scheme still amplifies the latent's rounding more as eta grows (the
 * difference y - z gains ~ (s_n / s_n+1)^(eta^2) per step where D barely
 * depends on x): float32 round trips meet 1e-5 up to eta ~ 0.7 (test
 * mixture, 10 steps), not at eta = 1 (docs/conditioning-edit.md).
 * The pair (y, z) is carried in double whatever the dtype: a float32 run
 * rounds to float32 only the denoiser's query and output, its noise draws
 * and the returned pair (rounding the state at every step lost bits to the
 * cancellation in z' = z - Psi, where Psi is many times the state). */
#include <math.h>
#include <stdlib.h>

#include "edit_internal.h"

sgm_reversible_config sgm_reversible_config_default(void) {
    sgm_reversible_config c = {0.999, 0, 0};
    return c;
}

typedef struct rev {
    const sgm_reversible_config *cfg;
    const sgm_schedule *sched;
    sgm__ecall c;
    size_t count;
    void *D, *xi, *xt;
} rev;

/* inc = Psi(a -> b; u) for step n in the variable u = x~ / s (xi_n drawn
 * when eta > 0). */
static sgm_status psi(rev *r, size_t step, size_t ia, size_t ib, const double *u, double *inc) {
    sgm__ept a = sgm__edit_pt(r->sched, ia), b = sgm__edit_pt(r->sched, ib);
    sgm_dtype dt = r->c.dt;
    sgm_status st = sgm__edit_denoise(&r->c, u, a.alpha * a.s, a, r->D);
    if (st) return st;
    double eta = r->cfg->eta;
    if (eta == 0) {
        double k = 1 / b.s - 1 / a.s;
        for (size_t i = 0; i < r->count; i++) inc[i] = k * sgm__eget(dt, r->D, i);
        return SGM_OK;
    }
    double e2 = eta * eta, lr = log(b.s / a.s); /* log rho */
    double ku = expm1(e2 * lr), kd = -expm1((1 + e2) * lr) / b.s;
    double sn = sqrt(-expm1(-2 * e2 * fabs(lr)));
    double g = ib > ia ? sn : -exp(e2 * lr) * sn;
    if (dt == SGM_F64)
        sgm_rng_normal_rows_f64(r->cfg->seed, step, r->c.row0, r->c.n, r->c.d, r->xi);
    else
        sgm_rng_normal_rows_f32(r->cfg->seed, step, r->c.row0, r->c.n, r->c.d, r->xi);
    for (size_t i = 0; i < r->count; i++)
        inc[i] = ku * u[i] + kd * sgm__eget(dt, r->D, i) + g * sgm__eget(dt, r->xi, i);
    return SGM_OK;
}

static sgm_status walk(const sgm_reversible_config *cfg, const sgm_schedule *sched,
                       const sgm_process *proc, const sgm_denoiser *den, uint64_t row0, size_t n,
                       size_t d, sgm_dtype dt, void *y, void *z, size_t *nfe, int inverse,
                       sgm_error *err) {
    if (nfe) *nfe = 0;
    sgm_status st = sgm__edit_check(sched, proc, den, n, d, dt, err);
    if (st) return st;
    if (!cfg || !(cfg->coupling > 0 && cfg->coupling <= 1) || !(cfg->eta >= 0) ||
        !isfinite(cfg->eta))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "reversible: coupling must be in (0, 1] and eta >= 0");
    for (size_t i = 0; i < sched->n; i++)
        if (!(sched->sigma[i] > 0))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "reversible: every sigma of the schedule must be > 0 "
                                  "(end at sigma_min, not 0)");
    size_t count = n * d, esz = sgm_dtype_size(dt);
    rev r = {cfg, sched, {den, proc, n, d, row0, dt, NULL, 0, err, 1}, count, NULL, NULL, NULL};
    r.D = malloc(count * esz), r.xi = malloc(count * esz), r.xt = malloc(count * esz);
    double *inc = malloc(count * sizeof(double));
    /* the double state: the caller's arrays themselves in float64 */
    const int f64 = dt == SGM_F64;
    double *ys = f64 ? y : malloc(count * sizeof(double));
    double *zs = f64 ? z : malloc(count * sizeof(double));
    if (!r.D || !r.xi || !r.xt || !inc || !ys || !zs) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "reversible: out of memory");
        goto done;
    }
    r.c.xt = r.xt;
    const double c = cfg->coupling;
    const size_t N = sched->n - 1;
    size_t from = inverse ? N : 0, to = inverse ? 0 : N;
    const double in = 1 / (sched->alpha[from] * sched->sigma[from]);
    for (size_t i = 0; i < count; i++) {
        ys[i] = in * sgm__eget(dt, y, i);
        zs[i] = in * sgm__eget(dt, z, i);
    }
    for (size_t k = 0; k < N; k++) {
        size_t nn = inverse ? N - 1 - k : k; /* step nn: point nn -> nn + 1 */
        if (!inverse) {
            if ((st = psi(&r, nn, nn, nn + 1, zs, inc))) break;
            for (size_t i = 0; i < count; i++) ys[i] = c * ys[i] + (1 - c) * zs[i] + inc[i];
            if ((st = psi(&r, nn, nn + 1, nn, ys, inc))) break;
            for (size_t i = 0; i < count; i++) zs[i] -= inc[i];
        } else {
            if ((st = psi(&r, nn, nn + 1, nn, ys, inc))) break;
            for (size_t i = 0; i < count; i++) zs[i] += inc[i];
            if ((st = psi(&r, nn, nn, nn + 1, zs, inc))) break;
            for (size_t i = 0; i < count; i++) ys[i] = (ys[i] - (1 - c) * zs[i] - inc[i]) / c;
        }
    }
    if (!st) {
        const double out = sched->alpha[to] * sched->sigma[to];
        for (size_t i = 0; i < count; i++) {
            sgm__eset(dt, y, i, out * ys[i]);
            sgm__eset(dt, z, i, out * zs[i]);
        }
    }
done:
    if (nfe) *nfe = r.c.nfe;
    free(r.D), free(r.xi), free(r.xt), free(inc);
    if (!f64) free(ys), free(zs);
    return st;
}

sgm_status sgm_reversible_sample(const sgm_reversible_config *cfg, const sgm_schedule *sched,
                                 const sgm_process *proc, const sgm_denoiser *den,
                                 uint64_t row0, size_t n, size_t d, sgm_dtype dt, void *y,
                                 void *z, size_t *nfe, sgm_error *err) {
    return walk(cfg, sched, proc, den, row0, n, d, dt, y, z, nfe, 0, err);
}

sgm_status sgm_reversible_invert(const sgm_reversible_config *cfg, const sgm_schedule *sched,
                                 const sgm_process *proc, const sgm_denoiser *den,
                                 uint64_t row0, size_t n, size_t d, sgm_dtype dt, void *y,
                                 void *z, size_t *nfe, sgm_error *err) {
    return walk(cfg, sched, proc, den, row0, n, d, dt, y, z, nfe, 1, err);
}
