/* parse_mem.h - the in-memory halves of the library's file readers: each
 * reader of a path (sgm_npy_load, sgm_st_load, the CSV loader of
 * sgm_data_load, sgm_png_read, sgm_idx_read, sgm_ckpt_read_info) reads the
 * file whole and hands its bytes to one of these, which do all of the
 * parsing and checking.
 * The libFuzzer harnesses (fuzz/) call them directly, with no file in
 * between. `path` only names the input in error messages. */
#ifndef SGM_IO_PARSE_MEM_H
#define SGM_IO_PARSE_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "sgm/sgm_ckpt.h"
#include "sgm/sgm_data.h"
#include "sgm/sgm_io.h"

/* a .npy file's len bytes (sgm_npy_load) */
sgm_status sgm__npy_parse(const char *path, const char *buf, size_t len, sgm_array *out,
                          sgm_error *err);
/* a safetensors file (sgm_st_load); takes file, a malloc'd buffer of len
 * bytes, in every case (freed at once on error, else with out) */
sgm_status sgm__st_parse(const char *path, unsigned char *file, size_t len,
                         sgm_safetensors *out, sgm_error *err);
/* a CSV table (sgm_data_load's FILE.csv): text is NUL-terminated, cut into
 * lines in place, and stays the caller's; *out is malloc'd [rows * cols] */
sgm_status sgm__csv_parse(const char *path, char *text, double **out, size_t *rows,
                          size_t *cols, sgm_error *err);
/* a PNG file (sgm_png_read) */
sgm_status sgm__png_parse(const char *path, const uint8_t *buf, size_t len, int channels,
                          uint8_t **pix, int *w, int *h, sgm_error *err);
/* an IDX file, raw or gzip (sgm_idx_read) */
sgm_status sgm__idx_parse(const char *path, const unsigned char *file, size_t len,
                          sgm_idx *out, sgm_error *err);
/* a checkpoint's metadata (sgm_ckpt_read_info); takes file as sgm__st_parse */
sgm_status sgm__ckpt_info_parse(const char *path, unsigned char *file, size_t len,
                                sgm_ckpt_info *out, sgm_error *err);

#endif
