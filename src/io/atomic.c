/* atomic.c - the one atomic file writer behind every sgm output (sgm_io.h):
 * .npy, .safetensors, PNG (libpng and cairo), the bench CSV and the CLI's
 * text / JSON reports.
 *
 * A write goes to DIR/.<name>.sgm-tmp.<pid>.<16 hex digits> next to the
 * target DIR/<name>, created by open(O_CREAT | O_EXCL, 0666), so its mode is
 * what the umask gives, as for any file the user creates (mkstemp's 0600 made
 * outputs unreadable to others). Commit = fflush + fsync + fclose + rename
 * over the target + fsync of the folder (best effort: some file systems
 * refuse fsync on a folder, and the rename has happened by then). Any failure
 * removes the temporary file and reports the target's name (never the
 * temporary one) with the reason from errno.
 *
 * Stale temporary files: a process killed mid-write leaves its temporary
 * file. Opening a target removes the files in its folder that match that
 * target's pattern exactly and whose <pid> names no live process
 * (kill(pid, 0) fails with ESRCH); files of live processes (a concurrent
 * writer) and every other file are left alone. Caveat: a process in another
 * PID namespace writing into the same folder looks dead from here.
 *
 * The random suffix mixes the handle's address, the clock and the pid, and
 * O_EXCL retries on a collision: no global state, no locks. Nothing is
 * printed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "sgm/sgm_io.h"

/* the target's base name is cut to this many bytes inside the temporary
 * name, which then stays under NAME_MAX (255) */
#define ATOMIC_MAX_STEM 200
#define ATOMIC_TAG ".sgm-tmp."

struct sgm_atomic_file {
    FILE *f;
    char *path;     /* the target */
    char *tmp;      /* the temporary file next to it */
    size_t dir_len; /* bytes of path up to and including its last '/' (0: none) */
};

/* splitmix64 finaliser (Steele, Lea, Flood 2014) */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* the folder of a path whose first dir_len bytes are "DIR/" (malloc'd) */
static char *dir_of(const char *path, size_t dir_len) {
    size_t n = dir_len > 1 ? dir_len - 1 : dir_len; /* "a/b/x" -> "a/b", "/x" -> "/" */
    char *d = malloc(n ? n + 1 : 2);
    if (!d) return NULL;
    if (n) {
        memcpy(d, path, n);
        d[n] = 0;
    } else {
        strcpy(d, ".");
    }
    return d;
}

/* Removes DIR/<stem><pid>.<anything> where pid is a dead process's
 * (best effort: errors only mean a stale file stays). */
static void remove_stale(const char *path, size_t dir_len, const char *stem) {
    char *dir = dir_of(path, dir_len);
    DIR *d = dir ? opendir(dir) : NULL;
    free(dir);
    if (!d) return;
    size_t sl = strlen(stem);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strncmp(n, stem, sl) != 0) continue;
        const char *p = n + sl;
        long long pid = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 10) pid = pid * 10 + (*p++ - '0'), digits++;
        if (digits == 0 || *p != '.' || pid <= 0 || pid > INT32_MAX) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to judge */
        size_t len = dir_len + strlen(n) + 1;
        char *full = malloc(len);
        if (!full) break;
        memcpy(full, path, dir_len);
        memcpy(full + dir_len, n, len - dir_len);
        (void)unlink(full);
        free(full);
    }
    closedir(d);
}

static void atomic_free(sgm_atomic_file *af) {
    free(af->path);
    free(af->tmp);
    free(af);
}

