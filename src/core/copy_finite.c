/* copy_finite.c - sgm_copy_finite: a copy that also tells whether every
 * value is finite, in one pass (a value is NaN or infinite exactly when its
 * IEEE exponent field is all ones). Bindings receive a model's output in a
 * buffer of their own and must both move it into the sampler's buffer and
 * refuse NaN / inf (python/sgm/k_diffusion.py); doing both in one pass reads
 * the values once instead of twice. */
#include <stdint.h>

#include "internal.h"

/* one loop that the compiler vectorises, in a clone per instruction set
 * chosen at load time (GCC's target_clones) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

CLONES static uint32_t span_f32(const uint32_t *restrict src, uint32_t *restrict dst, size_t n) {
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = src[i];
        dst[i] = v;
        bad |= (uint32_t)((v & 0x7F800000u) == 0x7F800000u);
    }
    return bad;
}

CLONES static uint64_t span_f64(const uint64_t *restrict src, uint64_t *restrict dst, size_t n) {
    uint64_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = src[i];
        dst[i] = v;
        bad |= (uint64_t)((v & 0x7FF0000000000000ull) == 0x7FF0000000000000ull);
    }
    return bad;
}

#define SPAN 16384 /* values per OpenMP chunk */

static int copy_f32(const uint32_t *src, uint32_t *dst, size_t n) {
    uint32_t bad = 0;
#pragma omp parallel for schedule(static) reduction(| : bad) if (n >= 65536)
    for (size_t b = 0; b < n; b += SPAN) bad |= span_f32(src + b, dst + b, n - b < SPAN ? n - b : SPAN);
    return !bad;
}

static int copy_f64(const uint64_t *src, uint64_t *dst, size_t n) {
    uint64_t bad = 0;
#pragma omp parallel for schedule(static) reduction(| : bad) if (n >= 32768)
    for (size_t b = 0; b < n; b += SPAN) bad |= span_f64(src + b, dst + b, n - b < SPAN ? n - b : SPAN);
    return !bad;
}

int sgm_copy_finite(sgm_dtype dt, const void *src, void *dst, size_t n) {
    if (n == 0) return 1;
    return dt == SGM_F32 ? copy_f32(src, dst, n) : copy_f64(src, dst, n);
}
