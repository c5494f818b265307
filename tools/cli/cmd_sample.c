/* cmd_sample.c - `sgm sample`: draws samples from a model with any process,
 * parameterization, schedule and sampler of the library, and writes them as
 * .npy.
 *
 * Start point: --init X.npy is x_T exactly as given (shape [N, ...], trailing
 * dims flattened to the model dimension; the output keeps the shape).
 * Otherwise row r of x_T is sigma(t_0) * normals of Philox draw 0 of --seed at
 * row r (the k-diffusion / DPM-Solver convention: x_T = sigma_max * n for VE,
 * n for VP); the sampler's own noise uses draws 1, 2, ... of the same seed, so
 * the result does not depend on --batch or --threads. With --rng torch, x_T
 * is sigma(t_0) * torch.randn([N, d]) (float32, after torch.manual_seed of
 * --seed) and every noise draw of the sampler continues that one stream
 * (torch.randn_like of the whole batch), as a k-diffusion run on CPU does;
 * the whole run is then one batch and the result depends on N.
 *
 * A trained checkpoint (--model ckpt:FILE.safetensors) supplies its process
 * and parameterization: --process / --prediction and the process options may
 * only repeat them (else exit 2); x_T (--init, --save-init) is in the
 * network's standardized units and the samples are written in data units.
 * An image checkpoint (U-Net) writes [N, C, H, W]; --class picks the class
 * of a class-conditional one (a number, "rows": N/K consecutive samples per
 * class, or a comma list cycled over the samples; default the null class)
 * and --guidance W applies classifier-free guidance. --png OUT.png also
 * writes the samples as an image grid (images) or a scatter plot (2-D);
 * --grid is only the diffusers timestep grid of the schedule options, and a
 * --grid value ending in .png is refused with a pointer to --png.
 *
 * --process mr (the mean-reverting IR-SDE, docs/conditioning.md): --mu MU.npy
 * ([N, d] or [1, d]) is the condition; x_T = mu + sigma(t_0) n (or --init,
 * in data coordinates), the sampler runs on y = x - mu with the exact MR
 * denoiser of a gmm: model or an MR checkpoint (sgm train --process mr,
 * which takes mu as extra input channels), and the output is y + mu. With an
 * MR checkpoint --mu-from CLEAN.npy makes mu with the checkpoint's own
 * degradation (--save-mu writes it).
 *
 * Under `mpirun -np P` (dist.h) each process samples its block of rows
 * (the same global row indices, so the same noise) and rank 0 gathers them
 * and writes the files: the output equals one process's bit for bit.
 * --error-norm batch (a step size shared by the rows of a batch) is refused
 * there (exit 2).
 *
 * Exit codes: 0 success; 2 bad input, including a configuration the sampler
 * refuses when it starts (nothing is written); 1 a failure while sampling or
 * writing (nothing is written: sgm_npy_save is atomic).
 */
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "args.h"
#include "cli.h"
#include "dist.h"
#include "guide.h"
#include "model.h"
#include "precision.h"
#include "sgm/sgm_ckpt.h"
#include "sgm/sgm_png.h"

static const cli_opt sample_opts_table[] = {
    {"model", "KIND:PATH", NULL, "gmm:model.json or ckpt:model.safetensors (trained)"},
    {"prediction", "KIND", "x0 (ckpt: its own)", "what the model emits: {prediction}"},
    {"sampler", "NAME", "ckpt: its recorded", "sampler name or alias (see `sgm list`); a checkpoint records a default path (sampler, schedule, steps, sigma range)"},
    {"order", "K", "the sampler's", "solver order"},
    {"eta", "E", "the sampler's", "ancestral / SDE noise strength"},
    {"s-noise", "S", "1", "noise multiplier"},
    {"ge-gamma", "G", "2", "gradient_estimation: gamma"},
    {"er-noise-scaler", "KIND", "er_sde", "er_sde noise scaler: er_sde (x (exp(x^0.3) + 10)) | power "
                                          "(x^(eta+1); eta 0 = ODE)"},
    {"s-churn", "C", "0", "EDM churn"},
    {"s-tmin", "A", "0", "EDM churn: smallest sigma"},
    {"s-tmax", "B", "inf", "EDM churn: largest sigma"},
    {"multistep", "0|1", "1", "dpm_solver: multistep (1) or singlestep (0)"},
    {"algorithm", "NAME", "dpmsolver++", "dpm_solver family: dpmsolver|dpmsolver++"},
    {"solver-type", "NAME", "the sampler's", "midpoint|heun|bh1|bh2|logrho"},
    {"lower-order-final", "KIND", "the sampler's", "none|dpmsolver|diffusers"},
    {"denoise-to-zero", "0|1", "the sampler's", "adaptive / dpm_fast: final denoising step"},
    {"nfe", "N", "from --steps", "dpm_fast: evaluation budget"},
    {"rtol", "R", "0.05", "adaptive: relative tolerance"},
    {"atol", "A", "0.0078", "adaptive: absolute tolerance"},
    {"h-init", "H", "0.05", "adaptive: first step (lambda units)"},
    {"error-norm", "KIND", "per_sample", "adaptive: per_sample|batch"},
    {"max-steps", "N", "100000", "adaptive: step budget"},
    {"snr", "R", "0.16", "pc: Langevin corrector signal-to-noise ratio"},
    {"n-corrector", "N", "1", "pc: corrector steps per level; Langevin samplers: MCMC steps per level"},
    {"step-size", "H", "the sampler's", "Langevin (ald|ula|mala|ubla|rmm): step in units of sigma^2 (ubla: sigma)"},
    {"friction", "G", "2", "ubla: friction gamma in units of 1/sigma"},
    {"corrector", "NAME", "langevin", "pc: corrector: langevin (score_sde, --snr) | ula | mala | ubla | rmm (--step-size, --friction)"},
    {"restart", "SEGS", "[3,2,0.06,0.30],[3,1,0.30,0.59]", "restart: segments [N,K,t_min,t_max],... (VE sigmas; N points, K repeats) or none"},
    {"ems", "EMS.npy", "none (l=1, s=b=0)", "dpm_solver_v3: statistics from `sgm dpmv3-calibrate`"},
    {"v3-corrector", "0|1", "1", "dpm_solver_v3: its multistep corrector"},
    {"v3-pseudo", "0|1", "0", "dpm_solver_v3: pseudo-order predictor"},
    {"predictor-order", "K", "2", "sa_solver: predictor order"},
    {"corrector-order", "K", "2", "sa_solver: corrector order"},
    {"tau", "T", "1", "sa_solver: stochasticity"},
    {"noise", "KIND", "independent", "independent|brownian"},
    {"rng", "KIND", "philox", "philox (per-sample streams) | torch (torch.manual_seed(S) + randn: one stream, whole batch)"},
    {"dtype", "f64|f32", "f64", "arithmetic of the sampler state"},
    {"threads", "N", "0 (OpenMP default)", "threads"},
    {"precision", "fp32|bf16", "fp32", "ckpt: " CLI_PRECISION_HELP},
    {"init", "X.npy", NULL, "x_T exactly as given, shape [N, ...] (ckpt: standardized units)"},
    {"n", "N", NULL, "number of samples (x_T drawn from --seed)"},
    {"seed", "S", "0", "random seed (x_T and sampler noise)"},
    {"batch", "B", "min(N, 4096)", "rows per sampler call (does not change results)"},
    {"out", "OUT.npy", NULL, "output file (written atomically)"},
    {"out-dtype", "f64|f32", "f64", "element type of the output file"},
    {"save-init", "X.npy", NULL, "also write the x_T used (float64; for --init reruns)"},
    {"png", "OUT.png", NULL, "also write the samples as a PNG: image grid (image models) or scatter (2-D)"},
    {"grid-cols", "N", "per class (--class rows) or sqrt(N)", "images per grid row"},
    {"class", "K|rows|LIST", "null class", "ckpt U-Net with classes: class of the samples"},
    {"guidance", "W", "0", "classifier-free guidance (1 + W) F(x, c) - W F(x, null)"},
    {"quiet", NULL, "off", "no progress lines"},
    {"report", NULL, "off", "gmm: compare sample moments and component masses with the model"},
    {"mu", "MU.npy", NULL, "--process mr: the condition mu, [N, d] or [1, d] (x_T = mu + lambda n; --init is x_T)"},
    {"mu-from", "CLEAN.npy", NULL, "MR checkpoint: mu = its recorded degradation of these clean rows (noise from --seed)"},
    {"save-mu", "MU.npy", NULL, "also write the mu used (data units; with --mu-from: the degraded rows)"},
    {NULL, NULL, NULL, NULL}};

