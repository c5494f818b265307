/* model.c - model specs for the CLI and the prediction wrapper (see model.h).
 *
 * The wrapper turns the mixture's exact x0 into the requested target with the
 * definitions of sgm_sampler.h (x = alpha x0 + sigma eps):
 *   eps   = (x - alpha x0) / sigma
 *   v     = alpha eps - sigma x0            (Salimans & Ho 2022, sec. 4)
 *   score = -eps / sigma                    (Song et al. 2021, Tweedie)
 *   flow  = alpha'(t) x0 + sigma'(t) eps    (Liu et al. 2022; Lipman et al. 2023)
 * At sigma = 0 (the data end) eps and the score are taken as 0, which the
 * conversion back maps to x0 = x / alpha, the exact value there. At alpha = 0
 * (pure noise: flow at t = 1, zero terminal SNR) x0 is the mixture mean.
 *
 * Checkpoints (ckpt:FILE.safetensors): sgm_model_load (EMA weights); the
 * denoiser, its input VJP (src/model/net_grad.c) and the standardisation
 * come from sgm_train.h.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "model.h"

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int cli_model_load(const char *spec, cli_model *m, char *msg, size_t msg_len) {
    memset(m, 0, sizeof *m);
    const char *colon = strchr(spec, ':');
    const char *path = colon ? colon + 1 : spec;
    int ckpt = 0;
    if (!colon) {
        if (!ends_with(spec, ".safetensors")) {
            snprintf(msg, msg_len,
                     "model '%s': expected KIND:PATH, e.g. gmm:model.json or "
                     "ckpt:model.safetensors",
                     spec);
            return -1;
        }
        ckpt = 1;
    } else {
        size_t kl = (size_t)(colon - spec);
        if (kl == 4 && strncmp(spec, "ckpt", 4) == 0) {
            ckpt = 1;
        } else if (!(kl == 3 && strncmp(spec, "gmm", 3) == 0)) {
            snprintf(msg, msg_len,
                     "unknown model kind '%.*s' (supported: gmm:FILE.json, "
                     "ckpt:FILE.safetensors)",
                     (int)kl, spec);
            return -1;
        }
    }
    sgm_error err = {0};
    if (ckpt) {
        if (sgm_model_load(path, 1, 0, &m->net, &err)) {
            snprintf(msg, msg_len, "model %s: %s", path, err.msg);
            return -1;
        }
        m->dim = sgm_model_dim(m->net);
        return 0;
    }
    if (sgm_gmm_load(path, &m->gmm, &err)) {
        snprintf(msg, msg_len, "model %s: %s", path, err.msg);
        return -1;
    }
    m->dim = sgm_gmm_dim(m->gmm);
    return 0;
}

void cli_model_free(cli_model *m) {
    sgm_gmm_free(m->gmm);
    m->gmm = NULL;
    sgm_model_free(m->net);
    m->net = NULL;
}

const char *cli_model_kind(const cli_model *m) { return m->net ? "ckpt" : "gmm"; }

/* a given option must equal the checkpoint's value */
static int same_double(cli_args *a, const char *opt, double want) {
    if (!cli_has(a, opt)) return 0;
    double v = 0;
    if (cli_get_double(a, opt, &v) < 0) return -1;
    if (!(fabs(v - want) <= 1e-12 * fabs(want)))
        return cli_fail(a, "--%s %g contradicts the checkpoint (trained with %g)", opt, v, want);
    return 0;
}

