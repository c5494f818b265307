/* guide.h - the guidance and thresholding options shared by `sgm sample` and
 * `sgm edit`: classifier-free guidance through the library's wrapper
 * (sgm_edit.h; scale in both conventions, rescale, interval, batched or
 * sequential, CFG++), the class-conditional exact mixture (class k =
 * component k), and clipping / dynamic thresholding of the data prediction.
 * Parsed and checked before any work (exit 2 on bad values). */
#ifndef SGM_CLI_GUIDE_H
#define SGM_CLI_GUIDE_H

#include <stdio.h>

#include "args.h"
#include "model.h"
#include "sgm/sgm_edit.h"

typedef struct cli_guide {
    int guided;   /* --guidance or --guidance-scale given */
    int extended; /* an option only the wrapper provides (rescale, interval, ...) */
    int cfgpp;
    sgm_cfg_config cfg;
    sgm_threshold_config thr;
} cli_guide;

typedef struct cli_guided {
    sgm_cfg *cfg;
    sgm_threshold *thr;
} cli_guided;

extern const cli_opt cli_guide_opts[];
/* Reads and checks the options; --cfgpp switches sc->method to its CFG++
 * variant. 0, or -1 (a->err set). */
int cli_guide_parse(cli_args *a, cli_guide *g, sgm_sampler_config *sc);
/* Whether the library's CFG wrapper handles guidance for this model (every
 * mixture; a checkpoint when an extended option is given). */
int cli_guide_uses_wrapper(const cli_guide *g, const cli_model *m);
/* Wraps *den: guidance (labels [count], row r -> labels[r % count]; NULL
 * when no --class) and thresholding; sets the CFG++ hook on smp. 0, or -1
 * (a->err set; e.g. guidance on a model without classes). */
int cli_guide_build(cli_args *a, const cli_guide *g, cli_model *m, const int *labels,
                    size_t count, const sgm_process *proc, sgm_sampler *smp, sgm_denoiser *den,
                    cli_guided *out);
/* One line of guidance counters ("" when no guidance ran). */
void cli_guided_report(const cli_guided *g, FILE *f);
void cli_guided_free(cli_guided *g);

#endif
