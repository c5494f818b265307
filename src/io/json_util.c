/* json_util.c - typed lookups on cJSON objects (json_util.h). */
#include "json_util.h"

#include <math.h>

int sgm__json_num(const cJSON *o, const char *k, double *v) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(x)) return 0;
    *v = x->valuedouble;
    return 1;
}

int sgm__json_int(const cJSON *o, const char *k, long lo, long hi, long *v) {
    double x;
    if (!sgm__json_num(o, k, &x) || !(x >= (double)lo && x <= (double)hi) || x != floor(x))
        return 0;
    *v = (long)x;
    return 1;
}

const char *sgm__json_str(const cJSON *o, const char *k) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

void sgm__json_push_num(cJSON *arr, double v, int *ok) {
    cJSON *x = cJSON_CreateNumber(v);
    if (!x || !arr || !cJSON_AddItemToArray(arr, x)) {
        cJSON_Delete(x);
        *ok = 0;
    }
}

char *sgm__json_take_string(cJSON *o) {
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}