int cli_model_process(cli_args *a, const cli_model *m, sgm_process **out) {
    *out = NULL;
    if (!m->net) return cli_build_process(a, NULL, out);
    sgm_process_config pc = *sgm_model_process_config(m->net);
    const char *kn = sgm_process_kind_name(pc.kind);
    const char *given = cli_get(a, "process");
    if (given) {
        sgm_process_kind k;
        if (sgm_process_kind_from_name(given, &k))
            return cli_fail(a, "unknown process '%s' (run `sgm list`)", given);
        if (k != pc.kind)
            return cli_fail(a, "--process %s contradicts the checkpoint (trained with %s)", given,
                            kn);
    }
    if (pc.kind == SGM_PROCESS_VE &&
        (same_double(a, "sigma-min", pc.sigma_min) < 0 ||
         same_double(a, "sigma-max", pc.sigma_max) < 0))
        return -1;
    if (pc.kind == SGM_PROCESS_VP_LINEAR || pc.kind == SGM_PROCESS_SUBVP) {
        if (same_double(a, "beta-0", pc.beta_0) < 0 || same_double(a, "beta-1", pc.beta_1) < 0)
            return -1;
    } else if (cli_has(a, "beta-0") || cli_has(a, "beta-1")) {
        return cli_fail(a, "--beta-0/--beta-1 contradict the checkpoint (process %s)", kn);
    }
    if (pc.kind == SGM_PROCESS_VP_COSINE) {
        if (same_double(a, "cosine-s", pc.cosine_s) < 0) return -1;
    } else if (cli_has(a, "cosine-s")) {
        return cli_fail(a, "--cosine-s contradicts the checkpoint (process %s)", kn);
    }
    if (pc.kind == SGM_PROCESS_VP_DISCRETE) {
        if (same_double(a, "beta-start", pc.beta_start) < 0 ||
            same_double(a, "beta-end", pc.beta_end) < 0)
            return -1;
        int bi = (int)pc.betas, ii = (int)pc.interp, nt = pc.n_train, rz = pc.rescale_zero_snr;
        if (cli_get_enum(a, "betas", SGM_ENUM_BETAS, &bi) < 0 ||
            cli_get_enum(a, "interp", SGM_ENUM_INTERP, &ii) < 0 ||
            cli_get_int(a, "n-train", 2, 1000000, &nt) < 0 ||
            cli_get_bool(a, "rescale-zero-snr", &rz) < 0)
            return -1;
        if (bi != (int)pc.betas || nt != pc.n_train || rz != pc.rescale_zero_snr)
            return cli_fail(a, "--betas/--n-train/--rescale-zero-snr contradict the checkpoint");
        pc.interp = (sgm_vp_interp)ii; /* interpolation between the trained levels */
    } else if (cli_has(a, "betas") || cli_has(a, "beta-start") || cli_has(a, "beta-end") ||
               cli_has(a, "n-train") || cli_has(a, "interp") || cli_has(a, "rescale-zero-snr")) {
        return cli_fail(a, "vp-discrete options contradict the checkpoint (process %s)", kn);
    }
    if (pc.kind == SGM_PROCESS_MR) {
        if (same_double(a, "mr-lambda", pc.mr_lambda) < 0 ||
            same_double(a, "mr-alpha-T", pc.mr_alpha_T) < 0)
            return -1;
        static const char *const th[] = {"cosine", "constant", NULL};
        int ti = (int)pc.mr_theta;
        if (cli_get_choice(a, "mr-theta", th, &ti) < 0) return -1;
        if (ti != (int)pc.mr_theta) return cli_fail(a, "--mr-theta contradicts the checkpoint");
    } else if (cli_has(a, "mr-lambda") || cli_has(a, "mr-alpha-T") || cli_has(a, "mr-theta")) {
        return cli_fail(a, "--mr-lambda/--mr-alpha-T/--mr-theta contradict the checkpoint "
                           "(process %s)", kn);
    }
    /* the time range may be narrowed */
    if (cli_get_double(a, "t-eps", &pc.t_eps) < 0 || cli_get_double(a, "t-max", &pc.t_max) < 0)
        return -1;
    if (!(pc.t_eps >= 0 && pc.t_max > pc.t_eps))
        return cli_fail(a, "need 0 <= t-eps < t-max (got %g, %g)", pc.t_eps, pc.t_max);
    sgm_error err = {0};
    if (sgm_process_create(&pc, out, &err)) return cli_fail(a, "%s", err.msg);
    return 0;
}

