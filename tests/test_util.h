/* test_util.h - a minimal check harness: CHECK / CHECK_CLOSE count failures;
 * TEST_MAIN_END prints "N passed, N failed" and exits non-zero on failure. */
#ifndef SGM_TEST_UTIL_H
#define SGM_TEST_UTIL_H

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tu_pass = 0, tu_fail = 0;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (cond) {                                                       \
            tu_pass++;                                                    \
        } else {                                                          \
            tu_fail++;                                                    \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                 \
            fprintf(stderr, "\n");                                        \
        }                                                                 \
    } while (0)

/* |got - want| <= atol + rtol |want| */
#define CHECK_CLOSE(got, want, rtol, atol, what)                                        \
    do {                                                                                \
        double g_ = (got), w_ = (want);                                                 \
        CHECK(fabs(g_ - w_) <= (atol) + (rtol) * fabs(w_) && isfinite(g_),              \
              "%s: got %.17g want %.17g (diff %.3g)", what, g_, w_, fabs(g_ - w_));     \
    } while (0)

#define TEST_MAIN_END()                                                   \
    do {                                                                  \
        printf("%d passed, %d failed\n", tu_pass, tu_fail);               \
        return tu_fail ? 1 : 0;                                           \
    } while (0)

/* n zeroed floats (at least one); exits 2 when out of memory (a broken
 * test, not a failed check) */
static inline float *tu_falloc(size_t n) {
    float *p = calloc(n ? n : 1, sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* path under the source tree (SGM_SOURCE_DIR is set by CTest) */
static inline const char *tu_src(const char *rel, char *buf, size_t n) {
    const char *root = getenv("SGM_SOURCE_DIR");
    snprintf(buf, n, "%s/%s", root ? root : "..", rel);
    return buf;
}
static inline const char *tu_bin(const char *rel, char *buf, size_t n) {
    const char *root = getenv("SGM_BUILD_DIR");
    snprintf(buf, n, "%s/%s", root ? root : ".", rel);
    return buf;
}

/* files in folder dir whose name contains part (e.g. ".sgm-tmp.", the atomic
 * writer's temporary files, sgm_io.h) */
static inline int tu_count_files(const char *dir, const char *part) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, part)) n++;
    if (d) closedir(d);
    return n;
}

#endif
