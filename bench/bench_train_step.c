/* bench_train_step.c - steps per second of one full training step of the NN
 * engine (issue 3): zero gradients, forward, MSE loss against a fixed target,
 * backward of the loss, AdamW update (sgm_nn_adam_step with PyTorch's AdamW
 * defaults) - for
 *   mlp : the trainer's reference residual MLP (sgm_train_config_default:
 *         d_in 2, width 256, 4 blocks, sinusoidal embedding 128, scale 100),
 *         batch 1024;
 *   unet: sgm_unet_config_default (Fashion-MNIST 1x28x28, base 32, mult
 *         1-2-2, attention at 7x7 and in the middle), batch 64;
 *   unet16: the U-Net of issue 12 (base 16, mult 1-2-4, one res block per
 *         level, 2 heads, embedding 128; 745 k parameters), batch 64;
 *   unet-infer, unet16-infer: the same networks' forward pass alone at
 *         batch 250 (network evaluations, "calls", per second);
 *   bf16: unet16 (training step, batch 64) and unet16-infer (batch 250) in
 *         fp32 and in bf16 mixed precision (sgm_unet_set_precision: bf16
 *         convolutions), alternating fp32 / bf16 per round, R rounds of
 *         (W warm-up + K timed steps, best repetition), each side's best
 *         round and the ratio bf16 / fp32 (needs AVX512-BF16; exit 2 without).
 * Each RESULT line also gives the process's peak resident memory (MiB).
 * The PyTorch twin is bench/torch_train_step.py (same architectures, same
 * batch, same loss and optimiser); bench/train_vs_torch.sh runs both.
 * For the mlp it also times sgm_trainer_step (noise draw, preconditioning,
 * clipping and EMA included) as information.
 * Inputs are fixed Philox draws; W warm-up steps, then R repetitions of K
 * timed steps; the best repetition is reported (the machine is shared).
 * Threads: OMP_NUM_THREADS / OPENBLAS_NUM_THREADS from the environment.
 * SGM_BENCH_PRECISION=bf16 runs the U-Net models in bf16 mixed precision
 * (exit 2 where the CPU has no bf16; the mlp stays fp32).
 *
 * Usage: bench_train_step [mlp|unet|unet16|unet-infer|unet16-infer|all|bf16] [K] [R] [W]
 * Output: one line per model "RESULT <model> <steps/s> <ms/step> <peak MiB>" plus
 * human-readable lines; with SGM_BENCH_PROFILE=1 (unet) also a per-phase
 * breakdown (forward / backward / optimiser). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sgm/sgm_nn.h"
#include "sgm/sgm_train.h"
#include "sgm/sgm_model.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_data.h"
#include "sgm/sgm_ckpt.h"
#include "sgm/sgm_unet.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* dout = d/d out of mean((out - target)^2); returns the loss */
static double mse_grad(float *dout, const float *out, const float *target, size_t n) {
    double s = 0.0;
    float k = 2.0f / (float)n;
    for (size_t i = 0; i < n; i++) {
        float r = out[i] - target[i];
        s += (double)r * r;
        dout[i] = k * r;
    }
    return s / (double)n;
}

typedef struct timing {
    double best_sps; /* steps per second of the best repetition */
    double loss;     /* last loss (a sanity figure) */
} timing;

/* ---------------------------------------------------------------- mlp --- */

