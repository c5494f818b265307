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

#endif
