/* png.c - PNG writing and reading through libpng's simplified API
 * (png_image_write_to_stdio / png_image_begin_read_from_memory, libpng 1.6 manual,
 * section "Simplified API"), written through sgm_atomic_open; image grids of
 * float batches and 2-D scatter plots rasterised into a pixel buffer here. */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "io/parse_mem.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_png.h"

static sgm_status write_png(const char *path, const uint8_t *pix, int w, int h, int rgb,
                            sgm_error *err) {
    if (!path || !pix || w < 1 || h < 1 || w > 1 << 20 || h > 1 << 20)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "png: bad arguments (w %d, h %d)", w,
                              h);
    sgm_atomic_file *af = NULL;
    sgm_status st = sgm_atomic_open(path, &af, err);
    if (st != SGM_OK) return st;
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = rgb ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    if (!png_image_write_to_stdio(&img, sgm_atomic_stream(af), 0, pix,
                                  (png_int_32)(w * (rgb ? 3 : 1)), NULL)) {
        st = sgm__set_error(err, SGM_ERR_IO, "png: cannot write %s: %s", path, img.message);
        png_image_free(&img);
        sgm_atomic_abort(af);
        return st;
    }
    return sgm_atomic_commit(af, err);
}

sgm_status sgm_png_write_gray(const char *path, const uint8_t *pix, int w, int h,
                              sgm_error *err) {
    return write_png(path, pix, w, h, 0, err);
}

sgm_status sgm_png_write_rgb(const char *path, const uint8_t *pix, int w, int h,
                             sgm_error *err) {
    return write_png(path, pix, w, h, 1, err);
}

sgm_status sgm_png_read(const char *path, int channels, uint8_t **pix, int *w, int *h,
                        sgm_error *err) {
    if (!path || !pix || !w || !h || (channels != 1 && channels != 3))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "png: bad read arguments");
    *pix = NULL;
    char *file = NULL;
    size_t len = 0;
    sgm_status st = sgm_read_file(path, &file, &len, err);
    if (st != SGM_OK) return st;
    st = sgm__png_parse(path, (const uint8_t *)file, len, channels, pix, w, h, err);
    free(file);
    return st;
}

sgm_status sgm__png_parse(const char *path, const uint8_t *file, size_t len, int channels,
                          uint8_t **pix, int *w, int *h, sgm_error *err) {
    *pix = NULL;
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, file, len))
        return sgm__set_error(err, SGM_ERR_FORMAT, "png: %s: %s", path, img.message);
    img.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    /* the size in size_t (PNG_IMAGE_SIZE wraps at 32 bits), bounded by what
       the file can hold: deflate expands at most ~1032x, and a 1-bit pixel
       becomes at most 3 bytes (24x), so a header that declares more pixels
       than that is a lie; also under libpng's 32-bit buffer limit */
    size_t n = (size_t)img.width * img.height * (size_t)channels;
    double most = (double)len * 1032.0 * 24.0;
    if (n == 0 || (double)n > most || n > 0x7fffffffu) {
        png_image_free(&img);
        return sgm__set_error(err, SGM_ERR_FORMAT,
                              "png: %s: %u x %u pixels is more than the file can hold", path,
                              (unsigned)img.width, (unsigned)img.height);
    }
    uint8_t *buf = malloc(n);
    if (!buf) {
        png_image_free(&img);
        return sgm__set_error(err, SGM_ERR_NOMEM, "png: out of memory");
    }
    if (!png_image_finish_read(&img, NULL, buf, 0, NULL)) {
        free(buf);
        return sgm__set_error(err, SGM_ERR_FORMAT, "png: %s: %s", path, img.message);
    }
    *pix = buf;
    *w = (int)img.width;
    *h = (int)img.height;
    return SGM_OK;
}

sgm_png_grid sgm_png_grid_defaults(void) {
    sgm_png_grid g = {0, 2, 1, 0, -1.0f, 1.0f};
    return g;
}

static uint8_t to_byte(float v, float lo, float hi) {
    float u = (v - lo) / (hi - lo) * 255.0f;
    if (!(u > 0.0f)) return 0; /* also NaN */
    if (u >= 255.0f) return 255;
    return (uint8_t)lrintf(u);
}

sgm_status sgm_png_write_grid(const char *path, const float *x, int N, int C, int H, int W,
                              const sgm_png_grid *opt, sgm_error *err) {
    sgm_png_grid o = opt ? *opt : sgm_png_grid_defaults();
    if (!x || N < 1 || (C != 1 && C != 3) || H < 1 || W < 1 || o.pad < 0 || o.scale < 1 ||
        !(o.hi > o.lo))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "png grid: bad arguments (N %d, C %d, H %d, W %d)", N, C, H, W);
    int nc = o.ncols > 0 ? o.ncols : (int)ceil(sqrt((double)N));
    if (nc > N) nc = N;
    int nr = (N + nc - 1) / nc;
    int cw = W * o.scale, ch = H * o.scale;
    long tw = (long)nc * (cw + o.pad) + o.pad, th = (long)nr * (ch + o.pad) + o.pad;
    if (tw > 1 << 16 || th > 1 << 16)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "png grid: image too large");
    size_t stride = (size_t)tw * (size_t)C;
    uint8_t *pix = malloc(stride * (size_t)th);
    if (!pix) return sgm__set_error(err, SGM_ERR_NOMEM, "png grid: out of memory");
    memset(pix, o.bg_white ? 255 : 0, stride * (size_t)th);
    size_t HW = (size_t)H * (size_t)W;
    for (int n = 0; n < N; n++) {
        int r0 = o.pad + (n / nc) * (ch + o.pad), c0 = o.pad + (n % nc) * (cw + o.pad);
        const float *img = x + (size_t)n * (size_t)C * HW;
        for (int y = 0; y < ch; y++)
            for (int xx = 0; xx < cw; xx++) {
                size_t src = (size_t)(y / o.scale) * (size_t)W + (size_t)(xx / o.scale);
                uint8_t *d = pix + (size_t)(r0 + y) * stride + (size_t)(c0 + xx) * (size_t)C;
                for (int c = 0; c < C; c++) d[c] = to_byte(img[(size_t)c * HW + src], o.lo, o.hi);
            }
    }
    sgm_status st = write_png(path, pix, (int)tw, (int)th, C == 3, err);
    free(pix);
    return st;
}