typedef struct progress {
    double t0, last;
    size_t batch, n_batches;
    int quiet;
} progress;

static int on_step(const sgm_step_info *info, void *user_data) {
    progress *p = user_data;
    if (p->quiet) return 0;
    double now = cli_now();
    if (now - p->last >= 1.0) {
        p->last = now;
        if (info->n_steps)
            fprintf(stderr, "sgm sample: batch %zu/%zu  step %zu/%zu  NFE %zu  %.1f s\n",
                    p->batch + 1, p->n_batches, info->step + 1, info->n_steps, info->nfe,
                    now - p->t0);
        else
            fprintf(stderr, "sgm sample: batch %zu/%zu  step %zu  sigma %.4g  NFE %zu  %.1f s\n",
                    p->batch + 1, p->n_batches, info->step + 1, info->sigma, info->nfe,
                    now - p->t0);
    }
    return 0;
}

/* the ComfyUI samplers' own options */
static int comfy_options(cli_args *a, sgm_sampler_config *cfg) {
    if (cli_get_double(a, "ge-gamma", &cfg->ge_gamma) < 0) return -1;
    static const char *const scalers[] = {"er_sde", "power", NULL};
    return cli_get_choice(a, "er-noise-scaler", scalers, &cfg->er_noise_scaler);
}

/* --restart "[N,K,t_min,t_max],..." (ComfyUI's restart-node syntax; the
 * brackets are optional) or "none" */
static int restart_option(cli_args *a, sgm_sampler_config *cfg) {
    const char *v = cli_get(a, "restart");
    if (!v) return 0;
    cfg->n_restart = 0;
    if (strcmp(v, "none") == 0) return 0;
    double num[4 * SGM_RESTART_MAX + 1];
    int k = 0;
    const char *p = v;
    for (;;) {
        while (*p == '[' || *p == ']' || *p == ' ') p++;
        if (!*p) break;
        char *end = NULL;
        double x = strtod(p, &end);
        if (end == p || k == 4 * SGM_RESTART_MAX)
            return cli_fail(a, "--restart '%s': want [N,K,t_min,t_max],... (at most %d segments)",
                            v, SGM_RESTART_MAX);
        num[k++] = x;
        p = end;
        while (*p == ']' || *p == ' ') p++;
        if (*p == ',') p++;
        else if (*p && *p != '[')
            return cli_fail(a, "--restart '%s': unexpected '%c'", v, *p);
    }
    if (k == 0 || k % 4)
        return cli_fail(a, "--restart '%s': want groups of 4 numbers [N,K,t_min,t_max]", v);
    for (int j = 0; j < k / 4; j++) {
        const double *g = num + 4 * j;
        if (g[0] != floor(g[0]) || g[1] != floor(g[1]) || !(g[0] >= 2 && g[0] <= 1000) ||
            !(g[1] >= 1 && g[1] <= 1000))
            return cli_fail(a, "--restart segment %d: N must be an integer in 2..1000 and K in "
                               "1..1000", j + 1);
        if (!(g[2] > 0 && g[2] < g[3] && isfinite(g[3])))
            return cli_fail(a, "--restart segment %d: need 0 < t_min < t_max (got %g, %g)", j + 1,
                            g[2], g[3]);
        sgm_restart_segment seg = {(int)g[0], (int)g[1], g[2], g[3]};
        cfg->restart[j] = seg;
    }
    cfg->n_restart = k / 4;
    return 0;
}

