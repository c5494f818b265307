/* images.c - image training sets by name for the trainer and the CLI:
 * "fashion-mnist[:DIR]" (Xiao et al. 2017, the IDX files of Debian's
 * dataset-fashion-mnist by default), "fashion-mnist-test[:DIR]" (the t10k
 * split) and "mnist:DIR" / "mnist-test:DIR" (LeCun et al. 1998, same file
 * names), read with sgm_idx_load_images (pixels x / 127.5 - 1 in [-1, 1]). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../core/internal.h"
#include "sgm/sgm_data.h"

/* the prefix of an image spec (its length), or 0 */
static size_t image_prefix(const char *spec, int *test, int *fashion) {
    static const char *const pre[4] = {"fashion-mnist-test", "fashion-mnist", "mnist-test",
                                       "mnist"};
    for (int i = 0; i < 4; i++) {
        size_t L = strlen(pre[i]);
        if (strncmp(spec, pre[i], L) == 0 && (spec[L] == 0 || spec[L] == ':')) {
            *test = (i == 0 || i == 2);
            *fashion = i < 2;
            return L;
        }
    }
    return 0;
}

int sgm_data_is_image_spec(const char *spec) {
    int t, f;
    return spec && image_prefix(spec, &t, &f) > 0;
}

/* DIR/NAME, or DIR/NAME.gz when only that exists */
static void idx_path(char *out, size_t cap, const char *dir, const char *name) {
    snprintf(out, cap, "%s/%s", dir, name);
    if (access(out, R_OK) == 0) return;
    snprintf(out, cap, "%s/%s.gz", dir, name);
}

sgm_status sgm_data_load_images(const char *spec, size_t max_n, float **x, int **labels,
                                size_t *n, int *c, int *h, int *w, sgm_error *err) {
    if (!spec || !x || !labels || !n || !c || !h || !w)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "data: NULL argument");
    int test = 0, fashion = 0;
    size_t L = image_prefix(spec, &test, &fashion);
    if (L == 0) return sgm__set_error(err, SGM_ERR_UNKNOWN_NAME, "'%s' is not an image data set", spec);
    const char *dir = spec[L] == ':' ? spec + L + 1 : (fashion ? SGM_FASHION_MNIST_DIR : NULL);
    if (!dir || !dir[0])
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "%s: give the directory (mnist:DIR)", spec);
    char ip[1024], lp[1024];
    idx_path(ip, sizeof ip, dir, test ? "t10k-images-idx3-ubyte" : "train-images-idx3-ubyte");
    idx_path(lp, sizeof lp, dir, test ? "t10k-labels-idx1-ubyte" : "train-labels-idx1-ubyte");
    sgm_status rc = sgm_idx_load_images(ip, lp, max_n, x, labels, n, h, w, err);
    if (rc == SGM_OK) *c = 1;
    return rc;
}
