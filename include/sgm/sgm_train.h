/* sgm_train.h - denoising score matching (Vincent 2011; Song et al. 2021,
 * arXiv:2011.13456; Karras et al. 2022, arXiv:2206.00364), training data,
 * and trained networks as denoisers.
 *
 * Training works on standardized data z = (x - mean) / std (per column; the
 * statistics are saved in the checkpoint; images for the U-Net are used as
 * given, in [-1, 1], with mean 0 / std 1 recorded). For a batch: t from the noise-level
 * density, x_t = alpha(t) z + sigma(t) eps, the network sees
 *   input   c_in x_t,  c_in = 1 / sqrt(alpha^2 sigma_data^2 + sigma^2)
 *   noise   c_noise = log(sigma / alpha) / 4 = -lambda / 4   (EDM's ln(sigma)/4
 *           in VE coordinates; the same for every process and parameterization)
 * and is trained on  w(t) |F - target|^2 / d  with the target of the
 * parameterization (eps: eps; x0: z; v: alpha eps - sigma z; flow:
 * alpha' z + sigma' eps; edm: (z - c_skip x~) / c_out with x~ = x_t / alpha,
 * c_skip = sd^2 / (s^2 + sd^2), c_out = s sd / sqrt(s^2 + sd^2), s = sigma/alpha,
 * so that D = c_skip x~ + c_out F). Weightings are defined on the x0-space
 * error |D - z|^2 and converted to the parameterization with k = |dx0/dF|:
 *   uniform     w = 1 on the parameterization's own MSE
 *   likelihood  g^2 / sigma^2 on the eps error (Song et al. 2021, thm. 1)
 *   min_snr     min(SNR, gamma) on the x0 error (Hang et al. 2023)
 *   edm         (s^2 + sd^2) / (s sd)^2 on the x0 error (EDM eq. 8 / table 1)
 * Noise-level densities: uniform t on [t_lo, t_hi]; log-normal ln s ~
 * N(P_mean, P_std^2) (EDM; t clamped into [t_lo, t_hi]); importance: t drawn
 * from q(t) ~ g^2/sigma^2 and the loss reweighted by w / (g^2/sigma^2), which
 * makes the likelihood weighting of eps constant (Song et al. 2021, sec. 4 /
 * Huang et al. 2021). Since g^2 = sigma^2 d log(sigma^2/alpha^2)/dt for every
 * process, q(t) ~ -d lambda/dt: lambda is drawn uniformly on
 * [lambda(t_hi), lambda(t_lo)] and mapped back with t_of_lambda (exact).
 * All randomness is a pure function of (seed, step) through Philox, so a run
 * resumed from a checkpoint continues bit for bit. */
#ifndef SGM_TRAIN_H
#define SGM_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "sgm_core.h"
#include "sgm_likelihood.h"
#include "sgm_nn.h"
#include "sgm_process.h"
#include "sgm_sampler.h"
#include "sgm_unet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- data --- */

/* Built-in 2-D sets: "moons", "swissroll", "checkerboard", "8gaussians",
 * "rings", "pinwheel"; n rows (n x 2 doubles, malloc'd) from seed. */
sgm_status sgm_data_builtin(const char *name, size_t n, uint64_t seed, double **out,
                            sgm_error *err);
/* Image data sets: "fashion-mnist[:DIR]" or "mnist:DIR" (the IDX files
 * train-images-idx3-ubyte[.gz] / train-labels-idx1-ubyte[.gz] of DIR;
 * fashion-mnist defaults to SGM_FASHION_MNIST_DIR), "fashion-mnist-test[:DIR]"
 * (the t10k files). Pixels in [-1, 1], shape (n, 1, H, W) float32 and int
 * labels (malloc'd); max_n > 0 keeps the first max_n images.
 * SGM_ERR_UNKNOWN_NAME when spec is not an image spec. */
sgm_status sgm_data_load_images(const char *spec, size_t max_n, float **x, int **labels,
                                size_t *n, int *c, int *h, int *w, sgm_error *err);
/* 1 when spec names an image data set (the prefixes above). */
int sgm_data_is_image_spec(const char *spec);
/* A comma-separated list of the built-in names. */
const char *sgm_data_builtin_names(void);
/* Any data spec: a built-in name, "gmm:FILE.json" (n exact samples), FILE.npy
 * (2-D float32/float64) or FILE.csv (numbers, optional header line). n and seed
 * are used by the generated kinds only. *rows, *cols receive the shape. */
sgm_status sgm_data_load(const char *spec, size_t n, uint64_t seed, double **out,
                         size_t *rows, size_t *cols, sgm_error *err);
/* Per-column mean and standard deviation (population; a column with std 0
 * gets std 1). mean, std: [cols]. */
void sgm_data_stats(const double *x, size_t rows, size_t cols, double *mean, double *std);

