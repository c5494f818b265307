/* cmd_train.c - `sgm train`: denoising score matching of the `mlp` on a data
 * set (built-in 2-D sets, gmm:FILE.json, .npy, .csv), or of the `unet` on
 * images (fashion-mnist[:DIR], mnist:DIR; optional class labels with label
 * dropout for classifier-free guidance), for any process and
 * parameterization (library: include/sgm/sgm_train.h), with a progress line on
 * stderr, optional JSON-lines log, periodic atomic checkpoints and bit-exact
 * --resume. Exit codes: 0 success; 2 bad input (options, data, checkpoint,
 * architecture for the data shape); 1 runtime failure (a non-finite loss:
 * training stops and the last good checkpoint is kept). Under `mpirun -np P`
 * the global --batch is shared by the P processes (dist.h, docs/scaling.md):
 * gradients are summed by an all-reduce, rank 0 writes the checkpoints and
 * the log. --process mr trains a mean-reverting restoration U-Net (IR-SDE,
 * Luo et al. 2023) on pairs (x0, mu = --degrade of x0): the condition mu
 * enters as extra input channels (sgm_train.h, docs/conditioning.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "cli.h"
#include "dist.h"
#include "precision.h"
#include "train_eval.h"
#include "train_preview.h"
#include "sgm/sgm_train.h"
#include "sgm/sgm_model.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_data.h"
#include "sgm/sgm_ckpt.h"

static const cli_opt train_opts_table[] = {
    {"data", "SPEC", NULL, "{datasets}|gmm:FILE.json|FILE.npy|FILE.csv|fashion-mnist[:DIR]|mnist:DIR"},
    {"n-data", "N", "100000", "rows generated for built-in / gmm data; images: keep the first N (default all)"},
    {"data-seed", "S", "0", "seed of generated data"},
    {"arch", "NAME", "mlp", "network architecture: {arch} (unet: image data)"},
    {"classes", NULL, NULL, "unet: class-conditional on the data set's labels"},
    {"label-dropout", "P", "0.1", "unet --classes: probability of the null class (classifier-free guidance)"},
    {"unet-base", "C", "32", "unet channels of level 0"},
    {"unet-mult", "LIST", "1,2,2", "unet channel multipliers per level"},
    {"unet-attn", "LIST", "0,0,1", "unet attention per level (0/1)"},
    {"unet-mid-attn", "0|1", "1", "unet attention in the middle block"},
    {"unet-res", "N", "2", "unet res blocks per level"},
    {"unet-groups", "G", "8", "unet GroupNorm groups"},
    {"unet-heads", "H", "1", "unet attention heads"},
    {"unet-emb", "E", "4 base", "unet noise-level embedding width"},
    {"width", "W", "256", "mlp hidden width"},
    {"depth", "L", "4", "mlp residual blocks"},
    {"emb", "E", "128", "noise-level embedding width"},
    {"process", "NAME", "vp", "{process}"},
    {"degrade", "SPEC", NULL, "--process mr: the degradation making mu, stages blur:S,down:F,mask:P,noise:S (e.g. blur:1.5,noise:0.05)"},
    {"degrade-seed", "S", "0", "--process mr: seed of the degradation's noise / mask"},
    {"mr-lambda", "L", "1", "--process mr: stationary std lambda (x_T ~ N(mu, lambda^2))"},
    {"mr-alpha-T", "A", "0.005", "--process mr: exp(-thetabar(1)), IR-SDE's eps"},
    {"mr-theta", "KIND", "cosine", "--process mr: theta schedule cosine|constant"},
    {"prediction", "NAME", "edm (mlp), eps (unet, mr)", "{param}"},
    {"sigma-data", "SD", "1", "EDM sigma_data / input scaling"},
    {"weighting", "NAME", "uniform", "{weighting}"},
    {"min-snr-gamma", "G", "5", "gamma of min_snr"},
    {"t-sampling", "NAME", "lognormal (mr: uniform)", "{tsampling}"},
    {"p-mean", "M", "-1.2", "log-normal mean of ln sigma"},
    {"p-std", "S", "1.2", "log-normal std of ln sigma"},
    {"steps", "N", "2000", "train until this global step"},
    {"batch", "B", "1024", "batch size"},
    {"lr", "LR", "2e-3 (mlp with edm, except mr), 1e-3", "peak learning rate"},
    {"lr-min", "LR", "1e-5", "final learning rate of the cosine decay over --steps (negative: constant lr)"},
    {"warmup", "N", "100", "linear warmup steps"},
    {"adamw", NULL, NULL, "decoupled weight decay (AdamW)"},
    {"weight-decay", "WD", "0", "weight decay"},
    {"clip", "C", "1", "global gradient-norm clip (0: off)"},
    {"ema", "D", "0.999", "EMA decay of the weights"},
    {"seed", "S", "0", "seed of the initialisation and the training noise"},
    {"precision", "fp32|bf16", "fp32", CLI_PRECISION_HELP},
    {"resume", "CKPT", NULL, "continue from a checkpoint (bit for bit); its configuration wins over the options, only --data (default: the recorded source), --steps, --out, --log, --save-every, --max-time, --save-every-time, --preview, --precision apply"},
    {"save-every", "N", "1000", "checkpoint period in steps (0: only at the end)"},
    {"log", "FILE.jsonl", NULL, "JSON lines log (one line per --log-every steps)"},
    {"log-every", "N", "50", "log / progress period"},
    {"eval-every", "N", "0", "held-out metrics every N steps (needs --eval-data): JSON line in --log, line on stderr"},
    {"eval-data", "HELDOUT.npy", NULL, "held-out rows of the training data's width (sliced W2 / MMD^2 with noise floors; gmm: data also log-density gap and masses)"},
    {"eval-n", "N", "2000", "rows sampled per evaluation (at most half the held-out rows)"},
    {"ema-warmup", "0|1", "1", "EMA decay min(ema, (1 + k) / (10 + k)) at update k"},
    {"max-time", "MIN", "0", "stop cleanly after MIN minutes of training (final checkpoint; 0: off); the learning-rate schedule still follows --steps"},
    {"save-every-time", "MIN", "0", "also checkpoint when MIN minutes have passed since the last one (0: off)"},
    {"preview", "N", "0", "with each checkpoint, N samples of it as OUT.preview.png (image grid, or 2-D scatter)"},
    {"quiet", NULL, NULL, "no progress line"},
    {"out", "CKPT.safetensors", NULL, "checkpoint to write"},
    {NULL, NULL, NULL, NULL}};

/* The options, read before any work. */
typedef struct train_opts {
    sgm_train_config c;  /* network, process, loss and optimiser */
    const char *spec;    /* --data; NULL: the source --resume records */
    const char *resume, *out, *log, *eval_data;
    size_t n_data, eval_n;
    int eval_every;
    uint64_t data_seed;
    int n_data_given, data_seed_given;
    int unet, classes, quiet;
    int steps, save_every, log_every;
    double max_time, save_every_time; /* minutes; 0: off */
    int preview;                      /* samples per preview picture; 0: off */
    char preview_png[4096];
} train_opts;