/* Reads every sampler option into cfg (defaults from the method). */
static int sampler_config(cli_args *a, sgm_sampler_config *cfg) {
    const char *name = cli_get(a, "sampler");
    sgm_error err = {0};
    if (sgm_sampler_config_default(name, cfg, &err))
        return cli_fail(a, "unknown sampler '%s' (run `sgm list`)", name);
    if (cli_get_int(a, "order", 1, 16, &cfg->order) < 0) return -1;
    if (cli_get_double(a, "eta", &cfg->eta) < 0) return -1;
    if (cli_get_double(a, "s-noise", &cfg->s_noise) < 0) return -1;
    if (cli_get_double(a, "s-churn", &cfg->s_churn) < 0) return -1;
    if (cli_get_double(a, "s-tmin", &cfg->s_tmin) < 0) return -1;
    if (cli_get_double(a, "s-tmax", &cfg->s_tmax) < 0) return -1;
    if (comfy_options(a, cfg) < 0) return -1;
    if (cli_get_bool(a, "multistep", &cfg->multistep) < 0) return -1;
    static const char *const algos[] = {"dpmsolver++", "dpmsolver", NULL};
    int v = (int)cfg->algorithm;
    if (cli_get_choice(a, "algorithm", algos, &v) < 0) return -1;
    cfg->algorithm = (sgm_dpm_algorithm)v;
    static const char *const solvers[] = {"midpoint", "heun", "bh1", "bh2", "logrho", NULL};
    v = (int)cfg->solver_type;
    if (cli_get_choice(a, "solver-type", solvers, &v) < 0) return -1;
    cfg->solver_type = (sgm_solver_type)v;
    static const char *const lofs[] = {"none", "dpmsolver", "diffusers", NULL};
    v = (int)cfg->lower_order_final;
    if (cli_get_choice(a, "lower-order-final", lofs, &v) < 0) return -1;
    cfg->lower_order_final = (sgm_lower_order_final)v;
    if (cli_get_bool(a, "denoise-to-zero", &cfg->denoise_to_zero) < 0) return -1;
    if (cli_get_int(a, "nfe", 1, 100000000, &cfg->nfe) < 0) return -1;
    if (cli_get_double(a, "rtol", &cfg->rtol) < 0) return -1;
    if (cli_get_double(a, "atol", &cfg->atol) < 0) return -1;
    if (cli_get_double(a, "h-init", &cfg->h_init) < 0) return -1;
    static const char *const norms[] = {"per_sample", "batch", NULL};
    v = (int)cfg->error_norm;
    if (cli_get_choice(a, "error-norm", norms, &v) < 0) return -1;
    cfg->error_norm = (sgm_error_norm)v;
    if (cli_get_size(a, "max-steps", 1, &cfg->max_steps) < 0) return -1;
    if (cli_get_double(a, "snr", &cfg->snr) < 0) return -1;
    if (cli_get_int(a, "n-corrector", 0, 1000, &cfg->n_corrector) < 0) return -1;
    if (cli_get_double(a, "step-size", &cfg->step_size) < 0) return -1;
    if (cli_get_double(a, "friction", &cfg->friction) < 0) return -1;
    const char *corr = cli_get(a, "corrector");
    if (corr) {
        if (strlen(corr) >= sizeof cfg->corrector)
            return cli_fail(a, "--corrector '%s': unknown (langevin, ula, mala, ubla, rmm)", corr);
        snprintf(cfg->corrector, sizeof cfg->corrector, "%s", corr);
    }
    if (restart_option(a, cfg) < 0) return -1;
    if (cli_get_bool(a, "v3-corrector", &cfg->v3_corrector) < 0) return -1;
    if (cli_get_bool(a, "v3-pseudo", &cfg->v3_predictor_pseudo) < 0) return -1;
    if (cli_get_int(a, "predictor-order", 1, 4, &cfg->predictor_order) < 0) return -1;
    if (cli_get_int(a, "corrector-order", 1, 4, &cfg->corrector_order) < 0) return -1;
    if (cli_get_double(a, "tau", &cfg->tau) < 0) return -1;
    static const char *const noises[] = {"independent", "brownian", NULL};
    v = (int)cfg->noise;
    if (cli_get_choice(a, "noise", noises, &v) < 0) return -1;
    cfg->noise = (sgm_noise_source)v;
    static const char *const dtypes[] = {"f64", "f32", NULL};
    v = (int)cfg->dtype;
    if (cli_get_choice(a, "dtype", dtypes, &v) < 0) return -1;
    cfg->dtype = (sgm_dtype)v;
    if (cli_get_int(a, "threads", 0, 4096, &cfg->n_threads) < 0) return -1;
    static const char *const rngs[] = {"philox", "torch", NULL};
    v = 0;
    if (cli_get_choice(a, "rng", rngs, &v) < 0) return -1;
    if (v == 1) {
        if (cfg->noise == SGM_NOISE_BROWNIAN)
            return cli_fail(a, "--rng torch draws torch.randn noise; it cannot be combined with "
                               "--noise brownian");
        cfg->noise = SGM_NOISE_TORCH;
    }
    return 0;
}

/* mala: the mixture's log p_sigma (VE coordinates) */
static int gmm_log_density(size_t n, size_t d, const double *x, double sigma, double *logp,
                           void *user_data) {
    (void)d;
    sgm_gmm_logpdf(user_data, n, x, sigma, logp);
    return 0;
}

