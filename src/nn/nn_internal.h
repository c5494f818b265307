/* nn_internal.h - private helpers of the NN engine (src/nn): cblas, OpenMP
 * pragmas that vanish without OpenMP, size_t index helpers. */
#ifndef SGM_NN_INTERNAL_H
#define SGM_NN_INTERNAL_H

#include <assert.h>
#include <stddef.h>
#include <cblas.h>
#include "sgm/sgm_nn.h"

#ifdef _OPENMP
#define SGM_NN_OMP_FOR _Pragma("omp parallel for schedule(static)")
#define SGM_NN_OMP_FOR2 _Pragma("omp parallel for collapse(2) schedule(static)")
#else
#define SGM_NN_OMP_FOR
#define SGM_NN_OMP_FOR2
#endif

/* Element-wise loops below this size stay serial (thread start-up costs more). */
#define SGM_NN_PAR_MIN 32768

#endif