/* The training rows (and image labels); the trainer takes them over. */
typedef struct train_data {
    double *x;
    int *labels;
    size_t rows, cols;
} train_data;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* --unet-mult / --unet-attn: one integer in [0, 64] per level */
static int parse_unet_levels(cli_args *a, sgm_unet_config *u) {
    const char *ln[2] = {"unet-mult", "unet-attn"};
    for (int k = 0; k < 2; k++) {
        if (!cli_has(a, ln[k])) continue;
        double *v = NULL;
        size_t nv = 0;
        if (cli_get_list(a, ln[k], &v, &nv) < 0) return -1;
        int r = 0;
        if (nv < 1 || nv > SGM_UNET_MAX_LEVELS) {
            r = cli_fail(a, "--%s: 1 to %d values", ln[k], SGM_UNET_MAX_LEVELS);
        } else if (k == 0) {
            u->n_levels = (int)nv;
            for (int l = 0; l < SGM_UNET_MAX_LEVELS; l++) u->attn[l] = 0;
            /* default attention: the lowest level only */
            if (!cli_has(a, "unet-attn")) u->attn[nv - 1] = 1;
        } else if ((int)nv != u->n_levels) {
            r = cli_fail(a, "--unet-attn needs one value per level (%d)", u->n_levels);
        }
        for (size_t l = 0; r == 0 && l < nv; l++) {
            if (!(v[l] >= 0 && v[l] <= 64 && v[l] == (int)v[l])) r = cli_fail(a, "--%s: bad value", ln[k]);
            else if (k == 0) u->mult[l] = (int)v[l];
            else u->attn[l] = (int)v[l];
        }
        free(v);
        if (r < 0) return -1;
    }
    return 0;
}

