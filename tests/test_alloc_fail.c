/* test_alloc_fail.c - allocation-failure injection: every allocation the
 * library makes during an operation is made to fail in turn (k = 1, 2, ...
 * until the operation runs through with no failure injected), and each run
 * must end in a non-OK status with a one-line message, free everything it
 * allocated (no leak) and not crash.
 *
 * Mechanism (no global state in the library): this executable is linked
 * against the static library with -Wl,--wrap=malloc,calloc,realloc,free,
 * strdup (CMakeLists.txt), so every call the library's objects make to
 * those functions comes here first. __wrap_* count the calls of the
 * operation under test, fail the k-th one, and keep the balance of live
 * blocks; cJSON's allocations are routed through the same counters with
 * cJSON_InitHooks, so a failure inside the JSON parser or printer is
 * injected too. Not covered: allocations inside libc (FILE buffers),
 * libpng, zlib, OpenBLAS, oneDNN and libgomp, which the wrap cannot reach.
 * In the sanitizer build --wrap coexists with ASan's interposition
 * (__real_malloc is ASan's malloc), so LeakSanitizer checks the same runs
 * at exit; the balance check here names the operation and the k of a leak.
 *
 * Which k: the clean run records each allocation's call stack; by default
 * the first, second and last allocation of every distinct call stack are
 * failed (so a loop is failed on its first pass, on a later one, and on its
 * last), which keeps the sanitizer run short; SGM_ALLOC_EVERY=1 fails every
 * k (docs/reliability.md has the figures of both).
 *
 * A run that had a failure injected and still returned SGM_OK is accepted
 * only when the operation's result equals the clean run's (a fallback that
 * does not need the memory: today only the atomic writer's best-effort
 * steps, removing stale temp files and the fsync of the folder), and the
 * test reports the count. Operations: npy, safetensors, GMM JSON, CSV, IDX, checkpoint
 * (info and train config), model load + sampling (mlp and U-Net
 * checkpoints), sampler runs on the exact mixture (a one-step, a multistep,
 * an adaptive and stochastic ones), training steps + save (mlp and a tiny
 * U-Net), resume. OMP_NUM_THREADS=1 (set for this test in CMakeLists.txt)
 * keeps the allocation order the same from run to run. */
#include <dirent.h>
#include <execinfo.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "sgm.h"
#include "test_unet_util.h"
#include "test_util.h"

/* ---------------------------------------------------------------- wrap -- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t s);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t s);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);

/* armed: count and fail; calls: allocations since arming; fail_at: the one
 * to fail (0: none); live: blocks allocated minus blocks freed while armed
 * (the operations free all they allocate before returning) */
static long armed, calls, fail_at, injected, live;

/* The clean run records a hash of each allocation's call stack (site[c]
 * for the c-th allocation), so that the injected runs can be chosen per
 * distinct call stack (see inject). */
#define MAX_SITES 400000
static uint64_t *site;
static int recording;
static _Thread_local int in_backtrace; /* backtrace() may allocate itself */

static uint64_t stack_hash(void) {
    void *bt[40];
    in_backtrace = 1;
    int n = backtrace(bt, 40);
    in_backtrace = 0;
    uint64_t h = 1469598103934665603u; /* FNV-1a over the return addresses */
    for (int i = 2; i < n; i++) { /* skip stack_hash and the wrapper */
        h ^= (uint64_t)(uintptr_t)bt[i];
        h *= 1099511628211u;
    }
    return h;
}

/* debugging: SGM_ALLOC_TRACE=NAME:K prints the call stack of the K-th
 * allocation of operation NAME (resolve with addr2line -e test_alloc_fail) */
static long trace_k;
static int should_fail(void) {
    if (!__atomic_load_n(&armed, __ATOMIC_RELAXED) || in_backtrace) return 0;
    long c = __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    if (recording && c <= MAX_SITES) site[c - 1] = stack_hash();
    if (c == __atomic_load_n(&fail_at, __ATOMIC_RELAXED)) {
        __atomic_store_n(&injected, 1, __ATOMIC_RELAXED);
        if (c == trace_k) {
            void *bt[32];
            backtrace_symbols_fd(bt, backtrace(bt, 32), 2);
        }
        return 1;
    }
    return 0;
}
static void count_live(long d) {
    if (__atomic_load_n(&armed, __ATOMIC_RELAXED) && !in_backtrace)
        __atomic_add_fetch(&live, d, __ATOMIC_RELAXED);
}

