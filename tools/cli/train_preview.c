/* train_preview.c - `sgm train --preview N`: after each checkpoint, N samples
 * of it along its recorded default sampling path (sgm_ckpt_sample_default,
 * the same seed every time so that successive pictures differ by the model
 * only), drawn as an image grid for a U-Net on images and as a scatter plot
 * of the first two columns otherwise; written atomically (sgm_png.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sgm.h"
#include "sgm/sgm_png.h"
#include "train_preview.h"

#define PREVIEW_SEED 0x707265766965ull /* the sampling seed of every preview */

int train_preview_path(const char *out, char *path, size_t size) {
    static const char ext[] = ".safetensors";
    size_t L = strlen(out), E = sizeof ext - 1;
    int base = (int)(L > E && strcmp(out + L - E, ext) == 0 ? L - E : L);
    int w = snprintf(path, size, "%.*s.preview.png", base, out);
    return w < 0 || (size_t)w >= size ? -1 : 0;
}

static int preview_fail(const char *png, const char *msg) {
    fprintf(stderr, "sgm train: --preview %s: %s\n", png, msg);
    return 1;
}

int train_preview_write(const char *ckpt, const char *png, int n, int quiet) {
    sgm_error err = {0};
    sgm_train_config cfg;
    size_t d = 0;
    if (sgm_ckpt_train_config(ckpt, &cfg, &d, &err) != SGM_OK) return preview_fail(png, err.msg);
    double *x = malloc((size_t)n * d * sizeof *x);
    float *f = malloc((size_t)n * d * sizeof *f);
    int code = 0;
    if (!x || !f) {
        code = preview_fail(png, "out of memory");
    } else if (sgm_ckpt_sample_default(ckpt, 0, (size_t)n, PREVIEW_SEED, x, &err) != SGM_OK) {
        code = preview_fail(png, err.msg);
    } else if (cfg.net.arch == SGM_ARCH_UNET) {
        const sgm_unet_config *u = &cfg.net.unet;
        for (size_t i = 0; i < (size_t)n * d; i++) f[i] = (float)x[i];
        sgm_png_grid g = sgm_png_grid_defaults();
        g.scale = 2;
        g.pad = 2;
        if (sgm_png_write_grid(png, f, n, u->in_ch, u->height, u->width, &g, &err) != SGM_OK)
            code = preview_fail(png, err.msg);
    } else if (d < 2) {
        code = preview_fail(png, "the data have one column: no scatter plot");
    } else {
        /* the first two columns of each row */
        for (size_t i = 0; i < (size_t)n; i++) x[2 * i] = x[i * d], x[2 * i + 1] = x[i * d + 1];
        sgm_png_scatter sc = sgm_png_scatter_defaults();
        if (sgm_png_write_scatter(png, NULL, 0, x, (size_t)n, &sc, &err) != SGM_OK)
            code = preview_fail(png, err.msg);
    }
    free(x);
    free(f);
    if (code == 0 && !quiet) fprintf(stderr, "\nsgm train: preview %s\n", png);
    return code;
}