/* --arch unet: the U-Net options; --classes needs it */
static int parse_unet_opts(cli_args *a, train_opts *o) {
    if (!o->unet) return o->classes ? cli_fail(a, "--classes needs --arch unet") : 0;
    sgm_unet_config *u = &o->c.net.unet;
    o->c.net.arch = SGM_ARCH_UNET;
    int mid = u->mid_attn;
    if (cli_get_int(a, "unet-base", 1, 4096, &u->base_ch) < 0 ||
        cli_get_int(a, "unet-mid-attn", 0, 1, &mid) < 0 ||
        cli_get_int(a, "unet-res", 1, 16, &u->n_res) < 0 ||
        cli_get_int(a, "unet-groups", 1, 4096, &u->groups) < 0 ||
        cli_get_int(a, "unet-heads", 1, 4096, &u->heads) < 0 ||
        cli_get_int(a, "unet-emb", 1, 65536, &u->emb_dim) < 0 ||
        cli_get_double(a, "label-dropout", &o->c.label_dropout) < 0)
        return -1;
    u->mid_attn = mid;
    if (cli_has(a, "unet-base") && !cli_has(a, "unet-emb")) u->emb_dim = 0;
    return parse_unet_levels(a, u);
}

/* --process mr: the degradation (syntax here, the image shape when the
 * trainer is built) and the process options; they are refused elsewhere */
static int parse_mr(cli_args *a, train_opts *o, int mr) {
    const char *dg = cli_get(a, "degrade");
    if (!mr) {
        if (dg || cli_has(a, "degrade-seed"))
            return cli_fail(a, "--degrade applies to --process mr only");
        if (cli_has(a, "mr-lambda") || cli_has(a, "mr-alpha-T") || cli_has(a, "mr-theta"))
            return cli_fail(a, "--mr-lambda/--mr-alpha-T/--mr-theta apply to --process mr only");
        return 0;
    }
    if (cli_has(a, "resume")) return 0; /* the checkpoint's configuration wins */
    if (!dg)
        return cli_fail(a, "--process mr needs --degrade SPEC (the degradation that makes the "
                           "condition mu, e.g. blur:1.5,noise:0.05)");
    if (cli_has(a, "classes")) return cli_fail(a, "--process mr: --classes is not supported");
    if (cli_has(a, "preview") || cli_has(a, "eval-every") || cli_has(a, "eval-data"))
        return cli_fail(a, "--process mr: --preview / --eval-* sample without a condition; "
                           "restore with `sgm sample --mu`");
    sgm_error err = {0};
    if (strlen(dg) >= sizeof o->c.degrade || sgm_degrade_check(dg, 0, 0, 0, &err) != SGM_OK)
        return cli_fail(a, "--degrade %s: %s", dg, err.msg[0] ? err.msg : "too long");
    snprintf(o->c.degrade, sizeof o->c.degrade, "%s", dg);
    sgm_process_config *pc = &o->c.process;
    static const char *const th[] = {"cosine", "constant", NULL};
    int ti = (int)pc->mr_theta;
    if (cli_get_u64(a, "degrade-seed", &o->c.degrade_seed) < 0 ||
        cli_get_double(a, "mr-lambda", &pc->mr_lambda) < 0 ||
        cli_get_double(a, "mr-alpha-T", &pc->mr_alpha_T) < 0 ||
        cli_get_choice(a, "mr-theta", th, &ti) < 0)
        return -1;
    pc->mr_theta = (sgm_mr_theta)ti;
    if (!(pc->mr_lambda > 0 && isfinite(pc->mr_lambda)))
        return cli_fail(a, "--mr-lambda must be finite and > 0 (got %g)", pc->mr_lambda);
    if (!(pc->mr_alpha_T > 0 && pc->mr_alpha_T < 1))
        return cli_fail(a, "--mr-alpha-T must be in (0, 1) (got %g)", pc->mr_alpha_T);
    return 0;
}