int cli_model_prediction(cli_args *a, const cli_model *m, sgm_prediction *pred) {
    const char *pname = cli_get(a, "prediction");
    sgm_prediction p = SGM_PRED_X0;
    char list[256];
    if (pname && sgm_prediction_from_name(pname, &p))
        return cli_fail(a, "unknown prediction '%s' (expected %s)", pname,
                        cli_enum_choices(SGM_ENUM_PREDICTION, list, sizeof list));
    if (m->net) {
        sgm_prediction own = sgm_model_denoiser(m->net).prediction;
        if (pname && p != own)
            return cli_fail(a, "--prediction %s contradicts the checkpoint (trained for %s)",
                            pname, sgm_param_name(sgm_model_param(m->net)));
        p = own;
    }
    *pred = p;
    return 0;
}

void cli_model_to_data(const cli_model *m, size_t rows, double *x) {
    if (m->net) sgm_model_unstandardize(m->net, rows, SGM_F64, x);
}

void cli_model_from_data(const cli_model *m, size_t rows, double *x) {
    if (m->net) sgm_model_standardize(m->net, rows, SGM_F64, x);
}

double cli_model_log_jac(const cli_model *m) {
    return m->net ? sgm_model_log_std_sum(m->net) : 0;
}

sgm_denoiser_grad cli_model_grad(cli_model *m) {
    return m->net ? sgm_model_denoiser_grad(m->net) : sgm_gmm_denoiser_grad(m->gmm);
}

static int wrapped_fn(const sgm_eval *q, void *out, void *user_data) {
    cli_model *m = user_data;
    int rc = 0;
    if (q->alpha == 0) { /* pure noise: E[x0 | x] is the mixture mean */
        const double *w = sgm_gmm_weights(m->gmm), *mu = sgm_gmm_means(m->gmm);
        size_t k = sgm_gmm_components(m->gmm);
        for (size_t j = 0; j < q->d; j++) {
            double mean = 0;
            for (size_t c = 0; c < k; c++) mean += w[c] * mu[c * q->d + j];
            for (size_t i = 0; i < q->n; i++) {
                if (q->dtype == SGM_F64) ((double *)out)[i * q->d + j] = mean;
                else ((float *)out)[i * q->d + j] = (float)mean;
            }
        }
    } else {
        rc = sgm_gmm_denoise_fn(q, out, m->gmm);
    }
    if (rc != 0 || m->pred == SGM_PRED_X0) return rc;
    double a = q->alpha, s = q->sigma;
    double inv_s = s > 0 ? 1 / s : 0;
    double da = 0, ds = 0;
    if (m->pred == SGM_PRED_FLOW) {
        da = sgm_process_dalpha(m->proc, q->t);
        ds = sgm_process_dsigma(m->proc, q->t);
    }
    size_t count = q->n * q->d;
    for (size_t i = 0; i < count; i++) {
        double x, x0;
        if (q->dtype == SGM_F64) {
            x = ((const double *)q->x)[i];
            x0 = ((double *)out)[i];
        } else {
            x = ((const float *)q->x)[i];
            x0 = ((float *)out)[i];
        }
        double eps = (x - a * x0) * inv_s, r;
        switch (m->pred) {
        case SGM_PRED_EPS: r = eps; break;
        case SGM_PRED_V: r = a * eps - s * x0; break;
        case SGM_PRED_SCORE: r = -eps * inv_s; break;
        case SGM_PRED_FLOW: r = da * x0 + ds * eps; break;
        default: r = x0; break;
        }
        if (q->dtype == SGM_F64) ((double *)out)[i] = r;
        else ((float *)out)[i] = (float)r;
    }
    return 0;
}

sgm_denoiser cli_model_denoiser(cli_model *m, const sgm_process *proc, sgm_prediction pred) {
    m->proc = proc;
    m->pred = pred;
    if (m->net) return sgm_model_denoiser(m->net); /* its own prediction */
    sgm_denoiser den;
    den.fn = wrapped_fn;
    den.user_data = m;
    den.prediction = pred;
    return den;
}
