/* posterior.c - posterior samplers over the existing samplers
 * (sgm_guidance.h):
 *  - DPS (Chung et al. 2023, "Diffusion posterior sampling for general noisy
 *    inverse problems", Algorithm 1): after each sampler step,
 *    x_{i-1} = x'_{i-1} - zeta_i grad_{x_i} ||y - A(x0(x_i))||^2 with
 *    zeta_i = zeta' / ||y - A(x0(x_i))|| (per row); the gradient is taken at
 *    the step's first denoiser evaluation through the model's vjp;
 *  - Pi-GDM (Song et al. 2023, "Pseudoinverse-guided diffusion models",
 *    eq. 7-8): the guidance score g = J^T A^T (r_t^2 A A^T + sigma_y^2 I)^-1
 *    (y - A x0), r_t^2 = s^2 v / (s^2 + v), added to the score, i.e.
 *    x0 <- x0 + sigma^2 / alpha g (Tweedie), a denoiser wrapper;
 *  - replacement / projection (Song et al. 2021, score_sde, app. I.2): after
 *    each step x <- x + A^+ (y + s A z - A x) in VE coordinates; with
 *    sigma_y > 0 the pseudo-inverse is damped, A^T (A A^T + sigma_y^2 / v I)^-1
 *    (the Wiener gain s_j^2 v / (s_j^2 v + sigma_y^2) per singular direction),
 *    so that noisy measurements of ill-conditioned operators are not inverted.
 * RePaint and RED-Diff have their own loops (repaint.c, reddiff.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "guidance_internal.h"

static const char *const method_names[] = {"dps", "pigdm", "replace", "repaint", "reddiff"};

sgm_status sgm_posterior_method_from_name(const char *name, sgm_posterior_method *out) {
    int i = sgm__name_index(name, method_names, 5);
    if (i < 0) return SGM_ERR_INVALID_ARG;
    *out = (sgm_posterior_method)i;
    return SGM_OK;
}

const char *sgm_posterior_method_name(sgm_posterior_method m) {
    return (unsigned)m < 5 ? method_names[m] : "?";
}

sgm_posterior_config sgm_posterior_config_default(sgm_posterior_method m) {
    sgm_posterior_config c;
    memset(&c, 0, sizeof c);
    c.method = m;
    c.sigma_y = 0;
    c.zeta = 1.0;
    c.data_var = 1.0;
    c.jump_length = 10;
    c.resample = 10;
    c.lambda = 0.25;
    c.lr = 0.1;
    c.beta1 = 0.9;
    c.beta2 = 0.99;
    return c;
}

void sgm__post_free(sgm__post *c) {
    free(c->mb);
    free(c->x0);
    free(c->u);
    free(c->g);
    free(c->vj);
    free(c->r);
    free(c->ym);
    free(c->step_g);
}

sgm_status sgm__post_init(sgm__post *c, const sgm_posterior_config *pc,
                          const sgm_process *proc, const sgm_denoiser *den,
                          const sgm_denoiser_grad *grad, sgm_operator *op, const double *y,
                          sgm_rng *rng, uint64_t row0, size_t n, sgm_error *err) {
    memset(c, 0, sizeof *c);
    c->pc = pc;
    c->proc = proc;
    c->den = den;
    c->grad = grad;
    c->op = op;
    c->y = y;
    c->rng = rng;
    c->row0 = row0;
    c->n = n;
    c->d = sgm_operator_in_dim(op);
    c->m = sgm_operator_out_dim(op);
    c->ys = pc->y_rows ? c->m : 0;
    c->err = err;
    size_t nd = n * c->d, nm = n * c->m;
    c->mb = malloc(nd * sizeof *c->mb);
    c->x0 = malloc(nd * sizeof *c->x0);
    c->u = malloc(nd * sizeof *c->u);
    c->g = malloc(nd * sizeof *c->g);
    c->vj = malloc(nd * sizeof *c->vj);
    c->step_g = sgm__calloc(nd, sizeof *c->step_g);
    c->r = malloc(nm * sizeof *c->r);
    c->ym = malloc(nm * sizeof *c->ym);
    if (!c->mb || !c->x0 || !c->u || !c->g || !c->vj || !c->step_g || !c->r || !c->ym) {
        sgm__post_free(c);
        return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    }
    return SGM_OK;
}

static void x0_coefs(const sgm__post *c, const sgm_eval *q, double *cx, double *cm) {
    double da = sgm_process_dalpha(c->proc, q->t), ds = sgm_process_dsigma(c->proc, q->t);
    double one = 1, zero = 0;
    sgm_prediction_to_x0(c->den->prediction, SGM_F64, 1, &one, &zero, q->alpha, q->sigma, da,
                         ds, cx);
    sgm_prediction_to_x0(c->den->prediction, SGM_F64, 1, &zero, &one, q->alpha, q->sigma, da,
                         ds, cm);
}

int sgm__post_x0(sgm__post *c, const sgm_eval *q) {
    if (q->n > c->n || q->d != c->d || q->dtype != SGM_F64) return -1;
    int rc = c->den->fn(q, c->mb, c->den->user_data);
    c->nfe++;
    if (rc) return rc;
    double cx, cm;
    x0_coefs(c, q, &cx, &cm);
    const double *x = q->x;
    for (size_t i = 0; i < q->n * c->d; i++) c->x0[i] = cx * x[i] + cm * c->mb[i];
    return 0;
}

int sgm__post_x0_vjp(sgm__post *c, const sgm_eval *q, const double *u, double *g) {
    if (!c->grad || !c->grad->vjp) return -1;
    int rc = c->grad->vjp(q, u, c->u == u ? c->g : c->u, c->vj, c->grad->user_data);
    c->nvjp++;
    if (rc) return rc;
    double cx, cm;
    x0_coefs(c, q, &cx, &cm);
    for (size_t i = 0; i < q->n * c->d; i++) g[i] = cx * u[i] + cm * c->vj[i];
    return 0;
}

sgm_status sgm__post_replace(sgm__post *c, double *x_ve, double s) {
    size_t n = c->n, d = c->d, m = c->m;
    sgm_status st = SGM_OK;
    if (s > 0) {
        sgm_rng_normal(c->rng, c->row0, n, d, SGM_F64, c->u);
        st = sgm_operator_forward(c->op, n, c->u, c->ym, c->err);
        if (st) return st;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++)
                c->ym[i * m + j] = c->y[i * c->ys + j] + s * c->ym[i * m + j];
    } else {
        for (size_t i = 0; i < n; i++)
            memcpy(c->ym + i * m, c->y + i * c->ys, m * sizeof *c->ym);
    }
    return sgm__op_project_rows(c->op, n, x_ve, c->ym, m, sgm__post_reg(c->pc), x_ve, c->err);
}

double sgm__post_reg(const sgm_posterior_config *pc) {
    return pc->sigma_y * pc->sigma_y / pc->data_var;
}

/* DPS: the gradient of ||y - A(x0)||^2 at this query, scaled by zeta / ||r||
 * per row, into step_g. */
