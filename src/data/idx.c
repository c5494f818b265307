/* idx.c - reader of the IDX format of LeCun et al.'s MNIST distribution
 * (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS"), also used by Zalando's
 * Fashion-MNIST: magic 00 00 <type> <ndim>, ndim big-endian u32 sizes, data.
 * The file is read whole and parsed in memory (sgm__idx_parse); a file that
 * starts with the gzip magic 1f 8b is inflated on the way with zlib (gzip
 * members one after another, RFC 1952; bytes after the last member are
 * ignored, as zlib's gzread does), anything else is read as it is, so both
 * the Debian package's .gz files and raw files work. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#define ZLIB_CONST /* next_in: const input */
#include <zlib.h>

#include "../core/internal.h"
#include "../io/parse_mem.h"
#include "sgm/sgm_data.h"
#include "sgm/sgm_io.h"

void sgm_idx_free(sgm_idx *x) {
    if (!x) return;
    free(x->data);
    memset(x, 0, sizeof *x);
}

/* the file's bytes as a stream: raw, or inflated gzip */
typedef struct idx_src {
    const unsigned char *p;
    size_t len, pos; /* input bytes, the next one to read */
    int gz;          /* 0 raw; 1 inflating; 2 the last member ended; -1 corrupt or truncated */
    z_stream z;
} idx_src;

/* up to n bytes into dst; fewer at the end of the data (or of the valid
 * gzip data: s->gz == -1 then) */
static size_t src_read(idx_src *s, unsigned char *dst, size_t n) {
    if (s->gz == 0) {
        size_t k = n < s->len - s->pos ? n : s->len - s->pos;
        memcpy(dst, s->p + s->pos, k);
        s->pos += k;
        return k;
    }
    size_t got = 0;
    while (got < n && s->gz == 1) {
        size_t want = n - got < UINT_MAX ? n - got : UINT_MAX;
        size_t left = s->len - s->pos;
        s->z.next_in = s->p + s->pos;
        s->z.avail_in = (uInt)(left < UINT_MAX ? left : UINT_MAX);
        s->z.next_out = dst + got;
        s->z.avail_out = (uInt)want;
        int r = inflate(&s->z, Z_NO_FLUSH);
        s->pos = (size_t)(s->z.next_in - s->p);
        got += want - s->z.avail_out;
        if (r == Z_STREAM_END) { /* another member follows, or the end */
            int more = s->len - s->pos >= 2 && s->p[s->pos] == 0x1f && s->p[s->pos + 1] == 0x8b;
            if (!more) s->gz = 2;
            else if (inflateReset(&s->z) != Z_OK) s->gz = -1;
        } else if (r != Z_OK) {
            s->gz = -1; /* corrupt, or the input ended inside a member */
        }
    }
    return got;
}

sgm_status sgm_idx_read(const char *path, sgm_idx *out, sgm_error *err) {
    if (!path || !out) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "idx: NULL argument");
    memset(out, 0, sizeof *out);
    char *file = NULL;
    size_t len = 0;
    sgm_status st = sgm_read_file(path, &file, &len, err);
    if (st != SGM_OK) return st;
    st = sgm__idx_parse(path, (const unsigned char *)file, len, out, err);
    free(file);
    return st;
}

