/* fuzz_gmm_json.c - sgm_gmm_from_json on arbitrary text. */
#include "fuzz_util.h"
#include "sgm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_cstring(data, size);
    sgm_gmm *g = NULL;
    sgm_error err = {0};
    if (sgm_gmm_from_json(text, &g, &err) == SGM_OK) {
        size_t k = sgm_gmm_components(g), d = sgm_gmm_dim(g);
        const double *w = sgm_gmm_weights(g), *m = sgm_gmm_means(g), *s = sgm_gmm_stds(g);
        volatile double acc = 0;
        for (size_t i = 0; i < k; i++) acc += w[i];
        for (size_t i = 0; i < k * d; i++) acc += m[i] + s[i];
        (void)acc;
    }
    sgm_gmm_free(g);
    free(text);
    return 0;
}
