/* main.c - sgm-refcase CASE_DIR OUT.npy [--check]
 *
 * Runs one reference case through the library and writes the result. With
 * --check it also compares with the case's ref.npy using the criterion of
 * ../shared/reference/README.md: every value finite and
 * max|out - ref| <= 1e-4 max|ref|; prints one line and exits 0 (pass),
 * 1 (fail) or 2 (the case could not be run). */
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "refcase.h"

int rc_fail(refcase *rc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rc->err.msg, sizeof rc->err.msg, fmt, ap);
    va_end(ap);
    /* one line: the message may quote the case's JSON (control characters cut) */
    for (char *p = rc->err.msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
    rc->err.status = SGM_ERR_INVALID_ARG;
    return 1;
}

const cJSON *rc_get(const cJSON *obj, const char *path) {
    char key[128];
    const char *p = path;
    while (obj && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len >= sizeof key) return NULL;
        memcpy(key, p, len);
        key[len] = 0;
        obj = cJSON_GetObjectItemCaseSensitive(obj, key);
        p = dot ? dot + 1 : p + len;
    }
    return obj;
}

double rc_num(const cJSON *obj, const char *path, double dflt) {
    const cJSON *v = rc_get(obj, path);
    if (cJSON_IsNumber(v)) return v->valuedouble;
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v) ? 1 : 0;
    return dflt;
}

const char *rc_str(const cJSON *obj, const char *path, const char *dflt) {
    const cJSON *v = rc_get(obj, path);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

double *rc_vec(const cJSON *obj, const char *path, size_t *n) {
    const cJSON *a = rc_get(obj, path);
    *n = 0;
    if (!cJSON_IsArray(a)) return NULL;
    size_t m = (size_t)cJSON_GetArraySize(a);
    double *v = malloc((m ? m : 1) * sizeof *v);
    if (!v) return NULL;
    const cJSON *e;
    size_t i = 0;
    cJSON_ArrayForEach(e, a) v[i++] = cJSON_IsNumber(e) ? e->valuedouble : NAN;
    *n = m;
    return v;
}

int rc_set_vec(refcase *rc, const double *v, size_t n) {
    free(rc->out);
    rc->out = malloc((n ? n : 1) * sizeof(double));
    if (!rc->out) return rc_fail(rc, "out of memory");
    memcpy(rc->out, v, n * sizeof(double));
    rc->out_ndim = 1;
    rc->out_shape[0] = n;
    return 0;
}

int rc_run(refcase *rc, const sgm_process *proc, const sgm_schedule *sched,
           const sgm_sampler_config *cfg, const sgm_denoiser *den) {
    if (rc->init.ndim != 2) return rc_fail(rc, "init.npy must be 2-D");
    size_t n = rc->init.shape[0], d = rc->init.shape[1];
    if (d != sgm_gmm_dim(rc->gmm)) return rc_fail(rc, "init.npy dim != model dim");
    sgm_denoiser gd = sgm_gmm_denoiser(rc->gmm);
    if (!den) den = &gd;
    sgm_sampler *s = NULL;
    if (sgm_sampler_create(cfg, proc, n, d, &s, &rc->err)) return 1;
    double *x = malloc(n * d * sizeof *x);
    if (!x) {
        sgm_sampler_free(s);
        return rc_fail(rc, "out of memory");
    }
    memcpy(x, rc->init.data, n * d * sizeof *x);
    sgm_rng rng = sgm_rng_init(0);
    sgm_status st = sgm_sampler_run(s, sched, den, &rng, 0, n, x, &rc->err);
    sgm_sampler_stats stats;
    sgm_sampler_get_stats(s, &stats);
    rc->nfe = stats.nfe;
    sgm_sampler_free(s);
    if (st) {
        free(x);
        return 1;
    }
    free(rc->out);
    rc->out = x;
    rc->out_ndim = 2;
    rc->out_shape[0] = n;
    rc->out_shape[1] = d;
    return 0;
}

static int load_case(refcase *rc, const char *dir) {
    rc->dir = dir;
    char path[4200];
    snprintf(path, sizeof path, "%s/case.json", dir);
    char *text = NULL;
    if (sgm_read_file(path, &text, NULL, &rc->err)) return 1;
    rc->json = cJSON_Parse(text);
    free(text);
    if (!rc->json) return rc_fail(rc, "%s: malformed JSON", path);
    rc->impl = rc_str(rc->json, "impl", NULL);
    rc->kind = rc_str(rc->json, "kind", "sampler");
    if (!rc->impl) return rc_fail(rc, "%s: no \"impl\"", path);
    /* root: the folder that holds cases/ (CASE_DIR = ROOT/cases/IMPL/ID) */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dir);
    size_t len = strlen(tmp);
    while (len > 1 && tmp[len - 1] == '/') tmp[--len] = 0;
    char *d1 = dirname(tmp); /* ROOT/cases/IMPL */
    char t2[4096];
    snprintf(t2, sizeof t2, "%s", d1);
    char *d2 = dirname(t2); /* ROOT/cases */
    char t3[4096];
    snprintf(t3, sizeof t3, "%s", d2);
    snprintf(rc->root, sizeof rc->root, "%s", dirname(t3));
    if (strcmp(rc->kind, "sampler") == 0) {
        const char *mf = rc_str(rc->json, "model.file", NULL);
        if (!mf) return rc_fail(rc, "%s: no model.file", path);
        snprintf(path, sizeof path, "%s/%s", rc->root, mf);
        if (sgm_gmm_load(path, &rc->gmm, &rc->err)) return 1;
        const char *initf = rc_str(rc->json, "init.file", "init.npy");
        snprintf(path, sizeof path, "%s/%s", dir, initf);
        if (sgm_npy_load(path, &rc->init, &rc->err)) return 1;
    }
    return 0;
}

