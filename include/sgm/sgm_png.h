/* sgm_png.h - image output and input for sgm: PNG files through libpng's
 * simplified API (png_image, libpng >= 1.6), image grids of [N, C, H, W]
 * float batches and 2-D scatter plots (data vs samples).
 *
 * Every writer is atomic (sgm_atomic_open, sgm_io.h): it writes a temporary
 * file next to PATH and renames it over PATH, so a reader never sees a
 * partial file. Errors: SGM_ERR_INVALID_ARG (bad
 * sizes / NULL), SGM_ERR_IO (cannot create / write / rename), SGM_ERR_NOMEM,
 * SGM_ERR_FORMAT (reader: not a PNG file, truncated). */
#ifndef SGM_PNG_H
#define SGM_PNG_H

#include <stddef.h>
#include <stdint.h>

#include "sgm_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 8-bit grayscale (h rows of w bytes) / RGB (h rows of 3w bytes, R G B). */
sgm_status sgm_png_write_gray(const char *path, const uint8_t *pix, int w, int h,
                              sgm_error *err);
sgm_status sgm_png_write_rgb(const char *path, const uint8_t *pix, int w, int h,
                             sgm_error *err);

/* Reads any PNG, converted to 8-bit gray (channels 1) or RGB (channels 3).
 * *pix is malloc'd (h * w * channels bytes); the caller frees it. */
sgm_status sgm_png_read(const char *path, int channels, uint8_t **pix, int *w, int *h,
                        sgm_error *err);

/* Image grid of a batch x (N, C, H, W), C = 1 (gray) or 3 (RGB), float32 in
 * C order. Values are mapped linearly from [lo, hi] to [0, 255] and clipped
 * (lo = -1, hi = 1 for data in [-1, 1]; lo = 0, hi = 1 for [0, 1]); NaN
 * maps to 0. ncols images per row (<= 0: ceil(sqrt(N))), `pad` pixels of
 * background (value 255 when bg_white, else 0) between and around images,
 * each pixel repeated `scale` times in each direction (>= 1). */
typedef struct sgm_png_grid {
    int ncols;
    int pad;
    int scale;
    int bg_white;
    float lo, hi;
} sgm_png_grid;
/* ncols 0 (square), pad 2, scale 1, black background, [lo, hi] = [-1, 1] */
sgm_png_grid sgm_png_grid_defaults(void);
sgm_status sgm_png_write_grid(const char *path, const float *x, int N, int C, int H, int W,
                              const sgm_png_grid *opt, sgm_error *err);

/* Scatter plot of two sets of 2-D points (row-major (n, 2), float64): `a`
 * (data, drawn first, blue) and `b` (samples, drawn over it, orange), on a
 * white canvas with a grey axes box. Either set may be empty (n = 0). The
 * plotted range is [xmin, xmax] x [ymin, ymax]; when xmin >= xmax (or ymin
 * >= ymax) it is taken from both sets with a 5 % margin. Points outside
 * the range and non-finite points are skipped. */
typedef struct sgm_png_scatter {
    int width, height;   /* pixels (>= 16) */
    int margin;          /* pixels between the border and the axes box */
    int radius;          /* point radius in pixels (0: single pixel) */
    double xmin, xmax, ymin, ymax;
    uint8_t color_a[3], color_b[3];
} sgm_png_scatter;
/* 512 x 512, margin 16, radius 1, automatic range, blue (31,119,180) and
 * orange (255,127,14) (matplotlib's first two colours) */
sgm_png_scatter sgm_png_scatter_defaults(void);
sgm_status sgm_png_write_scatter(const char *path, const double *a, size_t na, const double *b,
                                 size_t nb, const sgm_png_scatter *opt, sgm_error *err);

#ifdef __cplusplus
}
#endif
#endif