void *__wrap_malloc(size_t n) {
    if (should_fail()) return NULL;
    void *p = __real_malloc(n);
    if (p) count_live(1);
    return p;
}
void *__wrap_calloc(size_t n, size_t s) {
    if (should_fail()) return NULL;
    void *p = __real_calloc(n, s);
    if (p) count_live(1);
    return p;
}
void *__wrap_realloc(void *p, size_t n) {
    if (should_fail()) return NULL;
    void *q = __real_realloc(p, n);
    if (q && !p) count_live(1);
    return q;
}
void __wrap_free(void *p) {
    if (p) count_live(-1);
    __real_free(p);
}
char *__wrap_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = __wrap_malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* ---------------------------------------------------------- operations -- */

static char g_dir[64];  /* scratch folder: files the operations read / write */
static char g_src[1024];
static sgm_gmm *g_gmm;   /* the exact mixture, loaded before arming */

static const char *src_path(const char *rel) {
    return tu_src(rel, g_src, sizeof g_src);
}
static const char *tmp_path(const char *name, char *buf, size_t n) {
    snprintf(buf, n, "%s/%s", g_dir, name);
    return buf;
}

/* Each operation allocates, works and frees everything, returning the first
 * non-OK status; *sum receives a checksum of its result (compared with the
 * clean run's when a failed allocation still gave SGM_OK). */
typedef sgm_status (*op_fn)(const void *arg, double *sum, sgm_error *err);

static sgm_status op_npy(const void *arg, double *sum, sgm_error *err) {
    (void)arg;
    sgm_array a;
    sgm_status st = sgm_npy_load(src_path("tests/data/metrics/a.npy"), &a, err);
    if (st) return st;
    *sum = (double)a.shape[0];
    sgm_array_free(&a);
    return SGM_OK;
}
static sgm_status op_safetensors(const void *arg, double *sum, sgm_error *err) {
    (void)arg;
    sgm_safetensors st;
    sgm_status rc = sgm_st_load(src_path("tests/data/ckpt/mlp_v1_0.safetensors"), &st, err);
    if (rc) return rc;
    *sum = (double)st.n_tensors;
    sgm_st_free(&st);
    return SGM_OK;
}
static sgm_status op_gmm(const void *arg, double *sum, sgm_error *err) {
    (void)arg;
    sgm_gmm *g = NULL;
    sgm_status st = sgm_gmm_load(src_path("tests/data/models/gmm2d.json"), &g, err);
    if (st) return st;
    *sum = sgm_gmm_means(g)[0];
    sgm_gmm_free(g);
    return SGM_OK;
}
static sgm_status op_data(const void *arg, double *sum, sgm_error *err) {
    char spec[1100];
    double *x = NULL;
    size_t rows = 0, cols = 0;
    const char *name = arg;
    if (!strncmp(name, "gmm:", 4))
        snprintf(spec, sizeof spec, "gmm:%s", src_path("tests/data/models/gmm2d.json"));
    else if (strchr(name, '.'))
        tmp_path(name, spec, sizeof spec);
    else
        snprintf(spec, sizeof spec, "%s", name);
    sgm_status st = sgm_data_load(spec, 64, 3, &x, &rows, &cols, err);
    if (st) return st;
    *sum = x[0] + (double)(rows * cols);
    free(x);
    return SGM_OK;
}
static sgm_status op_idx(const void *arg, double *sum, sgm_error *err) {
    char p[256];
    sgm_idx x;
    sgm_status st = sgm_idx_read(tmp_path(arg, p, sizeof p), &x, err);
    if (st) return st;
    *sum = (double)x.count + x.data[5];
    sgm_idx_free(&x);
    return SGM_OK;
}
static sgm_status op_ckpt(const void *arg, double *sum, sgm_error *err) {
    sgm_ckpt_info info;
    sgm_status st = sgm_ckpt_read_info(src_path(arg), &info, err);
    if (st) return st;
    sgm_train_config cfg;
    size_t d = 0;
    st = sgm_ckpt_train_config(src_path(arg), &cfg, &d, err);
    /* the recorded data source joins the result: an OK read that lost it
       (an unparsed "data_source" was skipped silently) differs */
    *sum = (double)info.step + (double)d + (double)strlen(cfg.data_spec) + (double)cfg.data_n;
    return st;
}

/* The sampler `method` (5 steps of its default schedule kind, karras, on
 * the VE process) on the exact mixture, 4 rows. */
