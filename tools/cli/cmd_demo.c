/* cmd_demo.c - `sgm demo`, the README's main job (issue 3): trains the `mlp`
 * by denoising score matching (include/sgm/sgm_train.h; VP-linear process,
 * eps prediction, log-normal noise levels as in Karras et al. 2022 with a
 * wider spread) on a built-in 2-D set, saves the checkpoint, draws samples
 * with DPM-Solver++(2M) (Lu et al. 2022, arXiv:2211.01095) at 20 steps on the
 * Karras schedule through the network denoiser, and writes
 *   DIR/demo.safetensors   the checkpoint (EMA weights are used to sample)
 *   DIR/demo.png           held-out data (left, blue) | samples (right, orange)
 *   DIR/demo_report.txt    the report also printed on stdout
 * The report gives training time, final loss, NFE, sampling time, and sample
 * quality against held-out data of the same size: sliced W2 and MMD^2
 * (sgm_eval.h), each next to its noise floor (the same metric between two
 * independent held-out sets). For a mixture (8gaussians, whose exact density
 * is known, or gmm:FILE.json) it adds the mean exact log-density of samples and
 * of data, their gap, and the mass of each component relative to its weight.
 * Every file is written atomically (sgm_atomic_open, sgm_io.h). Exit codes: 0
 * success, 2 bad options / data, 1 runtime failure. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "sgm/sgm_eval.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_model.h"
#include "sgm/sgm_png.h"
#include "sgm/sgm_train.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_data.h"
#include "sgm/sgm_ckpt.h"

static const cli_opt demo_opts_table[] = {
    {"data", "SPEC", "8gaussians",
     "{datasets}|gmm:FILE.json"},
    {"steps", "N", "4000", "training steps (--quick: 300)"},
    {"seed", "S", "0", "seed of the data, the network and the samples"},
    {"out-dir", "DIR", "out", "where demo.safetensors, demo.png, demo_report.txt go"},
    {"quick", NULL, NULL, "a short run for tests (300 steps, small net, 1000 samples)"},
    {"n-samples", "N", "5000", "samples drawn (and held-out rows compared with)"},
    {"n-data", "N", "100000", "training rows generated"},
    {"width", "W", "128", "mlp hidden width"},
    {"depth", "L", "3", "mlp residual blocks"},
    {"batch", "B", "512", "batch size"},
    {"ema", "D", "0.995", "EMA decay of the weights (--quick: 0.98)"},
    {"p-std", "S", "2", "log-normal std of ln sigma of the training noise levels"},
    {"quiet", NULL, NULL, "no progress line"},
    {NULL, NULL, NULL, NULL}};

/* ------------------------------------------------------------ report --- */

typedef struct text_buf {
    char s[8192];
    size_t len;
} text_buf;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void tb_printf(text_buf *b, const char *fmt, ...) {
    if (b->len >= sizeof b->s - 1) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->s + b->len, sizeof b->s - b->len, fmt, ap);
    va_end(ap);
    if (k > 0) b->len += (size_t)k;
    if (b->len > sizeof b->s - 1) b->len = sizeof b->s - 1;
}

/* ------------------------------------------------------------ figure --- */

/* Two scatter panels side by side on one canvas with the same range: data
 * (left, blue) and samples (right, orange). Each panel is drawn by
 * sgm_png_write_scatter into a temporary file, read back and pasted. */
