/* ckpt_read.c - reads an sgm checkpoint (format in sgm_ckpt.h): decodes and
 * range-checks the metadata into an sgm_ckpt_info plus the data statistics,
 * and copies tensor blocks into a network's parameter layout. Readable:
 * format 1.0 (enums partly as numbers, U-Net label dropout inside
 * arch_config, the first U-Nets' "height"/"width" keys) and every 1.x
 * (unknown keys ignored). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../io/json_util.h"
#include "../io/parse_mem.h"
#include "../net/net_internal.h"
#include "ckpt_internal.h"

static cJSON *meta_json(const sgm_safetensors *st, const char *key, const char *path,
                        sgm_error *err) {
    const char *s = sgm_st_meta(st, key);
    cJSON *o = s ? cJSON_Parse(s) : NULL;
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        sgm__set_error(err, SGM_ERR_FORMAT, "%s: metadata '%s' is missing or not JSON", path, key);
        return NULL;
    }
    return o;
}

/* "sgm-checkpoint-<major>" and the optional "format_version" "<major>.<minor>" */
static sgm_status read_version(const sgm_safetensors *st, const char *path, sgm_ckpt_info *info,
                               sgm_error *err) {
    const char *fmt = sgm_st_meta(st, "format");
    const char *pre = "sgm-checkpoint-";
    int major = 0, minor = 0;
    char tail;
    if (!fmt || strncmp(fmt, pre, strlen(pre)) != 0 ||
        sscanf(fmt + strlen(pre), "%d%c", &major, &tail) != 1 || major < 1)
        return sgm__set_error(err, SGM_ERR_FORMAT, "%s: not an sgm checkpoint (format '%.40s')",
                              path, fmt ? fmt : "missing");
    const char *ver = sgm_st_meta(st, "format_version");
    int vmaj = major;
    if (ver && (sscanf(ver, "%d.%d%c", &vmaj, &minor, &tail) != 2 || vmaj != major || minor < 0))
        return sgm__set_error(err, SGM_ERR_FORMAT, "%s: bad format_version '%.20s'", path, ver);
    if (major != SGM_CKPT_VERSION_MAJOR)
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                              "%s: checkpoint format %d.%d is from a newer sgm; this build reads "
                              "format %d.x",
                              path, major, minor, SGM_CKPT_VERSION_MAJOR);
    info->version_major = major, info->version_minor = minor;
    return SGM_OK;
}

/* an enum written by name (1.1) or as its number (1.0) */
static int enum_field(const cJSON *o, const char *k, sgm_enum e, int *out) {
    const char *s = sgm__json_str(o, k);
    long v;
    if (s) return sgm_enum_parse(e, s, out) == SGM_OK;
    if (!sgm__json_int(o, k, 0, sgm_enum_count(e) - 1, &v)) return 0;
    *out = (int)v;
    return 1;
}

/* one metadata value and its range; the message names the block and key */
typedef struct {
    const char *path, *block;
    const cJSON *o;
    sgm_error *err;
} meta_ctx;

static int bad_key(const meta_ctx *c, const char *k, const char *what) {
    sgm__set_error(c->err, SGM_ERR_FORMAT, "%s: %s metadata '%s' is missing or %s", c->path,
                   c->block, k, what);
    return 0;
}

/* a finite number in [lo, hi] (lo_open: (lo, hi]; hi_open: [lo, hi)) */
static int num_key(const meta_ctx *c, const char *k, double lo, double hi, int lo_open,
                   int hi_open, double *v) {
    char what[96];
    snprintf(what, sizeof what, "not a finite number in %s%g, %g%s", lo_open ? "(" : "[", lo, hi,
             hi_open ? ")" : "]");
    double x;
    if (!sgm__json_num(c->o, k, &x) || !isfinite(x) || (lo_open ? !(x > lo) : !(x >= lo)) ||
        (hi_open ? !(x < hi) : !(x <= hi)))
        return bad_key(c, k, what);
    *v = x;
    return 1;
}

static int int_key(const meta_ctx *c, const char *k, long lo, long hi, long *v) {
    char what[96];
    snprintf(what, sizeof what, "not an integer in [%ld, %ld]", lo, hi);
    return sgm__json_int(c->o, k, lo, hi, v) || bad_key(c, k, what);
}

static int enum_key(const meta_ctx *c, const char *k, sgm_enum e, int *out) {
    return enum_field(c->o, k, e, out) || bad_key(c, k, "not a known name");
}