static sgm_status run_sampler(const char *method, const sgm_process_config *pc,
                              const sgm_denoiser *den, size_t d, double *sum, sgm_error *err) {
    enum { ROWS = 4 };
    sgm_process *proc = NULL;
    sgm_schedule *sch = NULL;
    sgm_sampler *s = NULL;
    double *x = NULL;
    sgm_status st = sgm_process_create(pc, &proc, err);
    if (!st) {
        sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_KARRAS);
        sc.steps = 5;
        sc.final_point = SGM_FINAL_SIGMA_MIN;
        st = sgm_schedule_create(&sc, proc, &sch, err);
    }
    sgm_sampler_config cfg;
    if (!st) st = sgm_sampler_config_default(method, &cfg, err);
    if (!st) {
        cfg.n_threads = 1;
        st = sgm_sampler_create(&cfg, proc, ROWS, d, &s, err);
    }
    if (!st) {
        /* the test's own buffer: the real allocator, never failed */
        x = __real_malloc(ROWS * d * sizeof *x);
        if (!x) abort();
        sgm_rng_normal_rows_f64(0, 0, 0, ROWS, d, x);
        double s0 = sch->sigma[0] * sch->alpha[0];
        for (size_t i = 0; i < ROWS * d; i++) x[i] *= s0;
        sgm_rng rng = sgm_rng_init(1);
        st = sgm_sampler_run(s, sch, den, &rng, 0, ROWS, x, err);
        *sum = 0;
        for (size_t i = 0; i < ROWS * d; i++) *sum += x[i];
        __real_free(x);
    }
    sgm_sampler_free(s);
    sgm_schedule_free(sch);
    sgm_process_free(proc);
    return st;
}
static sgm_status op_sample_gmm(const void *arg, double *sum, sgm_error *err) {
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VE);
    sgm_denoiser den = sgm_gmm_denoiser(g_gmm);
    return run_sampler(arg, &pc, &den, sgm_gmm_dim(g_gmm), sum, err);
}
/* a checkpoint loaded as a model, then 5 euler steps on it */
static sgm_status op_sample_ckpt(const void *arg, double *sum, sgm_error *err) {
    sgm_model *m = NULL;
    sgm_status st = sgm_model_load(src_path(arg), 1, 0, &m, err);
    if (st) return st;
    sgm_denoiser den = sgm_model_denoiser(m);
    st = run_sampler("dpmpp_2m", sgm_model_process_config(m), &den, sgm_model_dim(m), sum, err);
    sgm_model_free(m);
    return st;
}

/* training: create, two steps, save (atomic), free; arg: "mlp" or "unet" */
#define NIMG 16
#define HW 8
static double g_moons[256 * 2];
static double g_images[NIMG * HW * HW];
static int g_labels[NIMG];

static sgm_status op_train(const void *arg, double *sum, sgm_error *err) {
    int unet = !strcmp(arg, "unet");
    sgm_train_config cfg;
    if (unet) {
        cfg = tu_tiny_unet_config(SGM_PROCESS_VP_LINEAR, SGM_PARAM_EDM, HW, 2);
        cfg.batch = 4;
    } else {
        cfg = sgm_train_config_default(SGM_PROCESS_VE, SGM_PARAM_EDM);
        cfg.batch = 32, cfg.net.mlp.width = 16, cfg.net.mlp.n_blocks = 2, cfg.seed = 5;
    }
    sgm_trainer *t = NULL;
    sgm_status st = unet ? sgm_trainer_create(&cfg, g_images, NIMG, HW * HW, &t, err)
                         : sgm_trainer_create(&cfg, g_moons, 256, 2, &t, err);
    if (st) return st;
    if (unet) st = sgm_trainer_set_labels(t, g_labels, NIMG, err);
    double loss = 0;
    *sum = 0;
    for (int i = 0; i < 2 && !st; i++) {
        st = sgm_trainer_step(t, &loss, err);
        *sum += loss;
    }
    char p[256];
    if (!st) st = sgm_trainer_save(t, tmp_path(unet ? "u.sgm" : "m.sgm", p, sizeof p), err);
    sgm_trainer_free(t);
    /* the file's size joins the result: a save that returned OK after a
       failed allocation must have written the same file */
    struct stat sb;
    if (!st) *sum += stat(p, &sb) == 0 ? (double)sb.st_size : -1;
    return st;
}
/* resume from the checkpoint op_train("mlp") wrote, one step */
static sgm_status op_resume(const void *arg, double *sum, sgm_error *err) {
    (void)arg;
    char p[256];
    sgm_trainer *t = NULL;
    sgm_status st = sgm_trainer_resume(tmp_path("m.sgm", p, sizeof p), g_moons, 256, 2, &t, err);
    if (st) return st;
    st = sgm_trainer_step(t, sum, err);
    sgm_trainer_free(t);
    return st;
}

