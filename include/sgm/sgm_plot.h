/* sgm_plot.h - log-log line plots to PNG (drawn with cairo), used by
 * `sgm bench`. One figure holds n_panels panels side by side sharing their
 * axis ranges, each with the same n_series series (series j has the same
 * colour, marker and legend entry in every panel), and one legend.
 * Points with a non-positive or non-finite coordinate are skipped (the line
 * is broken there). Written atomically (temporary file + rename). */
#ifndef SGM_PLOT_H
#define SGM_PLOT_H

#include "sgm_core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sgm_plot_series {
    const double *x, *y; /* n points, in drawing order */
    size_t n;
} sgm_plot_series;

typedef struct sgm_plot_config {
    const char *title, *xlabel, *ylabel;
    int width, height;              /* pixels; 0: 520 per panel + legend,
                                       max(480, 80 + 13 n_series) */
    const char *const *labels;      /* [n_series] legend entries */
    size_t n_series;
    const char *const *panel_titles; /* [n_panels] (may be NULL) */
    size_t n_panels;
} sgm_plot_config;

/* 1 when the library was built with cairo (plots available), else 0. */
int sgm_plot_available(void);
/* series: [n_panels * n_series], panel-major. */
sgm_status sgm_plot_loglog_png(const char *path, const sgm_plot_config *cfg,
                               const sgm_plot_series *series, sgm_error *err);

#ifdef __cplusplus
}
#endif
#endif
