/* precision.c - --precision fp32|bf16 for `sgm train` / `sgm sample`
 * (precision.h): parsing and the fallback note. */
#include <stdio.h>

#include "precision.h"

int cli_get_precision(cli_args *a, sgm_nn_precision *p) {
    const char *s = cli_get(a, "precision");
    if (!s) return 0;
    if (sgm_nn_precision_from_name(s, p) != SGM_OK)
        return cli_fail(a, "--precision: unknown precision '%s' (fp32 or bf16)", s);
    return 0;
}

void cli_precision_note(const char *cmd, sgm_nn_precision want, sgm_nn_precision used,
                        int arch_has_bf16) {
    if (want != SGM_NN_BF16 || used == SGM_NN_BF16) return;
    const char *why = !arch_has_bf16         ? "the mlp has no bf16 path"
                      : !sgm_nn_have_bf16() ? (sgm_nn_conv2d_have_dnnl()
                                                   ? "this CPU has no AVX512-BF16"
                                                   : "sgm was built without oneDNN")
                                            : "bf16 was turned off";
    fprintf(stderr, "sgm %s: --precision bf16: %s; running in fp32\n", cmd, why);
}