static int bench_mlp(int K, int R, int W, timing *res) {
    sgm_train_config tc = sgm_train_config_default(SGM_PROCESS_VP_LINEAR, SGM_PARAM_EPS);
    sgm_nn_mlp_config mc;
    memset(&mc, 0, sizeof mc);
    mc.d_in = 2, mc.d_emb = tc.net.mlp.d_emb, mc.width = tc.net.mlp.width, mc.n_blocks = tc.net.mlp.n_blocks;
    mc.emb = sgm_nn_sinusoidal_defaults();
    mc.emb.scale = tc.net.mlp.emb.scale;
    int B = tc.batch, D = mc.d_in;
    sgm_nn_mlp m;
    sgm_error err;
    if (sgm_nn_mlp_init(&m, &mc, B, 1, &err) != SGM_OK) {
        fprintf(stderr, "bench_train_step: %s\n", err.msg);
        return 1;
    }
    size_t n = (size_t)B * (size_t)D;
    float *x = malloc(n * sizeof(float)), *tgt = malloc(n * sizeof(float));
    float *out = malloc(n * sizeof(float)), *dout = malloc(n * sizeof(float));
    float *c = malloc((size_t)B * sizeof(float));
    float *mom = calloc(m.n_params, sizeof(float)), *vel = calloc(m.n_params, sizeof(float));
    if (!x || !tgt || !out || !dout || !c || !mom || !vel) return 1;
    sgm_nn_fill_normal(x, n, 1.0f, 11, 0);
    sgm_nn_fill_normal(tgt, n, 1.0f, 11, 1);
    sgm_nn_fill_uniform(c, (size_t)B, -2.0f, 1.0f, 11, 2); /* c_noise = ln(s)/4 range */
    sgm_nn_adam opt = sgm_nn_adam_defaults(1);
    printf("mlp: d_in %d, width %d, %d blocks, emb %d, %zu parameters, batch %d\n", D,
           mc.width, mc.n_blocks, mc.d_emb, m.n_params, B);
    long t = 0;
    double best = 0.0, loss = 0.0;
    for (int r = -1; r < R; r++) { /* r = -1: W warm-up steps */
        int steps = r < 0 ? W : K;
        double t0 = now();
        for (int s = 0; s < steps; s++) {
            sgm_nn_zero(m.grads, m.n_params);
            sgm_nn_mlp_forward(&m, out, x, c, B, &err);
            loss = mse_grad(dout, out, tgt, n);
            sgm_nn_mlp_backward(&m, NULL, NULL, dout, B, 1, &err);
            sgm_nn_adam_step(m.params, m.grads, mom, vel, m.n_params, 1e-3, ++t, &opt);
        }
        double sps = (double)steps / (now() - t0);
        if (r >= 0 && sps > best) best = sps;
    }
    res->best_sps = best, res->loss = loss;
    sgm_nn_mlp_free(&m);
    free(x), free(tgt), free(out), free(dout), free(c), free(mom), free(vel);

    /* the trainer's step on the same architecture (information only) */
    size_t rows = 8192;
    double *data = NULL;
    sgm_trainer *tr = NULL;
    if (sgm_data_builtin("8gaussians", rows, 3, &data, &err) == SGM_OK &&
        sgm_trainer_create(&tc, data, rows, 2, &tr, &err) == SGM_OK) {
        double tbest = 0.0, l = 0.0;
        for (int r = -1; r < R; r++) {
            int steps = r < 0 ? W : K;
            double t0 = now();
            for (int s = 0; s < steps; s++) sgm_trainer_step(tr, &l, &err);
            double sps = (double)steps / (now() - t0);
            if (r >= 0 && sps > tbest) tbest = sps;
        }
        printf("mlp: sgm_trainer_step (noise draw, clip, EMA included): %.1f steps/s\n", tbest);
    } else {
        fprintf(stderr, "bench_train_step: trainer: %s\n", err.msg);
    }
    sgm_trainer_free(tr);
    free(data);
    return 0;
}

/* --------------------------------------------------------------- unet --- */

/* The issue-12 U-Net, the one a PyTorch user would write for Fashion-MNIST:
 * base 16, mult 1-2-4, one res block per level down (two up), 2-head
 * attention at 7x7 and in the middle, 128-wide embedding, 8 groups. */
static sgm_unet_config unet16_config(void) {
    sgm_unet_config c = sgm_unet_config_default();
    c.base_ch = 16, c.mult[0] = 1, c.mult[1] = 2, c.mult[2] = 4;
    c.n_res = 1, c.heads = 2, c.emb_dim = 128;
    return c;
}

/* A training step (infer 0: forward, MSE, backward, AdamW) or an inference
 * call (infer 1: forward only) of cfg at batch B. */
