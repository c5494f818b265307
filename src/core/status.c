/* status.c - status messages, error records and small shared utilities. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *sgm_status_str(sgm_status s) {
    switch (s) {
#define SGM__STATUS_CASE(name, value, msg) \
    case name:                             \
        return msg;
        SGM_STATUS_LIST(SGM__STATUS_CASE)
#undef SGM__STATUS_CASE
    }
    return "unknown status";
}

size_t sgm_dtype_size(sgm_dtype t) { return t == SGM_F32 ? sizeof(float) : sizeof(double); }

sgm_status sgm__set_error(sgm_error *err, sgm_status st, const char *fmt, ...) {
    if (err) {
        err->status = st;
        char raw[sizeof err->msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        /* one line: messages may quote file content, whose control
           characters (newlines included) are written as \xHH escapes */
        size_t o = 0;
        for (const unsigned char *p = (const unsigned char *)raw; *p; p++) {
            int ctl = *p < 0x20 || *p == 0x7f;
            if (o + (ctl ? 4u : 1u) >= sizeof err->msg) break;
            if (ctl)
                o += (size_t)snprintf(err->msg + o, sizeof err->msg - o, "\\x%02x", *p);
            else
                err->msg[o++] = (char)*p;
        }
        err->msg[o] = 0;
    }
    return st;
}

void *sgm__calloc(size_t n, size_t size) {
    if (n == 0 || size == 0) return calloc(1, 1);
    if (n > (size_t)-1 / size) return NULL;
    return calloc(n, size);
}

/* names compare case-insensitively with '-' and ' ' equal to '_' (so the
 * A1111 display names, e.g. "DPM++ 2M SDE", find their samplers) */
static int norm_char(int c) {
    c = tolower((unsigned char)c);
    return c == '-' || c == ' ' ? '_' : c;
}

int sgm__name_eq(const char *a, const char *b) {
    if (!a || !b) return 0;
    while (*a && *b) {
        if (norm_char(*a) != norm_char(*b)) return 0;
        a++;
        b++;
    }
    return *a == 0 && *b == 0;
}

int sgm__name_index(const char *name, const char *const *names, int count) {
    for (int i = 0; i < count; i++)
        if (sgm__name_eq(name, names[i])) return i;
    return -1;
}

int sgm__name_in_list(const char *name, const char *list) {
    if (!name || !list) return 0;
    const char *p = list;
    while (*p) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        char tmp[64];
        if (len < sizeof tmp) {
            memcpy(tmp, p, len);
            tmp[len] = 0;
            if (sgm__name_eq(name, tmp)) return 1;
        }
        if (!q) break;
        p = q + 1;
    }
    return 0;
}
