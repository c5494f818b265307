/* precision.h - the --precision option of `sgm train` and `sgm sample`
 * (fp32 | bf16, sgm_nn_precision in sgm_nn.h) and the one-line note on
 * stderr when bf16 falls back to fp32. */
#ifndef SGM_CLI_PRECISION_H
#define SGM_CLI_PRECISION_H

#include "args.h"
#include "sgm.h"

/* the help line of --precision (both commands' option tables) */
#define CLI_PRECISION_HELP                                                                     \
    "products of the network: fp32 | bf16 (U-Net convolutions in bfloat16 with fp32 "          \
    "accumulation and master weights; needs AVX512-BF16, else fp32 with a note on stderr)"

/* --precision into *p (left as is when the option is absent); -1 (a->err
 * set) on an unknown name */
int cli_get_precision(cli_args *a, sgm_nn_precision *p);
/* When bf16 was asked for and `used` is fp32: one line on stderr saying
 * why (arch_has_bf16 0: the architecture has no bf16 path). */
void cli_precision_note(const char *cmd, sgm_nn_precision want, sgm_nn_precision used,
                        int arch_has_bf16);

#endif