static int bench_unet(const char *name, sgm_unet_config cfg, int B, int infer,
                      sgm_nn_precision prec, int K, int R, int W, timing *res) {
    sgm_unet u;
    sgm_error err;
    if (sgm_unet_init(&u, &cfg, B, 1, &err) != SGM_OK ||
        sgm_unet_set_precision(&u, prec, &err) != SGM_OK) {
        fprintf(stderr, "bench_train_step: %s\n", err.msg);
        return 1;
    }
    size_t n = (size_t)B * (size_t)(cfg.in_ch * cfg.height * cfg.width);
    float *x = malloc(n * sizeof(float)), *tgt = malloc(n * sizeof(float));
    float *out = malloc(n * sizeof(float)), *dout = malloc(n * sizeof(float));
    float *c = malloc((size_t)B * sizeof(float));
    float *mom = calloc(u.n_params, sizeof(float)), *vel = calloc(u.n_params, sizeof(float));
    if (!x || !tgt || !out || !dout || !c || !mom || !vel) return 1;
    sgm_nn_fill_normal(x, n, 1.0f, 12, 0);
    sgm_nn_fill_normal(tgt, n, 1.0f, 12, 1);
    sgm_nn_fill_uniform(c, (size_t)B, -2.0f, 1.0f, 12, 2);
    sgm_nn_adam opt = sgm_nn_adam_defaults(1);
    printf("%s: base %d, %zu parameters, batch %d, %s, %s\n", name, cfg.base_ch, u.n_params, B,
           infer ? "forward only" : "training step", sgm_nn_precision_name(prec));
    int prof = !infer && getenv("SGM_BENCH_PROFILE") && atoi(getenv("SGM_BENCH_PROFILE")) > 0;
    double tf = 0, tb = 0, to = 0;
    long t = 0;
    double best = 0.0, loss = 0.0;
    for (int r = -1; r < R; r++) {
        int steps = r < 0 ? W : K;
        double t0 = now();
        for (int s = 0; s < steps; s++) {
            double a = prof ? now() : 0;
            if (!infer) sgm_nn_zero(u.grads, u.n_params);
            sgm_unet_forward(&u, out, x, c, NULL, B, &err);
            if (infer) continue;
            double b = prof ? now() : 0;
            loss = mse_grad(dout, out, tgt, n);
            sgm_unet_backward(&u, NULL, NULL, dout, B, 1, &err);
            double d = prof ? now() : 0;
            sgm_nn_adam_step(u.params, u.grads, mom, vel, u.n_params, 1e-4, ++t, &opt);
            if (prof && r >= 0) tf += b - a, tb += d - b, to += now() - d;
        }
        double sps = (double)steps / (now() - t0);
        if (r >= 0 && sps > best) best = sps;
    }
    if (prof) {
        double tot = tf + tb + to;
        printf("%s profile: forward %.1f%%, loss+backward %.1f%%, adamw %.1f%% "
               "(%.1f ms/step)\n", name, 100 * tf / tot, 100 * tb / tot, 100 * to / tot,
               1e3 * tot / (R * K));
    }
    res->best_sps = best, res->loss = infer ? (double)out[0] : loss;
    sgm_unet_free(&u);
    free(x), free(tgt), free(out), free(dout), free(c), free(mom), free(vel);
    return 0;
}

/* peak resident memory of this process so far, MiB (Linux: ru_maxrss in KiB) */
static double peak_rss_mib(void) {
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (double)ru.ru_maxrss / 1024.0 : 0.0;
}

static const char *const MODELS[] = {"mlp", "unet", "unet16", "unet-infer", "unet16-infer"};
enum { N_MODELS = 5 };