/* ------------------------------------------------------------ training --- */

typedef enum sgm_param {
    SGM_PARAM_EPS = 0,
    SGM_PARAM_X0,
    SGM_PARAM_V,
    SGM_PARAM_FLOW,
    SGM_PARAM_EDM /* EDM preconditioning (the denoiser reports x0) */
} sgm_param;
typedef enum sgm_weighting {
    SGM_WEIGHT_UNIFORM = 0,
    SGM_WEIGHT_LIKELIHOOD,
    SGM_WEIGHT_MIN_SNR,
    SGM_WEIGHT_EDM
} sgm_weighting;
typedef enum sgm_arch {
    SGM_ARCH_MLP = 0, /* residual MLP (sgm_nn.h), any data width */
    SGM_ARCH_UNET     /* U-Net (sgm_unet.h) on (C, H, W) images */
} sgm_arch;
typedef enum sgm_tsampling {
    SGM_TS_UNIFORM = 0,
    SGM_TS_LOGNORMAL,
    SGM_TS_IMPORTANCE
} sgm_tsampling;

sgm_status sgm_param_from_name(const char *name, sgm_param *out);
const char *sgm_param_name(sgm_param p);
sgm_status sgm_weighting_from_name(const char *name, sgm_weighting *out);
const char *sgm_weighting_name(sgm_weighting w);
sgm_status sgm_tsampling_from_name(const char *name, sgm_tsampling *out);
const char *sgm_tsampling_name(sgm_tsampling t);

typedef struct sgm_train_config {
    sgm_process_config process; /* user betas are not supported */
    sgm_param param;            /* default eps */
    double sigma_data;          /* default 1 (the data are standardized) */
    sgm_weighting weighting;    /* default uniform */
    double min_snr_gamma;       /* default 5 */
    sgm_tsampling tsampling;    /* default log-normal (all processes) */
    double p_mean, p_std;       /* -1.2, 1.2 */
    double t_lo, t_hi;          /* 0: process t_min (1e-3 if 0) / t_max (1 - 1e-3 for flow) */
    /* architecture: mlp */
    int width, depth, emb;      /* 256, 4, 128 */
    double emb_scale;           /* sinusoidal frequency scale on c_noise, default 100 */
    /* optimisation */
    int batch;                  /* 1024 */
    double lr, lr_min;          /* 1e-3; lr_min < 0: = lr (constant after warmup) */
    long warmup;                /* 100 */
    long lr_total;              /* cosine end step (0: the run's steps) */
    double beta1, beta2, adam_eps, weight_decay;
    int decoupled;              /* AdamW */
    double clip;                /* global-norm clip, 0 = off; default 1 */
    double ema;                 /* 0.999 */
    uint64_t seed;              /* init and noise streams */
    /* where the data came from (recorded in the checkpoint as "data_source",
       so that a resume can rebuild the same rows): the spec given to
       sgm_data_load, its n and seed; empty spec: not recorded */
    char data_spec[512];
    size_t data_n;
    uint64_t data_seed;
    /* architecture: U-Net (arch SGM_ARCH_UNET). The data rows are images
       flattened in (C, H, W) order with in_ch * height * width columns. Image
       data are NOT standardized per column: pixels are expected in [-1, 1]
       and the saved statistics are mean 0, std 1 (per-pixel statistics would
       blow up the near-constant border pixels). unet.n_classes > 0: the
       network is class-conditional; labels come from sgm_trainer_set_labels
       and each is replaced by the null class with probability label_dropout
       (classifier-free guidance, Ho & Salimans 2022). */
    sgm_arch arch;              /* default mlp */
    sgm_unet_config unet;       /* default sgm_unet_config_default() */
    double label_dropout;       /* default 0.1 */
} sgm_train_config;

sgm_train_config sgm_train_config_default(sgm_process_kind kind, sgm_param param);

typedef struct sgm_trainer sgm_trainer;

/* Creates a trainer on `data` (rows x cols, data units; copied and
 * standardized). */
sgm_status sgm_trainer_create(const sgm_train_config *cfg, const double *data, size_t rows,
                              size_t cols, sgm_trainer **out, sgm_error *err);
/* Class labels of the training rows (rows ints in [0, unet.n_classes)),
 * copied; needed for a class-conditional U-Net (without them every row gets
 * the null class). Call after create / resume, before the next step.
 * SGM_ERR_SHAPE on a row count mismatch, SGM_ERR_INVALID_ARG on a label
 * out of range or a network without classes. */
sgm_status sgm_trainer_set_labels(sgm_trainer *t, const int *labels, size_t rows,
                                  sgm_error *err);
/* Restores a trainer from a checkpoint written by sgm_trainer_save, on the
 * same data (the saved statistics are used). SGM_ERR_SHAPE when the data
 * width differs from the network's. */
