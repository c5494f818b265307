/* cmd_encode.c - `sgm encode`: x_0 -> x_T along the probability-flow ODE
 * (the inverse of a deterministic sampler run; decoding Z with `sgm sample
 * --method rk45 --init Z.npy` over the same time range returns X). The same
 * adaptive Dormand-Prince solve as `sgm nll` without the divergence
 * (sgm_encode, include/sgm/sgm_likelihood.h); options and exit codes are
 * those of cmd_nll.c. */
#include "cli.h"

int cmd_encode(int argc, char **argv) { return cli_likelihood_main(argc, argv, 1); }
