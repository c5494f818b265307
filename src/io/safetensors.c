/* safetensors.c - reader and writer of the safetensors format
 * (huggingface/safetensors, docs "Format"): u64 little-endian header size,
 * a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}},
 * then the byte buffer; offsets are relative to the start of the buffer and
 * the tensors must cover it without holes or overlaps. Written with cJSON;
 * this library supports F32, F64, I64 and U8 tensors on little-endian hosts. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/internal.h"
#include "json_util.h"
#include "parse_mem.h"
#include "sgm/sgm_io.h"

static const char *const st_names[] = {"F32", "F64", "I64", "U8"};
static const size_t st_sizes[] = {4, 8, 8, 1};

size_t sgm_st_dtype_size(sgm_st_dtype t) {
    return (unsigned)t < 4 ? st_sizes[t] : 0;
}

typedef struct st_blob {
    unsigned char *file;
    char *names; /* NUL-separated */
} st_blob;

void sgm_st_free(sgm_safetensors *st) {
    if (!st) return;
    if (st->meta_keys)
        for (size_t i = 0; i < st->n_meta; i++) {
            free(st->meta_keys[i]);
            free(st->meta_vals[i]);
        }
    free(st->meta_keys);
    free(st->meta_vals);
    free(st->tensors);
    if (st->blob_) {
        st_blob *b = st->blob_;
        free(b->file);
        free(b->names);
        free(b);
    }
    memset(st, 0, sizeof *st);
}

typedef struct span {
    size_t b, e;
} span;
static int span_cmp(const void *a, const void *b) {
    const span *x = a, *y = b;
    return x->b < y->b ? -1 : x->b > y->b ? 1 : (x->e < y->e ? -1 : x->e > y->e);
}