static int dps_grad(sgm__post *c, const sgm_eval *q) {
    size_t n = q->n, d = c->d, m = c->m;
    if (sgm_operator_forward(c->op, n, c->x0, c->r, NULL)) return -1;
    for (size_t i = 0; i < n; i++) {
        double nr = 0;
        for (size_t j = 0; j < m; j++) {
            double e = c->y[i * c->ys + j] - c->r[i * m + j];
            c->r[i * m + j] = -2 * e; /* d||r||^2 / dA(x0) */
            nr += e * e;
        }
        c->ym[i] = sqrt(nr);
    }
    if (sgm_operator_vjp(c->op, n, c->x0, c->r, c->u, NULL)) return -1;
    int rc = sgm__post_x0_vjp(c, q, c->u, c->g);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++) {
        double s = c->ym[i] > 0 ? c->pc->zeta / c->ym[i] : 0;
        for (size_t j = 0; j < d; j++) c->step_g[i * d + j] = s * c->g[i * d + j];
    }
    c->have_grad = 1;
    return 0;
}

/* Pi-GDM: x0 + sigma^2 / alpha J^T A^T U diag(1 / (r^2 s_j^2 + sy^2)) U^T (y - A x0) */
static int pigdm_guide(sgm__post *c, const sgm_eval *q, double *out) {
    size_t n = q->n, d = c->d, m = c->m;
    const double *U, *S;
    double s = q->sigma / q->alpha, v = c->pc->data_var, sy2 = c->pc->sigma_y * c->pc->sigma_y;
    double r2 = s * s * v / (s * s + v);
    if (sgm_operator_svd(c->op, &U, &S, NULL)) return -1;
    if (sgm_operator_forward(c->op, n, c->x0, c->r, NULL)) return -1;
    double tol = 1e-10 * S[0];
    if (c->ys && (q->row0 < c->row0 || q->row0 - c->row0 + n > c->n)) return -1;
    const double *yq = c->y + (c->ys ? (size_t)(q->row0 - c->row0) * c->ys : 0);
    for (size_t i = 0; i < n; i++) {
        double *ri = c->r + i * m, *wi = c->ym; /* ym: [m] scratch per row (n >= 1) */
        for (size_t j = 0; j < m; j++) ri[j] = yq[i * c->ys + j] - ri[j];
        for (size_t k = 0; k < m; k++) {
            double a = 0;
            for (size_t j = 0; j < m; j++) a += U[j * m + k] * ri[j];
            double den = r2 * S[k] * S[k] + sy2;
            wi[k] = S[k] > tol && den > 0 ? a / den : 0;
        }
        for (size_t j = 0; j < m; j++) {
            double a = 0;
            for (size_t k = 0; k < m; k++) a += U[j * m + k] * wi[k];
            ri[j] = a;
        }
    }
    if (sgm_operator_vjp(c->op, n, NULL, c->r, c->u, NULL)) return -1;
    int rc = sgm__post_x0_vjp(c, q, c->u, c->g);
    if (rc) return rc;
    double k = q->sigma * q->sigma / q->alpha;
    for (size_t i = 0; i < n * d; i++) out[i] = c->x0[i] + k * c->g[i];
    return 0;
}

