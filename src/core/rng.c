/* rng.c - Philox-4x32-10 counter-based generator (Salmon et al. 2011,
 * "Parallel random numbers: as easy as 1, 2, 3", SC'11) and the normal and
 * uniform streams built on it.
 *
 * Stream layout: key = seed (two 32-bit words, the high one xor the draw's
 * high 32 bits); counter = (block, draw low 32 bits, row low 32 bits, row
 * high 32 bits). Block b of (row, draw) yields two standard normals
 * (elements 2b, 2b+1) by Box-Muller (src/core/normal_bm.c, stream version
 * 2) or two 53-bit uniforms. Every value is a pure function of (seed, row, draw, element), so
 * batch composition and thread count cannot change it.
 */
#include "internal.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void sgm_philox4x32(uint64_t seed, const uint32_t ctr[4], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

sgm_rng sgm_rng_init(uint64_t seed) {
    sgm_rng r = {seed, 0};
    return r;
}

/* two uniforms in (0, 1] with 53 random bits each */
static void block_uniforms(uint64_t seed, uint64_t draw, uint64_t row, uint32_t block,
                           double u[2]) {
    uint32_t ctr[4] = {block, (uint32_t)draw, (uint32_t)row, (uint32_t)(row >> 32)};
    uint32_t o[4];
    sgm_philox4x32(seed ^ ((draw >> 32) << 32), ctr, o);
    uint64_t a = ((uint64_t)o[0] << 32) | o[1];
    uint64_t b = ((uint64_t)o[2] << 32) | o[3];
    u[0] = (double)((a >> 11) + 1) * 0x1.0p-53;
    u[1] = (double)((b >> 11) + 1) * 0x1.0p-53;
}

/* normals: src/core/normal_bm.c; rows are independent streams, so the split
 * over threads cannot change values */
void sgm_rng_normal_rows_f64(uint64_t seed, uint64_t draw, uint64_t row0, size_t n,
                             size_t d, double *out) {
#pragma omp parallel for schedule(static) if (n * d >= 16384)
    for (size_t i = 0; i < n; i++)
        sgm__normal_span(-1, seed, draw, row0 + i, 0, d, SGM_F64, out + i * d);
}

void sgm_rng_normal_rows_f32(uint64_t seed, uint64_t draw, uint64_t row0, size_t n,
                             size_t d, float *out) {
#pragma omp parallel for schedule(static) if (n * d >= 16384)
    for (size_t i = 0; i < n; i++)
        sgm__normal_span(-1, seed, draw, row0 + i, 0, d, SGM_F32, out + i * d);
}

void sgm_rng_uniform_rows_f64(uint64_t seed, uint64_t draw, uint64_t row0, size_t n,
                              size_t d, double *out) {
    for (size_t i = 0; i < n; i++) {
        double *o = out + i * d;
        for (size_t e = 0; e < d; e += 2) {
            double u[2];
            block_uniforms(seed, draw, row0 + i, (uint32_t)(e / 2), u);
            o[e] = 1.0 - u[0]; /* [0, 1) */
            if (e + 1 < d) o[e + 1] = 1.0 - u[1];
        }
    }
}

void sgm_rng_normal(sgm_rng *rng, uint64_t row0, size_t n, size_t d, sgm_dtype dt,
                    void *out) {
    if (dt == SGM_F32)
        sgm_rng_normal_rows_f32(rng->seed, rng->counter, row0, n, d, (float *)out);
    else
        sgm_rng_normal_rows_f64(rng->seed, rng->counter, row0, n, d, (double *)out);
    rng->counter++;
}