sgm_status sgm_trainer_resume(const char *ckpt, const double *data, size_t rows, size_t cols,
                              sgm_trainer **out, sgm_error *err);
/* One optimisation step; *loss receives the batch loss. SGM_ERR_NONFINITE
 * (parameters untouched) when the loss or the gradient is not finite. */
sgm_status sgm_trainer_step(sgm_trainer *t, double *loss, sgm_error *err);
long sgm_trainer_steps_done(const sgm_trainer *t);
double sgm_trainer_ema_loss(const sgm_trainer *t);
const sgm_train_config *sgm_trainer_config(const sgm_trainer *t);
/* Sets the end step of the cosine decay when it was 0 (before the first step). */
void sgm_trainer_set_total(sgm_trainer *t, long total);
/* Reads the training configuration (process, parameterization, architecture,
 * optimizer, data source) and data width of a checkpoint without building
 * anything. */
sgm_status sgm_ckpt_train_config(const char *path, sgm_train_config *cfg, size_t *d,
                                 sgm_error *err);
/* Writes a checkpoint atomically. */
sgm_status sgm_trainer_save(const sgm_trainer *t, const char *path, sgm_error *err);
void sgm_trainer_free(sgm_trainer *t);

/* -------------------------------------------------- network denoiser --- */

typedef struct sgm_net sgm_net;

/* Loads a checkpoint for sampling (EMA weights when use_ema, else the raw
 * parameters). max_batch: rows per network call (0: 4096; larger queries
 * are cut into chunks). */
sgm_status sgm_net_load(const char *path, int use_ema, int max_batch, sgm_net **out,
                        sgm_error *err);
void sgm_net_free(sgm_net *n);
/* The denoiser: maps a query (x_t in standardized units, t, alpha, sigma) to
 * (c_in x_t, c_noise), runs the network and returns its output with the
 * matching sgm_prediction (eps, x0, v, flow; x0 for EDM preconditioning). At
 * sigma = 0 it returns the exact limit. Not reentrant (one net per thread). */
sgm_denoiser sgm_net_denoiser(sgm_net *n);
/* Class labels for the next queries of a class-conditional U-Net: the row
 * with global index r (sgm_eval.row0 + i) gets labels[r % n] (n = 1: one
 * class for all; label -1 = the null
 * class, the default). Copied. guidance w: classifier-free guidance,
 * output = (1 + w) F(x, label) - w F(x, null) (Ho & Salimans 2022; w = 0:
 * plain conditional). Ignored for unconditional networks. */
sgm_status sgm_net_set_labels(sgm_net *n, const int *labels, size_t count, double guidance,
                              sgm_error *err);
/* Classes of the network (0: unconditional or an mlp), and the image shape
 * (1 for a U-Net, 0 for an mlp: c, h, w untouched). */
int sgm_net_n_classes(const sgm_net *n);
int sgm_net_image_shape(const sgm_net *n, int *c, int *h, int *w);
/* The process the network was trained with (create it with sgm_process_create). */
const sgm_process_config *sgm_net_process_config(const sgm_net *n);
size_t sgm_net_dim(const sgm_net *n);
sgm_param sgm_net_param(const sgm_net *n);
/* Samples from the sampler are in standardized units; this maps n rows to
 * data units in place: x = mean + std z. */
void sgm_net_unstandardize(const sgm_net *n, size_t rows, sgm_dtype dt, void *x);
/* net_grad.c: the inverse map z = (x - mean) / std in place, and
 * sum_j log std_j, the log-determinant of x -> z: densities in data units are
 * log p_data(x) = log p_std(z) - sgm_net_log_std_sum(n). */
void sgm_net_standardize(const sgm_net *n, size_t rows, sgm_dtype dt, void *x);
double sgm_net_log_std_sum(const sgm_net *n);
/* net_grad.c: input derivatives of sgm_net_denoiser(n) for sgm_nll
 * (sgm_likelihood.h): a vjp through the network's backward pass (mlp or
 * U-Net), in the same standardized process coordinates as the denoiser.
 * A class-conditional U-Net is differentiated as its unconditional
 * (null-class) model, the density its label dropout trained; with class
 * labels or classifier-free guidance set (sgm_net_set_labels) the vjp
 * fails with code 4 (SGM_ERR_CALLBACK from sgm_nll): check first with
 * sgm_net_density_check. Shares the net's buffers: not reentrant. */
sgm_denoiser_grad sgm_net_denoiser_grad(sgm_net *n);
/* SGM_OK when sgm_net_denoiser(n) is the score model of a density (no
 * class labels other than the null class, no guidance on a class-conditional
 * network); SGM_ERR_UNSUPPORTED with the reason otherwise. */
sgm_status sgm_net_density_check(const sgm_net *n, sgm_error *err);

#ifdef __cplusplus
}
#endif
#endif