/* the numbers of the loss, the optimiser and the run */
static int parse_numbers(cli_args *a, train_opts *o) {
    sgm_train_config *c = &o->c;
    int wd_given, wu = 100;
    if (cli_get_size(a, "n-data", 1, &o->n_data) < 0 ||
        cli_get_u64(a, "data-seed", &o->data_seed) < 0 ||
        cli_get_int(a, "width", 1, 65536, &c->net.mlp.width) < 0 ||
        cli_get_int(a, "depth", 0, 100, &c->net.mlp.n_blocks) < 0 ||
        cli_get_int(a, "emb", 2, 65536, &c->net.mlp.d_emb) < 0 ||
        cli_get_double(a, "sigma-data", &c->sigma_data) < 0 ||
        cli_get_double(a, "min-snr-gamma", &c->min_snr_gamma) < 0 ||
        cli_get_double(a, "p-mean", &c->p_mean) < 0 || cli_get_double(a, "p-std", &c->p_std) < 0 ||
        cli_get_int(a, "steps", 0, 2000000000, &o->steps) < 0 ||
        cli_get_int(a, "batch", 1, 1 << 24, &c->batch) < 0 ||
        cli_get_double(a, "lr", &c->lr) < 0 || cli_get_double(a, "lr-min", &c->lr_min) < 0 ||
        cli_get_double(a, "clip", &c->clip) < 0 || cli_get_double(a, "ema", &c->ema) < 0 ||
        cli_get_u64(a, "seed", &c->seed) < 0 ||
        cli_get_int(a, "save-every", 0, 2000000000, &o->save_every) < 0 ||
        cli_get_int(a, "log-every", 1, 2000000000, &o->log_every) < 0 ||
        (wd_given = cli_get_double(a, "weight-decay", &c->weight_decay)) < 0 ||
        cli_get_int(a, "warmup", 0, 2000000000, &wu) < 0 ||
        cli_get_int(a, "eval-every", 0, 2000000000, &o->eval_every) < 0 ||
        cli_get_size(a, "eval-n", 2, &o->eval_n) < 0 || cli_get_bool(a, "ema-warmup", &c->ema_warmup) < 0)
        return -1;
    c->warmup = wu;
    if (cli_get_double(a, "max-time", &o->max_time) < 0 ||
        cli_get_double(a, "save-every-time", &o->save_every_time) < 0 ||
        cli_get_int(a, "preview", 0, 4096, &o->preview) < 0)
        return -1;
    if (!(o->max_time >= 0 && o->max_time <= 1e7))
        return cli_fail(a, "--max-time: minutes in [0, 1e7] (0: off)");
    if (!(o->save_every_time >= 0 && o->save_every_time <= 1e7))
        return cli_fail(a, "--save-every-time: minutes in [0, 1e7] (0: off)");
    if (cli_has(a, "adamw")) {
        c->decoupled = 1;
        if (!wd_given) c->weight_decay = 1e-2;
    }
    if (c->lr_min >= 0) c->lr_total = o->steps; /* the cosine decay ends with the run */
    return 0;
}

