/* test_png.c - PNG writers (gray, RGB, image grid, scatter plot): write, read
 * back through libpng (sgm_png_read) and compare pixels; bad arguments and
 * unwritable paths give errors; writes are atomic (no temp file left). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sgm/sgm_png.h"
#include "test_util.h"

/* temporary files of the atomic writer (".NAME.sgm-tmp.*", sgm_io.h) in the
 * build folder */
static int temp_left(const char *name) {
    char dir[512], stem[300];
    tu_bin("", dir, sizeof dir);
    snprintf(stem, sizeof stem, ".%s.sgm-tmp.", name);
    return tu_count_files(dir, stem);
}

static void test_gray_rgb(void) {
    char path[512];
    tu_bin("test_png_gray.png", path, sizeof path);
    uint8_t g[6 * 4];
    for (int i = 0; i < 24; i++) g[i] = (uint8_t)(i * 11);
    sgm_error err;
    CHECK(sgm_png_write_gray(path, g, 6, 4, &err) == SGM_OK, "write gray: %s", err.msg);
    uint8_t *r = NULL;
    int w = 0, h = 0;
    CHECK(sgm_png_read(path, 1, &r, &w, &h, &err) == SGM_OK, "read gray: %s", err.msg);
    CHECK(w == 6 && h == 4, "size %dx%d", w, h);
    CHECK(r && memcmp(r, g, sizeof g) == 0, "gray pixels differ");
    free(r);
    CHECK(!temp_left("test_png_gray.png"), "temp file left behind");
    remove(path);

    tu_bin("test_png_rgb.png", path, sizeof path);
    uint8_t c[5 * 3 * 3];
    for (int i = 0; i < 45; i++) c[i] = (uint8_t)(255 - i * 5);
    CHECK(sgm_png_write_rgb(path, c, 5, 3, &err) == SGM_OK, "write rgb: %s", err.msg);
    CHECK(sgm_png_read(path, 3, &r, &w, &h, &err) == SGM_OK, "read rgb: %s", err.msg);
    CHECK(w == 5 && h == 3 && r && memcmp(r, c, sizeof c) == 0, "rgb pixels differ");
    free(r);
    remove(path);

    /* errors */
    CHECK(sgm_png_write_gray("/nonexistent-dir/x.png", g, 6, 4, &err) == SGM_ERR_IO,
          "bad path accepted");
    CHECK(sgm_png_write_gray(path, g, 0, 4, &err) == SGM_ERR_INVALID_ARG, "w 0 accepted");
    CHECK(sgm_png_read("/nonexistent-dir/x.png", 1, &r, &w, &h, &err) == SGM_ERR_IO,
          "missing file read");
    tu_bin("test_png_bad.png", path, sizeof path);
    FILE *f = fopen(path, "wb");
    fputs("not a png at all", f);
    fclose(f);
    CHECK(sgm_png_read(path, 1, &r, &w, &h, &err) == SGM_ERR_FORMAT, "garbage read as PNG");
    remove(path);
}

static void test_grid(void) {
    /* 3 gray 2x2 images in [-1, 1], 2 columns, pad 1, scale 2:
     * width 2 (2*2 + 1) + 1 = 11, height 2 (4 + 1) + 1 = 11 */
    float x[3 * 4] = {-1, 1, 0, 0.5f, 1, 1, 1, 1, -1, -1, -1, 2};
    sgm_png_grid o = sgm_png_grid_defaults();
    o.ncols = 2, o.pad = 1, o.scale = 2, o.bg_white = 1;
    char path[512];
    tu_bin("test_png_grid.png", path, sizeof path);
    sgm_error err;
    CHECK(sgm_png_write_grid(path, x, 3, 1, 2, 2, &o, &err) == SGM_OK, "grid: %s", err.msg);
    uint8_t *r = NULL;
    int w = 0, h = 0;
    CHECK(sgm_png_read(path, 1, &r, &w, &h, &err) == SGM_OK, "read grid: %s", err.msg);
    CHECK(w == 11 && h == 11, "grid size %dx%d", w, h);
    if (r && w == 11 && h == 11) {
        CHECK(r[0] == 255, "background %d", r[0]);              /* pad, white */
        CHECK(r[1 * 11 + 1] == 0 && r[2 * 11 + 2] == 0, "image 0 pixel (0,0) -1 -> 0");
        CHECK(r[1 * 11 + 3] == 255 && r[2 * 11 + 4] == 255, "image 0 pixel (0,1) 1 -> 255");
        CHECK(r[3 * 11 + 1] == 128, "0 -> 128 (round(127.5)), got %d", r[3 * 11 + 1]);
        CHECK(r[3 * 11 + 3] == 191, "0.5 -> 191, got %d", r[3 * 11 + 3]);
        CHECK(r[1 * 11 + 6] == 255, "image 1 at column 6");
        CHECK(r[6 * 11 + 1] == 0 && r[8 * 11 + 3] == 255, "image 2 (row 2), 2 clipped to 255");
        CHECK(r[6 * 11 + 6] == 255, "empty cell is background");
    }
    free(r);
    /* RGB grid: channel planes map to R, G, B */
    float y[3 * 1 * 1] = {1, -1, 0};
    o = sgm_png_grid_defaults();
    o.pad = 0;
    CHECK(sgm_png_write_grid(path, y, 1, 3, 1, 1, &o, &err) == SGM_OK, "rgb grid: %s", err.msg);
    CHECK(sgm_png_read(path, 3, &r, &w, &h, &err) == SGM_OK, "read rgb grid");
    CHECK(r && w == 1 && h == 1 && r[0] == 255 && r[1] == 0 && r[2] == 128, "rgb grid pixel");
    free(r);
    CHECK(sgm_png_write_grid(path, y, 1, 2, 1, 1, &o, &err) == SGM_ERR_INVALID_ARG, "C 2 accepted");
    remove(path);
}

