/* nn_internal.h - private helpers of the NN engine (src/nn): cblas, OpenMP
 * pragmas that vanish without OpenMP, size_t index helpers. */
#ifndef SGM_NN_INTERNAL_H
#define SGM_NN_INTERNAL_H

#include <assert.h>
#include <stddef.h>
#include <cblas.h>
#include "sgm/sgm_nn.h"

/* OpenMP on outer loops, only for loops with at least SGM_NN_PAR_MIN
 * elements of work: these kernels sit between threaded sgemm calls, and an
 * OpenMP team that spins after a small region steals the cores OpenBLAS's
 * threads need (measured: residual MLP N 1024, width 256, 6x slower with
 * per-layer regions at 2 threads). Large memory-bound loops still gain. */
#define SGM_NN_PAR_MIN ((size_t)1 << 20)
#ifdef _OPENMP
#define SGM_NN_PRAGMA_(x) _Pragma(#x)
#define SGM_NN_OMP_FOR(work) \
    SGM_NN_PRAGMA_(omp parallel for schedule(static) if ((size_t)(work) >= SGM_NN_PAR_MIN))
#define SGM_NN_OMP_FOR2(work) \
    SGM_NN_PRAGMA_(omp parallel for collapse(2) schedule(static) if ((size_t)(work) >= SGM_NN_PAR_MIN))
#else
#define SGM_NN_OMP_FOR(work)
#define SGM_NN_OMP_FOR2(work)
#endif

#endif
