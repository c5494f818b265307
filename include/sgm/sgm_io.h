/* sgm_io.h - .npy arrays (NumPy format 1.0/2.0, little-endian float32/float64,
 * C order). Every reader validates magic, header, dtype, shape and file size.
 * Writers write to a temporary file in the same folder and rename it, so a
 * failed write leaves no partial output. */
#ifndef SGM_IO_H
#define SGM_IO_H

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

/* Reads a whole file into a NUL-terminated buffer (free with free()). */
sgm_status sgm_read_file(const char *path, char **text, size_t *len, sgm_error *err);

#ifdef __cplusplus
}
#endif
#endif