static void test_scatter(void) {
    double a[4] = {0, 0, 1, 1};       /* corners of the auto range (minus margin) */
    double b[4] = {0.5, 0.5, 1e9, 0}; /* centre; one point off the fixed range */
    sgm_png_scatter o = sgm_png_scatter_defaults();
    o.width = 101, o.height = 101, o.margin = 0, o.radius = 0;
    o.xmin = 0, o.xmax = 1, o.ymin = 0, o.ymax = 1;
    char path[512];
    tu_bin("test_png_scatter.png", path, sizeof path);
    sgm_error err;
    CHECK(sgm_png_write_scatter(path, a, 2, b, 2, &o, &err) == SGM_OK, "scatter: %s", err.msg);
    uint8_t *r = NULL;
    int w = 0, h = 0;
    CHECK(sgm_png_read(path, 3, &r, &w, &h, &err) == SGM_OK, "read scatter");
    CHECK(w == 101 && h == 101, "scatter size");
    if (r && w == 101 && h == 101) {
        const uint8_t *p;
        p = r + (size_t)(50 * 101 + 50) * 3; /* centre: sample colour */
        CHECK(p[0] == 255 && p[1] == 127 && p[2] == 14, "centre %d %d %d", p[0], p[1], p[2]);
        p = r + (size_t)(99 * 101 + 1) * 3; /* (0,0): bottom-left inside the box */
        CHECK(p[0] == 31 && p[1] == 119 && p[2] == 180, "(0,0) %d %d %d", p[0], p[1], p[2]);
        p = r + (size_t)(1 * 101 + 99) * 3; /* (1,1): top-right */
        CHECK(p[0] == 31 && p[1] == 119 && p[2] == 180, "(1,1) %d %d %d", p[0], p[1], p[2]);
        p = r; /* the box corner is grey */
        CHECK(p[0] == 128 && p[1] == 128 && p[2] == 128, "box");
        p = r + (size_t)(20 * 101 + 70) * 3;
        CHECK(p[0] == 255 && p[1] == 255 && p[2] == 255, "background");
    }
    free(r);
    /* automatic range, empty second set */
    o = sgm_png_scatter_defaults();
    CHECK(sgm_png_write_scatter(path, a, 2, NULL, 0, &o, &err) == SGM_OK, "auto range");
    o.width = 4;
    CHECK(sgm_png_write_scatter(path, a, 2, b, 2, &o, &err) == SGM_ERR_INVALID_ARG, "tiny canvas");
    remove(path);
}

/* A 68-byte PNG whose header declares 1000000 x 1000000 RGB pixels (the
 * fuzz_png seed fuzz/corpus/png/regress-huge-header without its selector
 * byte): PNG_IMAGE_SIZE wrapped at 32 bits and sgm_png_read allocated
 * ~1.9 GB before libpng refused the image (a libFuzzer timeout). Refused
 * now from the header, before any allocation. */
static void test_huge_header(void) {
    static const unsigned char png[] = {
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
        0x44, 0x52, 0x00, 0x0f, 0x42, 0x40, 0x00, 0x0f, 0x42, 0x40, 0x08, 0x02, 0x00, 0x00,
        0x00, 0xd3, 0x0f, 0xaf, 0x2a, 0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78,
        0x9c, 0x63, 0x60, 0x80, 0x01, 0x00, 0x00, 0x0a, 0x00, 0x01, 0x7f, 0x80, 0x74, 0x5e,
        0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
    char path[1024];
    tu_bin("test_png_huge.png", path, sizeof path);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(png, 1, sizeof png, f) == sizeof png, "write %s", path);
    if (f) fclose(f);
    sgm_error err = {0};
    uint8_t *pix = NULL;
    int w = 0, h = 0;
    for (int ch = 1; ch <= 3; ch += 2) {
        CHECK(sgm_png_read(path, ch, &pix, &w, &h, &err) == SGM_ERR_FORMAT && !pix,
              "huge header, %d channels: %s", ch, err.msg);
        CHECK(strstr(err.msg, "more than the file can hold") != NULL, "message: %s", err.msg);
    }
    remove(path);
}

int main(void) {
    test_huge_header();
    test_gray_rgb();
    test_grid();
    test_scatter();
    TEST_MAIN_END();
}