static int run_model(int m, int K, int R, int W) {
    timing t;
    int rc;
    if (m == 0) {
        K = K ? K : 50;
        rc = bench_mlp(K, R, W, &t);
    } else {
        int infer = m >= 3, B = infer ? 250 : 64;
        sgm_unet_config cfg = (m == 2 || m == 4) ? unet16_config() : sgm_unet_config_default();
        K = K ? K : 5;
        sgm_nn_precision prec = SGM_NN_FP32;
        const char *pe = getenv("SGM_BENCH_PRECISION");
        if (pe && (sgm_nn_precision_from_name(pe, &prec) != SGM_OK ||
                   sgm_nn_precision_resolve(prec, 0) != prec)) {
            fprintf(stderr, "bench_train_step: SGM_BENCH_PRECISION=%s: unknown, or no bf16 here\n",
                    pe);
            return 2;
        }
        rc = bench_unet(MODELS[m], cfg, B, infer, prec, K, R, W ? W : 1, &t);
    }
    if (rc) return rc;
    printf("%s: %.2f %s/s (%.2f ms each, best of %d x %d), %s %.4f, peak RSS %.1f MiB\n",
           MODELS[m], t.best_sps, m >= 3 ? "calls" : "steps", 1e3 / t.best_sps, R, K,
           m >= 3 ? "out[0]" : "loss", t.loss, peak_rss_mib());
    printf("RESULT %s %.3f %.4f %.1f\n", MODELS[m], t.best_sps, 1e3 / t.best_sps, peak_rss_mib());
    return 0;
}

/* unet16 / unet16-infer, fp32 against bf16 in the same process: R rounds,
 * alternating which precision goes first, one repetition of K steps each
 * per round; the best round of each side */
static int run_bf16(int K, int R, int W) {
    if (!sgm_nn_have_bf16()) {
        fprintf(stderr, "bench_train_step: no bf16 on this CPU (or no oneDNN): nothing to compare\n");
        return 2;
    }
    K = K ? K : 5;
    for (int infer = 0; infer <= 1; infer++) {
        const char *name = infer ? "unet16-infer" : "unet16";
        double best[2] = {0, 0};
        for (int r = 0; r < R; r++)
            for (int k = 0; k < 2; k++) {
                int p = (r + k) % 2; /* 0 fp32, 1 bf16 */
                timing t;
                if (bench_unet(name, unet16_config(), infer ? 250 : 64, infer,
                               p ? SGM_NN_BF16 : SGM_NN_FP32, K, 1, W ? W : 1, &t))
                    return 1;
                printf("  round %d %s %s: %.3f /s\n", r + 1, name, p ? "bf16" : "fp32",
                       t.best_sps);
                if (t.best_sps > best[p]) best[p] = t.best_sps;
            }
        printf("RESULT %s-fp32 %.3f %.4f %.1f\n", name, best[0], 1e3 / best[0], peak_rss_mib());
        printf("RESULT %s-bf16 %.3f %.4f %.1f\n", name, best[1], 1e3 / best[1], peak_rss_mib());
        printf("%s: bf16 / fp32 = %.2fx (%.1f vs %.1f ms per %s, best of %d rounds of %d)\n",
               name, best[1] / best[0], 1e3 / best[1], 1e3 / best[0], infer ? "call" : "step", R,
               K);
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "all";
    int K = argc > 2 ? atoi(argv[2]) : 0, R = argc > 3 ? atoi(argv[3]) : 3,
        W = argc > 4 ? atoi(argv[4]) : 3;
    if (!strcmp(which, "bf16")) return R < 1 || W < 0 || K < 0 ? 2 : run_bf16(K, R, W);
    int pick = -1;
    for (int m = 0; m < N_MODELS; m++)
        if (!strcmp(which, MODELS[m])) pick = m;
    if (R < 1 || W < 0 || K < 0 || (pick < 0 && strcmp(which, "all"))) {
        fprintf(stderr, "usage: bench_train_step [mlp|unet|unet16|unet-infer|unet16-infer|all|bf16] "
                        "[K] [R] [W]\n");
        return 2;
    }
    for (int m = 0; m < N_MODELS; m++) {
        int rc = (pick < 0 || pick == m) ? run_model(m, K, R, W) : 0;
        if (rc) return rc;
    }
    return 0;
}