/* ------------------------------------------------------------- driver -- */

/* files in g_dir other than the ones the setup wrote: a temp file left by a
 * failed atomic write */
static int stray_files(void) {
    DIR *d = opendir(g_dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".sgm-tmp")) n++;
    closedir(d);
    return n;
}

static long total_runs, total_ok_fallback, total_allocs;
static int every_k; /* SGM_ALLOC_EVERY=1: fail every k, not one per site */

/* 1 when the k-th allocation (1-based) of the clean run is one to fail:
 * every k with SGM_ALLOC_EVERY=1; otherwise the first, second and last
 * allocation of each distinct call stack (a loop that allocates per
 * iteration is failed on its first pass, on a later pass, when earlier
 * passes' blocks must be released, and on its last). */
static int selected(long k, long n) {
    if (every_k || n > MAX_SITES) return 1;
    uint64_t h = site[k - 1];
    long before = 0;
    for (long i = 0; i < k - 1 && before < 2; i++) before += site[i] == h;
    if (before < 2) return 1;
    for (long i = k; i < n; i++)
        if (site[i] == h) return 0;
    return 1; /* the last one */
}

/* Runs op with no failure (counting its allocations N and recording their
 * call stacks), then fails the k-th allocation for the selected k in
 * 1..N. Checks: clean run OK; every injected run non-OK with a one-line
 * message (or OK with the clean result), no live block left, no temp file
 * left. */
static void inject(const char *name, op_fn op, const void *arg) {
    /* SGM_ALLOC_ONLY=PREFIX: only the operations whose name starts so */
    const char *only = getenv("SGM_ALLOC_ONLY");
    if (only && strncmp(name, only, strlen(only)) != 0) return;
    sgm_error err;
    double sum0 = 0, sum = 0;
    armed = 1, calls = 0, fail_at = 0, injected = 0, live = 0, recording = 1;
    sgm_status st = op(arg, &sum0, &err);
    armed = 0, recording = 0;
    long n = calls;
    CHECK(st == SGM_OK, "%s: clean run failed: %s", name, err.msg);
    CHECK(live == 0, "%s: clean run leaves %ld blocks", name, live);
    if (st) return;
    total_allocs += n;
    long fails = 0, ok_fallback = 0, runs = 0;
    const char *tr = getenv("SGM_ALLOC_TRACE");
    size_t nl = strlen(name);
    trace_k = tr && !strncmp(tr, name, nl) && tr[nl] == ':' ? atol(tr + nl + 1) : 0;
    for (long k = 1; k <= n; k++) {
        if (!selected(k, n)) continue;
        runs++;
        memset(&err, 0, sizeof err);
        armed = 1, calls = 0, fail_at = k, injected = 0, live = 0;
        st = op(arg, &sum, &err);
        armed = 0;
        total_runs++;
        int bad = 0;
        if (!injected) {
            /* the operation took another path and allocated less (k > its
               count): it must have succeeded */
            CHECK(st == SGM_OK, "%s k=%ld: no failure injected but status %d: %s", name, k,
                  (int)st, err.msg);
            bad |= st != SGM_OK;
        } else if (st == SGM_OK) {
            CHECK(sum == sum0, "%s k=%ld: OK after a failed allocation, result differs", name,
                  k);
            bad |= sum != sum0;
            ok_fallback++;
            if (getenv("SGM_ALLOC_VERBOSE")) printf("%s k=%ld: OK by fallback\n", name, k);
        } else {
            int oneline = err.msg[0] && !strchr(err.msg, '\n');
            CHECK(oneline, "%s k=%ld: status %d with message '%s'", name, k, (int)st, err.msg);
            bad |= !oneline;
            fails++;
        }
        CHECK(live == 0, "%s k=%ld: %ld blocks leaked (status %d: %s)", name, k, live, (int)st,
              err.msg);
        bad |= live != 0;
        int stray = stray_files();
        CHECK(stray == 0, "%s k=%ld: %d temp files left", name, k, stray);
        if (stray > 0) { /* clear them so that the next k is judged alone */
            DIR *d = opendir(g_dir);
            struct dirent *e;
            char p[512];
            while (d && (e = readdir(d)))
                if (strstr(e->d_name, ".sgm-tmp")) {
                    snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
                    unlink(p);
                }
            if (d) closedir(d);
        }
        if (bad && tu_fail > 40) break; /* enough to read */
    }
    total_ok_fallback += ok_fallback;
    printf("%-28s %6ld allocations, %5ld failed in turn: %5ld refused, %ld OK by fallback\n",
           name, n, runs, fails, ok_fallback);
    fflush(stdout);
}

