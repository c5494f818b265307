/* optim_util.c - training helpers around the optimiser: global-norm gradient
 * clipping with the semantics of torch.nn.utils.clip_grad_norm_ (Pascanu et
 * al. 2013), linear warmup + cosine learning-rate decay (Loshchilov & Hutter
 * 2017, SGDR without restarts; the llm.c / nanoGPT form), and the
 * exponential moving average of weights used for sampling (Song & Ermon
 * 2020, "Improved techniques for training score-based generative models"). */
#include <math.h>
#include "nn/nn_internal.h"

double sgm_nn_grad_norm(const float *grad, size_t n) {
    double s = 0.0;
    long nn = (long)n;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) reduction(+ : s) if (n >= SGM_NN_PAR_MIN)
#endif
    for (long i = 0; i < nn; i++) s += (double)grad[i] * grad[i];
    return sqrt(s);
}

double sgm_nn_clip_grad_norm(float *grad, size_t n, double max_norm) {
    double norm = sgm_nn_grad_norm(grad, n);
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) {
        float c = (float)coef;
        for (size_t i = 0; i < n; i++) grad[i] *= c;
    }
    return norm;
}

double sgm_nn_lr_warmup_cosine(long step, long warmup, long total_steps, double lr_max,
                               double lr_min) {
    if (step < warmup) return lr_max * (double)(step + 1) / (double)warmup;
    if (step >= total_steps) return lr_min;
    double ratio = (double)(step - warmup) / (double)(total_steps - warmup);
    double coeff = 0.5 * (1.0 + cos(3.141592653589793 * ratio));
    return lr_min + coeff * (lr_max - lr_min);
}

void sgm_nn_ema_update(float *ema, const float *param, size_t n, double decay) {
    float a = (float)decay, b = (float)(1.0 - decay);
    long nn = (long)n;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (n >= SGM_NN_PAR_MIN)
#endif
    for (long i = 0; i < nn; i++) ema[i] = a * ema[i] + b * param[i];
}