/* CLI_PARSED, CLI_HELP (usage printed) or -1 (a->err set) */
static int parse_train_args(cli_args *a, int argc, char **argv, train_opts *o) {
    memset(o, 0, sizeof *o);
    const cli_opt *const tables[] = {train_opts_table, NULL};
    int r = cli_start(a, "train", tables, argc, argv, "--data SPEC --out CKPT.safetensors [options]");
    if (r != CLI_PARSED) return r;
    if ((!cli_has(a, "resume") && cli_require(a, "data") < 0) || cli_require(a, "out") < 0)
        return -1;
    int arch = SGM_ARCH_MLP, kind = SGM_PROCESS_VP_LINEAR, par;
    if (cli_get_enum(a, "arch", CLI_ENUM_ARCH, &arch) < 0 ||
        cli_get_enum(a, "process", SGM_ENUM_PROCESS, &kind) < 0)
        return -1;
    /* per-network defaults (parameterization, rate): sgm_train_config_for */
    par = sgm_train_param_default((sgm_arch)arch, (sgm_process_kind)kind);
    if (cli_get_enum(a, "prediction", SGM_ENUM_PARAM, &par) < 0) return -1;
    o->c = sgm_train_config_for((sgm_arch)arch, (sgm_process_kind)kind, (sgm_param)par);
    if (parse_mr(a, o, kind == SGM_PROCESS_MR) < 0) return -1;
    int w = (int)o->c.weighting, ts = (int)o->c.tsampling;
    if (cli_get_enum(a, "weighting", SGM_ENUM_WEIGHTING, &w) < 0 ||
        cli_get_enum(a, "t-sampling", SGM_ENUM_TSAMPLING, &ts) < 0)
        return -1;
    o->c.weighting = (sgm_weighting)w;
    o->c.tsampling = (sgm_tsampling)ts;
    o->spec = cli_get(a, "data");
    o->resume = cli_get(a, "resume");
    o->out = cli_get(a, "out");
    o->log = cli_get(a, "log");
    /* output paths before any work (exit 2): a missing or unwritable folder */
    if (cli_check_out(a, "out", o->out) < 0 || (o->log && cli_check_out(a, "log", o->log) < 0))
        return -1;
    o->n_data = 100000;
    o->n_data_given = cli_has(a, "n-data");
    o->data_seed_given = cli_has(a, "data-seed");
    o->unet = arch == SGM_ARCH_UNET;
    o->classes = cli_has(a, "classes");
    o->quiet = cli_has(a, "quiet");
    o->steps = 2000, o->save_every = 1000, o->log_every = 50;
    o->eval_n = 2000;
    o->eval_data = cli_get(a, "eval-data");
    if (parse_numbers(a, o) < 0 || parse_unet_opts(a, o) < 0 ||
        cli_get_precision(a, &o->c.precision) < 0)
        return -1;
    if (o->preview > 0 && (train_preview_path(o->out, o->preview_png, sizeof o->preview_png) < 0 ||
                           cli_check_out(a, "out", o->preview_png) < 0))
        return cli_fail(a, "--preview: cannot write %s next to --out", o->preview_png);
    return CLI_PARSED;
}

/* --resume: the data source the checkpoint records fills what is not given.
 * 0, or the exit code after the message. */
static int resume_source(train_opts *o, int *recorded_n) {
    sgm_error err = {0};
    sgm_train_config rc_cfg;
    size_t dck;
    if (sgm_ckpt_train_config(o->resume, &rc_cfg, &dck, &err) != SGM_OK) {
        fprintf(stderr, "sgm train: %s\n", err.msg);
        return 2;
    }
    if (!o->spec) {
        if (!rc_cfg.data_spec[0]) {
            fprintf(stderr, "sgm train: %s records no data source: give --data\n", o->resume);
            return 2;
        }
        snprintf(o->c.data_spec, sizeof o->c.data_spec, "%s", rc_cfg.data_spec);
        o->spec = o->c.data_spec;
    }
    *recorded_n = rc_cfg.data_n != 0;
    if (!o->n_data_given && rc_cfg.data_n) o->n_data = rc_cfg.data_n;
    if (!o->data_seed_given) o->data_seed = rc_cfg.data_seed;
    return 0;
}