static sgm_status parse(sgm_safetensors *st, unsigned char *file, size_t len,
                        const char *path, sgm_error *err) {
    if (len < 8)
        return sgm__set_error(err, SGM_ERR_FORMAT, "%s: truncated safetensors file (%zu bytes)",
                              path, len);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | file[i];
    if (hl < 2 || hl > len - 8 || hl > (uint64_t)100 << 20)
        return sgm__set_error(err, SGM_ERR_FORMAT,
                              "%s: header size %llu does not fit the file (%zu bytes): "
                              "truncated or not a safetensors file",
                              path, (unsigned long long)hl, len);
    size_t data0 = 8 + (size_t)hl, dlen = len - data0;
    cJSON *root = cJSON_ParseWithLength((const char *)file + 8, (size_t)hl);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sgm__set_error(err, SGM_ERR_FORMAT, "%s: header is not a JSON object", path);
    }
    sgm_status rc = SGM_OK;
    size_t nt = 0, nm = 0, names_len = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, root) {
        if (strcmp(it->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(it)) {
                rc = sgm__set_error(err, SGM_ERR_FORMAT, "%s: __metadata__ is not an object", path);
                goto done;
            }
            const cJSON *m;
            cJSON_ArrayForEach(m, it) {
                if (!cJSON_IsString(m)) {
                    rc = sgm__set_error(err, SGM_ERR_FORMAT,
                                        "%s: metadata value of '%s' is not a string", path,
                                        m->string);
                    goto done;
                }
                nm++;
            }
        } else {
            nt++;
            names_len += strlen(it->string) + 1;
        }
    }
    st_blob *blob = calloc(1, sizeof *blob);
    st->blob_ = blob;
    if (blob) blob->file = file;
    st->tensors = sgm__calloc(nt ? nt : 1, sizeof *st->tensors);
    st->meta_keys = sgm__calloc(nm ? nm : 1, sizeof(char *));
    st->meta_vals = sgm__calloc(nm ? nm : 1, sizeof(char *));
    span *sp = sgm__calloc(nt ? nt : 1, sizeof *sp);
    if (blob) blob->names = malloc(names_len + 1);
    if (!blob || !st->tensors || !st->meta_keys || !st->meta_vals || !sp || !blob->names) {
        free(sp);
        rc = sgm__set_error(err, SGM_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    blob->file = file;
    char *np = blob->names;
    cJSON_ArrayForEach(it, root) {
        if (strcmp(it->string, "__metadata__") == 0) {
            const cJSON *m;
            cJSON_ArrayForEach(m, it) {
                st->meta_keys[st->n_meta] = strdup(m->string);
                st->meta_vals[st->n_meta] = strdup(m->valuestring);
                if (!st->meta_keys[st->n_meta] || !st->meta_vals[st->n_meta]) {
                    st->n_meta++;
                    free(sp);
                    rc = sgm__set_error(err, SGM_ERR_NOMEM, "%s: out of memory", path);
                    goto done;
                }
                st->n_meta++;
            }
            continue;
        }
        sgm_st_tensor *t = &st->tensors[st->n_tensors];
        const char *nm_ = it->string;
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(it, "shape");
        const cJSON *of = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
        if (!cJSON_IsObject(it) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) ||
            !cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2) {
            free(sp);
            rc = sgm__set_error(err, SGM_ERR_FORMAT,
                                "%s: tensor '%s' lacks dtype, shape or data_offsets", path, nm_);
            goto done;
        }
        int k = -1;
        for (int j = 0; j < 4; j++)
            if (strcmp(dt->valuestring, st_names[j]) == 0) k = j;
        if (k < 0) {
            free(sp);
            rc = sgm__set_error(err, SGM_ERR_FORMAT, "%s: tensor '%s' has unsupported dtype '%s'",
                                path, nm_, dt->valuestring);
            goto done;
        }
        t->dtype = (sgm_st_dtype)k;
        int nd = cJSON_GetArraySize(sh);
        if (nd > SGM_ST_MAX_DIMS) {
            free(sp);
            rc = sgm__set_error(err, SGM_ERR_FORMAT, "%s: tensor '%s' has %d dims (max %d)", path,
                                nm_, nd, SGM_ST_MAX_DIMS);
            goto done;
        }
        t->ndim = nd;
        double count = 1;
        for (int j = 0; j < nd; j++) {
            const cJSON *e = cJSON_GetArrayItem(sh, j);
            if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 1e15 ||
                e->valuedouble != (double)(size_t)e->valuedouble) {
                free(sp);
                rc = sgm__set_error(err, SGM_ERR_FORMAT, "%s: tensor '%s' has a bad shape", path,
                                    nm_);
                goto done;
            }
            t->shape[j] = (size_t)e->valuedouble;
            count *= e->valuedouble;
        }
        const cJSON *ob = cJSON_GetArrayItem(of, 0), *oe = cJSON_GetArrayItem(of, 1);
        if (!cJSON_IsNumber(ob) || !cJSON_IsNumber(oe) || ob->valuedouble < 0 ||
            oe->valuedouble < ob->valuedouble || oe->valuedouble > (double)dlen ||
            ob->valuedouble != (double)(size_t)ob->valuedouble ||
            oe->valuedouble != (double)(size_t)oe->valuedouble) {
            free(sp);
            rc = sgm__set_error(err, SGM_ERR_FORMAT,
                                "%s: tensor '%s' data_offsets lie outside the data (%zu bytes): "
                                "truncated file?",
                                path, nm_, dlen);
            goto done;
        }
        size_t b = (size_t)ob->valuedouble, e = (size_t)oe->valuedouble;
        if ((double)(e - b) != count * (double)st_sizes[k]) {
            free(sp);
            rc = sgm__set_error(err, SGM_ERR_FORMAT,
                                "%s: tensor '%s' has %zu bytes for a shape of %.0f %s elements",
                                path, nm_, e - b, count, st_names[k]);
            goto done;
        }
        size_t l = strlen(nm_);
        memcpy(np, nm_, l + 1);
        t->name = np;
        np += l + 1;
        t->data = file + data0 + b;
        sp[st->n_tensors].b = b;
        sp[st->n_tensors].e = e;
        st->n_tensors++;
    }
    qsort(sp, st->n_tensors, sizeof *sp, span_cmp);
    size_t pos = 0;
    for (size_t i = 0; i < st->n_tensors; i++) {
        if (sp[i].b != pos) {
            free(sp);
            rc = sgm__set_error(err, SGM_ERR_FORMAT,
                                "%s: tensor data overlaps or leaves a hole at byte %zu", path, pos);
            goto done;
        }
        pos = sp[i].e;
    }
    free(sp);
    if (pos != dlen)
        rc = sgm__set_error(err, SGM_ERR_FORMAT,
                            "%s: data section has %zu bytes but the tensors cover %zu", path, dlen,
                            pos);
