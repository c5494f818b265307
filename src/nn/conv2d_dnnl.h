/* conv2d_dnnl.h - the oneDNN backend of sgm_nn_conv2d_plan (private to
 * src/nn; conv2d_dnnl.c, built only with SGM_HAVE_DNNL). */
#ifndef SGM_NN_CONV2D_DNNL_H
#define SGM_NN_CONV2D_DNNL_H

#include <stddef.h>
#include "sgm/sgm_nn.h"

typedef struct sgm__dnnl_conv sgm__dnnl_conv;

/* d->N is the largest batch; *scratch_floats receives the caller scratch a
 * call with any batch up to d->N needs. bf16: the products read bf16
 * copies of their operands (input, weights, output gradient; rounded to
 * nearest even by the reorders) and accumulate and write f32. */
sgm_status sgm__dnnl_conv_create(sgm__dnnl_conv **c, const sgm_nn_conv2d_dims *d, int bf16,
                                 size_t *scratch_floats, sgm_error *err);
/* 1 when oneDNN runs bf16 natively on this CPU (AVX512-BF16 or newer, as
 * oneDNN sees it: DNNL_MAX_CPU_ISA lowers it) */
int sgm__dnnl_have_bf16(void);
void sgm__dnnl_conv_free(sgm__dnnl_conv *c);
sgm_status sgm__dnnl_conv_forward(sgm__dnnl_conv *c, float *out, float *scratch, const float *inp,
                                  const float *weight, const float *bias, int N, sgm_error *err);
sgm_status sgm__dnnl_conv_backward(sgm__dnnl_conv *c, float *dinp, float *dweight, float *dbias,
                                   float *scratch, const float *dout, const float *inp,
                                   const float *weight, int N, int overwrite, sgm_error *err);
/* on: forward keeps its reordered input for the backward that follows
 * (the caller promises inp is unchanged in between); see
 * sgm_nn_conv2d_plan_keep_input */
void sgm__dnnl_conv_keep_input(sgm__dnnl_conv *c, int on);

#endif
