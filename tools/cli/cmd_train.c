/* cmd_train.c - `sgm train`: denoising score matching of the `mlp` on a data
 * set (built-in 2-D sets, gmm:FILE.json, .npy, .csv), or of the `unet` on
 * images (fashion-mnist[:DIR], mnist:DIR; optional class labels with label
 * dropout for classifier-free guidance), for any process and
 * parameterization (library: include/sgm/sgm_train.h), with a progress line on
 * stderr, optional JSON-lines log, periodic atomic checkpoints and bit-exact
 * --resume. Exit codes: 0 success; 2 bad input (options, data, checkpoint,
 * architecture for the data shape); 1 runtime failure (a non-finite loss:
 * training stops and the last good checkpoint is kept). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "cli.h"
#include "sgm/sgm_train.h"
#include "sgm/sgm_model.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_data.h"
#include "sgm/sgm_ckpt.h"

static const cli_opt train_opts[] = {
    {"data", "SPEC", NULL, "moons|swissroll|checkerboard|8gaussians|rings|pinwheel|gmm:FILE.json|FILE.npy|FILE.csv|fashion-mnist[:DIR]|mnist:DIR"},
    {"n-data", "N", "100000", "rows generated for built-in / gmm data; images: keep the first N (default all)"},
    {"data-seed", "S", "0", "seed of generated data"},
    {"arch", "NAME", "mlp", "network architecture: mlp|unet (unet: image data)"},
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
    {"process", "NAME", "vp", "ve|vp|vp-cosine|vp-discrete|subvp|flow"},
    {"prediction", "NAME", "eps", "eps|x0|v|flow|edm"},
    {"sigma-data", "SD", "1", "EDM sigma_data / input scaling"},
    {"weighting", "NAME", "uniform", "uniform|likelihood|min_snr|edm"},
    {"min-snr-gamma", "G", "5", "gamma of min_snr"},
    {"t-sampling", "NAME", "lognormal", "uniform|lognormal|importance"},
    {"p-mean", "M", "-1.2", "log-normal mean of ln sigma"},
    {"p-std", "S", "1.2", "log-normal std of ln sigma"},
    {"steps", "N", "2000", "train until this global step"},
    {"batch", "B", "1024", "batch size"},
    {"lr", "LR", "1e-3", "peak learning rate"},
    {"lr-min", "LR", "= lr", "final learning rate of the cosine decay"},
    {"warmup", "N", "100", "linear warmup steps"},
    {"adamw", NULL, NULL, "decoupled weight decay (AdamW)"},
    {"weight-decay", "WD", "0", "weight decay"},
    {"clip", "C", "1", "global gradient-norm clip (0: off)"},
    {"ema", "D", "0.999", "EMA decay of the weights"},
    {"seed", "S", "0", "seed of the initialisation and the training noise"},
    {"resume", "CKPT", NULL, "continue from a checkpoint (bit for bit); its configuration wins over the options, only --data (default: the recorded source), --steps, --out, --log, --save-every apply"},
    {"save-every", "N", "1000", "checkpoint period in steps (0: only at the end)"},
    {"log", "FILE.jsonl", NULL, "JSON lines log (one line per --log-every steps)"},
    {"log-every", "N", "50", "log / progress period"},
    {"quiet", NULL, NULL, "no progress line"},
    {"out", "CKPT.safetensors", NULL, "checkpoint to write"},
    {NULL, NULL, NULL, NULL}};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cmd_train(int argc, char **argv) {
    cli_args a;
    memset(&a, 0, sizeof a);
    a.cmd = "train";
    cli_add_opts(&a, train_opts);
    if (cli_parse(&a, argc, argv) < 0) goto bad;
    if (a.help) {
        cli_usage(&a, stdout, "--data SPEC --out CKPT.safetensors [options]");
        return 0;
    }
    if ((!cli_has(&a, "resume") && cli_require(&a, "data") < 0) || cli_require(&a, "out") < 0)
        goto bad;
    const char *arch = cli_get(&a, "arch");
    if (arch && strcmp(arch, "mlp") != 0 && strcmp(arch, "unet") != 0) {
        cli_fail(&a, "--arch %s: expected mlp|unet", arch);
        goto bad;
    }
    const int unet = arch && strcmp(arch, "unet") == 0;
    sgm_process_kind kind = SGM_PROCESS_VP_LINEAR;
    sgm_param par = SGM_PARAM_EPS;
    if (cli_has(&a, "process") && sgm_process_kind_from_name(cli_get(&a, "process"), &kind)) {
        cli_fail(&a, "--process %s: unknown process", cli_get(&a, "process"));
        goto bad;
    }
    if (cli_has(&a, "prediction") && sgm_param_from_name(cli_get(&a, "prediction"), &par)) {
        cli_fail(&a, "--prediction %s: expected eps|x0|v|flow|edm", cli_get(&a, "prediction"));
        goto bad;
    }
    sgm_train_config c = sgm_train_config_default(kind, par);
    if (cli_has(&a, "weighting") && sgm_weighting_from_name(cli_get(&a, "weighting"), &c.weighting)) {
        cli_fail(&a, "--weighting %s: expected uniform|likelihood|min_snr|edm", cli_get(&a, "weighting"));
        goto bad;
    }
    if (cli_has(&a, "t-sampling") &&
        sgm_tsampling_from_name(cli_get(&a, "t-sampling"), &c.tsampling)) {
        cli_fail(&a, "--t-sampling %s: expected uniform|lognormal|importance",
                 cli_get(&a, "t-sampling"));
        goto bad;
    }
    size_t n_data = 100000;
    uint64_t data_seed = 0;
    int steps = 2000, save_every = 1000, log_every = 50, wd_given;
    if (cli_get_size(&a, "n-data", 1, &n_data) < 0 || cli_get_u64(&a, "data-seed", &data_seed) < 0 ||
        cli_get_int(&a, "width", 1, 65536, &c.net.mlp.width) < 0 ||
        cli_get_int(&a, "depth", 0, 100, &c.net.mlp.n_blocks) < 0 ||
        cli_get_int(&a, "emb", 2, 65536, &c.net.mlp.d_emb) < 0 ||
        cli_get_double(&a, "sigma-data", &c.sigma_data) < 0 ||
        cli_get_double(&a, "min-snr-gamma", &c.min_snr_gamma) < 0 ||
        cli_get_double(&a, "p-mean", &c.p_mean) < 0 || cli_get_double(&a, "p-std", &c.p_std) < 0 ||
        cli_get_int(&a, "steps", 0, 2000000000, &steps) < 0 ||
        cli_get_int(&a, "batch", 1, 1 << 24, &c.batch) < 0 ||
        cli_get_double(&a, "lr", &c.lr) < 0 || cli_get_double(&a, "lr-min", &c.lr_min) < 0 ||
        cli_get_double(&a, "clip", &c.clip) < 0 || cli_get_double(&a, "ema", &c.ema) < 0 ||
        cli_get_u64(&a, "seed", &c.seed) < 0 ||
        cli_get_int(&a, "save-every", 0, 2000000000, &save_every) < 0 ||
        cli_get_int(&a, "log-every", 1, 2000000000, &log_every) < 0 ||
        (wd_given = cli_get_double(&a, "weight-decay", &c.weight_decay)) < 0)
        goto bad;
    int wu = 100;
    if (cli_get_int(&a, "warmup", 0, 2000000000, &wu) < 0) goto bad;
    c.warmup = wu;
    if (cli_has(&a, "adamw")) {
        c.decoupled = 1;
        if (!wd_given) c.weight_decay = 1e-2;
    }
    if (cli_has(&a, "lr-min")) c.lr_total = steps;
    if (unet) {
        sgm_unet_config *u = &c.net.unet;
        c.net.arch = SGM_ARCH_UNET;
        int mid = u->mid_attn;
        if (cli_get_int(&a, "unet-base", 1, 4096, &u->base_ch) < 0 ||
            cli_get_int(&a, "unet-mid-attn", 0, 1, &mid) < 0 ||
            cli_get_int(&a, "unet-res", 1, 16, &u->n_res) < 0 ||
            cli_get_int(&a, "unet-groups", 1, 4096, &u->groups) < 0 ||
            cli_get_int(&a, "unet-heads", 1, 4096, &u->heads) < 0 ||
            cli_get_int(&a, "unet-emb", 1, 65536, &u->emb_dim) < 0 ||
            cli_get_double(&a, "label-dropout", &c.label_dropout) < 0)
            goto bad;
        u->mid_attn = mid;
        if (cli_has(&a, "unet-base") && !cli_has(&a, "unet-emb")) u->emb_dim = 0;
        const char *ln[2] = {"unet-mult", "unet-attn"};
        for (int k = 0; k < 2; k++) {
            if (!cli_has(&a, ln[k])) continue;
            double *v = NULL;
            size_t nv = 0;
            if (cli_get_list(&a, ln[k], &v, &nv) < 0) goto bad;
            if (nv < 1 || nv > SGM_UNET_MAX_LEVELS) {
                free(v);
                cli_fail(&a, "--%s: 1 to %d values", ln[k], SGM_UNET_MAX_LEVELS);
                goto bad;
            }
            if (k == 0) {
                u->n_levels = (int)nv;
                for (int l = 0; l < SGM_UNET_MAX_LEVELS; l++) u->attn[l] = 0;
                /* default attention: the lowest level only */
                if (!cli_has(&a, "unet-attn")) u->attn[nv - 1] = 1;
            } else if ((int)nv != u->n_levels) {
                free(v);
                cli_fail(&a, "--unet-attn needs one value per level (%d)", u->n_levels);
                goto bad;
            }
            for (size_t l = 0; l < nv; l++) {
                if (!(v[l] >= 0 && v[l] <= 64 && v[l] == (int)v[l])) {
                    free(v);
                    cli_fail(&a, "--%s: bad value", ln[k]);
                    goto bad;
                }
                if (k == 0) u->mult[l] = (int)v[l];
                else u->attn[l] = (int)v[l];
            }
            free(v);
        }
    } else if (cli_has(&a, "classes")) {
        cli_fail(&a, "--classes needs --arch unet");
        goto bad;
    }

    sgm_error err = {0};
    const char *spec = cli_get(&a, "data");
    sgm_train_config rc_cfg;
    if (cli_has(&a, "resume")) { /* the data source of the checkpoint unless given */
        size_t dck;
        if (sgm_ckpt_train_config(cli_get(&a, "resume"), &rc_cfg, &dck, &err) != SGM_OK) {
            fprintf(stderr, "sgm train: %s\n", err.msg);
            return 2;
        }
        if (!spec) {
            if (!rc_cfg.data_spec[0]) {
                fprintf(stderr, "sgm train: %s records no data source: give --data\n",
                        cli_get(&a, "resume"));
                return 2;
            }
            spec = rc_cfg.data_spec;
        }
        if (!cli_has(&a, "n-data") && rc_cfg.data_n) n_data = rc_cfg.data_n;
        if (!cli_has(&a, "data-seed")) data_seed = rc_cfg.data_seed;
    }
    const int images = sgm_data_is_image_spec(spec);
    if (images && !cli_has(&a, "n-data") && !(cli_has(&a, "resume") && rc_cfg.data_n))
        n_data = 0; /* all the images */
    snprintf(c.data_spec, sizeof c.data_spec, "%s", spec);
    c.data_n = n_data;
    c.data_seed = data_seed;
    double *data = NULL;
    int *labels = NULL;
    size_t rows, cols;
    if (images) {
        float *xf = NULL;
        int ic, ih, iw;
        if (sgm_data_load_images(spec, n_data, &xf, &labels, &rows, &ic, &ih, &iw, &err)) {
            fprintf(stderr, "sgm train: %s\n", err.msg);
            return 2;
        }
        cols = (size_t)ic * (size_t)ih * (size_t)iw;
        data = malloc(rows * cols * sizeof(double));
        if (!data) {
            free(xf), free(labels);
            fprintf(stderr, "sgm train: out of memory\n");
            return 1;
        }
        for (size_t i = 0; i < rows * cols; i++) data[i] = xf[i];
        free(xf);
        c.net.unet.in_ch = ic, c.net.unet.height = ih, c.net.unet.width = iw;
        if (cli_has(&a, "classes")) {
            int K = 0;
            for (size_t i = 0; i < rows; i++)
                if (labels[i] + 1 > K) K = labels[i] + 1;
            c.net.unet.n_classes = K;
        }
    } else if (unet) {
        fprintf(stderr, "sgm train: --arch unet needs image data (fashion-mnist[:DIR], mnist:DIR)\n");
        return 2;
    } else if (sgm_data_load(spec, n_data, data_seed, &data, &rows, &cols, &err)) {
        fprintf(stderr, "sgm train: %s\n", err.msg);
        return 2;
    }
    for (size_t i = 0; i < rows * cols; i++)
        if (!isfinite(data[i])) {
            fprintf(stderr, "sgm train: non-finite value in the data (row %zu)\n", i / cols);
            free(data), free(labels);
            return 2;
        }
    sgm_trainer *tr = NULL;
    sgm_status rc = cli_has(&a, "resume")
                        ? sgm_trainer_resume(cli_get(&a, "resume"), data, rows, cols, &tr, &err)
                        : sgm_trainer_create(&c, data, rows, cols, &tr, &err);
    free(data);
    if (rc == SGM_OK && labels && sgm_net_n_classes(sgm_trainer_net(tr)) > 0)
        rc = sgm_trainer_set_labels(tr, labels, rows, &err);
    free(labels);
    if (rc != SGM_OK) {
        fprintf(stderr, "sgm train: %s\n", err.msg);
        sgm_trainer_free(tr);
        return rc == SGM_ERR_NOMEM ? 1 : 2;
    }
    FILE *log = NULL;
    if (cli_has(&a, "log")) {
        log = fopen(cli_get(&a, "log"), cli_has(&a, "resume") ? "a" : "w");
        if (!log) {
            fprintf(stderr, "sgm train: cannot open %s\n", cli_get(&a, "log"));
            sgm_trainer_free(tr);
            return 2;
        }
    }
    const char *out = cli_get(&a, "out");
    int quiet = cli_has(&a, "quiet"), code = 0;
    long start = sgm_trainer_steps_done(tr);
    double t0 = now_s();
    while (sgm_trainer_steps_done(tr) < steps) {
        double loss;
        if (sgm_trainer_step(tr, &loss, &err) != SGM_OK) {
            if (!quiet) fputc('\n', stderr);
            fprintf(stderr, "sgm train: %s; stopped, the last checkpoint is kept\n", err.msg);
            code = 1;
            break;
        }
        long s = sgm_trainer_steps_done(tr);
        if (s % log_every == 0 || s == steps) {
            double el = now_s() - t0, ips = (double)(s - start) / (el > 0 ? el : 1e-9);
            if (!quiet)
                fprintf(stderr, "\rstep %ld/%d  loss %.5f  ema %.5f  %.1f it/s  ETA %.0f s   ", s,
                        steps, loss, sgm_trainer_ema_loss(tr), ips, (double)(steps - s) / ips);
            if (log)
                fprintf(log, "{\"step\":%ld,\"loss\":%.9g,\"ema_loss\":%.9g,\"it_s\":%.4g,\"time_s\":%.4g}\n",
                        s, loss, sgm_trainer_ema_loss(tr), ips, el);
            if (log) fflush(log); /* a running job's log can be followed */
        }
        if ((save_every > 0 && s % save_every == 0) || s == steps) {
            if (sgm_trainer_save(tr, out, &err) != SGM_OK) {
                fprintf(stderr, "\nsgm train: %s\n", err.msg);
                code = 1;
                break;
            }
        }
    }
    if (code == 0 && sgm_trainer_steps_done(tr) == start && steps <= start) {
        if (sgm_trainer_save(tr, out, &err) != SGM_OK) {
            fprintf(stderr, "sgm train: %s\n", err.msg);
            code = 1;
        }
    }
    if (!quiet && code == 0) fputc('\n', stderr);
    if (log) fclose(log);
    sgm_trainer_free(tr);
    return code;
bad:
    fprintf(stderr, "sgm train: %s\n", a.err);
    return 2;
}
