/* test_atomic.c - the atomic file writer (sgm_io.h) and the writers built on
 * it: the final mode is what the umask gives (0644 under 022, 0600 under 077)
 * for sgm_write_file_atomic, .npy, .safetensors and PNG; the target keeps its
 * old content until commit and then has the new; abort leaves nothing;
 * failures (missing folder, a folder that is a regular file, a target that
 * is a folder, a rename that fails, a write that fails) return SGM_ERR_IO
 * naming the target and leave no temporary file; opening removes stale
 * temporary files of that target whose process is dead, and nothing else. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sgm/sgm_ckpt.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_png.h"
#include "test_util.h"

static char dir[512];

static const char *in_dir(const char *name, char *buf, size_t n) {
    snprintf(buf, n, "%s/%s", dir, name);
    return buf;
}

static int count_in_dir(const char *part) { return tu_count_files(dir, part); }

static int mode_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

/* whole file equals text */
static int has_text(const char *path, const char *text) {
    char *buf = NULL;
    size_t len = 0;
    sgm_error e;
    int ok = sgm_read_file(path, &buf, &len, &e) == SGM_OK && len == strlen(text) &&
             memcmp(buf, text, len) == 0;
    free(buf);
    return ok;
}

static void write_raw(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_modes(void) {
    char p[600];
    const double v[4] = {1, 2, 3, 4};
    const size_t shape[2] = {2, 2};
    sgm_st_tensor t = {"w", SGM_ST_F64, 2, {2, 2}, v};
    const uint8_t pix[4] = {0, 80, 160, 240};
    sgm_error e = {0};
    const mode_t masks[2] = {022, 077};
    const int want[2] = {0644, 0600};
    mode_t old = umask(022);
    for (int k = 0; k < 2; k++) {
        umask(masks[k]);
        /* each kind twice (k = 0: a new file, then over it; k = 1: over the
         * 0644 files of k = 0, whose mode does not carry over) */
        for (int rep = 0; rep < 2; rep++) {
            CHECK(sgm_write_file_atomic(in_dir("m.txt", p, sizeof p), "hello\n", 6, &e) == SGM_OK,
                  "write: %s", e.msg);
            CHECK(mode_of(p) == want[k], "raw file mode %o under umask %03o (want %o)", mode_of(p),
                  (unsigned)masks[k], want[k]);
            CHECK(sgm_npy_save(in_dir("m.npy", p, sizeof p), 2, shape, v, 0, &e) == SGM_OK,
                  "npy: %s", e.msg);
            CHECK(mode_of(p) == want[k], ".npy mode %o under umask %03o (want %o)", mode_of(p),
                  (unsigned)masks[k], want[k]);
            CHECK(sgm_st_save(in_dir("m.safetensors", p, sizeof p), &t, 1, NULL, NULL, 0, &e) ==
                      SGM_OK,
                  "safetensors: %s", e.msg);
            CHECK(mode_of(p) == want[k], ".safetensors mode %o under umask %03o (want %o)",
                  mode_of(p), (unsigned)masks[k], want[k]);
            CHECK(sgm_png_write_gray(in_dir("m.png", p, sizeof p), pix, 2, 2, &e) == SGM_OK,
                  "png: %s", e.msg);
            CHECK(mode_of(p) == want[k], ".png mode %o under umask %03o (want %o)", mode_of(p),
                  (unsigned)masks[k], want[k]);
        }
        /* the file written is the file read back */
        sgm_array a;
        CHECK(sgm_npy_load(in_dir("m.npy", p, sizeof p), &a, &e) == SGM_OK &&
                  a.count == 4 && memcmp(a.data, v, sizeof v) == 0,
              "npy round trip");
        sgm_array_free(&a);
    }
    umask(old);
    CHECK(has_text(in_dir("m.txt", p, sizeof p), "hello\n"), "content");
    CHECK(count_in_dir(".sgm-tmp.") == 0, "temporary files left: %d", count_in_dir(".sgm-tmp."));
}

static void test_commit_abort(void) {
    char p[600], q[600];
    sgm_error e = {0};
    in_dir("c.txt", p, sizeof p);
    write_raw(p, "old");
    sgm_atomic_file *af = NULL;
    CHECK(sgm_atomic_open(p, &af, &e) == SGM_OK && af, "open: %s", e.msg);
    if (!af) return;
    FILE *f = sgm_atomic_stream(af);
    CHECK(f != NULL, "stream");
    fputs("new content", f);
    fflush(f);
    CHECK(has_text(p, "old"), "target changed before commit");
    CHECK(count_in_dir(".c.txt.sgm-tmp.") == 1, "one temporary file named after the target, got %d",
          count_in_dir(".c.txt.sgm-tmp."));
    CHECK(sgm_atomic_commit(af, &e) == SGM_OK, "commit: %s", e.msg);
    CHECK(has_text(p, "new content"), "commit did not replace the target");
    CHECK(count_in_dir(".c.txt.sgm-tmp.") == 0, "temporary file left after commit");

    /* abort: an existing target keeps its content, a new one is not created */
    CHECK(sgm_atomic_open(p, &af, &e) == SGM_OK, "open 2: %s", e.msg);
    fputs("discarded", sgm_atomic_stream(af));
    sgm_atomic_abort(af);
    CHECK(has_text(p, "new content"), "abort changed the target");
    in_dir("never.txt", q, sizeof q);
    CHECK(sgm_atomic_open(q, &af, &e) == SGM_OK, "open 3: %s", e.msg);
    fputs("discarded", sgm_atomic_stream(af));
    sgm_atomic_abort(af);
    CHECK(!exists(q), "abort created the target");
    CHECK(count_in_dir(".sgm-tmp.") == 0, "temporary file left after abort");
    sgm_atomic_abort(NULL);
    CHECK(sgm_atomic_stream(NULL) == NULL, "stream of NULL");

    /* an empty file */
    CHECK(sgm_write_file_atomic(p, NULL, 0, &e) == SGM_OK && has_text(p, ""), "empty file: %s",
          e.msg);
    remove(p);
}

/* status IO, the target in the message, no temporary name in it, no temp left */
static void check_io_failure(sgm_status st, const sgm_error *e, const char *target,
                             const char *what) {
    CHECK(st == SGM_ERR_IO, "%s: status %d (want SGM_ERR_IO)", what, (int)st);
    CHECK(strstr(e->msg, target) != NULL, "%s: message does not name %s: %s", what, target,
          e->msg);
    CHECK(strstr(e->msg, "sgm-tmp") == NULL, "%s: message names the temporary file: %s", what,
          e->msg);
    CHECK(count_in_dir(".sgm-tmp.") == 0, "%s: temporary file left", what);
}

static void test_failures(void) {
    char p[600], file[600];
    sgm_error e = {0};
    const double v[2] = {1, 2};
    const size_t shape[1] = {2};
    sgm_st_tensor t = {"w", SGM_ST_F64, 1, {2}, v};
    sgm_atomic_file *af = NULL;

    /* the folder does not exist */
    in_dir("missing/x.npy", p, sizeof p);
    check_io_failure(sgm_write_file_atomic(p, "x", 1, &e), &e, p, "missing folder (raw)");
    check_io_failure(sgm_npy_save(p, 1, shape, v, 0, &e), &e, p, "missing folder (npy)");
    check_io_failure(sgm_st_save(p, &t, 1, NULL, NULL, 0, &e), &e, p,
                     "missing folder (safetensors)");
    CHECK(sgm_atomic_open(p, &af, &e) == SGM_ERR_IO && af == NULL, "open in a missing folder");

    /* the "folder" is a regular file */
    in_dir("plain", file, sizeof file);
    write_raw(file, "i am a file");
    in_dir("plain/x.npy", p, sizeof p);
    check_io_failure(sgm_npy_save(p, 1, shape, v, 0, &e), &e, p, "folder is a file (npy)");
    check_io_failure(sgm_write_file_atomic(p, "x", 1, &e), &e, p, "folder is a file (raw)");
    CHECK(has_text(file, "i am a file"), "the file posing as a folder changed");

    /* the target is a folder */
    in_dir("adir", p, sizeof p);
    CHECK(mkdir(p, 0755) == 0, "mkdir");
    check_io_failure(sgm_write_file_atomic(p, "x", 1, &e), &e, p, "target is a folder");
    CHECK(sgm_write_file_atomic(in_dir("adir/", p, sizeof p), "x", 1, &e) ==
              SGM_ERR_INVALID_ARG,
          "a path ending in '/'");
    CHECK(sgm_write_file_atomic(NULL, "x", 1, &e) == SGM_ERR_INVALID_ARG, "NULL path");
    CHECK(sgm_write_file_atomic("", "x", 1, &e) == SGM_ERR_INVALID_ARG, "empty path");
    CHECK(sgm_atomic_open("x", NULL, &e) == SGM_ERR_INVALID_ARG, "NULL out");
    CHECK(sgm_atomic_commit(NULL, &e) == SGM_ERR_INVALID_ARG, "commit NULL");

    /* the rename fails: the target became a folder while the file was written */
    in_dir("late", p, sizeof p);
    CHECK(sgm_atomic_open(p, &af, &e) == SGM_OK, "open late: %s", e.msg);
    if (af) {
        fputs("data", sgm_atomic_stream(af));
        CHECK(mkdir(p, 0755) == 0, "mkdir late");
        check_io_failure(sgm_atomic_commit(af, &e), &e, p, "rename over a folder");
        CHECK(strstr(e.msg, "rename") != NULL, "message gives the reason: %s", e.msg);
    }

    /* a write fails (file size limit; root is subject to it too): the old
     * target is kept and the reason comes from errno */
    in_dir("big.bin", p, sizeof p);
    write_raw(p, "old");
    struct rlimit old;
    if (getrlimit(RLIMIT_FSIZE, &old) == 0) {
        struct rlimit lim = old;
        lim.rlim_cur = 1000;
        void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
        size_t n = 100000;
        char *big = malloc(n);
        if (big && setrlimit(RLIMIT_FSIZE, &lim) == 0) {
            memset(big, 'z', n);
            sgm_status st = sgm_write_file_atomic(p, big, n, &e);
            setrlimit(RLIMIT_FSIZE, &old);
            check_io_failure(st, &e, p, "write past the size limit");
            CHECK(strstr(e.msg, "large") != NULL, "reason (EFBIG) missing: %s", e.msg);
            CHECK(has_text(p, "old"), "a failed write changed the target");
        } else {
            CHECK(0, "setrlimit");
        }
        free(big);
        signal(SIGXFSZ, prev);
    }
    remove(p);
}

static void test_stale(void) {
    char p[1000], name[300];
    sgm_error e = {0};
    /* a pid that is dead: a child that has exited and been reaped */
    pid_t dead = fork();
    if (dead == 0) _exit(0);
    CHECK(dead > 0, "fork");
    if (dead <= 0) return;
    waitpid(dead, NULL, 0);
    long live = (long)getpid();
    struct {
        const char *fmt;
        long pid;
        int removed;
    } files[] = {
        {".t.bin.sgm-tmp.%ld.x", (long)dead, 1},       /* stale: removed */
        {".t.bin.sgm-tmp.%ld.abc.def", (long)dead, 1}, /* stale, any suffix */
        {".t.bin.sgm-tmp.%ld.x", live, 0},             /* a live writer's */
        {".t.bin.sgm-tmp.%ld", (long)dead, 0},         /* not the pattern (no suffix) */
        {".t.bin.sgm-tmp.x%ld.x", (long)dead, 0},      /* not a pid */
        {".u.bin.sgm-tmp.%ld.x", (long)dead, 0},       /* another target's */
        {".t.bin.sgm-tmp.%ld.x.keep", 0, 0},           /* pid 0: not a process */
        {"t.bin.sgm-tmp.%ld.x", (long)dead, 0},        /* no leading dot */
        {"unrelated-%ld.txt", (long)dead, 0},
    };
    size_t nf = sizeof files / sizeof files[0];
    for (size_t i = 0; i < nf; i++) {
        snprintf(name, sizeof name, files[i].fmt, files[i].pid);
        write_raw(in_dir(name, p, sizeof p), "x");
        CHECK(exists(p), "setup %s", name);
    }
    CHECK(sgm_write_file_atomic(in_dir("t.bin", p, sizeof p), "new", 3, &e) == SGM_OK, "write: %s",
          e.msg);
    CHECK(has_text(p, "new"), "content");
    for (size_t i = 0; i < nf; i++) {
        snprintf(name, sizeof name, files[i].fmt, files[i].pid);
        int there = exists(in_dir(name, p, sizeof p));
        CHECK(there == !files[i].removed, "%s: %s", name,
              files[i].removed ? "stale temporary file kept" : "removed but not ours to remove");
        remove(p);
    }
    remove(in_dir("t.bin", p, sizeof p));
}

/* empties and removes dir (one level of subfolders) */
static void remove_dir(const char *path) {
    DIR *d = opendir(path);
    struct dirent *e;
    char p[1100];
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        if (remove(p) != 0) rmdir(p);
    }
    if (d) closedir(d);
    rmdir(path);
}

int main(void) {
    tu_bin("test_atomic.XXXXXX", dir, sizeof dir);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_modes();
    test_commit_abort();
    test_failures();
    test_stale();
    {
        /* a folder opens with fopen, and ftell gave LONG_MAX: the reader
           asked for 8 EiB (fuzz_sigmas, --sigmas @.) */
        char *buf = NULL;
        sgm_error e;
        CHECK(sgm_read_file(dir, &buf, NULL, &e) == SGM_ERR_IO && buf == NULL &&
                  strstr(e.msg, "not a regular file"),
              "read_file on a folder: %s", e.msg);
    }
    remove_dir(dir);
    TEST_MAIN_END();
}
