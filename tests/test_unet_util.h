/* test_unet_util.h - the tiny image U-Net trainer configuration shared by
 * the tests that train one (1 x hw x hw images, base 8, mult 1-2, attention
 * at the lower level and in the middle, one res block, 4 groups). */
#ifndef SGM_TEST_UNET_UTIL_H
#define SGM_TEST_UNET_UTIL_H

#include "sgm/sgm_train.h"
#include "sgm/sgm_model.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_data.h"
#include "sgm/sgm_ckpt.h"

static inline sgm_train_config tu_tiny_unet_config(sgm_process_kind pk, sgm_param par, int hw,
                                                   int classes) {
    sgm_train_config c = sgm_train_config_default(pk, par);
    c.net.arch = SGM_ARCH_UNET;
    c.sigma_data = 0.5;
    sgm_unet_config *u = &c.net.unet;
    u->in_ch = 1, u->out_ch = 0, u->height = hw, u->width = hw;
    u->base_ch = 8, u->n_levels = 2;
    u->mult[0] = 1, u->mult[1] = 2;
    u->attn[0] = 0, u->attn[1] = 1;
    u->mid_attn = 1, u->n_res = 1, u->groups = 4, u->heads = 1, u->emb_dim = 16;
    u->n_classes = classes;
    c.label_dropout = 0.2;
    c.batch = 16, c.lr = 3e-3, c.warmup = 5, c.ema = 0.9, c.seed = 7;
    return c;
}

/* n images of hw x hw pixels in [-1, 1]: image i is class i % 2, a bright
 * horizontal (class 0) or vertical (class 1) bar two pixels wide at row /
 * column 2 + (i / 2) % 4 (hw >= 8); x: n * hw * hw, labels: n */
static inline void tu_bar_images(double *x, int *labels, int n, int hw) {
    for (int i = 0; i < n; i++) {
        int cls = i % 2, pos = 2 + (i / 2) % 4;
        labels[i] = cls;
        for (int r = 0; r < hw; r++)
            for (int c = 0; c < hw; c++) {
                int on = cls == 0 ? (r == pos || r == pos + 1) : (c == pos || c == pos + 1);
                x[(size_t)i * (size_t)(hw * hw) + (size_t)(r * hw + c)] = on ? 0.9 : -0.9;
            }
    }
}

#endif