/* Mean, covariance and component masses of the samples against the mixture. */
static void gmm_report(const sgm_gmm *g, size_t n, size_t d, const double *x) {
    size_t k = sgm_gmm_components(g);
    const double *w = sgm_gmm_weights(g), *mu = sgm_gmm_means(g), *sd = sgm_gmm_stds(g);
    double *m_ex = calloc(d, sizeof *m_ex), *m_s = calloc(d, sizeof *m_s);
    double *c_ex = calloc(d * d, sizeof *c_ex), *c_s = calloc(d * d, sizeof *c_s);
    double *r = malloc(k * sizeof *r), *mass = calloc(k, sizeof *mass);
    if (!m_ex || !m_s || !c_ex || !c_s || !r || !mass) goto done;
    for (size_t c = 0; c < k; c++)
        for (size_t i = 0; i < d; i++) {
            m_ex[i] += w[c] * mu[c * d + i];
            for (size_t j = 0; j < d; j++)
                c_ex[i * d + j] += w[c] * (mu[c * d + i] * mu[c * d + j] +
                                           (i == j ? sd[c * d + i] * sd[c * d + i] : 0));
        }
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) c_ex[i * d + j] -= m_ex[i] * m_ex[j];
    for (size_t s = 0; s < n; s++)
        for (size_t i = 0; i < d; i++) m_s[i] += x[s * d + i] / (double)n;
    for (size_t s = 0; s < n; s++)
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++)
                c_s[i * d + j] += (x[s * d + i] - m_s[i]) * (x[s * d + j] - m_s[j]) /
                                  (double)(n > 1 ? n - 1 : 1);
    for (size_t s = 0; s < n; s++) { /* hard assignment to the most responsible component */
        sgm_gmm_responsibilities(g, 1, x + s * d, 0, r);
        size_t best = 0;
        for (size_t c = 1; c < k; c++)
            if (r[c] > r[best]) best = c;
        mass[best] += 1.0 / (double)n;
    }
    double em = 0, ec = 0, tv = 0;
    for (size_t i = 0; i < d; i++) em = fmax(em, fabs(m_s[i] - m_ex[i]));
    for (size_t i = 0; i < d * d; i++) ec = fmax(ec, fabs(c_s[i] - c_ex[i]));
    for (size_t c = 0; c < k; c++) tv += 0.5 * fabs(mass[c] - w[c]);
    printf("report: %zu samples, dim %zu, %zu components\n", n, d, k);
    if (d <= 4) {
        for (size_t i = 0; i < d; i++) {
            printf("  mean[%zu]  sample % .4f  exact % .4f\n", i, m_s[i], m_ex[i]);
        }
        for (size_t i = 0; i < d; i++)
            for (size_t j = i; j < d; j++)
                printf("  cov[%zu,%zu] sample % .4f  exact % .4f\n", i, j, c_s[i * d + j],
                       c_ex[i * d + j]);
    }
    printf("  max |mean error| %.4g, max |cov error| %.4g (standard error of the mean ~ %.2g)\n",
           em, ec, sqrt(c_ex[0]) / sqrt((double)n));
    if (k <= 16)
        for (size_t c = 0; c < k; c++)
            printf("  component %zu: mass %.4f  weight %.4f\n", c, mass[c], w[c]);
    printf("  total variation of component masses: %.4f\n", tv);
done:
    free(m_ex);
    free(m_s);
    free(c_ex);
    free(c_s);
    free(r);
    free(mass);
}

/* --class: per-sample labels (malloc'd, n) for a K-class network; -1 on a
 * bad value (a->err set). "rows": class i K / n (blocks of n / K). */
static int parse_classes(cli_args *a, int K, size_t n, int **out) {
    *out = NULL;
    const char *v = cli_get(a, "class");
    if (!v) return 0;
    if (K <= 0) return cli_fail(a, "--class: the model has no class input");
    int *l = malloc(n * sizeof(int));
    if (!l) return cli_fail(a, "out of memory");
    if (strcmp(v, "rows") == 0) {
        for (size_t i = 0; i < n; i++) l[i] = (int)(i * (size_t)K / n);
    } else {
        int vals[1024], nv = 0;
        const char *p = v;
        while (*p && nv < 1024) {
            char *e;
            long c = strtol(p, &e, 10);
            if (e == p || c < -1 || c >= K || (*e && *e != ',')) {
                free(l);
                return cli_fail(a, "--class %s: expected rows or classes in [0, %d) (-1: null)", v,
                                K);
            }
            vals[nv++] = (int)c;
            p = *e ? e + 1 : e;
        }
        if (nv == 0) {
            free(l);
            return cli_fail(a, "--class: empty");
        }
        for (size_t i = 0; i < n; i++) l[i] = vals[i % (size_t)nv];
    }
    *out = l;
    return 0;
}

/* --png: the samples (data units) as a PNG */
static int write_grid(const char *path, const cli_model *m, const double *x, size_t n, size_t d,
                      int ncols, sgm_error *err) {
    int c, h, w;
    if (m->net && sgm_model_image_shape(m->net, &c, &h, &w)) {
        float *f = malloc(n * d * sizeof *f);
        if (!f) {
            snprintf(err->msg, sizeof err->msg, "out of memory");
            return 1;
        }
        for (size_t i = 0; i < n * d; i++) f[i] = (float)x[i];
        sgm_png_grid g = sgm_png_grid_defaults();
        g.ncols = ncols;
        g.scale = 2;
        g.pad = 2;
        sgm_status st = sgm_png_write_grid(path, f, (int)n, c, h, w, &g, err);
        free(f);
        return st != SGM_OK;
    }
    sgm_png_scatter sc = sgm_png_scatter_defaults();
    return sgm_png_write_scatter(path, NULL, 0, x, n, &sc, err) != SGM_OK;
}

/* The options, read before any work. */
typedef struct sample_opts {
    sgm_sampler_config cfg;
    uint64_t seed;
    size_t n, batch; /* n: 0 with --init (its rows); batch 0: min(N, 4096) */
    int out_f32, quiet, report, grid_cols;
    double guidance;
    const char *out, *save_init, *png, *save_mu;
    int has_init;
    cli_guide guide; /* guidance wrapper and thresholding (guide.h) */
    /* a checkpoint's recorded sampling path (sgm_ckpt.h), for the options
       not given; use_range: the schedule came from it, so does its range */
    sgm_ckpt_sampling path;
    int use_range;
    char steps_buf[16];
} sample_opts;

/* Everything set up before sampling (freed by free_job). */
typedef struct sample_job {
    cli_model model;
    sgm_prediction pred;
    sgm_process *proc;
    sgm_schedule *sched;
    sgm_sampler *smp;
    sgm_torch_rng *torch; /* --rng torch: the one stream of the run */
    sgm_array init;
    double *x;      /* [n, d]: x_T, then the samples */
    float *xf;      /* one batch in float32 (--dtype f32) */
    double *x_init; /* copy of x_T for --save-init */
    int *labels;    /* --class */
    sgm_denoiser den;
    cli_guided gd;  /* the guidance / threshold wrappers of den */
    size_t n, d, batch;
    size_t shape[SGM_NPY_MAX_DIMS];
    int ndim;
    double std0; /* sigma(t_0): x_T = std0 * normals */
    progress prog;
    sgm_gmm_mr *mr; /* --process mr, gmm: the exact denoiser holding mu */
    double *mu;     /* --process mr: [mu_rows, d] mu in model units (sampling runs on x - mu) */
    sgm_array mu_data; /* mu in data units, for --save-mu */
    size_t mu_rows;
} sample_job;

