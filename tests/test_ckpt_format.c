/* test_ckpt_format.c - the checkpoint format (sgm_ckpt.h): format 1.0 files
 * (tests/data/ckpt, written before the versioned format) read with their
 * numeric enums and old key places; forward-compatible reading of a newer
 * 1.x (unknown metadata, JSON keys and tensors ignored); refusal of another
 * major version, a foreign format, an unknown architecture (naming the known
 * ones), unknown enum names, non-positive stds, out-of-range steps,
 * out-of-range or non-finite settings (lr, ema, p_std, batch, t_lo/t_hi,
 * sigma_min >= sigma_max, data_source n, ...) and non-finite weights, each
 * with a message naming the problem (the key). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sgm/sgm_ckpt.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_model.h"
#include "test_util.h"

static char tmp_path[256];

/* copies SRC to tmp_path with metadata key `key` set to `val` (added when
 * absent; NULL: removed), replacing the first occurrence of `from` by `to`
 * inside it when from is not NULL, plus an extra tensor when extra is set,
 * and every float of tensor `nan_tensor` made NaN when it is not NULL */
static int rewrite(const char *src, const char *key, const char *val, const char *from,
                   const char *to, int extra, const char *nan_tensor) {
    sgm_safetensors st;
    sgm_error e;
    if (sgm_st_load(src, &st, &e) != SGM_OK) return 0;
    size_t nm = st.n_meta;
    const char **k = calloc(nm + 1, sizeof *k), **v = calloc(nm + 1, sizeof *v);
    char *edited = NULL;
    size_t j = 0;
    int found = 0;
    for (size_t i = 0; i < nm; i++) {
        const char *mv = st.meta_vals[i];
        if (strcmp(st.meta_keys[i], key) == 0) {
            found = 1;
            if (from) {
                const char *p = strstr(mv, from);
                if (!p) return 0;
                edited = malloc(strlen(mv) + strlen(to) + 1);
                sprintf(edited, "%.*s%s%s", (int)(p - mv), mv, to, p + strlen(from));
                mv = edited;
            } else {
                mv = val;
            }
            if (!mv) continue;
        }
        k[j] = st.meta_keys[i], v[j] = mv, j++;
    }
    if (!found && val) k[j] = key, v[j] = val, j++;
    size_t nt = st.n_tensors;
    sgm_st_tensor *t = calloc(nt + 1, sizeof *t);
    float *nanbuf = NULL;
    for (size_t i = 0; i < nt; i++) {
        t[i] = st.tensors[i];
        if (nan_tensor && strcmp(t[i].name, nan_tensor) == 0) {
            size_t c = 1;
            for (int q = 0; q < t[i].ndim; q++) c *= t[i].shape[q];
            nanbuf = malloc(c * sizeof *nanbuf);
            for (size_t q = 0; q < c; q++) nanbuf[q] = NAN;
            t[i].data = nanbuf;
        }
    }
    static const float extra_data[3] = {1, 2, 3};
    if (extra) {
        t[nt].name = "future.tensor", t[nt].dtype = SGM_ST_F32, t[nt].ndim = 1;
        t[nt].shape[0] = 3, t[nt].data = extra_data;
        nt++;
    }
    int ok = sgm_st_save(tmp_path, t, nt, k, v, j, &e) == SGM_OK;
    free(t), free(k), free(v), free(edited), free(nanbuf);
    sgm_st_free(&st);
    return ok;
}

static void expect_fail(const char *what, sgm_status want, const char *needle) {
    sgm_ckpt_info info;
    sgm_error e;
    memset(&e, 0, sizeof e);
    sgm_status rc = sgm_ckpt_read_info(tmp_path, &info, &e);
    CHECK(rc == want && strstr(e.msg, needle) && !strchr(e.msg, '\n'),
          "%s: status %d (want %d), message '%s' (want '%s')", what, rc, want, e.msg, needle);
}