sgm_png_scatter sgm_png_scatter_defaults(void) {
    sgm_png_scatter s;
    memset(&s, 0, sizeof s);
    s.width = 512;
    s.height = 512;
    s.margin = 16;
    s.radius = 1;
    s.color_a[0] = 31, s.color_a[1] = 119, s.color_a[2] = 180;
    s.color_b[0] = 255, s.color_b[1] = 127, s.color_b[2] = 14;
    return s;
}

static void put(uint8_t *pix, int w, int h, int x, int y, const uint8_t *col) {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    uint8_t *d = pix + ((size_t)y * (size_t)w + (size_t)x) * 3;
    d[0] = col[0], d[1] = col[1], d[2] = col[2];
}

static void draw_points(uint8_t *pix, const sgm_png_scatter *o, const double *p, size_t n,
                        const uint8_t *col) {
    int x0 = o->margin, y0 = o->margin, x1 = o->width - 1 - o->margin,
        y1 = o->height - 1 - o->margin;
    for (size_t i = 0; i < n; i++) {
        double px = p[2 * i], py = p[2 * i + 1];
        if (!isfinite(px) || !isfinite(py) || px < o->xmin || px > o->xmax || py < o->ymin ||
            py > o->ymax)
            continue;
        int cx = x0 + 1 + (int)lround((px - o->xmin) / (o->xmax - o->xmin) * (x1 - x0 - 2));
        int cy = y1 - 1 - (int)lround((py - o->ymin) / (o->ymax - o->ymin) * (y1 - y0 - 2));
        int r = o->radius;
        for (int dy = -r; dy <= r; dy++)
            for (int dx = -r; dx <= r; dx++)
                if (dx * dx + dy * dy <= r * r + r) /* a filled disc */
                    put(pix, o->width, o->height, cx + dx, cy + dy, col);
    }
}

static void extend(const double *p, size_t n, double *lo, double *hi) {
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            double v = p[2 * i + (size_t)k];
            if (!isfinite(v)) continue;
            if (v < lo[k]) lo[k] = v;
            if (v > hi[k]) hi[k] = v;
        }
}

sgm_status sgm_png_write_scatter(const char *path, const double *a, size_t na, const double *b,
                                 size_t nb, const sgm_png_scatter *opt, sgm_error *err) {
    sgm_png_scatter o = opt ? *opt : sgm_png_scatter_defaults();
    if ((na && !a) || (nb && !b) || o.width < 16 || o.height < 16 || o.width > 1 << 14 ||
        o.height > 1 << 14 || o.margin < 0 || 2 * o.margin + 8 > o.width ||
        2 * o.margin + 8 > o.height || o.radius < 0)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "png scatter: bad arguments");
    if (!(o.xmin < o.xmax) || !(o.ymin < o.ymax)) {
        double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
        extend(a, na, lo, hi);
        extend(b, nb, lo, hi);
        for (int k = 0; k < 2; k++) {
            if (!(lo[k] <= hi[k])) lo[k] = -1.0, hi[k] = 1.0; /* no finite point */
            double span = hi[k] - lo[k];
            if (span <= 0.0) span = fabs(lo[k]) > 0.0 ? fabs(lo[k]) : 1.0;
            lo[k] -= 0.05 * span;
            hi[k] += 0.05 * span;
        }
        if (!(o.xmin < o.xmax)) o.xmin = lo[0], o.xmax = hi[0];
        if (!(o.ymin < o.ymax)) o.ymin = lo[1], o.ymax = hi[1];
    }
    size_t sz = (size_t)o.width * (size_t)o.height * 3;
    uint8_t *pix = malloc(sz);
    if (!pix) return sgm__set_error(err, SGM_ERR_NOMEM, "png scatter: out of memory");
    memset(pix, 255, sz);
    static const uint8_t grey[3] = {128, 128, 128};
    int x0 = o.margin, y0 = o.margin, x1 = o.width - 1 - o.margin, y1 = o.height - 1 - o.margin;
    for (int x = x0; x <= x1; x++) put(pix, o.width, o.height, x, y0, grey), put(pix, o.width, o.height, x, y1, grey);
    for (int y = y0; y <= y1; y++) put(pix, o.width, o.height, x0, y, grey), put(pix, o.width, o.height, x1, y, grey);
    draw_points(pix, &o, a, na, o.color_a);
    draw_points(pix, &o, b, nb, o.color_b);
    sgm_status st = write_png(path, pix, o.width, o.height, 1, err);
    free(pix);
    return st;
}