static int compare(const refcase *rc, double *maxerr, double *scale) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", rc->dir, rc_str(rc->json, "output.file", "ref.npy"));
    sgm_array ref;
    sgm_error err;
    if (sgm_npy_load(path, &ref, &err)) {
        fprintf(stderr, "sgm-refcase: %s\n", err.msg);
        return -1;
    }
    size_t cnt = 1;
    for (int i = 0; i < rc->out_ndim; i++) cnt *= rc->out_shape[i];
    int ok = cnt == ref.count;
    double me = 0, sc = 0;
    for (size_t i = 0; ok && i < cnt; i++) {
        if (!isfinite(rc->out[i])) ok = 0;
        double e = fabs(rc->out[i] - ref.data[i]);
        if (e > me || isnan(e)) me = e;
        if (fabs(ref.data[i]) > sc) sc = fabs(ref.data[i]);
    }
    if (cnt != ref.count)
        fprintf(stderr, "sgm-refcase: output has %zu values, ref.npy %zu\n", cnt, ref.count);
    sgm_array_free(&ref);
    *maxerr = me;
    *scale = sc;
    return ok && me <= 1e-4 * sc;
}

int main(int argc, char **argv) {
    int check = 0;
    const char *dir = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0) check = 1;
        else if (!dir) dir = argv[i];
        else if (!out) out = argv[i];
        else {
            fprintf(stderr, "sgm-refcase: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!dir || !out) {
        fprintf(stderr, "usage: sgm-refcase CASE_DIR OUT.npy [--check]\n");
        return 2;
    }
    refcase rc;
    memset(&rc, 0, sizeof rc);
    int bad = load_case(&rc, dir);
    if (!bad) {
        if (strcmp(rc.impl, "k-diffusion") == 0) bad = refcase_kdiff(&rc);
        else if (strcmp(rc.impl, "dpm-solver") == 0) bad = refcase_dpm(&rc);
        else if (strcmp(rc.impl, "diffusers") == 0) bad = refcase_diffusers(&rc);
        else if (strcmp(rc.impl, "comfyui") == 0) bad = refcase_comfy(&rc);
        else bad = rc_fail(&rc, "unknown impl '%s'", rc.impl);
    }
    if (!bad && !rc.out) bad = rc_fail(&rc, "case produced no output");
    if (!bad && sgm_npy_save(out, rc.out_ndim, rc.out_shape, rc.out, 0, &rc.err)) bad = 1;
    int code = 0;
    if (bad) {
        fprintf(stderr, "sgm-refcase: %s: %s\n", dir, rc.err.msg);
        code = 2;
    } else if (check) {
        double me = 0, sc = 0;
        int r = compare(&rc, &me, &sc);
        if (r < 0) code = 2;
        else {
            printf("%s %s max|out-ref|=%.3g (tol %.3g) nfe=%zu\n", r ? "PASS" : "FAIL", dir, me,
                   1e-4 * sc, rc.nfe);
            code = r ? 0 : 1;
        }
    }
    free(rc.out);
    sgm_array_free(&rc.init);
    sgm_gmm_free(rc.gmm);
    cJSON_Delete(rc.json);
    return code;
}