int main(void) {
    char mlp[512], unet[512];
    tu_src("tests/data/ckpt/mlp_v1_0.safetensors", mlp, sizeof mlp);
    tu_src("tests/data/ckpt/unet_v1_0.safetensors", unet, sizeof unet);
    snprintf(tmp_path, sizeof tmp_path, "/tmp/sgm_ckpt_format_%ld.safetensors", (long)getpid());
    sgm_ckpt_info info;
    sgm_error e;

    /* format 1.0 */
    CHECK(sgm_ckpt_read_info(mlp, &info, &e) == SGM_OK, "1.0 mlp: %s", e.msg);
    CHECK(info.version_major == 1 && info.version_minor == 0 && info.d == 2 && info.step == 3 &&
              info.rows == 512 && info.train.net.arch == SGM_ARCH_MLP &&
              info.train.net.mlp.width == 16 && info.train.net.mlp.n_blocks == 1 &&
              info.train.net.mlp.d_emb == 8 && info.train.param == SGM_PARAM_V &&
              info.train.process.kind == SGM_PROCESS_VP_DISCRETE &&
              info.train.process.betas == SGM_BETAS_LINEAR &&
              info.train.process.interp == SGM_INTERP_LOG_ALPHA &&
              strcmp(info.train.data_spec, "moons") == 0,
          "1.0 mlp fields");
    CHECK(sgm_ckpt_read_info(unet, &info, &e) == SGM_OK, "1.0 U-Net: %s", e.msg);
    CHECK(info.train.net.arch == SGM_ARCH_UNET && info.d == 784 && info.train.net.unet.base_ch == 4 &&
              info.train.net.unet.n_classes > 1 && info.train.label_dropout == 0.1 &&
              info.train.param == SGM_PARAM_EDM && info.train.sigma_data == 0.5,
          "1.0 U-Net fields (label dropout from arch_config)");

    /* a newer 1.x: unknown metadata, JSON keys and tensors are ignored */
    CHECK(rewrite(mlp, "format_version", "1.7", NULL, NULL, 1, NULL), "write 1.7");
    CHECK(rewrite(tmp_path, "training", NULL, "{", "{\"future_key\":[1,2],", 0, NULL) &&
              rewrite(tmp_path, "future_meta", "{\"x\":1}", NULL, NULL, 0, NULL),
          "write unknown keys");
    CHECK(sgm_ckpt_read_info(tmp_path, &info, &e) == SGM_OK && info.version_minor == 7 &&
              info.train.param == SGM_PARAM_V,
          "1.7 with unknown keys reads: %s", e.msg);
    sgm_model *m = NULL;
    CHECK(sgm_model_load(tmp_path, 1, 0, &m, &e) == SGM_OK, "1.7 loads for sampling: %s", e.msg);
    sgm_model_free(m);

    /* refusals */
    CHECK(rewrite(mlp, "format", "sgm-checkpoint-2", NULL, NULL, 0, NULL), "write");
    expect_fail("major 2", SGM_ERR_UNSUPPORTED, "newer sgm");
    CHECK(rewrite(mlp, "format_version", "2.0", NULL, NULL, 0, NULL), "write");
    expect_fail("format_version disagreeing with format", SGM_ERR_FORMAT, "format_version");
    CHECK(rewrite(mlp, "format", "pytorch", NULL, NULL, 0, NULL), "write");
    expect_fail("foreign format", SGM_ERR_FORMAT, "not an sgm checkpoint");
    CHECK(rewrite(mlp, "arch", "transformer", NULL, NULL, 0, NULL), "write");
    expect_fail("unknown architecture", SGM_ERR_UNSUPPORTED, "mlp, unet");
    CHECK(rewrite(mlp, "training", NULL, "\"uniform\"", "\"sideways\"", 0, NULL), "write");
    expect_fail("unknown weighting name", SGM_ERR_FORMAT, "training metadata");
    CHECK(rewrite(mlp, "process", NULL, "\"betas\":0", "\"betas\":\"wiggly\"", 0, NULL), "write");
    expect_fail("unknown beta table", SGM_ERR_FORMAT, "process metadata");
    CHECK(rewrite(mlp, "data_stats", NULL, "0.84045224808263874", "0", 0, NULL), "write");
    expect_fail("std 0", SGM_ERR_FORMAT, "positive std");
    CHECK(rewrite(mlp, "data_stats", NULL, "\"std\":[", "\"std\":[1,", 0, NULL), "write");
    expect_fail("three stds for two columns", SGM_ERR_FORMAT, "do not match");
    CHECK(rewrite(mlp, "rng", NULL, "\"step\":3", "\"step\":-100", 0, NULL), "write");
    expect_fail("negative step", SGM_ERR_FORMAT, "step");
    CHECK(rewrite(mlp, "rng", NULL, "\"step\":3", "\"step\":1e300", 0, NULL), "write");
    expect_fail("step 1e300", SGM_ERR_FORMAT, "step");
    /* every number range-checked at load, the message naming its key */
    static const struct {
        const char *key, *from, *to, *needle;
    } bad_num[] = {
        {"optimizer", "\"lr\":0.001", "\"lr\":-1", "'lr'"},
        {"optimizer", "\"ema\":0.999", "\"ema\":1.5", "'ema'"},
        {"optimizer", "\"eps\":1e-08", "\"eps\":0", "'eps'"},
        {"optimizer", "\"beta2\":0.999", "\"beta2\":1e999", "'beta2'"}, /* cJSON: inf */
        {"training", "\"p_std\":1.2", "\"p_std\":0", "'p_std'"},
        {"training", "\"sigma_data\":1", "\"sigma_data\":1e999", "'sigma_data'"},
        {"training", "\"batch\":64", "\"batch\":0", "'batch'"},
        {"training", "\"t_lo\":0,\"t_hi\":0", "\"t_lo\":0.5,\"t_hi\":0.2", "'t_lo'"},
        {"training", "\"p_mean\":-1.2", "\"p_mean\":null", "'p_mean'"}, /* NaN is written null */
        {"process", "\"sigma_min\":0.002", "\"sigma_min\":100", "'sigma_min'"},
        {"process", "\"beta_end\":0.02", "\"beta_end\":null", "'beta_end'"},
        {"process", "\"beta_start\":0.0001", "\"beta_start\":0.5", "beta_start"},
        {"process", "\"t_max\":1", "\"t_max\":-1e999", "'t_max'"},
        {"data_source", "\"n\":512", "\"n\":9223372036854775808", "'n'"},
    };
    for (size_t i = 0; i < sizeof bad_num / sizeof bad_num[0]; i++) {
        CHECK(rewrite(mlp, bad_num[i].key, NULL, bad_num[i].from, bad_num[i].to, 0, NULL),
              "write %s", bad_num[i].to);
        expect_fail(bad_num[i].to, SGM_ERR_FORMAT, bad_num[i].needle);
    }
    CHECK(rewrite(mlp, "arch", NULL, NULL, NULL, 0, NULL), "write");
    expect_fail("no arch", SGM_ERR_UNSUPPORTED, "missing");
    CHECK(rewrite(mlp, "step", "3", NULL, NULL, 0, "ema.out.bias"), "write");
    m = NULL;
    CHECK(sgm_model_load(tmp_path, 1, 0, &m, &e) == SGM_ERR_FORMAT && !m &&
              strstr(e.msg, "non-finite") && strstr(e.msg, "ema.out.bias"),
          "NaN weights refused: %s", e.msg);
    CHECK(sgm_model_load(tmp_path, 0, 0, &m, &e) == SGM_OK, "raw params still load: %s", e.msg);
    sgm_model_free(m);
    remove(tmp_path);
    TEST_MAIN_END();
}
