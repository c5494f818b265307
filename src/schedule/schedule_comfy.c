/* schedule_comfy.c - ComfyUI's schedulers (comfy/samplers.py
 * calculate_sigmas, comfy_extras nodes), in ComfyUI's "sigma" space: the VE
 * sigma for every process except flow, where it is the flow time t.
 *
 *   simple        table[-(1 + int(i * len / n))], i < n, + [0]
 *   sgm_uniform   normal on linspace(t(sigma_max), t(sigma_min), n + 1)[:-1]
 *   ddim_uniform  [0] + table[1], table[1 + ss], ... (ss = max(len // n, 1)),
 *                 reversed: starts below sigma_max, may hold more than n + 1
 *   normal        sigma(linspace(t(sigma_max), t(sigma_min), n)) + [0]; sigma(t)
 *                 interpolates the float32 log table, t(sigma) is the nearest
 *                 table index
 *   beta          Lee et al. 2024 ("Beta Sampling is All You Need",
 *                 arXiv:2407.12173): t = rint(Beta(a, b).ppf(1 - i/n) * (len - 1)),
 *                 repeated t dropped, + [0]
 *   linear_quadratic  Mochi's flow schedule (genmoai), times sigma_max
 *   kl_optimal    Sabour et al. 2024 ("Align Your Steps", App.; A1111 PR
 *                 15608): tan(w atan(sigma_min) + (1 - w) atan(sigma_max)),
 *                 w = i / (n - 1) in float32, + [0]
 *   laplace       exp(mu - beta sign(1/2 - x) log(1 - 2|1/2 - x| + 1e-5)),
 *                 x = linspace(0, 1, n), clamped to [sigma_min, sigma_max]; no 0
 *   ays / gits / optimal_steps: the tables of schedule_tables.c, log-linearly
 *                 interpolated (numpy interp of log sigma over linspace(0, 1))
 *                 when the step count differs, last value set to 0.
 * The model's table: vp-discrete: float32 sqrt((1 - abar_t)/abar_t)
 * (ModelSamplingDiscrete); flow: t = i/1000, i = 1..1000
 * (ModelSamplingDiscreteFlow, shift 1); other processes: 1000 log-uniform
 * sigmas from sigma_min to sigma_max (ModelSamplingContinuousEDM). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "schedule_internal.h"

typedef struct ctab {
    size_t n;
    double *sig; /* increasing, float32-rounded for the discrete table */
    double *lsig;
} ctab;

static int is_flow(const sgm_process *p) {
    return sgm_process_get_config(p)->kind == SGM_PROCESS_FLOW;
}

static void range_of(const sgm_schedule_config *c, const sgm_process *p, double *smin,
                     double *smax) {
    const sgm_process_config *pc = sgm_process_get_config(p);
    if (pc->kind == SGM_PROCESS_VE) {
        *smin = pc->sigma_min;
        *smax = pc->sigma_max;
    } else {
        *smin = sgm_process_sigma_ve(p, sgm_process_t_min(p));
        *smax = sgm_process_sigma_ve(p, sgm_process_t_max(p));
    }
    if (c->sigma_min > 0) *smin = c->sigma_min;
    if (c->sigma_max > 0) *smax = c->sigma_max;
}

static int table_build(const sgm_schedule_config *c, const sgm_process *p, ctab *t) {
    const sgm_process_config *pc = sgm_process_get_config(p);
    const double *acp = sgm_process_alphas_cumprod(p);
    size_t n = pc->kind == SGM_PROCESS_VP_DISCRETE && acp ? (size_t)sgm_process_n_train(p) : 1000;
    t->n = n;
    t->sig = malloc(n * sizeof(double));
    t->lsig = malloc(n * sizeof(double));
    if (!t->sig || !t->lsig) return -1;
    double smin = 0, smax = 0;
    range_of(c, p, &smin, &smax);
    for (size_t i = 0; i < n; i++) {
        double v;
        if (pc->kind == SGM_PROCESS_VP_DISCRETE && acp)
            v = (float)sqrt((1 - acp[i]) / acp[i]);
        else if (pc->kind == SGM_PROCESS_FLOW)
            v = (double)(i + 1) / 1000.0;
        else
            v = exp(sgm__torch_linspace(log(smin), log(smax), n, i));
        t->sig[i] = v;
        t->lsig[i] = (float)log(v);
    }
    return 0;
}

