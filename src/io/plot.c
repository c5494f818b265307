/* plot.c - log-log line plots to PNG with cairo (sgm_plot.h): axes with
 * decade ticks (and 2, 5 sub-ticks on short ranges), grid, labels, one
 * colour + dash + marker per series (the 10-colour "tab10" palette of matplotlib,
 * Vega category10), a shared legend. Drawing goes through the cairo API
 * (paths, strokes, the toy text API); the surface is written with
 * cairo_surface_write_to_png_stream into the atomic writer (sgm_io.h:
 * temporary file next to the target, fsync, rename).
 * Without cairo (SGM_HAVE_CAIRO undefined) the calls fail with
 * SGM_ERR_UNSUPPORTED.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_plot.h"

#ifdef SGM_HAVE_CAIRO
#include <cairo.h>

#define PLOT_PI 3.14159265358979323846

int sgm_plot_available(void) { return 1; }

static const double palette[10][3] = {
    {0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173},
    {0.839, 0.153, 0.157}, {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294},
    {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498}, {0.737, 0.741, 0.133},
    {0.090, 0.745, 0.812}};

typedef struct frame {
    double x0, y0, w, h;        /* plot area in pixels (y0 = top) */
    double lx0, lx1, ly0, ly1;  /* log10 ranges */
} frame;

static double px(const frame *f, double x) { return f->x0 + (log10(x) - f->lx0) / (f->lx1 - f->lx0) * f->w; }
static double py(const frame *f, double y) {
    return f->y0 + f->h - (log10(y) - f->ly0) / (f->ly1 - f->ly0) * f->h;
}

static void marker(cairo_t *cr, int kind, double x, double y, double r) {
    switch (kind % 4) {
    case 0: cairo_arc(cr, x, y, r, 0, 2 * PLOT_PI); break;
    case 1: cairo_rectangle(cr, x - r, y - r, 2 * r, 2 * r); break;
    case 2:
        cairo_move_to(cr, x, y - 1.2 * r);
        cairo_line_to(cr, x + 1.1 * r, y + 0.8 * r);
        cairo_line_to(cr, x - 1.1 * r, y + 0.8 * r);
        cairo_close_path(cr);
        break;
    default:
        cairo_move_to(cr, x, y - 1.3 * r);
        cairo_line_to(cr, x + 1.3 * r, y);
        cairo_line_to(cr, x, y + 1.3 * r);
        cairo_line_to(cr, x - 1.3 * r, y);
        cairo_close_path(cr);
        break;
    }
    cairo_fill(cr);
}

/* Series j: colour j % 10, dash pattern (j / 10) % 4 (solid, dashed,
 * dotted, dash-dot), marker series_marker(j) % 4. Two series share all three
 * only when j' = j + 160 m: for j' = j + 40 m (same colour and dash) the
 * marker moves by 45 m = m (mod 4). */
static void style(cairo_t *cr, size_t j) {
    const double *c = palette[j % 10];
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    cairo_set_line_width(cr, 1.8);
    static const double dashes[3][4] = {{6, 3, 0, 0}, {1.5, 2.5, 0, 0}, {6, 2.5, 1.5, 2.5}};
    static const int n_dash[3] = {2, 2, 4};
    size_t k = (j / 10) % 4;
    if (k)
        cairo_set_dash(cr, dashes[k - 1], n_dash[k - 1], 0);
    else
        cairo_set_dash(cr, NULL, 0, 0);
}

static int series_marker(size_t j) { return (int)((j / 10 + j / 40 + j) % 4); }

static void text_at(cairo_t *cr, const char *s, double x, double y, double ax, double ay) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - ax * e.width - e.x_bearing, y - ay * e.height - e.y_bearing);
    cairo_show_text(cr, s);
}

static void tick_label(char *buf, size_t n, double v) {
    double l = log10(v);
    if (fabs(l - round(l)) < 1e-9 && (l < -2 || l > 3))
        snprintf(buf, n, "1e%d", (int)round(l));
    else
        snprintf(buf, n, "%g", v);
}