/* What the sampling loop saw. */
typedef struct sample_stats {
    size_t nfe_min, nfe_max, steps;
    double wall;
} sample_stats;

static void free_job(sample_job *j) {
    sgm_sampler_free(j->smp);
    sgm_torch_rng_free(j->torch);
    sgm_schedule_free(j->sched);
    sgm_process_free(j->proc);
    cli_model_free(&j->model);
    sgm_array_free(&j->init);
    free(j->x);
    free(j->xf);
    free(j->x_init);
    free(j->labels);
    cli_guided_free(&j->gd);
    sgm_gmm_mr_free(j->mr);
    free(j->mu);
    sgm_array_free(&j->mu_data);
}

/* the checkpoint path of a --model spec (ckpt:FILE or FILE.safetensors), or NULL */
static const char *ckpt_path_of(const char *spec) {
    size_t n = strlen(spec);
    if (strncmp(spec, "ckpt:", 5) == 0) return spec + 5;
    if (!strchr(spec, ':') && n > 12 && strcmp(spec + n - 12, ".safetensors") == 0) return spec;
    return NULL;
}

/* --mu-from: mu = the MR checkpoint's recorded degradation of the clean rows
 * (in place, data units), its noise from --seed (a stream of its own) */
static int degrade_rows(cli_args *a, sample_job *j, sgm_array *x) {
    sgm_ckpt_info info;
    sgm_error err = {0};
    uint64_t seed = 0;
    int c = 1, h = 1, w = (int)j->d; /* rows that are not images: 1 x 1 x d, as in training */
    if (cli_get_u64(a, "seed", &seed) < 0) return -1;
    if (sgm_ckpt_read_info(ckpt_path_of(cli_get(a, "model")), &info, &err) != SGM_OK)
        return cli_fail(a, "--mu-from: %s", err.msg);
    sgm_model_image_shape(j->model.net, &c, &h, &w);
    if (sgm_degrade_apply(info.train.degrade, (size_t)c, (size_t)h, (size_t)w, x->shape[0],
                          x->data, x->data, seed ^ 0xD6E8FEB86659FD93ull, 0, &err) != SGM_OK)
        return cli_fail(a, "--mu-from: %s", err.msg);
    return 0;
}

/* --process mr: mu ([N, d] or [1, d], finite; --mu, or --mu-from with an MR
 * checkpoint) and the denoiser that takes it (the exact MR denoiser of a
 * mixture, or the checkpoint's condition input); --mu without --process mr
 * is an error */
static int setup_mr(cli_args *a, sample_job *j) {
    int is_mr = sgm_process_get_config(j->proc)->kind == SGM_PROCESS_MR;
    const char *mp = cli_get(a, "mu"), *mf = cli_get(a, "mu-from");
    if (!is_mr) {
        if (mp) return cli_fail(a, "--mu applies to --process mr only");
        if (mf || cli_has(a, "save-mu"))
            return cli_fail(a, "--mu-from / --save-mu apply to --process mr only");
        return 0;
    }
    if (mp && mf) return cli_fail(a, "give --mu or --mu-from, not both");
    if (!mp && !mf)
        return cli_fail(a, "--process mr needs the condition --mu MU.npy (or --mu-from "
                           "CLEAN.npy with an MR checkpoint)");
    if (mf && !j->model.net)
        return cli_fail(a, "--mu-from needs an MR checkpoint (it applies the checkpoint's "
                           "degradation)");
    if (j->model.net && sgm_model_cond_dim(j->model.net) != j->d)
        return cli_fail(a, "--process mr: the checkpoint takes no condition mu of width %zu",
                        j->d);
    const char *opt = mp ? "--mu" : "--mu-from", *path = mp ? mp : mf;
    sgm_array *mu = &j->mu_data;
    sgm_error err = {0};
    if (sgm_npy_load(path, mu, &err)) return cli_fail(a, "%s: %s", opt, err.msg);
    size_t dd = 1;
    for (int i = 1; i < mu->ndim; i++) dd *= mu->shape[i];
    if (mu->ndim < 2 || dd != j->d || (mu->shape[0] != 1 && mu->shape[0] != j->n))
        return cli_fail(a, "%s %s: shape must be [N, %zu] or [1, %zu] with N = %zu samples", opt,
                        path, j->d, j->d, j->n);
    for (size_t i = 0; i < mu->count; i++)
        if (!isfinite(mu->data[i]))
            return cli_fail(a, "%s %s: value %zu is not finite", opt, path, i);
    if (mf && degrade_rows(a, j, mu) < 0) return -1;
    j->mu_rows = mu->shape[0];
    if (!(j->mu = malloc(mu->count * sizeof *j->mu))) return cli_fail(a, "out of memory");
    memcpy(j->mu, mu->data, mu->count * sizeof *j->mu);
    cli_model_from_data(&j->model, j->mu_rows, j->mu); /* checkpoints: standardized units */
    if (j->model.net) {
        if (sgm_model_set_cond(j->model.net, j->mu, j->mu_rows, &err))
            return cli_fail(a, "%s: %s", opt, err.msg);
    } else if (sgm_gmm_mr_create(j->model.gmm, j->mu, j->mu_rows, &j->mr, &err)) {
        return cli_fail(a, "%s: %s", opt, err.msg);
    }
    return 0;
}

/* x -> x + sign mu for rows [r0, r0 + m) (MR: data <-> process coordinates) */
static void mr_shift(const sample_job *j, size_t r0, size_t m, double *xb, double sign) {
    if (!j->mu) return;
    for (size_t i = 0; i < m; i++) {
        const double *mu = j->mu + ((r0 + i) % j->mu_rows) * j->d;
        for (size_t k = 0; k < j->d; k++) xb[i * j->d + k] += sign * mu[k];
    }
}

static int ends_with_png(const char *v) {
    size_t L = strlen(v);
    return L > 4 && strcasecmp(v + L - 4, ".png") == 0;
}

