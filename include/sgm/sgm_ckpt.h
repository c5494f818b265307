/* sgm_ckpt.h - safetensors files (the Hugging Face format: 8-byte
 * little-endian header length N, N bytes of JSON mapping tensor names to
 * {"dtype", "shape", "data_offsets": [begin, end]} plus an optional
 * "__metadata__" string-to-string map, then the raw little-endian data).
 * The reader validates every field (sizes, offsets inside the file, dtype,
 * shape product against the byte count, no overlaps or holes); the writer
 * writes a temporary file in the same folder, fsyncs it and renames it over
 * the target (sgm_atomic_open, sgm_io.h), so a failed write never leaves a
 * partial checkpoint. */
#ifndef SGM_CKPT_H
#define SGM_CKPT_H

#include <stddef.h>
#include "sgm_core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SGM_ST_MAX_DIMS 8

typedef enum sgm_st_dtype { SGM_ST_F32 = 0, SGM_ST_F64, SGM_ST_I64, SGM_ST_U8 } sgm_st_dtype;

typedef struct sgm_st_tensor {
    const char *name;
    sgm_st_dtype dtype;
    int ndim;
    size_t shape[SGM_ST_MAX_DIMS];
    const void *data; /* product(shape) elements of dtype */
} sgm_st_tensor;

typedef struct sgm_safetensors {
    size_t n_tensors;
    sgm_st_tensor *tensors; /* names and data point into the loaded file */
    size_t n_meta;
    char **meta_keys, **meta_vals;
    void *blob_; /* owned storage */
} sgm_safetensors;

size_t sgm_st_dtype_size(sgm_st_dtype t);
/* Loads and validates a whole file. Errors: SGM_ERR_IO, SGM_ERR_FORMAT
 * (with a message naming what is wrong), SGM_ERR_NOMEM. */
sgm_status sgm_st_load(const char *path, sgm_safetensors *out, sgm_error *err);
void sgm_st_free(sgm_safetensors *st);
/* Lookups: NULL when absent. */
const sgm_st_tensor *sgm_st_find(const sgm_safetensors *st, const char *name);
const char *sgm_st_meta(const sgm_safetensors *st, const char *key);
/* Writes n tensors (in the given order) and n_meta key/value strings atomically. */
sgm_status sgm_st_save(const char *path, const sgm_st_tensor *t, size_t n,
                       const char *const *keys, const char *const *vals, size_t n_meta,
                       sgm_error *err);

#ifdef __cplusplus
}
#endif
#endif
