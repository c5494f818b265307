/* internal.h - private helpers shared inside src/ (not installed). */
#ifndef SGM_CORE_INTERNAL_H
#define SGM_CORE_INTERNAL_H

#include <stddef.h>
#include "sgm/sgm_core.h"

/* Fills err (if not NULL) with a formatted one-line message; returns st. */
sgm_status sgm__set_error(sgm_error *err, sgm_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* calloc of n * size with overflow check; NULL on failure. */
void *sgm__calloc(size_t n, size_t size);

/* Case-insensitive compare treating '-' and '_' alike. */
int sgm__name_eq(const char *a, const char *b);
/* 1 if `name` equals one entry of the comma-separated list. */
int sgm__name_in_list(const char *name, const char *list);
/* The index of the first of names[0 .. count) that `name` equals
 * (sgm__name_eq), -1 for none or a NULL name. */
int sgm__name_index(const char *name, const char *const *names, int count);

/* The standard normal stream (src/core/normal_bm.c): elements [e0, e0 + d)
 * (e0 even) of row `row` at draw `draw` into out (float32 or float64), by
 * the code path `isa`: -1 the widest this CPU runs, else one of SGM__ISA_*
 * (every path gives the same bits; SCALAR is the one-block-at-a-time
 * reference). */
enum { SGM__ISA_SCALAR = 0, SGM__ISA_BASE = 1, SGM__ISA_AVX2 = 2, SGM__ISA_AVX512 = 3 };
void sgm__normal_span(int isa, uint64_t seed, uint64_t draw, uint64_t row, size_t e0,
                      size_t d, sgm_dtype dt, void *out);
/* 1 if path `isa` runs on this CPU (SCALAR and BASE always do). */
int sgm__normal_isa_supported(int isa);

#endif