/* the output paths: folders must exist and be writable */
static int parse_outputs(cli_args *a, sample_opts *o) {
    o->out = cli_get(a, "out");
    if (cli_check_out(a, "out", o->out) < 0) return -1;
    o->save_init = cli_get(a, "save-init");
    if (o->save_init && cli_check_out(a, "save-init", o->save_init) < 0) return -1;
    const char *grid = cli_get(a, "grid"); /* the diffusers grid, not the picture */
    if (grid && ends_with_png(grid))
        return cli_fail(a, "--grid %s: --grid is the diffusers timestep grid; write the "
                           "picture with --png %s", grid, grid);
    o->png = cli_get(a, "png");
    if (o->png && cli_check_out(a, "png", o->png) < 0) return -1;
    o->save_mu = cli_get(a, "save-mu");
    if (o->save_mu && cli_check_out(a, "save-mu", o->save_mu) < 0) return -1;
    return 0;
}

/* --model ckpt:FILE: the sampling path the checkpoint records (sampler,
 * schedule, steps, sigma range) fills the options that are not given; the
 * range only when the schedule is the recorded one too. */
static int ckpt_path_defaults(cli_args *a, sample_opts *o) {
    const char *spec = cli_get(a, "model");
    const char *path = ckpt_path_of(spec);
    if (!path || (cli_has(a, "sampler") && cli_has(a, "schedule") && cli_has(a, "steps")))
        return 0;
    sgm_ckpt_info info;
    sgm_error err = {0};
    if (sgm_ckpt_read_info(path, &info, &err) != SGM_OK)
        return cli_fail(a, "model %s: %s", path, err.msg);
    o->path = info.sampling;
    if (o->path.steps < 1) return 0; /* nothing recorded: the options are required */
    cli_set_default(a, "sampler", o->path.sampler);
    if (!cli_has(a, "schedule") && !cli_has(a, "sigmas") && !cli_has(a, "times")) {
        cli_set_default(a, "schedule", o->path.schedule);
        o->use_range = 1;
    }
    snprintf(o->steps_buf, sizeof o->steps_buf, "%d", o->path.steps);
    if (!cli_has(a, "sigmas") && !cli_has(a, "times")) cli_set_default(a, "steps", o->steps_buf);
    return 0;
}

/* CLI_PARSED, CLI_HELP (usage printed) or -1 (a->err set) */
static int parse_sample_args(cli_args *a, int argc, char **argv, sample_opts *o) {
    memset(o, 0, sizeof *o);
    const cli_opt *const tables[] = {sample_opts_table, cli_guide_opts, cli_process_opts,
                                     cli_schedule_opts, NULL};
    int r = cli_start(a, "sample", tables, argc, argv,
                      "--model gmm:FILE.json|ckpt:FILE.safetensors --process P --sampler NAME "
                      "--schedule S --steps N (--init X.npy | --n N [--seed S]) --out OUT.npy");
    if (r != CLI_PARSED) return r;
    if (cli_require(a, "model") < 0 || ckpt_path_defaults(a, o) < 0 || cli_require(a, "sampler") < 0 ||
        cli_require(a, "out") < 0)
        return -1;
    o->has_init = cli_has(a, "init");
    if (o->has_init == cli_has(a, "n"))
        return cli_fail(a, o->has_init ? "give either --init or --n, not both"
                                       : "missing required option --init or --n");
    if (sampler_config(a, &o->cfg) < 0 || cli_get_u64(a, "seed", &o->seed) < 0) return -1;
    if (cli_get_size(a, "n", 1, &o->n) < 0 || cli_get_size(a, "batch", 1, &o->batch) < 0)
        return -1;
    static const char *const odt[] = {"f64", "f32", NULL};
    if (cli_get_choice(a, "out-dtype", odt, &o->out_f32) < 0) return -1;
    if (cli_get_bool(a, "quiet", &o->quiet) < 0 || cli_get_bool(a, "report", &o->report) < 0)
        return -1;
    if (parse_outputs(a, o) < 0) return -1;
    if (cli_get_double(a, "guidance", &o->guidance) < 0 ||
        cli_get_int(a, "grid-cols", 1, 100000, &o->grid_cols) < 0)
        return -1;
    if (cli_guide_parse(a, &o->guide, &o->cfg) < 0) return -1;
    return CLI_PARSED;
}

/* x_T: --init as given (its shape is kept), or room for --n rows */
static int load_start(cli_args *a, sample_job *j) {
    size_t d = j->d;
    if (!cli_has(a, "init")) {
        size_t n = j->n;
        j->ndim = 2;
        j->shape[0] = n;
        j->shape[1] = d;
        int ic, ih, iw;
        if (j->model.net && sgm_model_image_shape(j->model.net, &ic, &ih, &iw)) { /* [N, C, H, W] */
            j->ndim = 4;
            j->shape[1] = (size_t)ic, j->shape[2] = (size_t)ih, j->shape[3] = (size_t)iw;
        }
        if (n > ((size_t)-1 / sizeof(double)) / d || !(j->x = malloc(n * d * sizeof *j->x)))
            return cli_fail(a, "--n %zu: cannot allocate %zu x %zu values", n, n, d);
        return 0;
    }
    sgm_error err = {0};
    sgm_array *init = &j->init;
    const char *ip = cli_get(a, "init");
    if (sgm_npy_load(ip, init, &err)) return cli_fail(a, "--init: %s", err.msg);
    size_t dd = 1;
    for (int i = 1; i < init->ndim; i++) dd *= init->shape[i];
    if (init->ndim < 1 || init->shape[0] == 0 || dd != d)
        return cli_fail(a, "--init %s: %zu values per row, but the model has dimension %zu", ip,
                        init->ndim < 1 ? (size_t)0 : dd, d);
    for (size_t i = 0; i < init->count; i++)
        if (!isfinite(init->data[i]))
            return cli_fail(a, "--init %s: value %zu is not finite", ip, i);
    j->ndim = init->ndim;
    for (int i = 0; i < j->ndim; i++) j->shape[i] = init->shape[i];
    j->n = init->shape[0];
    j->x = init->data;
    init->data = NULL;
    return 0;
}