static void table_free(ctab *t) {
    free(t->sig);
    free(t->lsig);
}

/* ModelSamplingDiscrete.timestep: nearest index in log sigma */
static double table_timestep(const ctab *t, double sigma) {
    double ls = log(sigma), best = INFINITY;
    size_t bi = 0;
    for (size_t i = 0; i < t->n; i++) {
        double d = fabs(ls - t->lsig[i]);
        if (d < best) {
            best = d;
            bi = i;
        }
    }
    return (double)bi;
}

/* ModelSamplingDiscrete.sigma: log-linear interpolation at a float32 timestep */
static double table_sigma(const ctab *t, double ts) {
    float tf = (float)ts;
    if (tf < 0) tf = 0;
    if (tf > (float)(t->n - 1)) tf = (float)(t->n - 1);
    size_t lo = (size_t)floorf(tf), hi = (size_t)ceilf(tf);
    float w = tf - floorf(tf);
    float ls = (1 - w) * (float)t->lsig[lo] + w * (float)t->lsig[hi];
    return (float)exp((double)ls);
}

/* ---- Beta(a, b) quantile (regularized incomplete beta, continued fraction) */
static double betacf(double a, double b, double x) {
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1, qam = a - 1, cc = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 10000; m++) {
        double m2 = 2.0 * m, aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        cc = 1 + aa / cc;
        if (fabs(cc) < tiny) cc = tiny;
        d = 1 / d;
        h *= d * cc;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        cc = 1 + aa / cc;
        if (fabs(cc) < tiny) cc = tiny;
        d = 1 / d;
        double del = d * cc;
        h *= del;
        if (fabs(del - 1) < 1e-16) break;
    }
    return h;
}

static double betainc(double a, double b, double x) {
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1) / (a + b + 2)) return exp(lbt) * betacf(a, b, x) / a;
    return 1 - exp(lbt) * betacf(b, a, 1 - x) / b;
}