/* ticks of a log range: decades, plus 2 and 5 when the range spans < 2.5 decades */
static void axis_ticks(cairo_t *cr, const frame *f, int is_x) {
    double lo = is_x ? f->lx0 : f->ly0, hi = is_x ? f->lx1 : f->ly1;
    int sub = hi - lo < 2.5;
    char buf[32];
    for (int k = (int)floor(lo); k <= (int)ceil(hi); k++) {
        for (int m = 1; m <= 9; m++) {
            double v = m * pow(10.0, k), lv = log10(v);
            if (lv < lo - 1e-9 || lv > hi + 1e-9) continue;
            int major = m == 1, labelled = major || (sub && (m == 2 || m == 5));
            double p = is_x ? px(f, v) : py(f, v);
            /* grid line */
            cairo_set_source_rgb(cr, major ? 0.82 : 0.92, major ? 0.82 : 0.92, major ? 0.82 : 0.92);
            cairo_set_line_width(cr, 1);
            if (is_x) {
                cairo_move_to(cr, p, f->y0);
                cairo_line_to(cr, p, f->y0 + f->h);
            } else {
                cairo_move_to(cr, f->x0, p);
                cairo_line_to(cr, f->x0 + f->w, p);
            }
            cairo_stroke(cr);
            /* tick */
            cairo_set_source_rgb(cr, 0, 0, 0);
            double len = major ? 6 : 3;
            if (is_x) {
                cairo_move_to(cr, p, f->y0 + f->h);
                cairo_line_to(cr, p, f->y0 + f->h + len);
            } else {
                cairo_move_to(cr, f->x0, p);
                cairo_line_to(cr, f->x0 - len, p);
            }
            cairo_stroke(cr);
            if (labelled) {
                tick_label(buf, sizeof buf, v);
                if (is_x)
                    text_at(cr, buf, p, f->y0 + f->h + 9, 0.5, 0);
                else
                    text_at(cr, buf, f->x0 - 9, p, 1, 0.5);
            }
        }
    }
}

static sgm_status draw(cairo_t *cr, const sgm_plot_config *c, const sgm_plot_series *series,
                       int W, int H, double legend_w) {
    /* shared ranges */
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (size_t i = 0; i < c->n_panels * c->n_series; i++)
        for (size_t k = 0; k < series[i].n; k++) {
            double x = series[i].x[k], y = series[i].y[k];
            if (!(x > 0 && y > 0 && isfinite(x) && isfinite(y))) continue;
            xmin = fmin(xmin, x);
            xmax = fmax(xmax, x);
            ymin = fmin(ymin, y);
            ymax = fmax(ymax, y);
        }
    if (!isfinite(xmin)) { /* nothing to plot: an empty frame over one decade */
        xmin = 1;
        xmax = 10;
        ymin = 1;
        ymax = 10;
    }
    double lxpad = fmax(0.05 * (log10(xmax) - log10(xmin)), 0.05);
    frame base = {0, 0, 0, 0, log10(xmin) - lxpad, log10(xmax) + lxpad,
                  floor(log10(ymin)), ceil(log10(ymax))};
    if (base.ly1 - base.ly0 < 1) base.ly1 = base.ly0 + 1;

    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    double top = 20;
    if (c->title) {
        cairo_set_font_size(cr, 17);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text_at(cr, c->title, (W - legend_w) / 2, 12, 0.5, 0);
        top = 44;
    }
    double panel_w = (W - legend_w) / (double)c->n_panels;
    for (size_t p = 0; p < c->n_panels; p++) {
        frame f = base;
        f.x0 = (double)p * panel_w + 78;
        f.y0 = top + 26;
        f.w = panel_w - 78 - 16;
        f.h = H - f.y0 - 62;
        cairo_set_font_size(cr, 12);
        axis_ticks(cr, &f, 1);
        axis_ticks(cr, &f, 0);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_set_line_width(cr, 1.2);
        cairo_rectangle(cr, f.x0, f.y0, f.w, f.h);
        cairo_stroke(cr);
        cairo_set_font_size(cr, 14);
        if (c->panel_titles && c->panel_titles[p])
            text_at(cr, c->panel_titles[p], f.x0 + f.w / 2, f.y0 - 8, 0.5, 1);
        if (c->xlabel) text_at(cr, c->xlabel, f.x0 + f.w / 2, f.y0 + f.h + 32, 0.5, 0);
        if (c->ylabel) {
            cairo_save(cr);
            cairo_translate(cr, (double)p * panel_w + 18, f.y0 + f.h / 2);
            cairo_rotate(cr, -PLOT_PI / 2);
            text_at(cr, c->ylabel, 0, 0, 0.5, 0.5);
            cairo_restore(cr);
        }
        /* series, clipped to the frame */
        cairo_save(cr);
        cairo_rectangle(cr, f.x0, f.y0, f.w, f.h);
        cairo_clip(cr);
        for (size_t j = 0; j < c->n_series; j++) {
            const sgm_plot_series *s = &series[p * c->n_series + j];
            style(cr, j);
            int pen = 0;
            for (size_t k = 0; k < s->n; k++) {
                double x = s->x[k], y = s->y[k];
                if (!(x > 0 && y > 0 && isfinite(x) && isfinite(y))) {
                    pen = 0;
                    continue;
                }
                if (pen)
                    cairo_line_to(cr, px(&f, x), py(&f, y));
                else
                    cairo_move_to(cr, px(&f, x), py(&f, y));
                pen = 1;
            }
            cairo_stroke(cr);
            for (size_t k = 0; k < s->n; k++) {
                double x = s->x[k], y = s->y[k];
                if (x > 0 && y > 0 && isfinite(x) && isfinite(y))
                    marker(cr, series_marker(j), px(&f, x), py(&f, y), 3.5);
            }
        }
        cairo_restore(cr);
    }
    /* legend */
    if (legend_w > 0) {
        double lx = W - legend_w + 8, ly = top + 30;
        double row_h = fmin(18, (H - ly - 10) / (double)(c->n_series ? c->n_series : 1));
        cairo_set_font_size(cr, fmin(12, row_h - 2));
        cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
        cairo_set_line_width(cr, 1);
        cairo_rectangle(cr, lx - 4, ly - 6, legend_w - 12, row_h * (double)c->n_series + 8);
        cairo_stroke(cr);
        for (size_t j = 0; j < c->n_series; j++) {
            double y = ly + row_h * ((double)j + 0.5);
            style(cr, j);
            cairo_move_to(cr, lx + 2, y);
            cairo_line_to(cr, lx + 30, y);
            cairo_stroke(cr);
            marker(cr, series_marker(j), lx + 16, y, 3.5);
            cairo_set_source_rgb(cr, 0, 0, 0);
            text_at(cr, c->labels && c->labels[j] ? c->labels[j] : "?", lx + 38, y, 0, 0.5);
        }
    }
    return SGM_OK;
}