/* image data as float64 rows; with --classes, K = the largest label + 1 */
static int load_images(train_opts *o, train_data *td) {
    sgm_error err = {0};
    float *xf = NULL;
    int ic, ih, iw;
    if (sgm_data_load_images(o->spec, o->n_data, &xf, &td->labels, &td->rows, &ic, &ih, &iw,
                             &err)) {
        fprintf(stderr, "sgm train: %s\n", err.msg);
        return 2;
    }
    td->cols = (size_t)ic * (size_t)ih * (size_t)iw;
    td->x = malloc(td->rows * td->cols * sizeof(double));
    if (!td->x) {
        free(xf);
        fprintf(stderr, "sgm train: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < td->rows * td->cols; i++) td->x[i] = xf[i];
    free(xf);
    sgm_unet_config *u = &o->c.net.unet;
    u->in_ch = ic, u->height = ih, u->width = iw;
    if (o->c.degrade[0]) u->in_ch = 2 * ic, u->out_ch = ic; /* MR: [x_t, mu] in, x out */
    if (o->classes) {
        int K = 0;
        for (size_t i = 0; i < td->rows; i++)
            if (td->labels[i] + 1 > K) K = td->labels[i] + 1;
        u->n_classes = K;
    }
    return 0;
}

/* The training data (--data or the recorded source), all finite. 0, or the
 * exit code after the message (td is freed then). */
static int load_train_data(train_opts *o, train_data *td) {
    int recorded_n = 0, code = 0;
    if (o->resume && (code = resume_source(o, &recorded_n)) != 0) return code;
    const int images = sgm_data_is_image_spec(o->spec);
    if (images && !o->n_data_given && !recorded_n) o->n_data = 0; /* all the images */
    if (o->spec != o->c.data_spec) snprintf(o->c.data_spec, sizeof o->c.data_spec, "%s", o->spec);
    o->c.data_n = o->n_data;
    o->c.data_seed = o->data_seed;
    sgm_error err = {0};
    if (images) {
        code = load_images(o, td);
    } else if (o->unet) {
        fprintf(stderr, "sgm train: --arch unet needs image data (fashion-mnist[:DIR], mnist:DIR)\n");
        code = 2;
    } else if (sgm_data_load(o->spec, o->n_data, o->data_seed, &td->x, &td->rows, &td->cols,
                             &err)) {
        fprintf(stderr, "sgm train: %s\n", err.msg);
        code = 2;
    }
    if (code == 0 && o->c.degrade[0] && !o->unet) /* MR mlp: mu as extra input features */
        o->c.net.mlp.d_cond = (int)td->cols;
    for (size_t i = 0; code == 0 && i < td->rows * td->cols; i++)
        if (!isfinite(td->x[i])) {
            fprintf(stderr, "sgm train: non-finite value in the data (row %zu)\n", i / td->cols);
            code = 2;
        }
    if (code) {
        free(td->x), free(td->labels);
        td->x = NULL, td->labels = NULL;
    }
    return code;
}

/* --resume of an MR checkpoint with --preview / --eval-every (parse_mr
 * refuses them for a new run) */
static sgm_status mr_refusal(sgm_error *err) {
    snprintf(err->msg, sizeof err->msg, "--process mr: --preview / --eval-* sample without a "
                                        "condition; restore with `sgm sample --mu`");
    return SGM_ERR_INVALID_ARG;
}

/* A new trainer, or the --resume one, on the data (which it consumes). */
static int make_trainer(const train_opts *o, train_data *td, sgm_trainer **tr) {
    sgm_error err = {0};
    sgm_status rc = o->resume
                        ? sgm_trainer_resume(o->resume, td->x, td->rows, td->cols, tr, &err)
                        : sgm_trainer_create(&o->c, td->x, td->rows, td->cols, tr, &err);
    free(td->x);
    td->x = NULL;
    if (rc == SGM_OK && td->labels && sgm_net_n_classes(sgm_trainer_net(*tr)) > 0)
        rc = sgm_trainer_set_labels(*tr, td->labels, td->rows, &err);
    free(td->labels);
    td->labels = NULL;
    /* a resumed trainer runs fp32 until told (precision is not recorded) */
    if (rc == SGM_OK && o->resume && o->c.precision != SGM_NN_FP32)
        rc = sgm_net_set_precision(sgm_trainer_net(*tr), o->c.precision, 0, NULL, &err);
    if (rc == SGM_OK && cli_dist_rank() == 0)
        cli_precision_note("train", o->c.precision, sgm_trainer_precision(*tr),
                           sgm_net_get_config(sgm_trainer_net(*tr))->arch != SGM_ARCH_MLP);
    if (rc == SGM_OK && sgm_trainer_config(*tr)->degrade[0] && (o->preview > 0 || o->eval_every > 0))
        rc = mr_refusal(&err);
    if (rc != SGM_OK) {
        fprintf(stderr, "sgm train: %s\n", err.msg);
        sgm_trainer_free(*tr);
        *tr = NULL;
        return rc == SGM_ERR_NOMEM ? 1 : 2;
    }
    return 0;
}

/* the progress line and the --log line of step s */
static void report_step(const train_opts *o, sgm_trainer *tr, FILE *log, long s, long start,
                        double t0, double loss) {
    double el = now_s() - t0, ips = (double)(s - start) / (el > 0 ? el : 1e-9);
    if (!o->quiet)
        fprintf(stderr, "\rstep %ld/%d  loss %.5f  ema %.5f  %.1f it/s  ETA %.0f s   ", s,
                o->steps, loss, sgm_trainer_ema_loss(tr), ips, (double)(o->steps - s) / ips);
    if (log)
        fprintf(log,
                "{\"step\":%ld,\"loss\":%.9g,\"ema_loss\":%.9g,\"it_s\":%.4g,\"time_s\":%.4g,"
                "\"precision\":\"%s\"}\n",
                s, loss, sgm_trainer_ema_loss(tr), ips, el,
                sgm_nn_precision_name(sgm_trainer_precision(tr)));
    if (log) fflush(log); /* a running job's log can be followed */
}

/* The checkpoint, written by rank 0; every rank gets its code (dist.h). */
static int save_ckpt(const train_opts *o, const sgm_trainer *tr) {
    sgm_error err = {0};
    int code = 0;
    if (cli_dist_rank() == 0 && sgm_trainer_save(tr, o->out, &err) != SGM_OK) {
        if (!o->quiet) fputc('\n', stderr); /* ends the progress line */
        fprintf(stderr, "sgm train: %s\n", err.msg);
        code = 1;
    }
    return cli_dist_agree(code);
}

/* After a checkpoint: the preview picture (rank 0); every rank gets the code. */
static int after_save(const train_opts *o) {
    int code = 0;
    if (o->preview > 0 && cli_dist_rank() == 0)
        code = train_preview_write(o->out, o->preview_png, o->preview, o->quiet);
    return cli_dist_agree(code);
}

/* --max-time / --save-every-time: bit 1 "the budget is spent", bit 2 "a
 * timed checkpoint is due", by rank 0's clock so that every rank agrees. */
static int time_flags(const train_opts *o, double t0, double t_saved) {
    if (o->max_time <= 0 && o->save_every_time <= 0) return 0;
    int f = 0;
    if (cli_dist_rank() == 0) {
        double now = now_s();
        if (o->max_time > 0 && now - t0 >= 60 * o->max_time) f |= 1;
        if (o->save_every_time > 0 && now - t_saved >= 60 * o->save_every_time) f |= 2;
    }
    return cli_dist_agree(f); /* the largest: rank 0's flags, the others pass 0 */
}

/* Trains up to --steps (or the --max-time budget) with periodic checkpoints;
 * the exit code. */
static int run_train(const train_opts *o, sgm_trainer *tr, FILE *log, const train_eval *ev) {
    sgm_error err = {0};
    int code = 0, out_of_time = 0;
    long start = sgm_trainer_steps_done(tr);
    double t0 = now_s(), t_saved = t0;
    while (sgm_trainer_steps_done(tr) < o->steps) {
        double loss;
        sgm_status st = sgm_trainer_step(tr, &loss, &err);
        if (st != SGM_OK) {
            if (!o->quiet) fputc('\n', stderr);
            fprintf(stderr, "sgm train: %s; stopped, the last checkpoint is kept\n", err.msg);
            /* a non-finite loss is seen by every rank (after the all-reduce);
               any other failure is this rank's alone: end the whole job */
            if (st != SGM_ERR_NONFINITE) cli_dist_abort(1);
            code = 1;
            break;
        }
        long s = sgm_trainer_steps_done(tr);
        int tf = time_flags(o, t0, t_saved);
        out_of_time = tf & 1;
        if (s % o->log_every == 0 || s == o->steps || out_of_time)
            report_step(o, tr, log, s, start, t0, loss);
        int eval_now = ev->every > 0 && s % ev->every == 0;
        if ((o->save_every > 0 && s % o->save_every == 0) || s == o->steps || eval_now || tf) {
            if ((code = save_ckpt(o, tr)) != 0 || (code = after_save(o)) != 0) break;
            t_saved = now_s();
        }
        /* the held-out metrics of the checkpoint just written (rank 0 alone
           under mpirun; every rank learns its outcome) */
        if (eval_now) {
            if (cli_dist_rank() == 0) code = train_eval_run(ev, o->out, s, log, o->quiet);
            if ((code = cli_dist_agree(code)) != 0) break;
        }
        if (out_of_time) break;
    }
    if (code == 0 && sgm_trainer_steps_done(tr) == start && o->steps <= start &&
        (code = save_ckpt(o, tr)) == 0)
        code = after_save(o);
    if (!o->quiet && code == 0) fputc('\n', stderr);
    if (code == 0 && out_of_time && cli_dist_rank() == 0) {
        long s = sgm_trainer_steps_done(tr);
        fprintf(stderr, "sgm train: --max-time %g min reached at step %ld of %d; checkpoint %s "
                        "(continue with --resume %s)\n", o->max_time, s, o->steps, o->out, o->out);
        if (log) {
            fprintf(log, "{\"step\":%ld,\"stopped\":\"max-time\",\"time_s\":%.4g}\n", s,
                    now_s() - t0);
            fflush(log);
        }
    }
    return code;
}

/* Under mpirun -np P: this rank's share of the global batch and the
 * gradient all-reduce; 0, or 2 after the message when P > batch. */
static int setup_shard(sgm_trainer *tr, cli_dist_timing *tm) {
    int P = cli_dist_size(), B = sgm_trainer_config(tr)->batch;
    if (P == 1) return 0;
    if (B < P) {
        fprintf(stderr, "sgm train: --batch %d is smaller than the %d MPI processes (each needs "
                        "at least one row)\n", B, P);
        return 2;
    }
    size_t lo, hi;
    cli_dist_share((size_t)B, &lo, &hi);
    sgm_train_shard sh = {(int)lo, (int)(hi - lo), cli_dist_reduce_grad, tm};
    sgm_error err = {0};
    if (sgm_trainer_set_shard(tr, &sh, &err) != SGM_OK) {
        fprintf(stderr, "sgm train: %s\n", err.msg);
        return 2;
    }
    return 0;
}

/* Under mpirun: the time per step and the part spent in the all-reduce */
static void report_timing(const train_opts *o, long steps, double wall, const cli_dist_timing *tm) {
    if (cli_dist_size() == 1 || o->quiet || steps <= 0) return;
    double n = (double)steps;
    fprintf(stderr, "sgm train: %d processes: %.3f ms/step, of which all-reduce %.3f ms (%.1f%%)",
            cli_dist_size(), 1e3 * wall / n, 1e3 * tm->seconds / n,
            100 * tm->seconds / (wall > 0 ? wall : 1));
    if (tm->profile) fprintf(stderr, ", waiting for the slowest rank %.3f ms", 1e3 * tm->wait / n);
    fputc('\n', stderr);
}

int cmd_train(int argc, char **argv) {
    cli_args a;
    train_opts o;
    int r = parse_train_args(&a, argc, argv, &o);
    if (r == CLI_HELP) return 0;
    if (r < 0) return cli_error(&a, 2);
    train_data td = {NULL, NULL, 0, 0};
    sgm_trainer *tr = NULL;
    train_eval ev;
    int code = load_train_data(&o, &td);
    /* --eval-data is checked against the data's width before any training */
    if (code == 0 && (code = train_eval_open(&ev, o.eval_data, td.cols, o.spec, o.eval_every,
                                             o.eval_n)) != 0) {
        train_eval_close(&ev);
        free(td.x), free(td.labels);
    }
    if (code == 0 && (code = make_trainer(&o, &td, &tr)) != 0) train_eval_close(&ev);
    if (code) return code;
    cli_dist_timing tm = {0, 0, 0, getenv("SGM_MPI_PROFILE") != NULL};
    if ((code = setup_shard(tr, &tm)) != 0) {
        sgm_trainer_free(tr);
        train_eval_close(&ev);
        return code;
    }
    FILE *log = NULL;
    if (o.log && cli_dist_rank() == 0 && !(log = fopen(o.log, o.resume ? "a" : "w"))) {
        fprintf(stderr, "sgm train: cannot open %s\n", o.log);
        code = 2;
    }
    if ((code = cli_dist_agree(code)) != 0) {
        sgm_trainer_free(tr);
        train_eval_close(&ev);
        return code;
    }
    long s0 = sgm_trainer_steps_done(tr);
    double t0 = now_s();
    code = run_train(&o, tr, log, &ev);
    report_timing(&o, sgm_trainer_steps_done(tr) - s0, now_s() - t0, &tm);
    train_eval_close(&ev);
    if (log) fclose(log);
    sgm_trainer_free(tr);
    return code;
}