static sgm_status read_process(const cJSON *p, const char *path, sgm_process_config *pc,
                               sgm_error *err) {
    sgm_process_kind kind;
    const char *kn = sgm__json_str(p, "kind");
    if (!kn || sgm_process_kind_from_name(kn, &kind) != SGM_OK)
        return sgm__set_error(err, SGM_ERR_FORMAT, "%s: bad process kind", path);
    *pc = sgm_process_config_default(kind);
    int betas, interp;
    long n_train, rz, cl;
    const double big = HUGE_VAL;
    const meta_ctx c = {path, "process", p, err};
    if (!num_key(&c, "sigma_min", 0, big, 1, 1, &pc->sigma_min) ||
        !num_key(&c, "sigma_max", 0, big, 1, 1, &pc->sigma_max) ||
        !num_key(&c, "beta_0", 0, big, 1, 1, &pc->beta_0) ||
        !num_key(&c, "beta_1", 0, big, 1, 1, &pc->beta_1) ||
        !num_key(&c, "cosine_s", 0, 1, 0, 1, &pc->cosine_s) ||
        !num_key(&c, "t_eps", 0, big, 0, 1, &pc->t_eps) ||
        !num_key(&c, "t_max", 0, big, 1, 1, &pc->t_max) ||
        !enum_key(&c, "betas", SGM_ENUM_BETAS, &betas) ||
        !int_key(&c, "n_train", 0, 1 << 24, &n_train) ||
        !num_key(&c, "beta_start", 0, 1, 1, 1, &pc->beta_start) ||
        !num_key(&c, "beta_end", 0, 1, 1, 1, &pc->beta_end) ||
        !enum_key(&c, "interp", SGM_ENUM_INTERP, &interp) ||
        !int_key(&c, "rescale_zero_snr", 0, 1, &rz) || !int_key(&c, "clip_lambda", 0, 1, &cl))
        return SGM_ERR_FORMAT;
    pc->betas = (sgm_beta_schedule)betas;
    pc->n_train = (int)n_train;
    pc->interp = (sgm_vp_interp)interp;
    pc->rescale_zero_snr = (int)rz;
    pc->clip_lambda = (int)cl;
    if (kind == SGM_PROCESS_MR) { /* absent: the defaults */
        if (cJSON_GetObjectItemCaseSensitive(p, "mr_lambda") &&
            !num_key(&c, "mr_lambda", 0, big, 1, 1, &pc->mr_lambda))
            return SGM_ERR_FORMAT;
        if (cJSON_GetObjectItemCaseSensitive(p, "mr_alpha_T") &&
            !num_key(&c, "mr_alpha_T", 0, 1, 1, 1, &pc->mr_alpha_T))
            return SGM_ERR_FORMAT;
        const char *th = sgm__json_str(p, "mr_theta");
        if (th && strcmp(th, "cosine") != 0 && strcmp(th, "constant") != 0)
            return sgm__set_error(err, SGM_ERR_FORMAT,
                                  "%s: process metadata 'mr_theta' is not cosine or constant", path);
        if (th) pc->mr_theta = strcmp(th, "constant") == 0 ? SGM_MR_THETA_CONSTANT
                                                           : SGM_MR_THETA_COSINE;
    }
    /* the relations between the values: sigma_min < sigma_max for every
       kind (schedules read them), the rest by the process's own check,
       whose message names them */
    if (!(pc->sigma_min < pc->sigma_max))
        return sgm__set_error(err, SGM_ERR_FORMAT,
                              "%s: process metadata 'sigma_min' %g is not below 'sigma_max' %g",
                              path, pc->sigma_min, pc->sigma_max);
    sgm_process *proc = NULL;
    sgm_error pe;
    if (sgm_process_create(pc, &proc, &pe) != SGM_OK)
        return sgm__set_error(err, SGM_ERR_FORMAT, "%s: process metadata: %s", path, pe.msg);
    sgm_process_free(proc);
    return SGM_OK;
}