/* cairo's PNG bytes into the atomic writer's stream */
static cairo_status_t png_to_stream(void *closure, const unsigned char *data,
                                    unsigned int length) {
    return fwrite(data, 1, length, (FILE *)closure) == length ? CAIRO_STATUS_SUCCESS
                                                               : CAIRO_STATUS_WRITE_ERROR;
}

sgm_status sgm_plot_loglog_png(const char *path, const sgm_plot_config *cfg,
                               const sgm_plot_series *series, sgm_error *err) {
    if (!path || !*path || !cfg || (!series && cfg->n_series > 0) ||
        cfg->n_panels == 0)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "plot: path, config and series required");
    for (size_t i = 0; i < cfg->n_panels * cfg->n_series; i++)
        if (series[i].n && (!series[i].x || !series[i].y))
            return sgm__set_error(err, SGM_ERR_INVALID_ARG, "plot: series %zu has no data", i);
    double legend_w = cfg->n_series ? 190 : 0;
    int W = cfg->width > 0 ? cfg->width : (int)(520.0 * (double)cfg->n_panels + legend_w);
    /* default height: about 13 px per legend row, so many series stay legible */
    int H = cfg->height > 0 ? cfg->height : (int)fmax(480, 80 + 13.0 * (double)cfg->n_series);
    if (W < 200 || H < 150 || W > 20000 || H > 20000)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "plot: size %dx%d out of range", W, H);
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surf);
        return sgm__set_error(err, SGM_ERR_NOMEM, "plot: cannot create a %dx%d surface", W, H);
    }
    cairo_t *cr = cairo_create(surf);
    sgm_status st = draw(cr, cfg, series, W, H, legend_w);
    if (!st && cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        st = sgm__set_error(err, SGM_ERR_IO, "plot: cairo: %s",
                            cairo_status_to_string(cairo_status(cr)));
    cairo_destroy(cr);
    sgm_atomic_file *af = NULL;
    if (!st) st = sgm_atomic_open(path, &af, err);
    if (!st) {
        cairo_status_t cs = cairo_surface_write_to_png_stream(surf, png_to_stream,
                                                              sgm_atomic_stream(af));
        if (cs == CAIRO_STATUS_SUCCESS) {
            st = sgm_atomic_commit(af, err);
        } else {
            st = sgm__set_error(err, SGM_ERR_IO, "%s: cannot write the PNG (%s)", path,
                                cairo_status_to_string(cs));
            sgm_atomic_abort(af);
        }
    }
    cairo_surface_destroy(surf);
    return st;
}

#else /* no cairo */

int sgm_plot_available(void) { return 0; }

sgm_status sgm_plot_loglog_png(const char *path, const sgm_plot_config *cfg,
                               const sgm_plot_series *series, sgm_error *err) {
    (void)path;
    (void)cfg;
    (void)series;
    return sgm__set_error(err, SGM_ERR_UNSUPPORTED,
                          "plot: sgm was built without cairo (install libcairo2-dev)");
}
#endif