static int wrap_fn(const sgm_eval *q, void *out, void *ud) {
    sgm__post *c = ud;
    int rc = sgm__post_x0(c, q);
    if (rc) return rc;
    if (c->pc->method == SGM_POST_PIGDM) {
        if (!(q->alpha > 0) || !(q->sigma > 0)) {
            memcpy(out, c->x0, q->n * c->d * sizeof(double));
            return 0;
        }
        return pigdm_guide(c, q, out);
    }
    memcpy(out, c->mb, q->n * c->d * sizeof(double));
    if (c->pc->method == SGM_POST_DPS && c->want_grad) {
        c->want_grad = 0;
        if (q->row0 != c->row0 || q->n != c->n) return -1;
        return dps_grad(c, q);
    }
    return 0;
}

static int record_step(const sgm_step_info *info, void *ud) {
    sgm__post *c = ud;
    c->cur_sigma = info->sigma;
    c->cur_alpha = info->alpha;
    return c->user_step ? c->user_step(info, c->user_step_ud) : 0;
}

/* DPS / replacement after a step: x is in VE coordinates, or in process
 * coordinates at the last point when done. */
static sgm_status after_step(sgm__post *c, double *x, int done) {
    size_t nd = c->n * c->d;
    double a = c->cur_alpha;
    if (!(a > 0)) return SGM_OK;
    if (done)
        for (size_t i = 0; i < nd; i++) x[i] /= a;
    sgm_status st = SGM_OK;
    if (c->pc->method == SGM_POST_DPS && c->have_grad) {
        for (size_t i = 0; i < nd; i++) x[i] -= c->step_g[i] / a;
        c->have_grad = 0;
    } else if (c->pc->method == SGM_POST_REPLACE) {
        st = sgm__post_replace(c, x, c->cur_sigma);
    }
    if (done)
        for (size_t i = 0; i < nd; i++) x[i] *= a;
    return st;
}