static sgm_status read_training(const cJSON *tr, const cJSON *op, const cJSON *a,
                                const char *path, sgm_train_config *cfg, sgm_error *err) {
    int par, wt, tsm;
    const double big = HUGE_VAL;
    long bt, wu, lt;
    const meta_ctx c = {path, "training", tr, err}, o = {path, "optimizer", op, err};
    if (!enum_key(&c, "prediction", SGM_ENUM_PARAM, &par) ||
        !enum_key(&c, "weighting", SGM_ENUM_WEIGHTING, &wt) ||
        !enum_key(&c, "t_sampling", SGM_ENUM_TSAMPLING, &tsm) ||
        !num_key(&c, "sigma_data", 0, big, 1, 1, &cfg->sigma_data) ||
        !num_key(&c, "min_snr_gamma", 0, big, 0, 1, &cfg->min_snr_gamma) ||
        !num_key(&c, "p_mean", -big, big, 1, 1, &cfg->p_mean) ||
        !num_key(&c, "p_std", 0, big, 1, 1, &cfg->p_std) ||
        !num_key(&c, "t_lo", 0, big, 0, 1, &cfg->t_lo) ||
        !num_key(&c, "t_hi", 0, big, 0, 1, &cfg->t_hi) ||
        !int_key(&c, "batch", 1, 1 << 24, &bt) || !num_key(&o, "lr", 0, big, 1, 1, &cfg->lr) ||
        !num_key(&o, "lr_min", -big, big, 1, 1, &cfg->lr_min) ||
        !int_key(&o, "warmup", 0, 1L << 40, &wu) || !int_key(&o, "lr_total", 0, 1L << 40, &lt) ||
        !num_key(&o, "beta1", 0, 1, 0, 1, &cfg->beta1) ||
        !num_key(&o, "beta2", 0, 1, 0, 1, &cfg->beta2) ||
        !num_key(&o, "eps", 0, big, 1, 1, &cfg->adam_eps) ||
        !num_key(&o, "weight_decay", 0, big, 0, 1, &cfg->weight_decay) ||
        !num_key(&o, "clip", 0, big, 0, 1, &cfg->clip) ||
        !num_key(&o, "ema", 0, 1, 0, 1, &cfg->ema))
        return SGM_ERR_FORMAT;
    if (cfg->t_lo > 0 && cfg->t_hi > 0 && !(cfg->t_lo < cfg->t_hi))
        return sgm__set_error(err, SGM_ERR_FORMAT,
                              "%s: training metadata 't_lo' %g is not below 't_hi' %g", path,
                              cfg->t_lo, cfg->t_hi);
    cfg->param = (sgm_param)par;
    cfg->weighting = (sgm_weighting)wt;
    cfg->tsampling = (sgm_tsampling)tsm;
    const char *ty = sgm__json_str(op, "type");
    cfg->decoupled = ty && strcmp(ty, "adamw") == 0;
    cfg->batch = (int)bt, cfg->warmup = wu, cfg->lr_total = lt;
    /* 1.2: the EMA warm-up; files before it averaged from the start */
    double ew = 0;
    cfg->ema_warmup = sgm__json_num(op, "ema_warmup", &ew) && ew != 0;
    /* 1.0 U-Net files kept the label dropout in arch_config */
    if (!sgm__json_num(tr, "label_dropout", &cfg->label_dropout))
        sgm__json_num(a, "label_dropout", &cfg->label_dropout);
    if (!(cfg->label_dropout >= 0 && cfg->label_dropout <= 1))
        return sgm__set_error(err, SGM_ERR_FORMAT, "%s: label_dropout %g outside [0, 1]", path,
                              cfg->label_dropout);
    /* MR restoration: the degradation of the training images (parsed, with
       the image shape, where it is used: sgm_degrade_apply) */
    const char *dg = sgm__json_str(tr, "degrade"), *dgs = sgm__json_str(tr, "degrade_seed");
    if (dg && strlen(dg) >= sizeof cfg->degrade)
        return sgm__set_error(err, SGM_ERR_FORMAT, "%s: training metadata 'degrade' is too long",
                              path);
    if (dg) snprintf(cfg->degrade, sizeof cfg->degrade, "%s", dg);
    if (dgs) cfg->degrade_seed = strtoull(dgs, NULL, 10);
    if ((cfg->process.kind == SGM_PROCESS_MR) != (cfg->degrade[0] != 0))
        return sgm__set_error(err, SGM_ERR_FORMAT,
                              "%s: an MR checkpoint records its degradation ('degrade'), and "
                              "only an MR checkpoint does", path);
    return SGM_OK;
}

/* the optional record of the data; rows past 2^40 (no table of them fits
   in memory) are refused rather than regenerated on resume */
