/* embed_class.c - class-label embedding: a lookup table (torch.nn.Embedding)
 * with one extra row for the null label, the unconditional branch of
 * classifier-free guidance (Ho & Salimans 2022). A negative label or label ==
 * n_classes selects the null row n_classes. */
#include <string.h>
#include "nn/nn_internal.h"

static size_t row_of(int label, int n_classes) {
    return (label < 0 || label >= n_classes) ? (size_t)n_classes : (size_t)label;
}

void sgm_nn_class_embed_forward(float *out, const int *labels, const float *table, int N,
                                int D, int n_classes) {
    assert(N >= 0 && D > 0 && n_classes >= 0);
    for (int n = 0; n < N; n++) {
        assert(labels[n] <= n_classes);
        memcpy(out + (size_t)n * (size_t)D, table + row_of(labels[n], n_classes) * (size_t)D,
               (size_t)D * sizeof(float));
    }
}

void sgm_nn_class_embed_backward(float *dtable, const float *dout, const int *labels, int N,
                                 int D, int n_classes) {
    /* forward: out[n] = table[row(label[n])]; rows may repeat, so serial */
    assert(N >= 0 && D > 0 && n_classes >= 0);
    for (int n = 0; n < N; n++) {
        float *r = dtable + row_of(labels[n], n_classes) * (size_t)D;
        const float *g = dout + (size_t)n * (size_t)D;
        for (int j = 0; j < D; j++) r[j] += g[j];
    }
}
