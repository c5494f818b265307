/* sgm_core.h - status codes, element types and the counter-based RNG.
 *
 * Every fallible library call returns an sgm_status; 0 is success, failures are
 * negative. The library never prints or exits: a failing call may also fill a
 * caller-owned sgm_error with a one-line message naming the problem.
 *
 * Randomness: sgm_rng is a value (seed + call counter). Noise for sample row r
 * (its global index, not its position in a batch) at draw k depends only on
 * (seed, r, k, element index) through Philox-4x32-10 (Salmon et al. 2011,
 * "Parallel random numbers: as easy as 1, 2, 3"), so results do not depend on
 * batch size or thread count.
 */
#ifndef SGM_CORE_H
#define SGM_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SGM_VERSION_MAJOR 0
#define SGM_VERSION_MINOR 1
#define SGM_VERSION_PATCH 0
#define SGM_VERSION_STRING "0.1.0"

/* One status enum for the whole library, written once as an X-macro. */
#define SGM_STATUS_LIST(X)                                                      \
    X(SGM_OK, 0, "ok")                                                          \
    X(SGM_ERR_INVALID_ARG, -1, "invalid argument")                              \
    X(SGM_ERR_SHAPE, -2, "shape mismatch")                                      \
    X(SGM_ERR_NOMEM, -3, "out of memory")                                       \
    X(SGM_ERR_IO, -4, "I/O error")                                              \
    X(SGM_ERR_FORMAT, -5, "bad file format")                                    \
    X(SGM_ERR_UNSUPPORTED, -6, "unsupported")                                   \
    X(SGM_ERR_CALLBACK, -7, "callback failed")                                  \
    X(SGM_ERR_NONFINITE, -8, "non-finite value")                                \
    X(SGM_ERR_ABORTED, -9, "aborted by callback")                               \
    X(SGM_ERR_NO_CONVERGENCE, -10, "did not converge (step budget exhausted)")  \
    X(SGM_ERR_UNKNOWN_NAME, -11, "unknown name")

typedef enum sgm_status {
#define SGM__STATUS_ENUM(name, value, msg) name = value,
    SGM_STATUS_LIST(SGM__STATUS_ENUM)
#undef SGM__STATUS_ENUM
} sgm_status;

/* Static string for a status code ("unknown status" for anything else). */
const char *sgm_status_str(sgm_status s);

/* Caller-owned error record. Functions that take an `sgm_error *err` fill it
 * on failure when err is not NULL. */
typedef struct sgm_error {
    sgm_status status;
    char msg[256];
} sgm_error;

/* Element type of sample arrays handed to samplers and denoisers. */
typedef enum sgm_dtype { SGM_F64 = 0, SGM_F32 = 1 } sgm_dtype;
size_t sgm_dtype_size(sgm_dtype t);

/* --------------------------------------------------------- enum names ---
 * Every enumerated option of the library has ONE name table (src/core/
 * enum_names.c): the canonical name of each value, then aliases (the names
 * k-diffusion, diffusers and DPM-Solver use). The library, the CLI and its
 * help text, and checkpoints all go through it. Names compare
 * case-insensitively with '-' and '_' alike. */
typedef enum sgm_enum {
    SGM_ENUM_PROCESS = 0, /* sgm_process_kind */
    SGM_ENUM_BETAS,       /* sgm_beta_schedule */
    SGM_ENUM_INTERP,      /* sgm_vp_interp */
    SGM_ENUM_SCHEDULE,    /* sgm_schedule_kind */
    SGM_ENUM_PREDICTION,  /* sgm_prediction */
    SGM_ENUM_PARAM,       /* sgm_param (training parameterization) */
    SGM_ENUM_WEIGHTING,   /* sgm_weighting */
    SGM_ENUM_TSAMPLING    /* sgm_tsampling */
} sgm_enum;
#define SGM_ENUM_COUNT 8

