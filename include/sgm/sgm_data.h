/* sgm_data.h - training and evaluation data: the built-in 2-D sets, exact
 * mixture samples, .npy / .csv files, image sets (Fashion-MNIST, MNIST)
 * from IDX files (plain or gzip, through zlib), and per-column statistics. */
#ifndef SGM_DATA_H
#define SGM_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "sgm_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Built-in 2-D sets: "moons", "swissroll", "checkerboard", "8gaussians",
 * "rings", "pinwheel"; n rows (n x 2 doubles, malloc'd) from seed. */
sgm_status sgm_data_builtin(const char *name, size_t n, uint64_t seed, double **out,
                            sgm_error *err);
/* Image data sets: "fashion-mnist[:DIR]" or "mnist:DIR" (the IDX files
 * train-images-idx3-ubyte[.gz] / train-labels-idx1-ubyte[.gz] of DIR;
 * fashion-mnist defaults to SGM_FASHION_MNIST_DIR), "fashion-mnist-test[:DIR]"
 * (the t10k files). Pixels in [-1, 1], shape (n, 1, H, W) float32 and int
 * labels (malloc'd); max_n > 0 keeps the first max_n images.
 * SGM_ERR_UNKNOWN_NAME when spec is not an image spec. */
sgm_status sgm_data_load_images(const char *spec, size_t max_n, float **x, int **labels,
                                size_t *n, int *c, int *h, int *w, sgm_error *err);
/* 1 when spec names an image data set (the prefixes above). */
int sgm_data_is_image_spec(const char *spec);
/* A comma-separated list of the built-in names. */
const char *sgm_data_builtin_names(void);
/* Any data spec: a built-in name, "gmm:FILE.json" (n exact samples), FILE.npy
 * (2-D float32/float64) or FILE.csv (numbers, optional header line). n and seed
 * are used by the generated kinds only. *rows, *cols receive the shape. */
sgm_status sgm_data_load(const char *spec, size_t n, uint64_t seed, double **out,
                         size_t *rows, size_t *cols, sgm_error *err);
/* Per-column mean and standard deviation (population; a column with std 0
 * gets std 1). mean, std: [cols]. */
void sgm_data_stats(const double *x, size_t rows, size_t cols, double *mean, double *std);

/* ------------------------------------------------------------- IDX --- */

/* IDX files (LeCun's MNIST format, also Fashion-MNIST): big-endian magic
 * 0x00 0x00 type ndim, ndim big-endian u32 sizes, then the data. Only type
 * 0x08 (unsigned byte) is supported. A name ending in ".gz" is read through
 * zlib. The size in the header is checked against the data length. */
typedef struct sgm_idx {
    int ndim;
    size_t dims[4];
    size_t count;     /* product of dims */
    uint8_t *data;    /* (count) malloc'd */
} sgm_idx;
sgm_status sgm_idx_read(const char *path, sgm_idx *out, sgm_error *err);
void sgm_idx_free(sgm_idx *x);

/* An images file (N, H, W) and a labels file (N) as float images in [-1, 1]
 * (x / 127.5 - 1), shape (N, 1, H, W), and int labels. max_n > 0 keeps only
 * the first max_n. *images and *labels are malloc'd; the caller frees them.
 * SGM_ERR_SHAPE when the two files disagree on N. */
sgm_status sgm_idx_load_images(const char *images_path, const char *labels_path, size_t max_n,
                               float **images, int **labels, size_t *n, int *h, int *w,
                               sgm_error *err);
/* Where Debian's dataset-fashion-mnist package puts the files. */
#define SGM_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

#ifdef __cplusplus
}
#endif
#endif
