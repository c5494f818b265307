/* npy.c - NumPy .npy reader and atomic writer (format versions 1.0-3.0,
 * little-endian float32/float64, C order). The reader checks the magic, the
 * header dictionary, dtype, order, shape and that the file holds exactly
 * the data the header announces. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/internal.h"
#include "parse_mem.h"
#include "sgm/sgm_io.h"

void sgm_array_free(sgm_array *a) {
    if (!a) return;
    free(a->data);
    a->data = NULL;
    a->count = 0;
    a->ndim = 0;
}

sgm_status sgm_read_file(const char *path, char **text, size_t *len, sgm_error *err) {
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return sgm__set_error(err, SGM_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    /* a folder opens, and its "size" from ftell is LONG_MAX on ext4 */
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return sgm__set_error(err, SGM_ERR_IO, "%s: not a regular file", path);
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return sgm__set_error(err, SGM_ERR_IO, "%s: cannot seek", path);
    }
    long sz = ftell(f);
    if (sz < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return sgm__set_error(err, SGM_ERR_IO, "%s: cannot read size", path);
    }
    char *buf = malloc((size_t)sz + 1);
    if (!buf) {
        fclose(f);
        return sgm__set_error(err, SGM_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t got = fread(buf, 1, (size_t)sz, f);
    fclose(f);
    if (got != (size_t)sz) {
        free(buf);
        return sgm__set_error(err, SGM_ERR_IO, "%s: short read", path);
    }
    buf[sz] = 0;
    *text = buf;
    if (len) *len = (size_t)sz;
    return SGM_OK;
}

/* occurrences of the quoted name `key` (either quote) in the header */
static int key_count(const char *h, const char *key) {
    int n = 0;
    for (const char *p = h; (p = strpbrk(p, "'\"")) != NULL; p++) {
        size_t k = strlen(key);
        if (strncmp(p + 1, key, k) == 0 && p[1 + k] == *p) n++;
    }
    return n;
}

/* finds 'key': in the header dict and returns a pointer just past the colon */
static const char *dict_value(const char *h, const char *key) {
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(h, pat);
    if (!p) {
        snprintf(pat, sizeof pat, "\"%s\"", key);
        p = strstr(h, pat);
    }
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

sgm_status sgm_npy_load(const char *path, sgm_array *out, sgm_error *err) {
    memset(out, 0, sizeof *out);
    char *buf = NULL;
    size_t len = 0;
    sgm_status st = sgm_read_file(path, &buf, &len, err);
    if (st) return st;
    st = sgm__npy_parse(path, buf, len, out, err);
    free(buf);
    return st;
}

sgm_status sgm__npy_parse(const char *path, const char *buf, size_t len, sgm_array *out,
                          sgm_error *err) {
    memset(out, 0, sizeof *out);
    sgm_status st;
    const unsigned char *u = (const unsigned char *)buf;
    size_t hlen, hoff;
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) {
        st = sgm__set_error(err, SGM_ERR_FORMAT, "%s: not a .npy file (bad magic)", path);
        goto fail;
    }
    if (u[6] == 1) {
        hlen = (size_t)u[8] | ((size_t)u[9] << 8);
        hoff = 10;
    } else if (u[6] == 2 || u[6] == 3) {
        if (len < 12) {
            st = sgm__set_error(err, SGM_ERR_FORMAT, "%s: truncated .npy header", path);
            goto fail;
        }
        hlen = (size_t)u[8] | ((size_t)u[9] << 8) | ((size_t)u[10] << 16) | ((size_t)u[11] << 24);
        hoff = 12;
    } else {
        st = sgm__set_error(err, SGM_ERR_FORMAT, "%s: unsupported .npy version %d", path, u[6]);
        goto fail;
    }
    if (hoff + hlen > len || hlen > 1000000) {
        st = sgm__set_error(err, SGM_ERR_FORMAT, "%s: truncated .npy header", path);
        goto fail;
    }
    char *h = malloc(hlen + 1);
    if (!h) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    memcpy(h, buf + hoff, hlen);
    h[hlen] = 0;
    /* Python keeps the last of duplicate keys, this reader the first: a
       header naming a key twice (or quoting it inside a value) is refused */
    static const char *const keys[] = {"descr", "fortran_order", "shape"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (key_count(h, keys[i]) > 1) {
            st = sgm__set_error(err, SGM_ERR_FORMAT, "%s: .npy header names '%s' more than once",
                                path, keys[i]);
            free(h);
            goto fail;
        }
    const char *descr = dict_value(h, "descr");
    const char *fo = dict_value(h, "fortran_order");
    const char *shp = dict_value(h, "shape");
    size_t esz = 0;
    int is_f32 = 0;
    if (descr && (strncmp(descr, "'<f8'", 5) == 0 || strncmp(descr, "\"<f8\"", 5) == 0)) esz = 8;
    else if (descr && (strncmp(descr, "'<f4'", 5) == 0 || strncmp(descr, "\"<f4\"", 5) == 0)) {
        esz = 4;
        is_f32 = 1;
    }
    if (!esz) {
        st = sgm__set_error(err, SGM_ERR_FORMAT,
                            "%s: dtype must be little-endian float32 or float64 ('<f4'/'<f8')",
                            path);
        free(h);
        goto fail;
    }
    if (!fo || strncmp(fo, "False", 5) != 0) {
        st = sgm__set_error(err, SGM_ERR_FORMAT, "%s: Fortran-order arrays are not supported",
                            path);
        free(h);
        goto fail;
    }
    if (!shp || *shp != '(') {
        st = sgm__set_error(err, SGM_ERR_FORMAT, "%s: header has no shape", path);
        free(h);
        goto fail;
    }
    const char *p = shp + 1;
    size_t count = 1;
    int nd = 0;
    for (;;) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        if (!isdigit((unsigned char)*p) || nd >= SGM_NPY_MAX_DIMS) {
            st = sgm__set_error(err, SGM_ERR_FORMAT, "%s: bad shape in header", path);
            free(h);
            goto fail;
        }
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        p = end;
        if (v > 0 && count > (size_t)-1 / 16 / v) {
            st = sgm__set_error(err, SGM_ERR_FORMAT, "%s: shape too large", path);
            free(h);
            goto fail;
        }
        out->shape[nd++] = (size_t)v;
        count *= (size_t)v;
    }
    free(h);
    out->ndim = nd;
    out->count = count;
    if (len - hoff - hlen != count * esz) {
        st = sgm__set_error(err, SGM_ERR_FORMAT,
                            "%s: file holds %zu data bytes but the header announces %zu", path,
                            len - hoff - hlen, count * esz);
        goto fail;
    }
    out->data = malloc((count ? count : 1) * sizeof(double));
    if (!out->data) {
        st = sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
        goto fail;
    }
    const char *data = buf + hoff + hlen;
    for (size_t i = 0; i < count; i++) {
        if (is_f32) {
            float f;
            memcpy(&f, data + 4 * i, 4);
            out->data[i] = f;
        } else {
            memcpy(&out->data[i], data + 8 * i, 8);
        }
    }
    return SGM_OK;
fail:
    sgm_array_free(out);
    return st;
}

sgm_status sgm_npy_save(const char *path, int ndim, const size_t *shape, const double *data,
                        int as_f32, sgm_error *err) {
    if (ndim < 0 || ndim > SGM_NPY_MAX_DIMS)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "npy: bad ndim %d", ndim);
    char dict[256], shp[160] = "";
    size_t count = 1, off = 0;
    for (int i = 0; i < ndim; i++) {
        off += (size_t)snprintf(shp + off, sizeof shp - off, "%s%zu", i ? ", " : "", shape[i]);
        count *= shape[i];
    }
    if (ndim == 1) snprintf(shp + off, sizeof shp - off, ",");
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                     as_f32 ? "<f4" : "<f8", shp);
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)n + pad + 1;
    sgm_atomic_file *af = NULL;
    sgm_status st = sgm_atomic_open(path, &af, err);
    if (st != SGM_OK) return st;
    FILE *f = sgm_atomic_stream(af);
    unsigned char head[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                              (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    int ok = fwrite(head, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)n, f) == (size_t)n;
    for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    for (size_t i = 0; ok && i < count; i++) {
        if (as_f32) {
            float v = (float)data[i];
            ok = fwrite(&v, 4, 1, f) == 1;
        } else {
            ok = fwrite(&data[i], 8, 1, f) == 1;
        }
    }
    return sgm_atomic_commit(af, err); /* a failed write is in the stream's error flag */
}