/* Number of values (0 .. count-1) of enum e; 0 for an unknown e. */
int sgm_enum_count(sgm_enum e);
/* The canonical name of a value, or NULL when out of range. */
const char *sgm_enum_name(sgm_enum e, int value);
/* Parses a canonical name or an alias; SGM_ERR_UNKNOWN_NAME otherwise. */
sgm_status sgm_enum_parse(sgm_enum e, const char *name, int *value);
/* Writes "name1|name2|..." (canonical names in value order) into buf
 * (always NUL-terminated when len > 0); returns the full length. */
size_t sgm_enum_choices(sgm_enum e, char *buf, size_t len);

/* ---------------------------------------------------------------- RNG --- */

typedef struct sgm_rng {
    uint64_t seed;    /* key of the Philox generator */
    uint64_t counter; /* draw index; every noise draw advances it by one */
} sgm_rng;

sgm_rng sgm_rng_init(uint64_t seed);

/* Philox-4x32-10 block function (exposed for tests and for callers who want
 * the same streams): key = seed, counter = ctr[0..3]. */
void sgm_philox4x32(uint64_t seed, const uint32_t ctr[4], uint32_t out[4]);

/* Standard normals for rows [row0, row0 + n) of draw `draw`, d per row, as
 * a pure function of (seed, row, draw, element). out is [n, d]. */
void sgm_rng_normal_rows_f64(uint64_t seed, uint64_t draw, uint64_t row0, size_t n,
                             size_t d, double *out);
void sgm_rng_normal_rows_f32(uint64_t seed, uint64_t draw, uint64_t row0, size_t n,
                             size_t d, float *out);

/* Draws n x d standard normals for rows starting at global index row0 using
 * the rng's current counter, then advances the counter by one. */
void sgm_rng_normal(sgm_rng *rng, uint64_t row0, size_t n, size_t d, sgm_dtype dt,
                    void *out);

/* Uniform in [0, 1) and Rademacher draws of the same kind (used by training
 * and the Hutchinson estimator). */
void sgm_rng_uniform_rows_f64(uint64_t seed, uint64_t draw, uint64_t row0, size_t n,
                              size_t d, double *out);

/* ------------------------------------------------------------- buffers --- */

/* Copies n values of type dt from src to dst (which must not overlap) and
 * returns 1 if every value is finite, 0 if one is NaN or infinite; the copy
 * is complete either way. One pass over a model's output for bindings that
 * receive it in a buffer of their own (python/sgm). */
int sgm_copy_finite(sgm_dtype dt, const void *src, void *dst, size_t n);

/* ------------------------------------------------ PyTorch-compatible RNG --- */

/* The CPU normal generator of PyTorch (MT19937 and torch.randn's transforms,
 * src/core/rng_torch.c): after sgm_torch_rng_create(S) (or _seed(S)),
 * successive sgm_torch_randn_* calls return what `torch.manual_seed(S)`
 * followed by the same sequence of `torch.randn(count)` calls returns on CPU
 * (float32 or float64 tensors of `count` values), bit for bit. Unlike sgm_rng
 * this is one global stream: a value depends on every draw before it, so
 * results depend on the batch composition. */
typedef struct sgm_torch_rng sgm_torch_rng; /* opaque */

sgm_status sgm_torch_rng_create(uint64_t seed, sgm_torch_rng **out, sgm_error *err);
void sgm_torch_rng_free(sgm_torch_rng *g);
/* torch.manual_seed(seed): the low 32 bits seed MT19937; clears the cached normal. */
void sgm_torch_rng_seed(sgm_torch_rng *g, uint64_t seed);
/* The next raw 32-bit MT19937 output (torch's generator.random()). */
uint32_t sgm_torch_rng_next_u32(sgm_torch_rng *g);
/* torch.randn(count) with dtype float32 / float64. */
void sgm_torch_randn_f32(sgm_torch_rng *g, size_t count, float *out);
void sgm_torch_randn_f64(sgm_torch_rng *g, size_t count, double *out);
/* torch.randn(count) in float32 (torch's default dtype), stored as dt:
 * what sgm's samplers draw with the torch noise source. */
void sgm_torch_randn(sgm_torch_rng *g, size_t count, sgm_dtype dt, void *out);

#ifdef __cplusplus
}
#endif
#endif