static sgm_status write_figure(const char *dir, const char *path, const double *data,
                               const double *samples, size_t n, sgm_error *err) {
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < 2; j++) {
            double v = data[2 * i + j];
            if (isfinite(v)) lo[j] = fmin(lo[j], v), hi[j] = fmax(hi[j], v);
        }
    /* a square range around the data (so circles stay circles), 8 % margin */
    double cx = 0.5 * (lo[0] + hi[0]), cy = 0.5 * (lo[1] + hi[1]);
    double half = 0.54 * fmax(hi[0] - lo[0], hi[1] - lo[1]);
    if (!(half > 0)) half = 1;
    sgm_png_scatter o = sgm_png_scatter_defaults();
    o.width = o.height = 480;
    o.margin = 12;
    o.radius = 1;
    o.xmin = cx - half, o.xmax = cx + half, o.ymin = cy - half, o.ymax = cy + half;
    char pa[4200], pb[4200];
    snprintf(pa, sizeof pa, "%s/.demo_a.png.%ld", dir, (long)getpid());
    snprintf(pb, sizeof pb, "%s/.demo_b.png.%ld", dir, (long)getpid());
    sgm_status rc = sgm_png_write_scatter(pa, data, n, NULL, 0, &o, err);
    if (rc == SGM_OK) rc = sgm_png_write_scatter(pb, NULL, 0, samples, n, &o, err);
    uint8_t *ia = NULL, *ib = NULL, *canvas = NULL;
    int wa = 0, ha = 0, wb = 0, hb = 0;
    if (rc == SGM_OK) rc = sgm_png_read(pa, 3, &ia, &wa, &ha, err);
    if (rc == SGM_OK) rc = sgm_png_read(pb, 3, &ib, &wb, &hb, err);
    remove(pa);
    remove(pb);
    if (rc == SGM_OK && (wa != wb || ha != hb)) {
        snprintf(err->msg, sizeof err->msg, "figure panels differ in size");
        rc = SGM_ERR_INVALID_ARG;
    }
    const int gap = 8, W = 2 * wa + gap, H = ha;
    if (rc == SGM_OK) {
        canvas = malloc((size_t)W * (size_t)H * 3);
        if (!canvas) {
            snprintf(err->msg, sizeof err->msg, "out of memory");
            rc = SGM_ERR_NOMEM;
        }
    }
    if (rc == SGM_OK) {
        memset(canvas, 255, (size_t)W * (size_t)H * 3);
        for (int y = 0; y < H; y++) {
            memcpy(canvas + ((size_t)y * (size_t)W) * 3, ia + (size_t)y * (size_t)wa * 3,
                   (size_t)wa * 3);
            memcpy(canvas + ((size_t)y * (size_t)W + (size_t)(wa + gap)) * 3,
                   ib + (size_t)y * (size_t)wb * 3, (size_t)wb * 3);
        }
        rc = sgm_png_write_rgb(path, canvas, W, H, err);
    }
    free(ia);
    free(ib);
    free(canvas);
    return rc;
}

/* ------------------------------------------------------------ mixture --- */

/* The exact mixture of the data when it has one: gmm:FILE.json, or the
 * built-in 8gaussians (src/data/datasets.c: equal weights, means 4 (cos,
 * sin)(k pi / 4) / 1.414, std 0.5 / 1.414 per coordinate). NULL otherwise. */
static sgm_gmm *data_mixture(const char *spec, sgm_error *err) {
    sgm_gmm *g = NULL;
    if (strncmp(spec, "gmm:", 4) == 0) {
        if (sgm_gmm_load(spec + 4, &g, err) != SGM_OK) return NULL;
        return g;
    }
    if (strcmp(spec, "8gaussians") == 0) {
        double w[8], mu[16], sd[16];
        const double pi = 3.14159265358979323846;
        for (int k = 0; k < 8; k++) {
            w[k] = 1.0 / 8;
            mu[2 * k] = 4 * cos(k * pi / 4) / 1.414;
            mu[2 * k + 1] = 4 * sin(k * pi / 4) / 1.414;
            sd[2 * k] = sd[2 * k + 1] = 0.5 / 1.414;
        }
        if (sgm_gmm_create(8, 2, w, mu, sd, &g, err) != SGM_OK) return NULL;
    }
    return g;
}

/* --------------------------------------------------------------- main --- */

static int make_dir(const char *dir) {
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) {
        struct stat st;
        return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
    }
    return -1;
}

/* The options, read before any work. */
typedef struct demo_opts {
    const char *spec, *dir;
    int quick, quiet;
    int steps, width, depth, batch;
    size_t n_samples, n_data;
    uint64_t seed;
    double ema, p_std;
    char ckpt[4200], png[4200], rep_path[4200]; /* the files in dir */
} demo_opts;