sgm_status sgm__idx_parse(const char *path, const unsigned char *file, size_t len,
                          sgm_idx *out, sgm_error *err) {
    memset(out, 0, sizeof *out);
    idx_src f;
    memset(&f, 0, sizeof f);
    f.p = file;
    f.len = len;
    if (len >= 2 && file[0] == 0x1f && file[1] == 0x8b) {
        if (inflateInit2(&f.z, 15 + 16) != Z_OK) /* gzip only, as gzread */
            return sgm__set_error(err, SGM_ERR_NOMEM, "idx: %s: out of memory", path);
        f.gz = 1;
    }
    unsigned char hdr[4 + 4 * 4];
    sgm_status st = SGM_OK;
    if (src_read(&f, hdr, 4) != 4) {
        st = sgm__set_error(err, SGM_ERR_FORMAT, "idx: %s: truncated header", path);
        goto done;
    }
    if (hdr[0] != 0 || hdr[1] != 0 || hdr[3] < 1 || hdr[3] > 4) {
        st = sgm__set_error(err, SGM_ERR_FORMAT, "idx: %s: bad magic %02x%02x%02x%02x", path,
                            hdr[0], hdr[1], hdr[2], hdr[3]);
        goto done;
    }
    if (hdr[2] != 0x08) {
        st = sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                            "idx: %s: element type 0x%02x (only 0x08, unsigned byte)", path,
                            hdr[2]);
        goto done;
    }
    int nd = hdr[3];
    if (src_read(&f, hdr + 4, (size_t)(4 * nd)) != (size_t)(4 * nd)) {
        st = sgm__set_error(err, SGM_ERR_FORMAT, "idx: %s: truncated header", path);
        goto done;
    }
    size_t count = 1;
    for (int i = 0; i < nd; i++) {
        const unsigned char *p = hdr + 4 + 4 * i;
        size_t d = ((size_t)p[0] << 24) | ((size_t)p[1] << 16) | ((size_t)p[2] << 8) | p[3];
        if (d == 0 || count > ((size_t)1 << 34) / d) {
            st = sgm__set_error(err, SGM_ERR_FORMAT, "idx: %s: bad size %zu in dimension %d",
                                path, d, i);
            goto done;
        }
        out->dims[i] = d;
        count *= d;
    }
    out->ndim = nd;
    out->count = count;
    /* the buffer grows with the data read: a header alone may declare up
       to 16 GiB, which a short (truncated or hostile) file must not cost;
       from 64 KiB (doubling: 10 steps to Fashion-MNIST's 47 MB) */
    size_t got = 0, cap = 0;
    while (got < count) {
        if (got == cap) {
            cap = cap ? 2 * cap : (size_t)1 << 16;
            if (cap > count) cap = count;
            uint8_t *grown = realloc(out->data, cap);
            if (!grown) {
                st = sgm__set_error(err, SGM_ERR_NOMEM, "idx: out of memory (%zu bytes)", cap);
                goto done;
            }
            out->data = grown;
        }
        size_t r = src_read(&f, out->data + got, cap - got);
        if (r == 0) break;
        got += r;
    }
    if (got != count) {
        st = sgm__set_error(err, SGM_ERR_FORMAT,
                            "idx: %s: truncated data (%zu of %zu bytes the header declares)",
                            path, got, count);
        goto done;
    }
    unsigned char extra;
    if (src_read(&f, &extra, 1) != 0) {
        st = sgm__set_error(err, SGM_ERR_FORMAT,
                            "idx: %s: trailing bytes after the %zu the header declares", path,
                            count);
        goto done;
    }
    if (f.gz < 0) /* all the data came, but the member's end (CRC, length) did not check */
        st = sgm__set_error(err, SGM_ERR_FORMAT, "idx: %s: gzip data corrupt or cut short", path);
done:
    if (f.gz) inflateEnd(&f.z);
    if (st != SGM_OK) sgm_idx_free(out);
    return st;
}

sgm_status sgm_idx_load_images(const char *images_path, const char *labels_path, size_t max_n,
                               float **images, int **labels, size_t *n, int *h, int *w,
                               sgm_error *err) {
    if (!images || !n || !h || !w || (labels_path && !labels))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "idx: NULL argument");
    *images = NULL;
    if (labels) *labels = NULL;
    sgm_idx im, lb;
    memset(&lb, 0, sizeof lb);
    sgm_status st = sgm_idx_read(images_path, &im, err);
    if (st != SGM_OK) return st;
    if (im.ndim != 3) {
        sgm_idx_free(&im);
        return sgm__set_error(err, SGM_ERR_SHAPE, "idx: %s: images need 3 dimensions, not %d",
                              images_path, im.ndim);
    }
    size_t N = im.dims[0];
    if (labels_path) {
        st = sgm_idx_read(labels_path, &lb, err);
        if (st != SGM_OK) {
            sgm_idx_free(&im);
            return st;
        }
        if (lb.ndim != 1 || lb.dims[0] != N) {
            sgm_idx_free(&im);
            sgm_idx_free(&lb);
            return sgm__set_error(err, SGM_ERR_SHAPE,
                                  "idx: %s has %zu images but %s is not %zu labels", images_path,
                                  N, labels_path, N);
        }
    }
    if (max_n > 0 && max_n < N) N = max_n;
    size_t HW = im.dims[1] * im.dims[2];
    float *x = malloc(N * HW * sizeof(float));
    int *l = labels_path ? malloc(N * sizeof(int)) : NULL;
    if (!x || (labels_path && !l)) {
        free(x);
        free(l);
        sgm_idx_free(&im);
        sgm_idx_free(&lb);
        return sgm__set_error(err, SGM_ERR_NOMEM, "idx: out of memory");
    }
    for (size_t i = 0; i < N * HW; i++) x[i] = (float)im.data[i] / 127.5f - 1.0f;
    if (l)
        for (size_t i = 0; i < N; i++) l[i] = lb.data[i];
    *images = x;
    if (labels) *labels = l;
    *n = N;
    *h = (int)im.dims[1];
    *w = (int)im.dims[2];
    sgm_idx_free(&im);
    sgm_idx_free(&lb);
    return SGM_OK;
}