done:
    cJSON_Delete(root);
    return rc;
}

sgm_status sgm_st_load(const char *path, sgm_safetensors *out, sgm_error *err) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return sgm__set_error(err, SGM_ERR_IO, "%s: %s", path, strerror(errno));
    unsigned char *file = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 1 << 16;
            unsigned char *nf = realloc(file, cap);
            if (!nf) {
                free(file);
                fclose(f);
                return sgm__set_error(err, SGM_ERR_NOMEM, "%s: out of memory", path);
            }
            file = nf;
        }
        size_t r = fread(file + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(file);
        return sgm__set_error(err, SGM_ERR_IO, "%s: read error", path);
    }
    return sgm__st_parse(path, file, len, out, err);
}

sgm_status sgm__st_parse(const char *path, unsigned char *file, size_t len,
                         sgm_safetensors *out, sgm_error *err) {
    memset(out, 0, sizeof *out);
    sgm_status rc = parse(out, file, len, path, err);
    if (!out->blob_) free(file);
    if (rc != SGM_OK) sgm_st_free(out);
    return rc;
}

const sgm_st_tensor *sgm_st_find(const sgm_safetensors *st, const char *name) {
    for (size_t i = 0; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
    return NULL;
}

const char *sgm_st_meta(const sgm_safetensors *st, const char *key) {
    for (size_t i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_vals[i];
    return NULL;
}

static size_t tensor_bytes(const sgm_st_tensor *t) {
    size_t c = 1;
    for (int j = 0; j < t->ndim; j++) c *= t->shape[j];
    return c * sgm_st_dtype_size(t->dtype);
}

sgm_status sgm_st_save(const char *path, const sgm_st_tensor *t, size_t n,
                       const char *const *keys, const char *const *vals, size_t n_meta,
                       sgm_error *err) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    int built = 1; /* cleared by a failed cJSON_Add* (out of memory) */
    if (n_meta) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        built = m != NULL;
        for (size_t i = 0; m && i < n_meta; i++)
            built &= cJSON_AddStringToObject(m, keys[i], vals[i]) != NULL;
    }
    size_t off = 0;
    for (size_t i = 0; i < n && built; i++) {
        if ((unsigned)t[i].dtype > 3 || t[i].ndim < 0 || t[i].ndim > SGM_ST_MAX_DIMS) {
            cJSON_Delete(root);
            return sgm__set_error(err, SGM_ERR_INVALID_ARG, "tensor '%s': bad dtype or ndim",
                                  t[i].name);
        }
        cJSON *o = cJSON_AddObjectToObject(root, t[i].name);
        built &= o && cJSON_AddStringToObject(o, "dtype", st_names[t[i].dtype]) != NULL;
        cJSON *sh = o ? cJSON_AddArrayToObject(o, "shape") : NULL;
        built &= sh != NULL;
        for (int j = 0; sh && j < t[i].ndim; j++) sgm__json_push_num(sh, (double)t[i].shape[j], &built);
        size_t nb = tensor_bytes(&t[i]);
        cJSON *of = o ? cJSON_AddArrayToObject(o, "data_offsets") : NULL;
        built &= of != NULL;
        sgm__json_push_num(of, (double)off, &built);
        sgm__json_push_num(of, (double)(off + nb), &built);
        off += nb;
    }
    if (!built) { /* a partial header would name fewer tensors than the data */
        cJSON_Delete(root);
        return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    }
    char *hdr = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!hdr) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    size_t hl = strlen(hdr), pad = (8 - hl % 8) % 8;
    sgm_atomic_file *af = NULL;
    sgm_status rc = sgm_atomic_open(path, &af, err);
    if (rc != SGM_OK) {
        free(hdr);
        return rc;
    }
    FILE *f = sgm_atomic_stream(af);
    unsigned char le[8];
    uint64_t h = hl + pad;
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(h >> (8 * i));
    int ok = fwrite(le, 1, 8, f) == 8 && fwrite(hdr, 1, hl, f) == hl;
    for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', f) != EOF;
    for (size_t i = 0; ok && i < n; i++) {
        size_t nb = tensor_bytes(&t[i]);
        ok = nb == 0 || fwrite(t[i].data, 1, nb, f) == nb;
    }
    rc = sgm_atomic_commit(af, err); /* a failed write is in the stream's error flag */
    free(hdr);
    return rc;
}