static sgm_status read_source(const sgm_safetensors *st, const char *path,
                              sgm_train_config *cfg, sgm_error *err) {
    const char *dsrc = sgm_st_meta(st, "data_source");
    if (!dsrc) return SGM_OK;
    /* present but unreadable (not JSON, or cJSON out of memory): an error,
       not a silently forgotten record (a resume would rebuild other data) */
    cJSON *dj = cJSON_Parse(dsrc);
    if (!dj)
        return sgm__set_error(err, SGM_ERR_FORMAT, "%s: metadata 'data_source' is not JSON",
                              path);
    const char *sp = sgm__json_str(dj, "spec"), *sd = sgm__json_str(dj, "seed");
    long dn = 0;
    const meta_ctx c = {path, "data_source", dj, err};
    int ok = !cJSON_GetObjectItemCaseSensitive(dj, "n") || int_key(&c, "n", 0, 1L << 40, &dn);
    if (sp) snprintf(cfg->data_spec, sizeof cfg->data_spec, "%s", sp);
    if (sd) cfg->data_seed = strtoull(sd, NULL, 10);
    cfg->data_n = (size_t)dn;
    cJSON_Delete(dj);
    return ok ? SGM_OK : SGM_ERR_FORMAT;
}

static sgm_status read_stats(const cJSON *ds, const char *path, sgm__ckpt *ck, sgm_error *err) {
    const int d = (int)ck->info.d;
    const cJSON *mn = cJSON_GetObjectItemCaseSensitive(ds, "mean"),
                *sv = cJSON_GetObjectItemCaseSensitive(ds, "std");
    if (!cJSON_IsArray(mn) || !cJSON_IsArray(sv) || cJSON_GetArraySize(mn) != d ||
        cJSON_GetArraySize(sv) != d)
        return sgm__set_error(err, SGM_ERR_FORMAT, "%s: data statistics do not match d_in = %d",
                              path, d);
    ck->mean = malloc((size_t)d * sizeof(double));
    ck->std = malloc((size_t)d * sizeof(double));
    if (!ck->mean || !ck->std) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    for (int j = 0; j < d; j++) {
        const cJSON *m = cJSON_GetArrayItem(mn, j), *s = cJSON_GetArrayItem(sv, j);
        if (!cJSON_IsNumber(m) || !cJSON_IsNumber(s) || !isfinite(m->valuedouble) ||
            !(s->valuedouble > 0 && isfinite(s->valuedouble)))
            return sgm__set_error(err, SGM_ERR_FORMAT,
                                  "%s: data statistics of column %d are not a finite mean and a "
                                  "positive std",
                                  path, j);
        ck->mean[j] = m->valuedouble, ck->std[j] = s->valuedouble;
    }
    double rows;
    if (sgm__json_num(ds, "rows", &rows) && rows >= 0 && rows < 1e18) ck->info.rows = (size_t)rows;
    return SGM_OK;
}

static sgm_status decode(const char *path, sgm__ckpt *ck, sgm_error *err) {
    sgm_safetensors *st = &ck->st;
    sgm_ckpt_info *info = &ck->info;
    sgm_status rc = read_version(st, path, info, err);
    if (rc != SGM_OK) return rc;
    cJSON *a = NULL, *p = NULL, *tr = NULL, *op = NULL, *ds = NULL, *rg = NULL;
    rc = SGM_ERR_FORMAT;
    if (!(a = meta_json(st, "arch_config", path, err)) || !(p = meta_json(st, "process", path, err)) ||
        !(tr = meta_json(st, "training", path, err)) ||
        !(op = meta_json(st, "optimizer", path, err)) ||
        !(ds = meta_json(st, "data_stats", path, err)) || !(rg = meta_json(st, "rng", path, err)))
        goto done;
    sgm_train_config *cfg = &info->train;
    int d;
    long step;
    const char *seed = sgm__json_str(rg, "seed");
    if ((rc = read_process(p, path, &cfg->process, err)) != SGM_OK ||
        (rc = read_training(tr, op, a, path, cfg, err)) != SGM_OK ||
        (rc = sgm__net_config_from_json(a, sgm_st_meta(st, "arch"), path, &cfg->net, &d, err)) !=
            SGM_OK)
        goto done;
    rc = SGM_ERR_FORMAT;
    if (!seed || !sgm__json_int(rg, "step", 0, 1L << 50, &step)) {
        sgm__set_error(err, SGM_ERR_FORMAT, "%s: missing or invalid rng seed / step", path);
        goto done;
    }
    cfg->seed = strtoull(seed, NULL, 10);
    info->d = (size_t)d;
    info->step = step;
    const char *el = sgm_st_meta(st, "ema_loss");
    info->ema_loss = el ? strtod(el, NULL) : 0;
    if ((rc = read_source(st, path, cfg, err)) == SGM_OK) rc = read_stats(ds, path, ck, err);
    if (rc == SGM_OK) { /* 1.2; older files: the rule on their configuration */
        const char *sj = sgm_st_meta(st, "sampling");
        sgm_error ignored;
        if (sj) rc = sgm__ckpt_sampling_read(sj, path, &info->sampling, err);
        else if (sgm_ckpt_sampling_default(cfg, &info->sampling, &ignored) != SGM_OK)
            memset(&info->sampling, 0, sizeof info->sampling); /* steps 0: none */
    }
done:
    cJSON_Delete(a), cJSON_Delete(p), cJSON_Delete(tr), cJSON_Delete(op), cJSON_Delete(ds),
        cJSON_Delete(rg);
    return rc;
}