/* --class / --guidance: the labels of a class-conditional checkpoint */
static int setup_classes(cli_args *a, sample_opts *o, sample_job *j) {
    if (!cli_has(a, "class") && !cli_has(a, "guidance")) return 0;
    /* a mixture's classes are its components (sgm_gmm_cond_denoiser) */
    int K = j->model.net ? sgm_model_n_classes(j->model.net)
                         : (int)sgm_gmm_components(j->model.gmm);
    if (K <= 0)
        return cli_fail(a, "--class / --guidance need a class-conditional model (this one has "
                           "no classes)");
    if (parse_classes(a, K, j->n, &j->labels) < 0) return -1;
    if (!j->labels) return cli_fail(a, "--guidance needs --class");
    if (!o->grid_cols && strcmp(cli_get(a, "class"), "rows") == 0 && j->n % (size_t)K == 0)
        o->grid_cols = (int)(j->n / (size_t)K);
    return 0;
}

/* --precision: the network's products (a checkpoint's; the mixture is exact) */
static int setup_precision(cli_args *a, sample_job *j) {
    sgm_nn_precision want = SGM_NN_FP32, used;
    if (cli_get_precision(a, &want) < 0) return -1;
    if (want == SGM_NN_FP32) return 0;
    if (!j->model.net) return cli_fail(a, "--precision bf16 applies to network (ckpt:) models");
    sgm_net *net = sgm_model_net(j->model.net);
    sgm_error err = {0};
    if (sgm_net_set_precision(net, want, 0, &used, &err) != SGM_OK)
        return cli_fail(a, "--precision: %s", err.msg);
    if (cli_dist_rank() == 0)
        cli_precision_note("sample", want, used, sgm_net_get_config(net)->arch != SGM_ARCH_MLP);
    return 0;
}

/* The model, process, x_T, schedule and sampler; -1 (a->err set) on bad input. */
static int prepare_sample(cli_args *a, sample_opts *o, sample_job *j) {
    if (cli_model_load(cli_get(a, "model"), &j->model, a->err, sizeof a->err) < 0) return -1;
    j->pred = SGM_PRED_X0;
    if (cli_model_prediction(a, &j->model, &j->pred) < 0) return -1;
    if (cli_model_process(a, &j->model, &j->proc) < 0) return -1;
    if (setup_precision(a, j) < 0) return -1;
    if (o->report && !j->model.gmm) return cli_fail(a, "--report needs a gmm: model");
    j->d = j->model.dim;
    j->n = o->n;
    if (load_start(a, j) < 0) return -1;
    size_t n = j->n, d = j->d;
    if (o->save_init && !(j->x_init = malloc(n * d * sizeof *j->x_init)))
        return cli_fail(a, "out of memory");
    if (setup_classes(a, o, j) < 0 || setup_mr(a, j) < 0) return -1;
    j->batch = o->batch ? o->batch : n < 4096 ? n : 4096;
    if (j->batch > n) j->batch = n;
    if (o->cfg.noise == SGM_NOISE_TORCH) { /* torch: one tensor of all N samples */
        if (cli_dist_size() > 1)
            return cli_fail(a, "--rng torch draws one stream for the whole [N, d] tensor: it "
                               "cannot be split over %d MPI processes (use philox)",
                            cli_dist_size());
        if (o->batch && o->batch < n)
            return cli_fail(a, "--rng torch draws one stream for the whole [N, d] tensor: "
                               "--batch must be at least N (%zu)", n);
        j->batch = n;
    }
    if (cli_build_schedule_range(a, j->proc, o->cfg.method, o->use_range ? o->path.sigma_min : 0,
                                 o->use_range ? o->path.sigma_max : 0, &j->sched) < 0)
        return -1;
    j->std0 = sgm_process_sigma(j->proc, j->sched->t[0]); /* process coordinates */
    if (!o->has_init && !(isfinite(j->std0) && j->std0 > 0))
        return cli_fail(a, "the schedule starts at sigma = %g; choose a finite start (e.g. --t-max)",
                        j->std0);
    if (cli_dist_size() > 1 && o->cfg.error_norm == SGM_NORM_BATCH)
        return cli_fail(a, "--error-norm batch shares one step size across a batch: it cannot "
                           "be split over %d MPI processes (use per_sample)", cli_dist_size());
    size_t lo, hi;
    cli_dist_share(n, &lo, &hi);
    progress prog = {cli_now(), cli_now(), 0, (hi - lo + j->batch - 1) / j->batch, o->quiet};
    j->prog = prog;
    o->cfg.on_step = on_step;
    o->cfg.on_step_user_data = &j->prog;
#ifdef _OPENMP
    if (o->cfg.n_threads > 0) omp_set_num_threads(o->cfg.n_threads);
#endif
    sgm_error err = {0};
    if (sgm_sampler_create(&o->cfg, j->proc, j->batch, d, &j->smp, &err))
        return cli_fail(a, "%s", err.msg);
    j->den = cli_model_denoiser(&j->model, j->proc, j->pred);
    if (j->mr) j->den = sgm_gmm_mr_denoiser(j->mr);
    if (cli_guide_build(a, &o->guide, &j->model, j->labels, n, j->proc, j->smp, &j->den,
                        &j->gd) < 0)
        return -1;
    if (j->model.gmm) sgm_sampler_set_log_density(j->smp, gmm_log_density, j->model.gmm);
    if (cli_get(a, "ems")) { /* DPM-Solver-v3 statistics (sgm dpmv3-calibrate) */
        if (strcmp(sgm_sampler_get_config(j->smp)->method, "dpm_solver_v3") != 0)
            return cli_fail(a, "--ems applies to --sampler dpm_solver_v3 only");
        sgm_array ems_arr;
        memset(&ems_arr, 0, sizeof ems_arr);
        sgm_dpmv3_ems ems;
        int bad = cli_ems_load(a, cli_get(a, "ems"), d, &ems_arr, &ems) < 0;
        if (!bad && sgm_sampler_set_ems(j->smp, &ems, &err)) bad = cli_fail(a, "%s", err.msg);
        sgm_array_free(&ems_arr);
        if (bad) return -1;
    }
    if (o->cfg.noise == SGM_NOISE_TORCH) {
        if (sgm_torch_rng_create(o->seed, &j->torch, &err)) return cli_fail(a, "%s", err.msg);
        sgm_sampler_set_torch_rng(j->smp, j->torch);
    }
    if (o->cfg.dtype == SGM_F32 && !(j->xf = malloc(j->batch * d * sizeof *j->xf)))
        return cli_fail(a, "out of memory");
    return 0;
}