/* The data, the models and what the report gives (freed by free_job). */
typedef struct demo_job {
    double *train, *held, *held2; /* training rows; two held-out sets of n_samples */
    size_t rows, cols;
    sgm_gmm *gmm; /* the data's exact mixture, when it has one */
    sgm_trainer *tr;
    sgm_model *net;
    sgm_process *proc;
    sgm_schedule *sched;
    sgm_sampler *smp;
    double *x; /* the samples, data units */
    double loss, ema_loss, train_s, sample_s;
    size_t nfe;
    sgm_metric_result sw, sw0, mmd, mmd0; /* against held-out data, and floors */
} demo_job;

static const int sample_steps = 20;

static void free_job(demo_job *j) {
    free(j->train);
    sgm_trainer_free(j->tr);
    free(j->x);
    sgm_sampler_free(j->smp);
    sgm_schedule_free(j->sched);
    sgm_process_free(j->proc);
    sgm_model_free(j->net);
    sgm_gmm_free(j->gmm);
    free(j->held);
    free(j->held2);
}

/* CLI_PARSED, CLI_HELP (usage printed) or -1 (a->err set) */
static int parse_demo_args(cli_args *a, int argc, char **argv, demo_opts *o) {
    memset(o, 0, sizeof *o);
    const cli_opt *const tables[] = {demo_opts_table, NULL};
    int r = cli_start(a, "demo", tables, argc, argv,
                      "[--data SET] [--steps N] [--seed S] [--out-dir DIR] [--quick]");
    if (r != CLI_PARSED) return r;
    const int quick = o->quick = cli_has(a, "quick");
    o->spec = cli_has(a, "data") ? cli_get(a, "data") : "8gaussians";
    o->dir = cli_has(a, "out-dir") ? cli_get(a, "out-dir") : "out";
    o->steps = quick ? 300 : 4000, o->width = quick ? 64 : 128, o->depth = quick ? 2 : 3;
    o->batch = quick ? 256 : 512;
    o->n_samples = quick ? 1000 : 5000, o->n_data = quick ? 20000 : 100000;
    o->ema = quick ? 0.98 : 0.995, o->p_std = 2.0;
    if (cli_get_int(a, "steps", 1, 100000000, &o->steps) < 0 ||
        cli_get_u64(a, "seed", &o->seed) < 0 ||
        cli_get_size(a, "n-samples", 16, &o->n_samples) < 0 ||
        cli_get_size(a, "n-data", 16, &o->n_data) < 0 ||
        cli_get_int(a, "width", 1, 65536, &o->width) < 0 ||
        cli_get_int(a, "depth", 0, 100, &o->depth) < 0 ||
        cli_get_int(a, "batch", 1, 1 << 24, &o->batch) < 0 ||
        cli_get_double(a, "ema", &o->ema) < 0 || cli_get_double(a, "p-std", &o->p_std) < 0)
        return -1;
    if (!(o->ema >= 0 && o->ema < 1) || !(o->p_std > 0 && o->p_std < 100))
        return cli_fail(a, "--ema must be in [0, 1) and --p-std in (0, 100)");
    if (o->n_samples > 200000)
        return cli_fail(a, "--n-samples %zu: at most 200000 (the MMD is quadratic in n)",
                        o->n_samples);
    if (strlen(o->dir) > 4000) return cli_fail(a, "--out-dir: path too long");
    /* the folder before any work (exit 2): an existing writable folder, or a
     * new one in a writable folder (make_dir creates one level) */
    struct stat st;
    if (stat(o->dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return cli_fail(a, "--out-dir %s: exists and is not a folder", o->dir);
        if (access(o->dir, W_OK) != 0)
            return cli_fail(a, "--out-dir %s: folder is not writable (%s)", o->dir,
                            strerror(errno));
    } else if (cli_check_out(a, "out-dir", o->dir) < 0) {
        return -1;
    }
    o->quiet = cli_has(a, "quiet");
    snprintf(o->ckpt, sizeof o->ckpt, "%s/demo.safetensors", o->dir);
    snprintf(o->png, sizeof o->png, "%s/demo.png", o->dir);
    snprintf(o->rep_path, sizeof o->rep_path, "%s/demo_report.txt", o->dir);
    return CLI_PARSED;
}

/* Training rows (data seed = seed) and two held-out sets of n_samples rows
 * (seeds + 1, + 2), all generated the same way; the folder. The exit code. */
static int load_demo_data(const demo_opts *o, demo_job *j) {
    sgm_error err = {0};
    size_t r2, c2;
    if (sgm_data_load(o->spec, o->n_data, o->seed, &j->train, &j->rows, &j->cols, &err) != SGM_OK) {
        fprintf(stderr, "sgm demo: %s\n", err.msg);
        return 2;
    }
    if (j->cols != 2) {
        fprintf(stderr, "sgm demo: --data %s has %zu columns; the demo plots 2-D data\n", o->spec,
                j->cols);
        return 2;
    }
    if (sgm_data_load(o->spec, o->n_samples, o->seed + 1, &j->held, &r2, &c2, &err) != SGM_OK ||
        sgm_data_load(o->spec, o->n_samples, o->seed + 2, &j->held2, &r2, &c2, &err) != SGM_OK) {
        fprintf(stderr, "sgm demo: %s\n", err.msg);
        return 2;
    }
    j->gmm = data_mixture(o->spec, &err);
    if (make_dir(o->dir) != 0) {
        fprintf(stderr, "sgm demo: cannot create the folder %s\n", o->dir);
        return 2;
    }
    return 0;
}

/* Trains the mlp and saves the checkpoint; the exit code. */
static int train_demo(const demo_opts *o, demo_job *j) {
    sgm_error err = {0};
    sgm_train_config c = sgm_train_config_default(SGM_PROCESS_VP_LINEAR, SGM_PARAM_EPS);
    const int steps = o->steps;
    c.net.mlp.width = o->width, c.net.mlp.n_blocks = o->depth;
    c.net.mlp.d_emb = o->quick ? 32 : 64;
    c.batch = o->batch, c.lr = 2e-3, c.lr_min = 1e-4, c.lr_total = steps;
    c.warmup = steps < 500 ? steps / 10 : 50;
    c.ema = o->ema; /* a short run needs a short EMA horizon */
    /* a wider log-normal than EDM's 1.2, so that the large noise levels that
       decide the mode weights are learnt too (see test_train_quality.c) */
    c.p_std = o->p_std;
    c.seed = o->seed;
    snprintf(c.data_spec, sizeof c.data_spec, "%s", o->spec);
    c.data_n = o->n_data;
    c.data_seed = o->seed;
    sgm_status rc = sgm_trainer_create(&c, j->train, j->rows, j->cols, &j->tr, &err);
    free(j->train);
    j->train = NULL;
    if (rc != SGM_OK) {
        fprintf(stderr, "sgm demo: %s\n", err.msg);
        return rc == SGM_ERR_NOMEM ? 1 : 2;
    }
    if (!o->quiet)
        fprintf(stderr, "sgm demo: training the mlp (width %d, %d blocks) on %s, %d steps\n",
                o->width, o->depth, o->spec, steps);
    double loss = NAN, t0 = cli_now();
    for (int s = 1; s <= steps; s++) {
        if (sgm_trainer_step(j->tr, &loss, &err) != SGM_OK) {
            fprintf(stderr, "%ssgm demo: %s\n", o->quiet ? "" : "\n", err.msg);
            return 1;
        }
        if (!o->quiet && (s % 100 == 0 || s == steps)) {
            double el = cli_now() - t0, ips = s / (el > 0 ? el : 1e-9);
            fprintf(stderr, "\rstep %d/%d  loss %.4f  ema %.4f  %.0f it/s  ETA %.0f s   ", s,
                    steps, loss, sgm_trainer_ema_loss(j->tr), ips, (steps - s) / ips);
        }
    }
    j->loss = loss;
    j->train_s = cli_now() - t0, j->ema_loss = sgm_trainer_ema_loss(j->tr);
    if (!o->quiet) fputc('\n', stderr);
    if (sgm_trainer_save(j->tr, o->ckpt, &err) != SGM_OK) {
        fprintf(stderr, "sgm demo: %s\n", err.msg);
        return 1;
    }
    sgm_trainer_free(j->tr);
    j->tr = NULL;
    return 0;
}

/* Samples through the checkpoint: dpmpp_2m, Karras schedule, 20 steps; the exit code. */
static int sample_demo(const demo_opts *o, demo_job *j) {
    sgm_error err = {0};
    const size_t n = o->n_samples;
    sgm_sampler_config sc;
    sgm_schedule_config shc = sgm_schedule_config_default(SGM_SCHEDULE_KARRAS);
    shc.steps = sample_steps;
    if (sgm_model_load(o->ckpt, 1, 0, &j->net, &err) != SGM_OK ||
        sgm_process_create(sgm_model_process_config(j->net), &j->proc, &err) != SGM_OK ||
        sgm_schedule_create(&shc, j->proc, &j->sched, &err) != SGM_OK ||
        sgm_sampler_config_default("dpmpp_2m", &sc, &err) != SGM_OK ||
        sgm_sampler_create(&sc, j->proc, n, 2, &j->smp, &err) != SGM_OK ||
        !(j->x = malloc(n * 2 * sizeof *j->x))) {
        fprintf(stderr, "sgm demo: %s\n", j->x || err.msg[0] ? err.msg : "out of memory");
        return 1;
    }
    double t1 = cli_now();
    sgm_rng_normal_rows_f64(o->seed + 3, 0, 0, n, 2, j->x);
    const double std0 = sgm_process_sigma(j->proc, j->sched->t[0]);
    for (size_t i = 0; i < n * 2; i++) j->x[i] *= std0;
    sgm_denoiser den = sgm_model_denoiser(j->net);
    sgm_rng rng = sgm_rng_init(o->seed + 3);
    rng.counter = 1;
    if (sgm_sampler_run(j->smp, j->sched, &den, &rng, 0, n, j->x, &err) != SGM_OK) {
        fprintf(stderr, "sgm demo: sampling: %s\n", err.msg);
        return 1;
    }
    sgm_model_unstandardize(j->net, n, SGM_F64, j->x);
    j->sample_s = cli_now() - t1;
    sgm_sampler_stats st;
    sgm_sampler_get_stats(j->smp, &st);
    j->nfe = st.nfe;
    for (size_t i = 0; i < n * 2; i++)
        if (!isfinite(j->x[i])) {
            fprintf(stderr, "sgm demo: non-finite sample (row %zu): training failed\n", i / 2);
            return 1;
        }
    return 0;
}

/* Sliced W2 and MMD^2 against held-out data of the same size, with their
 * noise floors (two held-out sets); the exit code. */
static int score_demo(const demo_opts *o, demo_job *j) {
    sgm_error err = {0};
    const size_t n = o->n_samples;
    sgm_metric_config mc;
    sgm_metric_config_default(&mc);
    mc.seed = o->seed;
    if (sgm_metric_sw2(j->held, n, j->x, n, 2, &mc, &j->sw, &err) != SGM_OK ||
        sgm_metric_sw2(j->held, n, j->held2, n, 2, &mc, &j->sw0, &err) != SGM_OK ||
        sgm_metric_mmd2(j->held, n, j->x, n, 2, &mc, &j->mmd, &err) != SGM_OK) {
        fprintf(stderr, "sgm demo: metrics: %s\n", err.msg);
        return 1;
    }
    mc.bandwidth = j->mmd.param; /* the same kernel for the floor */
    if (sgm_metric_mmd2(j->held, n, j->held2, n, 2, &mc, &j->mmd0, &err) != SGM_OK) {
        fprintf(stderr, "sgm demo: metrics: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* the exact mixture's lines: mean log p of samples and data, mass / weight */
static void report_mixture(text_buf *r, const demo_opts *o, const demo_job *j) {
    sgm_error err = {0};
    sgm_metric_result lm, lh;
    const size_t n = o->n_samples, k = sgm_gmm_components(j->gmm);
    double *mass = malloc(k * sizeof *mass);
    if (mass && sgm_metric_gmm_loglik(j->gmm, j->x, n, &lm, &err) == SGM_OK &&
        sgm_metric_gmm_loglik(j->gmm, j->held, n, &lh, &err) == SGM_OK &&
        sgm_metric_gmm_mass(j->gmm, j->x, n, mass, NULL, &err) == SGM_OK) {
        const double *w = sgm_gmm_weights(j->gmm);
        tb_printf(r, "  exact mixture (%zu components):\n", k);
        tb_printf(r, "    mean log p  samples %.4f (se %.4f), data %.4f (se %.4f), gap %.4f nats\n",
                  lm.value, lm.se, lh.value, lh.se, lh.value - lm.value);
        tb_printf(r, "    mass / weight");
        double mlo = INFINITY, mhi = 0;
        for (size_t i = 0; i < k; i++) {
            double q = mass[i] / w[i];
            mlo = fmin(mlo, q), mhi = fmax(mhi, q);
            tb_printf(r, " %.2f", q);
        }
        tb_printf(r, "  (range [%.2f, %.2f])\n", mlo, mhi);
    } else {
        tb_printf(r, "  exact mixture: %s\n", mass ? err.msg : "out of memory");
    }
    free(mass);
}

/* The report on stdout and in DIR/demo_report.txt; the exit code. */
static int report_demo(const demo_opts *o, const demo_job *j) {
    text_buf *r = calloc(1, sizeof *r);
    if (!r) {
        fprintf(stderr, "sgm demo: out of memory\n");
        return 1;
    }
    const double train_s = j->train_s;
    tb_printf(r, "sgm demo: mlp (width %d, %d residual blocks) on %s (%zu training rows)\n",
              o->width, o->depth, o->spec, o->n_data);
    tb_printf(r, "training:    %d steps, batch %d, %.1f s (%.0f it/s), final loss %.4f (EMA of the loss %.4f)\n",
              o->steps, o->batch, train_s, o->steps / (train_s > 0 ? train_s : 1e-9), j->loss,
              j->ema_loss);
    tb_printf(r, "sampling:    dpmpp_2m, karras schedule, %d steps, NFE %zu, %zu samples, %.3f s\n",
              sample_steps, j->nfe, o->n_samples, j->sample_s);
    tb_printf(r, "quality vs %zu held-out rows (floor: between two held-out sets of that size):\n",
              o->n_samples);
    tb_printf(r, "  sliced W2  %.4f (floor %.4f)\n", j->sw.value, j->sw0.value);
    tb_printf(r, "  MMD^2      %.6f +- %.6f (floor %.6f; RBF, ell %.3f)\n", j->mmd.value,
              j->mmd.se, j->mmd0.value, j->mmd.param);
    if (j->gmm) report_mixture(r, o, j);
    tb_printf(r, "files:       %s, %s, %s\n", o->ckpt, o->png, o->rep_path);
    fputs(r->s, stdout);
    fflush(stdout);
    int code = 0;
    sgm_error err;
    if (sgm_write_file_atomic(o->rep_path, r->s, r->len, &err) != SGM_OK) {
        fprintf(stderr, "sgm demo: %s\n", err.msg);
        code = 1;
    }
    free(r);
    return code;
}

int cmd_demo(int argc, char **argv) {
    cli_args a;
    demo_opts o;
    int rc = parse_demo_args(&a, argc, argv, &o);
    if (rc == CLI_HELP) return 0;
    if (rc < 0) return cli_error(&a, 2);
    demo_job j;
    memset(&j, 0, sizeof j);
    sgm_error err = {0};
    rc = load_demo_data(&o, &j);
    if (rc == 0) rc = train_demo(&o, &j);
    if (rc == 0) rc = sample_demo(&o, &j);
    if (rc == 0 && write_figure(o.dir, o.png, j.held, j.x, o.n_samples, &err) != SGM_OK) {
        fprintf(stderr, "sgm demo: %s\n", err.msg);
        rc = 1;
    }
    if (rc == 0) rc = score_demo(&o, &j);
    if (rc == 0) rc = report_demo(&o, &j);
    free_job(&j);
    return rc;
}
