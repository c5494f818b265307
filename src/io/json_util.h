/* json_util.h - small typed lookups on cJSON objects, shared by the readers
 * of JSON metadata (checkpoints, network configurations). */
#ifndef SGM_IO_JSON_UTIL_H
#define SGM_IO_JSON_UTIL_H

#include <cjson/cJSON.h>

/* 1 and *v set when key k of o holds a number; 0 otherwise (v untouched) */
int sgm__json_num(const cJSON *o, const char *k, double *v);
/* 1 and *v set when key k holds a number that is a whole number in [lo, hi] */
int sgm__json_int(const cJSON *o, const char *k, long lo, long hi, long *v);
/* the string at key k, or NULL */
const char *sgm__json_str(const cJSON *o, const char *k);
/* Appends the number v to the array arr (NULL arr fails); on failure (cJSON
 * out of memory) frees the item and clears *ok. The writers of JSON keep
 * such a sticky flag over every cJSON_Add* and drop a partial object: a
 * failed allocation must not give a file with keys missing. */
void sgm__json_push_num(cJSON *arr, double v, int *ok);
/* cJSON_PrintUnformatted(o), then deletes o; NULL on failure */
char *sgm__json_take_string(cJSON *o);

#endif
