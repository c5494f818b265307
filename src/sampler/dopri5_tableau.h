/* dopri5_tableau.h - the Dormand-Prince 5(4) Butcher tableau (Dormand &
 * Prince 1980, J. Comp. Appl. Math. 6; Hairer, Norsett & Wanner, Solving
 * ODEs I, table II.5.2), shared by the rk45 sampler (rk45.c) and the
 * likelihood solver (src/eval/nll.c). Row 6 of A is the 5th-order weights
 * (FSAL: stage 7 is f at the new point); B4 the embedded 4th-order weights. */
#ifndef SGM_DOPRI5_TABLEAU_H
#define SGM_DOPRI5_TABLEAU_H

static const double sgm__dp_c[7] = {0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1};
static const double sgm__dp_a[7][6] = {
    {0},
    {1.0 / 5},
    {3.0 / 40, 9.0 / 40},
    {44.0 / 45, -56.0 / 15, 32.0 / 9},
    {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
    {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
    {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84}};
static const double sgm__dp_b4[7] = {5179.0 / 57600,    0,           7571.0 / 16695,
                                     393.0 / 640,       -92097.0 / 339200,
                                     187.0 / 2100,      1.0 / 40};

#endif