/* Samples every batch in place; the exit code (a message printed on failure). */
static int run_sample(const sample_opts *o, sample_job *j, sample_stats *stats) {
    size_t n = j->n, d = j->d, batch = j->batch;
    const sgm_denoiser den = j->den;
    stats->nfe_min = (size_t)-1, stats->nfe_max = 0, stats->steps = 0;
    size_t lo, hi; /* this process's rows (all of them without mpirun) */
    cli_dist_share(n, &lo, &hi);
    for (size_t r0 = lo, b = 0; r0 < hi; r0 += batch, b++) {
        size_t m = hi - r0 < batch ? hi - r0 : batch;
        double *xb = j->x + r0 * d;
        if (!o->has_init) {
            if (j->torch) /* torch.randn([N, d]) (float32) * sigma_max, then the sampler's */
                sgm_torch_randn(j->torch, m * d, SGM_F64, xb);
            else
                sgm_rng_normal_rows_f64(o->seed, 0, r0, m, d, xb);
            for (size_t i = 0; i < m * d; i++) xb[i] *= j->std0;
            mr_shift(j, r0, m, xb, 1); /* MR: x_T = mu + sigma_T n */
        }
        if (j->x_init) memcpy(j->x_init + r0 * d, xb, m * d * sizeof *xb);
        mr_shift(j, r0, m, xb, -1); /* MR: the sampler runs on y = x - mu */
        void *xs = xb;
        if (j->xf) {
            for (size_t i = 0; i < m * d; i++) j->xf[i] = (float)xb[i];
            xs = j->xf;
        }
        sgm_rng rng = {o->seed, 1}; /* draw 0 is x_T */
        j->prog.batch = b;
        sgm_error err = {0};
        /* row r of the run is query row row0 + i: labels are indexed globally */
        if (j->labels && !j->gd.cfg && b == 0 &&
            sgm_model_set_labels(j->model.net, j->labels, n, o->guidance, &err)) {
            fprintf(stderr, "sgm sample: %s\n", err.msg);
            return 2;
        }
        sgm_status st = sgm_sampler_run(j->smp, j->sched, &den, &rng, (uint64_t)r0, m, xs, &err);
        if (st) {
            fprintf(stderr, "sgm sample: %s (%s)\n", err.msg, sgm_status_str(st));
            /* a configuration the sampler refuses is bad input; the rest is runtime */
            return st == SGM_ERR_INVALID_ARG || st == SGM_ERR_UNSUPPORTED ? 2 : 1;
        }
        if (j->xf)
            for (size_t i = 0; i < m * d; i++) xb[i] = j->xf[i];
        mr_shift(j, r0, m, xb, 1);
        sgm_sampler_stats ss;
        sgm_sampler_get_stats(j->smp, &ss);
        if (ss.nfe < stats->nfe_min) stats->nfe_min = ss.nfe;
        if (ss.nfe > stats->nfe_max) stats->nfe_max = ss.nfe;
        if (ss.steps > stats->steps) stats->steps = ss.steps;
    }
    stats->wall = cli_now() - j->prog.t0;
    return 0;
}

/* Under mpirun: every rank's code, then the rows (and x_T) on rank 0. */
static int gather_sample(sample_job *j, int rc) {
    if ((rc = cli_dist_agree(rc)) != 0) return rc;
    if (cli_dist_gather_rows(j->x, j->n, j->d) < 0 ||
        (j->x_init && cli_dist_gather_rows(j->x_init, j->n, j->d) < 0)) {
        fprintf(stderr, "sgm sample: gathering the rows of the MPI processes failed\n");
        return 1;
    }
    return 0;
}

/* --save-init, --out, --png; 0, or 1 after the message */
static int write_sample(const sample_opts *o, sample_job *j) {
    sgm_error err = {0};
    if ((j->x_init && sgm_npy_save(o->save_init, j->ndim, j->shape, j->x_init, 0, &err)) ||
        (o->save_mu && j->mu_data.data &&
         sgm_npy_save(o->save_mu, j->mu_data.ndim, j->mu_data.shape, j->mu_data.data, 0, &err)) ||
        sgm_npy_save(o->out, j->ndim, j->shape, j->x, o->out_f32, &err) ||
        (o->png && write_grid(o->png, &j->model, j->x, j->n, j->d, o->grid_cols, &err))) {
        fprintf(stderr, "sgm sample: %s\n", err.msg);
        return 1;
    }
    return 0;
}

static void report_sample(const sample_opts *o, const sample_job *j, const sample_stats *s) {
    if (s->nfe_min == s->nfe_max)
        printf("sgm sample: %zu x %zu samples, %s, %zu steps, NFE %zu, %.3f s -> %s\n", j->n,
               j->d, o->cfg.method, s->steps, s->nfe_max, s->wall, o->out);
    else
        printf("sgm sample: %zu x %zu samples, %s, up to %zu steps, NFE %zu-%zu per batch, "
               "%.3f s -> %s\n",
               j->n, j->d, o->cfg.method, s->steps, s->nfe_min, s->nfe_max, s->wall, o->out);
    cli_guided_report(&j->gd, stdout);
    if (o->report) gmm_report(j->model.gmm, j->n, j->d, j->x);
}

int cmd_sample(int argc, char **argv) {
    cli_args a;
    sample_opts o;
    sample_job j;
    memset(&j, 0, sizeof j);
    sample_stats st = {0, 0, 0, 0};
    int rc = parse_sample_args(&a, argc, argv, &o);
    if (rc == CLI_HELP) return 0;
    if (rc < 0 || prepare_sample(&a, &o, &j) < 0) {
        rc = cli_error(&a, 2);
    } else if ((rc = gather_sample(&j, run_sample(&o, &j, &st))) == 0 && cli_dist_rank() == 0) {
        cli_model_to_data(&j.model, j.n, j.x); /* checkpoints: standardized -> data units */
        if ((rc = write_sample(&o, &j)) == 0) report_sample(&o, &j, &st);
    }
    free_job(&j);
    return rc;
}