static double beta_ppf(double q, double a, double b) {
    if (q <= 0) return 0;
    if (q >= 1) return 1;
    double lo = 0, hi = 1;
    for (int it = 0; it < 200 && hi - lo > 1e-17; it++) {
        double mid = 0.5 * (lo + hi);
        if (betainc(a, b, mid) < q) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* ---- the kinds ------------------------------------------------------- */
static sgm_status model_kind(const sgm_schedule_config *c, const sgm_process *p, double *v,
                             size_t *nv, sgm_error *err) {
    ctab t = {0, NULL, NULL};
    if (table_build(c, p, &t)) {
        table_free(&t);
        return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    }
    size_t n = (size_t)c->steps, k = 0, len = t.n;
    switch (c->kind) {
    case SGM_SCHEDULE_SIMPLE: {
        double ss = (double)len / (double)n;
        for (size_t i = 0; i < n; i++) v[k++] = t.sig[len - 1 - (size_t)((double)i * ss)];
        v[k++] = 0;
        break;
    }
    case SGM_SCHEDULE_DDIM_UNIFORM: {
        size_t ss = len / n > 1 ? len / n : 1;
        v[k++] = 0;
        for (size_t x = 1; x < len; x += ss) v[k++] = t.sig[x];
        for (size_t i = 0; i < k / 2; i++) {
            double tmp = v[i];
            v[i] = v[k - 1 - i];
            v[k - 1 - i] = tmp;
        }
        break;
    }
    case SGM_SCHEDULE_NORMAL:
    case SGM_SCHEDULE_SGM_UNIFORM: {
        double start = table_timestep(&t, t.sig[len - 1]), end = table_timestep(&t, t.sig[0]);
        int sgm = c->kind == SGM_SCHEDULE_SGM_UNIFORM;
        size_t m = sgm ? n + 1 : n;
        for (size_t i = 0; i < (sgm ? n : m); i++)
            v[k++] = table_sigma(&t, (float)sgm__torch_linspace((float)start, (float)end, m, i));
        v[k++] = 0;
        break;
    }
    case SGM_SCHEDULE_BETA: {
        double last = -1;
        for (size_t i = 0; i < n; i++) {
            double q = 1 - (double)i / (double)n;
            /* the bisection's last bits decide ties such as ppf(1/2) = 1/2 of a
               symmetric Beta (499.5 -> 500, rint to even): snap to 1e-9 first */
            double x = beta_ppf(q, c->beta_alpha, c->beta_beta) * (double)(len - 1);
            double ts = rint(rint(x * 1e9) / 1e9);
            if (ts != last) v[k++] = t.sig[(size_t)ts];
            last = ts;
        }
        v[k++] = 0;
        break;
    }
    default:
        break;
    }
    table_free(&t);
    *nv = k;
    return SGM_OK;
}

static void linear_quadratic(const sgm_schedule_config *c, double smax, double *v, size_t *nv) {
    int steps = c->steps;
    if (steps == 1) {
        v[0] = smax;
        v[1] = 0;
        *nv = 2;
        return;
    }
    int ls = c->lq_linear_steps > 0 ? c->lq_linear_steps : steps / 2;
    double th = c->lq_threshold;
    double diff = ls - th * steps;
    int qs = steps - ls;
    double qc = diff / (ls * (double)qs * qs);
    double lc = th / ls - 2 * diff / ((double)qs * qs);
    double cst = qc * (double)ls * ls;
    size_t k = 0;
    for (int i = 0; i < ls; i++) v[k++] = (1.0 - i * th / ls) * smax;
    for (int i = ls; i < steps; i++) v[k++] = (1.0 - (qc * i * i + lc * i + cst)) * smax;
    v[k++] = 0;
    *nv = k;
}

static sgm_status table_kind(const sgm_schedule_config *c, double *v, size_t *nv,
                             sgm_error *err) {
    const char *name = c->table[0] ? c->table : NULL;
    size_t len = 0;
    const double *tab = NULL;
    int steps = c->steps;
    if (c->kind == SGM_SCHEDULE_GITS) {
        if (fabs(c->gits_coeff - 1.2) > 1e-9)
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "schedule gits: only coeff 1.20 is tabulated (got %g)",
                                  c->gits_coeff);
        if (steps < 2)
            return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule gits: steps must be >= 2");
        tab = sgm__gits_table(steps <= 20 ? steps : 20, &len);
    } else {
        const char *kn = c->kind == SGM_SCHEDULE_AYS ? "ays" : "optimal_steps";
        if (!name) name = c->kind == SGM_SCHEDULE_AYS ? "sd1" : "flux";
        tab = sgm__named_table(c->kind == SGM_SCHEDULE_AYS, name, &len);
        if (!tab)
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "schedule %s: unknown model table '%s' (%s)", kn, name,
                                  c->kind == SGM_SCHEDULE_AYS ? "sd1, sdxl, svd"
                                                              : "flux, wan, chroma");
    }
    size_t m = (size_t)steps + 1;
    if (m == len) {
        memcpy(v, tab, len * sizeof *v);
    } else {
        /* numpy: interp(linspace(0,1,m), linspace(0,1,len), log(tab[::-1])), exp, reversed */
        for (size_t i = 0; i < m; i++) {
            double x = m == 1 ? 0 : (double)i / (double)(m - 1);
            double pos = x * (double)(len - 1);
            size_t j = (size_t)pos;
            if (j >= len - 1) j = len - 2;
            double xj = (double)j / (double)(len - 1), xj1 = (double)(j + 1) / (double)(len - 1);
            double y0 = log(tab[len - 1 - j]), y1 = log(tab[len - 2 - j]);
            double y = y0 + (x - xj) * (y1 - y0) / (xj1 - xj);
            v[m - 1 - i] = exp(y);
        }
    }
    v[m - 1] = 0;
    for (size_t i = 0; i < m; i++) v[i] = (float)v[i];
    *nv = m;
    return SGM_OK;
}

size_t sgm__comfy_max_values(const sgm_schedule_config *c, const sgm_process *p) {
    (void)p;
    /* ddim_uniform on a table of up to n_train entries: at most n_train + 1 */
    size_t n = (size_t)c->steps + 2;
    if (c->kind == SGM_SCHEDULE_DDIM_UNIFORM) {
        int nt = sgm_process_n_train(p);
        n += nt > 1000 ? (size_t)nt : 1000;
    }
    return n;
}