sgm_status sgm_atomic_open(const char *path, sgm_atomic_file **out, sgm_error *err) {
    if (out) *out = NULL;
    if (!path || !*path || !out)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "atomic write: no path");
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "%s: names a folder, not a file", path);
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return sgm__set_error(err, SGM_ERR_IO, "%s: exists and is not a regular file", path);

    sgm_atomic_file *af = calloc(1, sizeof *af);
    size_t plen = strlen(path), blen = strlen(base);
    if (blen > ATOMIC_MAX_STEM) blen = ATOMIC_MAX_STEM;
    /* DIR/ + '.' + base + tag + pid (<= 20) + '.' + 16 hex + NUL */
    size_t tlen = plen + 1 + sizeof ATOMIC_TAG + 20 + 1 + 16 + 1;
    if (af) {
        af->path = malloc(plen + 1);
        af->tmp = malloc(tlen);
    }
    if (!af || !af->path || !af->tmp) {
        if (af) atomic_free(af);
        return sgm__set_error(err, SGM_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(af->path, path, plen + 1);
    af->dir_len = (size_t)(base - path);

    /* stem = ".<base>" ATOMIC_TAG, built in af->tmp after the folder */
    char *stem = af->tmp + af->dir_len;
    memcpy(af->tmp, path, af->dir_len);
    stem[0] = '.';
    memcpy(stem + 1, base, blen);
    memcpy(stem + 1 + blen, ATOMIC_TAG, sizeof ATOMIC_TAG); /* with its NUL */
    remove_stale(path, af->dir_len, stem);

    char *tail = stem + strlen(stem);
    size_t tail_room = tlen - (size_t)(tail - af->tmp);
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    long pid = (long)getpid();
    uint64_t seed = (uint64_t)(uintptr_t)af ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^
                    ((uint64_t)pid << 40);
    int fd = -1;
    for (uint64_t attempt = 0; fd < 0 && attempt < 64; attempt++) {
        uint64_t r = mix64(seed + attempt * 0x9e3779b97f4a7c15ULL);
        snprintf(tail, tail_room, "%ld.%08lx%08lx", pid, (unsigned long)(r >> 32),
                 (unsigned long)(r & 0xffffffffUL));
        fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        int e = errno;
        atomic_free(af);
        return sgm__set_error(err, SGM_ERR_IO, "%s: cannot create a file in its folder (%s)",
                              path, strerror(e));
    }
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        int e = errno;
        close(fd);
        unlink(af->tmp);
        atomic_free(af);
        return sgm__set_error(err, SGM_ERR_IO, "%s: cannot open for writing (%s)", path,
                              strerror(e));
    }
    *out = af;
    return SGM_OK;
}

FILE *sgm_atomic_stream(sgm_atomic_file *af) { return af ? af->f : NULL; }

/* fsync of the folder so the rename itself is durable; best effort */
static void sync_dir(const sgm_atomic_file *af) {
    char *dir = dir_of(af->path, af->dir_len);
    if (!dir) return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

sgm_status sgm_atomic_commit(sgm_atomic_file *af, sgm_error *err) {
    int e_in = errno; /* the stream's failed write, when the caller commits right after it */
    if (!af) return sgm__set_error(err, SGM_ERR_INVALID_ARG, "atomic write: no file");
    const char *what = NULL;
    int e = 0;
    if (ferror(af->f)) {
        what = "write", e = e_in ? e_in : EIO;
    } else if (fflush(af->f) != 0) {
        what = "write", e = errno;
    } else if (fsync(fileno(af->f)) != 0) {
        what = "fsync", e = errno;
    }
    if (fclose(af->f) != 0 && !what) what = "close", e = errno;
    af->f = NULL;
    if (!what && rename(af->tmp, af->path) != 0) what = "rename", e = errno;
    sgm_status st = SGM_OK;
    if (what) {
        unlink(af->tmp);
        st = sgm__set_error(err, SGM_ERR_IO, "%s: cannot write (%s failed: %s)", af->path, what,
                            strerror(e));
    } else {
        sync_dir(af);
    }
    atomic_free(af);
    return st;
}

void sgm_atomic_abort(sgm_atomic_file *af) {
    if (!af) return;
    if (af->f) fclose(af->f);
    unlink(af->tmp);
    atomic_free(af);
}

sgm_status sgm_write_file_atomic(const char *path, const void *data, size_t len,
                                 sgm_error *err) {
    if (len && !data)
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "%s: no data", path ? path : "(null)");
    sgm_atomic_file *af = NULL;
    sgm_status st = sgm_atomic_open(path, &af, err);
    if (st != SGM_OK) return st;
    if (len) (void)fwrite(data, 1, len, af->f); /* a short write sets the stream's error */
    return sgm_atomic_commit(af, err);
}
