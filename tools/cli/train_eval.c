/* train_eval.c - held-out metrics during `sgm train` (--eval-every N
 * --eval-data HELDOUT.npy): every N steps the checkpoint is sampled along
 * its default path (sgm_ckpt_sample_default: n rows, 20 steps, the same
 * seed each time so that successive lines differ by the model only) and
 * compared with n held-out rows by sliced W2 and the unbiased MMD^2
 * (sgm_eval.h), each next to its noise floor: the same metric between two
 * disjoint sets of n held-out rows. With gmm:FILE.json data also the exact
 * mean log-density gap (held-out minus generated, nats) and the range of the
 * component masses of the samples over those of the held-out rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train_eval.h"

#define EVAL_SEED 0x65766eull /* the sampling seed of every evaluation */

static int eval_fail(const char *msg) {
    fprintf(stderr, "sgm train: %s\n", msg);
    return 2;
}

/* the mixture of gmm:FILE.json data: the reference log-density and masses */
static int eval_gmm(train_eval *ev, const char *spec) {
    sgm_error err = {0};
    if (!spec || strncmp(spec, "gmm:", 4) != 0) return 0;
    if (sgm_gmm_load(spec + 4, &ev->g, &err) != SGM_OK) return eval_fail(err.msg);
    sgm_metric_result r;
    ev->mass_ref = malloc(sgm_gmm_components(ev->g) * sizeof(double));
    if (!ev->mass_ref) return eval_fail("out of memory");
    if (sgm_metric_gmm_loglik(ev->g, ev->held, ev->rows, &r, &err) != SGM_OK ||
        sgm_metric_gmm_mass(ev->g, ev->held, ev->rows, ev->mass_ref, NULL, &err) != SGM_OK)
        return eval_fail(err.msg);
    ev->ll_ref = r.value;
    return 0;
}

int train_eval_open(train_eval *ev, const char *path, size_t cols, const char *spec, int every,
                    size_t n) {
    memset(ev, 0, sizeof *ev);
    if (!path) return every > 0 ? eval_fail("--eval-every needs --eval-data HELDOUT.npy") : 0;
    if (every <= 0) return eval_fail("--eval-data needs --eval-every N (N >= 1)");
    sgm_error err = {0};
    sgm_array a;
    char msg[600];
    if (sgm_npy_load(path, &a, &err) != SGM_OK) {
        snprintf(msg, sizeof msg, "--eval-data %s: %s", path, err.msg);
        return eval_fail(msg);
    }
    size_t d = a.ndim == 2 ? a.shape[1] : 0, rows = a.ndim >= 1 ? a.shape[0] : 0;
    int bad = a.ndim != 2 || d != cols || rows < 4;
    for (size_t i = 0; !bad && i < a.count; i++) bad = !isfinite(a.data[i]);
    if (bad) {
        snprintf(msg, sizeof msg,
                 "--eval-data %s: need an [N >= 4, %zu] array of finite values (the training "
                 "data's width), got %d dimensions, %zu columns",
                 path, cols, a.ndim, d);
        sgm_array_free(&a);
        return eval_fail(msg);
    }
    ev->every = every, ev->held = a.data, ev->rows = rows, ev->cols = cols;
    a.data = NULL;
    sgm_array_free(&a);
    ev->n = n < rows / 2 ? n : rows / 2;
    size_t m = ev->n;
    sgm_metric_result r;
    if (sgm_metric_sw2(ev->held, m, ev->held + m * cols, m, cols, NULL, &r, &err) != SGM_OK)
        return eval_fail(err.msg);
    ev->sw2_floor = r.value;
    if (sgm_metric_mmd2(ev->held, m, ev->held + m * cols, m, cols, NULL, &r, &err) != SGM_OK)
        return eval_fail(err.msg);
    ev->mmd_floor = r.value;
    return eval_gmm(ev, spec);
}

int train_eval_run(const train_eval *ev, const char *ckpt, long step, FILE *log, int quiet) {
    sgm_error err = {0};
    size_t m = ev->n, d = ev->cols, k = ev->g ? sgm_gmm_components(ev->g) : 0;
    double *x = malloc(m * d * sizeof *x), *mass = malloc((k ? k : 1) * sizeof *mass);
    sgm_metric_result sw, mmd, ll = {NAN, NAN, NAN, NAN, NAN, 0};
    double lo = NAN, hi = NAN;
    int ok = x && mass && sgm_ckpt_sample_default(ckpt, 0, m, EVAL_SEED, x, &err) == SGM_OK &&
             sgm_metric_sw2(x, m, ev->held, m, d, NULL, &sw, &err) == SGM_OK &&
             sgm_metric_mmd2(x, m, ev->held, m, d, NULL, &mmd, &err) == SGM_OK &&
             (!ev->g || (sgm_metric_gmm_loglik(ev->g, x, m, &ll, &err) == SGM_OK &&
                         sgm_metric_gmm_mass(ev->g, x, m, mass, NULL, &err) == SGM_OK));
    for (size_t c = 0; ok && c < k; c++) {
        double r = ev->mass_ref[c] > 0 ? mass[c] / ev->mass_ref[c] : NAN;
        lo = c == 0 ? r : fmin(lo, r), hi = c == 0 ? r : fmax(hi, r);
    }
    free(x), free(mass);
    if (!ok) {
        fprintf(stderr, "\nsgm train: evaluation at step %ld: %s\n", step,
                err.msg[0] ? err.msg : "out of memory");
        return 1;
    }
    double gap = ev->ll_ref - ll.value;
    if (!quiet) {
        fprintf(stderr, "\neval step %ld: sw2 %.4g (floor %.4g)  mmd2 %.3g (floor %.3g)", step,
                sw.value, ev->sw2_floor, mmd.value, ev->mmd_floor);
        if (ev->g) fprintf(stderr, "  gap %.4f nats  mass/held-out [%.3f, %.3f]", gap, lo, hi);
        fputc('\n', stderr);
    }
    if (log) {
        fprintf(log,
                "{\"step\":%ld,\"eval\":{\"n\":%zu,\"sw2\":%.9g,\"sw2_floor\":%.9g,\"mmd2\":%.9g,"
                "\"mmd2_floor\":%.9g",
                step, m, sw.value, ev->sw2_floor, mmd.value, ev->mmd_floor);
        if (ev->g)
            fprintf(log, ",\"loglik_gap\":%.9g,\"mass_ratio_min\":%.9g,\"mass_ratio_max\":%.9g", gap,
                    lo, hi);
        fprintf(log, "}}\n");
        fflush(log);
    }
    return 0;
}

void train_eval_close(train_eval *ev) {
    free(ev->held), free(ev->mass_ref);
    sgm_gmm_free(ev->g);
    memset(ev, 0, sizeof *ev);
}