sgm_status sgm__comfy_values(const sgm_schedule_config *c, const sgm_process *p, double *v,
                             size_t *nv, sgm_error *err) {
    double smin = 0, smax = 0;
    range_of(c, p, &smin, &smax);
    if (is_flow(p)) {
        smin = 1e-3;
        smax = 1;
    }
    size_t n = (size_t)c->steps;
    switch (c->kind) {
    case SGM_SCHEDULE_BETA:
        if (!(c->beta_alpha > 0 && c->beta_beta > 0 && isfinite(c->beta_alpha) &&
              isfinite(c->beta_beta)))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "schedule beta: alpha and beta must be > 0 (got %g, %g)",
                                  c->beta_alpha, c->beta_beta);
        return model_kind(c, p, v, nv, err);
    case SGM_SCHEDULE_SIMPLE:
    case SGM_SCHEDULE_SGM_UNIFORM:
    case SGM_SCHEDULE_DDIM_UNIFORM:
    case SGM_SCHEDULE_NORMAL:
        return model_kind(c, p, v, nv, err);
    case SGM_SCHEDULE_LINEAR_QUADRATIC:
        if (!(c->lq_threshold > 0 && c->lq_threshold < 1) || c->lq_linear_steps < 0 ||
            c->lq_linear_steps >= c->steps)
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "schedule linear_quadratic: need 0 < threshold < 1 and "
                                  "linear steps < steps");
        linear_quadratic(c, is_flow(p) ? 1 : smax, v, nv);
        return SGM_OK;
    case SGM_SCHEDULE_KL_OPTIMAL: {
        float a0 = (float)atan(smin), a1 = (float)atan(smax);
        for (size_t i = 0; i < n; i++) {
            float w = n > 1 ? (float)i / (float)(n - 1) : 0.0f;
            v[i] = tanf(w * a0 + (1 - w) * a1);
        }
        v[n] = 0;
        *nv = n + 1;
        return SGM_OK;
    }
    case SGM_SCHEDULE_LAPLACE:
        if (!(c->laplace_beta > 0))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                                  "schedule laplace: beta must be > 0 (got %g)", c->laplace_beta);
        for (size_t i = 0; i < n; i++) {
            double x = sgm__torch_linspace(0, 1, n, i), u = 0.5 - x;
            double sg = u > 0 ? 1 : u < 0 ? -1 : 0;
            double lmb = c->laplace_mu - c->laplace_beta * sg * log(1 - 2 * fabs(u) + 1e-5);
            double s = exp(lmb);
            v[i] = s < smin ? smin : s > smax ? smax : s;
        }
        *nv = n;
        return SGM_OK;
    case SGM_SCHEDULE_AYS:
    case SGM_SCHEDULE_GITS:
    case SGM_SCHEDULE_OPTIMAL_STEPS:
        return table_kind(c, v, nv, err);
    default:
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "schedule: unknown kind %d",
                              (int)c->kind);
    }
}

sgm_status sgm__schedule_comfy(const sgm_schedule_config *c, const sgm_process *p,
                               sgm_schedule **out, sgm_error *err) {
    size_t cap = sgm__comfy_max_values(c, p), nv = 0;
    double *v = malloc(cap * sizeof *v);
    if (!v) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    sgm_status st = sgm__comfy_values(c, p, v, &nv, err);
    if (st) {
        free(v);
        return st;
    }
    if (c->final_point == SGM_FINAL_ZERO && nv && v[nv - 1] != 0) v[nv++] = 0;
    if ((c->final_point == SGM_FINAL_SIGMA_MIN || c->final_point == SGM_FINAL_NONE) && nv > 2 &&
        v[nv - 1] == 0)
        nv--;
    sgm_schedule *s = sgm__schedule_alloc(nv);
    if (!s) {
        free(v);
        return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    }
    int flow = is_flow(p);
    double tmax = sgm_process_t_max(p) > 1 - 1e-3 ? 1 - 1e-3 : sgm_process_t_max(p);
    for (size_t i = 0; i < nv; i++) {
        if (flow) sgm__sched_set_t(s, i, p, v[i] > tmax ? tmax : v[i]);
        else sgm__sched_set_sigma(s, i, p, v[i]);
    }
    free(v);
    *out = s;
    return SGM_OK;
}
