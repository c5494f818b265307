/* ckpt_internal.h - sgm checkpoints inside the library: what one holds, how
 * it is read (ckpt_read.c) and written (ckpt_write.c). The format is
 * described in sgm_ckpt.h. */
#ifndef SGM_CKPT_INTERNAL_H
#define SGM_CKPT_INTERNAL_H

#include "sgm/sgm_ckpt.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_net.h"
#include "sgm/sgm_train.h"

/* the four tensor blocks, in file order */
#define SGM__CKPT_N_BLOCKS 4
extern const char *const sgm__ckpt_blocks[SGM__CKPT_N_BLOCKS]; /* params, ema, adam_m, adam_v */

/* A loaded checkpoint: its metadata decoded, the file kept for the tensors. */
typedef struct sgm__ckpt {
    sgm_ckpt_info info;  /* configuration, width, counters, version */
    double *mean, *std;  /* [info.d] data statistics */
    sgm_safetensors st;
} sgm__ckpt;

/* Reads and validates a checkpoint's metadata (the tensors stay in ck->st).
 * On error nothing needs freeing. */
sgm_status sgm__ckpt_load(const char *path, sgm__ckpt *ck, sgm_error *err);
void sgm__ckpt_free(sgm__ckpt *ck);
/* Copies tensor block `block` (one of sgm__ckpt_blocks) into dst, laid out
 * as net's parameter block, checking each tensor's name, dtype, size and
 * that every value is finite. */
sgm_status sgm__ckpt_block(const sgm__ckpt *ck, const char *path, const char *block,
                           const sgm_net *net, float *dst, sgm_error *err);

/* What a trainer hands to the writer. */
typedef struct sgm__ckpt_state {
    const sgm_train_config *cfg;
    const sgm_net *net;
    const double *mean, *std; /* [net's d] */
    size_t rows;              /* training rows */
    long step;
    double ema_loss;
    const float *blocks[SGM__CKPT_N_BLOCKS]; /* params, ema, adam_m, adam_v */
} sgm__ckpt_state;

/* The training time range of c on proc: t_lo / t_hi, or the process's
 * range (t_min at least 1e-3 when 0; flow: t_hi below 1 - 1e-3). */
sgm_status sgm__train_t_range(const sgm_train_config *c, const sgm_process *proc, double *t_lo,
                              double *t_hi, sgm_error *err);
/* The "sampling" metadata: written / read (ckpt_sampling.c). */
struct cJSON;
struct cJSON *sgm__ckpt_sampling_json(const sgm_ckpt_sampling *s);
sgm_status sgm__ckpt_sampling_read(const char *text, const char *path, sgm_ckpt_sampling *s,
                                   sgm_error *err);

/* Writes a checkpoint atomically. */
sgm_status sgm__ckpt_save(const char *path, const sgm__ckpt_state *s, sgm_error *err);

#endif