/* ck->st loaded: decodes the rest of ck */
static sgm_status decode_loaded(const char *path, sgm__ckpt *ck, sgm_error *err) {
    /* every field is read from the file; the one a 1.0 mlp file lacks is the
       label dropout, which only class-conditional networks use (0.1, the
       default of the trainer that wrote them) */
    ck->info.train.label_dropout = 0.1;
    sgm_status rc = decode(path, ck, err);
    if (rc != SGM_OK) sgm__ckpt_free(ck);
    return rc;
}

sgm_status sgm__ckpt_load(const char *path, sgm__ckpt *ck, sgm_error *err) {
    memset(ck, 0, sizeof *ck);
    sgm_status rc = sgm_st_load(path, &ck->st, err);
    return rc != SGM_OK ? rc : decode_loaded(path, ck, err);
}

void sgm__ckpt_free(sgm__ckpt *ck) {
    if (!ck) return;
    free(ck->mean), free(ck->std);
    sgm_st_free(&ck->st);
    memset(ck, 0, sizeof *ck);
}

sgm_status sgm__ckpt_block(const sgm__ckpt *ck, const char *path, const char *block,
                           const sgm_net *net, float *dst, sgm_error *err) {
    for (int i = 0; i < sgm_net_n_tensors(net); i++) {
        sgm_net_tensor info;
        sgm_status rc = sgm_net_tensor_info(net, i, &info, err);
        if (rc != SGM_OK) return rc;
        char full[160];
        snprintf(full, sizeof full, "%s.%s", block, info.name);
        const sgm_st_tensor *t = sgm_st_find(&ck->st, full);
        if (!t) return sgm__set_error(err, SGM_ERR_FORMAT, "%s: tensor '%s' is missing", path, full);
        size_t c = 1;
        for (int j = 0; j < t->ndim; j++) c *= t->shape[j];
        if (t->dtype != SGM_ST_F32 || c != info.count)
            return sgm__set_error(err, SGM_ERR_SHAPE,
                                  "%s: tensor '%s' has %zu elements, the architecture needs %zu "
                                  "float32",
                                  path, full, c, info.count);
        float *o = dst + info.off;
        memcpy(o, t->data, info.count * sizeof(float));
        for (size_t k = 0; k < info.count; k++)
            if (!isfinite(o[k]))
                return sgm__set_error(err, SGM_ERR_FORMAT,
                                      "%s: tensor '%s' holds a non-finite value at %zu", path, full,
                                      k);
    }
    return SGM_OK;
}

sgm_status sgm_ckpt_read_info(const char *path, sgm_ckpt_info *out, sgm_error *err) {
    sgm__ckpt ck;
    sgm_status rc = sgm__ckpt_load(path, &ck, err);
    if (rc != SGM_OK) return rc;
    *out = ck.info;
    sgm__ckpt_free(&ck);
    return SGM_OK;
}

sgm_status sgm__ckpt_info_parse(const char *path, unsigned char *file, size_t len,
                                sgm_ckpt_info *out, sgm_error *err) {
    sgm__ckpt ck;
    memset(&ck, 0, sizeof ck);
    sgm_status rc = sgm__st_parse(path, file, len, &ck.st, err);
    if (rc == SGM_OK) rc = decode_loaded(path, &ck, err);
    if (rc != SGM_OK) return rc;
    *out = ck.info;
    sgm__ckpt_free(&ck);
    return SGM_OK;
}

sgm_status sgm_ckpt_train_config(const char *path, sgm_train_config *cfg, size_t *d,
                                 sgm_error *err) {
    sgm_ckpt_info info;
    sgm_status rc = sgm_ckpt_read_info(path, &info, err);
    if (rc != SGM_OK) return rc;
    *cfg = info.train;
    *d = info.d;
    return SGM_OK;
}