static void setup_files(void) {
    char p[256];
    FILE *f = fopen(tmp_path("d.csv", p, sizeof p), "w");
    if (!f) exit(2);
    fprintf(f, "x,y\n");
    /* 1500 rows: 3000 values, past the reader's first two buffer sizes (realloc) */
    for (int i = 0; i < 1500; i++) fprintf(f, "%d.5,%d\n", i, -i);
    fclose(f);
    /* IDX: 3 x 4 x 4 unsigned bytes */
    f = fopen(tmp_path("d.idx", p, sizeof p), "wb");
    if (!f) exit(2);
    unsigned char hdr[] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 4};
    fwrite(hdr, 1, sizeof hdr, f);
    for (int i = 0; i < 48; i++) fputc(i * 5, f);
    fclose(f);
}

int main(void) {
    cJSON_Hooks hooks = {__wrap_malloc, __wrap_free};
    cJSON_InitHooks(&hooks);
    every_k = getenv("SGM_ALLOC_EVERY") && atoi(getenv("SGM_ALLOC_EVERY")) == 1;
    site = __real_malloc(MAX_SITES * sizeof *site);
    if (!site) return 2;
    stack_hash(); /* loads the unwinder before any run */
    snprintf(g_dir, sizeof g_dir, "/tmp/sgm_allocfail_XXXXXX");
    if (!mkdtemp(g_dir)) return 2;
    setup_files();
    sgm_error err;
    if (sgm_gmm_load(src_path("tests/data/models/gmm2d.json"), &g_gmm, &err)) {
        fprintf(stderr, "gmm: %s\n", err.msg);
        return 2;
    }
    double *moons = NULL;
    if (sgm_data_builtin("moons", 256, 1, &moons, &err)) return 2;
    memcpy(g_moons, moons, sizeof g_moons);
    free(moons);
    tu_bar_images(g_images, g_labels, NIMG, HW);

    inject("npy", op_npy, NULL);
    inject("safetensors", op_safetensors, NULL);
    inject("gmm json", op_gmm, NULL);
    inject("data csv", op_data, "d.csv");
    inject("data gmm samples", op_data, "gmm:");
    inject("data builtin", op_data, "moons");
    inject("idx", op_idx, "d.idx");
    inject("ckpt info mlp", op_ckpt, "tests/data/ckpt/mlp_v1_0.safetensors");
    static const char *const methods[] = {
        "euler",      "heun",        "dpmpp_2m",   "unipc",    "pndm",    "dpm_solver",
        "dpm_solver_adaptive", "rk45", "euler_ancestral", "dpmpp_sde", "dpmpp_2m_sde",
        "sa_solver",  NULL};
    for (int i = 0; methods[i]; i++) {
        char name[64];
        snprintf(name, sizeof name, "sample %s", methods[i]);
        inject(name, op_sample_gmm, methods[i]);
    }
    inject("model mlp + sample", op_sample_ckpt, "tests/data/ckpt/mlp_v1_0.safetensors");
    inject("model unet + sample", op_sample_ckpt, "tests/data/ckpt/unet_v1_0.safetensors");
    inject("train mlp 2 steps + save", op_train, "mlp");
    inject("resume mlp + step", op_resume, NULL);
    inject("train unet 2 steps + save", op_train, "unet");
    printf("%ld allocations in the clean runs, %ld injected runs (%s), %ld OK by fallback\n",
           total_allocs, total_runs, every_k ? "every k" : "first, second, last per call stack",
           total_ok_fallback);
    __real_free(site);

    sgm_gmm_free(g_gmm);
    char p[256];
    const char *const files[] = {"d.csv", "d.idx", "m.sgm", "u.sgm"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(tmp_path(files[i], p, sizeof p));
    rmdir(g_dir);
    TEST_MAIN_END();
}
