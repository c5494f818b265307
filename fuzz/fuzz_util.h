/* fuzz_util.h - shared by the libFuzzer harnesses (fuzz/fuzz_*.c): copies
 * of the input (the file readers' parsers take the bytes in memory,
 * src/io/parse_mem.h), and, for the readers that only take a path (IDX,
 * the CLI's @FILE lists), the input written to a file in a per-process
 * folder (under /dev/shm when it exists: no disk I/O) with the suffix the
 * reader dispatches on (".npy", ".txt", ".gz", ...). */
#ifndef SGM_FUZZ_UTIL_H
#define SGM_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The path of this process's input file with the given suffix; the input is
 * written there (truncating). Aborts on an I/O failure: that is a harness
 * problem, not a finding. */
static inline const char *fuzz_write_input(const uint8_t *data, size_t size, const char *suffix) {
    static char dir[256];
    static char path[512];
    if (!dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/sgm-fuzz-XXXXXX", base);
        if (!mkdtemp(dir)) {
            perror("fuzz: mkdtemp");
            abort();
        }
    }
    snprintf(path, sizeof path, "%s/input%s", dir, suffix);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror("fuzz: writing the input");
        abort();
    }
    return path;
}

/* A NUL-terminated copy of the input (free with free()). */
static inline char *fuzz_cstring(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) abort();
    if (size) memcpy(s, data, size);
    s[size] = 0;
    return s;
}

/* A malloc'd copy of the input's size bytes (at least 1 byte allocated). */
static inline unsigned char *fuzz_copy(const uint8_t *data, size_t size) {
    unsigned char *p = malloc(size ? size : 1);
    if (!p) abort();
    if (size) memcpy(p, data, size);
    return p;
}

#endif
