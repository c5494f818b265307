/* adam.c - Adam (Kingma & Ba 2015, Algorithm 1) and AdamW (Loshchilov &
 * Hutter 2019, Algorithm 2) on a flat parameter block, with the exact
 * semantics of torch.optim.Adam / AdamW (amsgrad=False): Adam adds the L2
 * term wd p to the gradient, AdamW shrinks p by (1 - lr wd) first; bias
 * correction as step_size = lr / (1 - b1^t), denom = sqrt(v) / sqrt(1 - b2^t)
 * + eps. */
#include <math.h>
#include "nn/nn_internal.h"

sgm_nn_adam sgm_nn_adam_defaults(int decoupled) {
    sgm_nn_adam c = {0.9, 0.999, 1e-8, decoupled ? 1e-2 : 0.0, decoupled ? 1 : 0};
    return c;
}

SGM_NN_SIMD_CLONES void sgm_nn_adam_step(float *param, const float *grad, float *m, float *v, size_t n, double lr,
                      long t, const sgm_nn_adam *cfg) {
    assert(t >= 1);
    /* 1 - beta in double, then rounded (as torch passes the Python float
     * 1 - beta to the kernel): 1.0f - 0.999f is 1.3e-5 off 0.001 */
    float b1 = (float)cfg->beta1, b2 = (float)cfg->beta2;
    float omb1 = (float)(1.0 - cfg->beta1), omb2 = (float)(1.0 - cfg->beta2);
    float step_size = (float)(lr / (1.0 - pow(cfg->beta1, (double)t)));
    float bc2_sqrt = (float)sqrt(1.0 - pow(cfg->beta2, (double)t));
    float eps = (float)cfg->eps;
    float l2 = cfg->decoupled ? 0.0f : (float)cfg->weight_decay;
    float shrink = cfg->decoupled ? (float)(1.0 - lr * cfg->weight_decay) : 1.0f;
    long nn = (long)n;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n >= SGM_NN_PAR_MIN)
#endif
    for (long i = 0; i < nn; i++) {
        float p = param[i] * shrink;
        float g = grad[i] + l2 * p;
        float mi = b1 * m[i] + omb1 * g;
        float vi = b2 * v[i] + omb2 * g * g;
        m[i] = mi;
        v[i] = vi;
        param[i] = p - step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
    }
}