static sgm_status run_sampler(sgm__post *c, const sgm_sampler_config *scfg,
                              const sgm_schedule *sched, double *x) {
    const sgm_method_info *mi = sgm_method_find(scfg->method);
    sgm_error *err = c->err;
    if (!mi) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "unknown sampler %s", scfg->method);
    if (mi->adaptive && c->pc->method != SGM_POST_PIGDM)
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                              "%s acts after each step of a fixed schedule; the adaptive "
                              "sampler %s chooses its own (use pigdm, or a fixed-step sampler)",
                              sgm_posterior_method_name(c->pc->method), mi->name);
    sgm_sampler_config cfg = *scfg;
    c->user_step = cfg.on_step;
    c->user_step_ud = cfg.on_step_user_data;
    cfg.on_step = record_step;
    cfg.on_step_user_data = c;
    sgm_sampler *s = NULL;
    sgm_status st = sgm_sampler_create(&cfg, c->proc, c->n, c->d, &s, err);
    if (st) return st;
    sgm_denoiser w;
    w.fn = wrap_fn;
    w.user_data = c;
    w.prediction = c->pc->method == SGM_POST_PIGDM ? SGM_PRED_X0 : c->den->prediction;
    st = sgm_sampler_begin(s, sched, &w, c->rng, c->row0, c->n, x, err);
    int done = 0;
    for (size_t guard = 0; !st && !done; guard++) {
        c->want_grad = c->pc->method == SGM_POST_DPS;
        c->have_grad = 0;
        st = sgm_sampler_step(s, x, &done, err);
        if (!st) st = after_step(c, x, done);
        if (!st && guard > cfg.max_steps + sched->n + 16)
            st = sgm__set_error(err, SGM_ERR_NO_CONVERGENCE, "posterior: step budget exhausted");
    }
    sgm_sampler_free(s);
    return st;
}

sgm_status sgm_posterior_run(const sgm_posterior_config *pc, const sgm_sampler_config *scfg,
                             const sgm_process *proc, const sgm_schedule *sched,
                             const sgm_denoiser *den, const sgm_denoiser_grad *grad,
                             sgm_operator *op, const double *y, sgm_rng *rng, uint64_t row0,
                             size_t n, double *x, sgm_posterior_stats *stats, sgm_error *err) {
    if (!pc || !proc || !sched || !den || !den->fn || !op || !y || !rng || !x ||
        (!scfg && pc->method != SGM_POST_REDDIFF))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "posterior: NULL argument");
    if ((unsigned)pc->method > SGM_POST_REDDIFF)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "posterior: unknown method %d",
                              (int)pc->method);
    if (!(pc->sigma_y >= 0 && isfinite(pc->sigma_y)))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "posterior: sigma_y is %g (need >= 0)",
                              pc->sigma_y);
    if (!(pc->zeta >= 0 && isfinite(pc->zeta)) || !(pc->data_var > 0) || !(pc->lambda >= 0) ||
        !(pc->lr > 0) || !(pc->beta1 >= 0 && pc->beta1 < 1) ||
        !(pc->beta2 >= 0 && pc->beta2 < 1) || pc->jump_length < 1 || pc->resample < 1)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "posterior: a scale is out of range (zeta, lambda >= 0; "
                              "data_var, lr > 0; betas in [0, 1); jump_length, resample >= 1)");
    if (scfg && scfg->dtype != SGM_F64)
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED, "posterior samplers run in f64 only");
    if (n == 0) return SGM_OK;
    int linear_only = pc->method == SGM_POST_PIGDM || pc->method == SGM_POST_REPLACE ||
                      pc->method == SGM_POST_REPAINT;
    if (linear_only && !sgm_operator_is_linear(op))
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED, "%s needs a linear operator",
                              sgm_posterior_method_name(pc->method));
    if ((pc->method == SGM_POST_DPS || pc->method == SGM_POST_PIGDM) && (!grad || !grad->vjp))
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                              "%s needs the denoiser's vjp (sgm_denoiser_grad)",
                              sgm_posterior_method_name(pc->method));
    for (size_t j = 0; j < sgm_operator_out_dim(op) * (pc->y_rows ? n : 1); j++)
        if (!isfinite(y[j]))
            return sgm__set_error(err, SGM_ERR_NONFINITE, "posterior: y[%zu] is not finite", j);
    sgm__post c;
    sgm_status st = sgm__post_init(&c, pc, proc, den, grad, op, y, rng, row0, n, err);
    if (st) return st;
    if (linear_only) st = sgm_operator_svd(op, NULL, NULL, err);
    if (!st) {
        if (pc->method == SGM_POST_REPAINT) st = sgm__repaint_run(&c, scfg, sched, x);
        else if (pc->method == SGM_POST_REDDIFF) st = sgm__reddiff_run(&c, sched, x);
        else st = run_sampler(&c, scfg, sched, x);
    }
    if (stats) {
        stats->nfe = c.nfe;
        stats->nvjp = c.nvjp;
    }
    sgm__post_free(&c);
    return st;
}

sgm_denoiser sgm__post_counting_denoiser(sgm__post *c) {
    sgm_denoiser w;
    w.fn = wrap_fn;
    w.user_data = c;
    w.prediction = c->den->prediction;
    return w;
}
