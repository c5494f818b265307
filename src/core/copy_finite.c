/* copy_finite.c - sgm_copy_finite: a copy that also tells whether every
 * value is finite, in one pass (a value is NaN or infinite exactly when its
 * IEEE exponent field is all ones). Bindings receive a model's output in a
 * buffer of their own and must both move it into the sampler's buffer and
 * refuse NaN / inf (python/sgm/k_diffusion.py); doing both in one pass reads
 * the values once instead of twice. */
#include <stdint.h>
#include <string.h>

#include "internal.h"

#define SPAN 4096 /* values per block: copied, then checked while in L1 */

static int copy_f32(const uint32_t *src, uint32_t *dst, size_t n) {
    uint32_t bad = 0;
#pragma omp parallel for schedule(static) reduction(| : bad) if (n >= 65536)
    for (size_t b = 0; b < n; b += SPAN) {
        size_t m = n - b < SPAN ? n - b : SPAN;
        memcpy(dst + b, src + b, m * sizeof *dst);
        uint32_t acc = 0;
        for (size_t i = 0; i < m; i++) acc |= (uint32_t)((dst[b + i] & 0x7F800000u) == 0x7F800000u);
        bad |= acc;
    }
    return !bad;
}

static int copy_f64(const uint64_t *src, uint64_t *dst, size_t n) {
    uint64_t bad = 0;
#pragma omp parallel for schedule(static) reduction(| : bad) if (n >= 32768)
    for (size_t b = 0; b < n; b += SPAN) {
        size_t m = n - b < SPAN ? n - b : SPAN;
        memcpy(dst + b, src + b, m * sizeof *dst);
        uint64_t acc = 0;
        for (size_t i = 0; i < m; i++)
            acc |= (uint64_t)((dst[b + i] & 0x7FF0000000000000ull) == 0x7FF0000000000000ull);
        bad |= acc;
    }
    return !bad;
}

int sgm_copy_finite(sgm_dtype dt, const void *src, void *dst, size_t n) {
    if (n == 0) return 1;
    return dt == SGM_F32 ? copy_f32(src, dst, n) : copy_f64(src, dst, n);
}
