/* sgm_io.h - array files: .npy arrays (NumPy format 1.0/2.0, little-endian
 * float32/float64, C order) and safetensors; whole-file reads; and the
 * atomic file writer that every sgm output goes through. Every reader
 * validates magic, header, dtype, shape and file size. Writers write to a
 * temporary file in the same folder and rename it, so a failed write leaves
 * no partial output. */
#ifndef SGM_IO_H
#define SGM_IO_H

#include <stddef.h>
#include <stdio.h>

#include "sgm_core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SGM_NPY_MAX_DIMS 8

typedef struct sgm_array {
    int ndim;
    size_t shape[SGM_NPY_MAX_DIMS];
    size_t count;   /* product of shape */
    double *data;   /* always converted to float64 on load */
} sgm_array;

/* Loads a float32/float64 .npy into float64. */
sgm_status sgm_npy_load(const char *path, sgm_array *out, sgm_error *err);
/* Writes float64 data (as float64 or, with as_f32, float32) atomically. */
sgm_status sgm_npy_save(const char *path, int ndim, const size_t *shape,
                        const double *data, int as_f32, sgm_error *err);
void sgm_array_free(sgm_array *a);

/* -------------------------------------------------------- safetensors ---
 * The Hugging Face format: 8-byte little-endian header length N, N bytes
 * of JSON mapping tensor names to {"dtype", "shape", "data_offsets":
 * [begin, end]} plus an optional "__metadata__" string-to-string map, then
 * the raw little-endian data. The reader validates every field (sizes,
 * offsets inside the file, dtype, shape product against the byte count, no
 * overlaps or holes); the writer is atomic like every writer here. */

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

/* Reads a whole file into a NUL-terminated buffer (free with free()). */
sgm_status sgm_read_file(const char *path, char **text, size_t *len, sgm_error *err);

/* ------------------------------------------------------ atomic writes --- */

/* An output file being written: the bytes go to a temporary file in the
 * target's folder, named `.<name>.sgm-tmp.<pid>.<random>` (<name> = the
 * target's base name), created with mode 0666 minus the umask (0644 under
 * umask 022, 0600 under 077), as an ordinary open(2) of the target would.
 * Committing flushes and fsyncs it, renames it over the target and fsyncs the
 * folder, so a reader sees either the old file or the whole new one, never a
 * partial file. Opening first removes that target's stale temporary files
 * (same name pattern, left by a process that no longer exists); nothing else
 * is touched. A target that exists but is not a regular file (a folder, a
 * device) is refused. */
typedef struct sgm_atomic_file sgm_atomic_file;

/* Creates the temporary file for `path`. SGM_ERR_INVALID_ARG (NULL / empty
 * path, a path ending in '/'), SGM_ERR_IO (the folder is missing or not
 * writable, the target is not a regular file), SGM_ERR_NOMEM. */
sgm_status sgm_atomic_open(const char *path, sgm_atomic_file **out, sgm_error *err);
/* The stream to write to (binary; do not fclose it). */
FILE *sgm_atomic_stream(sgm_atomic_file *af);
/* Flushes, fsyncs, closes and renames the temporary file over the target,
 * then frees af (also on failure). On any failure (a write error seen by the
 * stream included) the temporary file is removed, the target is left as it
 * was, and SGM_ERR_IO comes back with a message naming the target and the
 * reason. */
sgm_status sgm_atomic_commit(sgm_atomic_file *af, sgm_error *err);
/* Closes and removes the temporary file, frees af; the target is untouched.
 * NULL is a no-op. */
void sgm_atomic_abort(sgm_atomic_file *af);

/* open + one write of len bytes + commit. */
sgm_status sgm_write_file_atomic(const char *path, const void *data, size_t len,
                                 sgm_error *err);

#ifdef __cplusplus
}
#endif
#endif
