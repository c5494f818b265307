/* normal_lanes.h - what the two normal transforms of src/core (normal_bm.c
 * for float64, normal_bm_f32.c for float32) share: the Philox-4x32-10
 * blocks of a row (Salmon et al. 2011) in the layout described in
 * normal_bm.c, scalar and in AVX-512 lanes, the exact conversions of their
 * bits, the Taylor coefficients and the row driver. Private to those two
 * files, which are compiled with -ffp-contract=off (CMakeLists.txt). */
#ifndef SGM_CORE_NORMAL_LANES_H
#define SGM_CORE_NORMAL_LANES_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

#define PHILOX_M0 0xD2511F53ull
#define PHILOX_M1 0xCD9E8D57ull
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* blocks computed together: the vectorised loops run over this many counters */
#define CHUNK 64

typedef struct {
    uint32_t k0, k1, c1, c2, c3;
} stream_key;

static inline stream_key make_key(uint64_t seed, uint64_t draw, uint64_t row) {
    stream_key k = {(uint32_t)seed, (uint32_t)(seed >> 32) ^ (uint32_t)(draw >> 32),
                    (uint32_t)draw, (uint32_t)row, (uint32_t)(row >> 32)};
    return k;
}

static inline double from_bits(uint64_t b) {
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static inline uint64_t to_bits(double d) {
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

/* one Philox round on four counter words held in 64-bit lanes (values below
 * 2^32: the vector loops then need no packing between 32- and 64-bit lanes);
 * key words kk0, kk1 */
#define PHILOX_ROUND(kk0, kk1)                                   \
    do {                                                         \
        uint64_t p0_ = PHILOX_M0 * c0;                           \
        uint64_t p1_ = PHILOX_M1 * c2;                           \
        uint64_t n0_ = (p1_ >> 32) ^ c1 ^ (kk0);                 \
        uint64_t n2_ = (p0_ >> 32) ^ c3 ^ (kk1);                 \
        c1 = p1_ & 0xFFFFFFFFu;                                  \
        c3 = p0_ & 0xFFFFFFFFu;                                  \
        c0 = n0_;                                                \
        c2 = n2_;                                                \
    } while (0)

/* round r's key word: (k + r W) mod 2^32 */
#define KEY(k, r, w) ((uint64_t)(uint32_t)((k) + (r) * (w)))

/* the 64-bit halves A, B of blocks b0 .. b0 + nb - 1 (nb <= CHUNK) */
static inline __attribute__((always_inline)) void philox_chunk(const stream_key *key,
                                                                uint32_t b0, uint32_t nb,
                                                                uint64_t *ra, uint64_t *rb) {
    const uint32_t k0 = key->k0, k1 = key->k1;
    for (uint32_t j = 0; j < nb; j++) {
        uint64_t c0 = (uint32_t)(b0 + j), c1 = key->c1, c2 = key->c2, c3 = key->c3;
        PHILOX_ROUND(KEY(k0, 0u, PHILOX_W0), KEY(k1, 0u, PHILOX_W1));
        PHILOX_ROUND(KEY(k0, 1u, PHILOX_W0), KEY(k1, 1u, PHILOX_W1));
        PHILOX_ROUND(KEY(k0, 2u, PHILOX_W0), KEY(k1, 2u, PHILOX_W1));
        PHILOX_ROUND(KEY(k0, 3u, PHILOX_W0), KEY(k1, 3u, PHILOX_W1));
        PHILOX_ROUND(KEY(k0, 4u, PHILOX_W0), KEY(k1, 4u, PHILOX_W1));
        PHILOX_ROUND(KEY(k0, 5u, PHILOX_W0), KEY(k1, 5u, PHILOX_W1));
        PHILOX_ROUND(KEY(k0, 6u, PHILOX_W0), KEY(k1, 6u, PHILOX_W1));
        PHILOX_ROUND(KEY(k0, 7u, PHILOX_W0), KEY(k1, 7u, PHILOX_W1));
        PHILOX_ROUND(KEY(k0, 8u, PHILOX_W0), KEY(k1, 8u, PHILOX_W1));
        PHILOX_ROUND(KEY(k0, 9u, PHILOX_W0), KEY(k1, 9u, PHILOX_W1));
        ra[j] = (c0 << 32) | c1;
        rb[j] = (c2 << 32) | c3;
    }
}

/* 2^52 as a double's bits and value: bits(2^52 + m) = TWO52_BITS | m, m < 2^52 */
#define TWO52_BITS 0x4330000000000000ull
#define TWO52 4503599627370496.0
#define LN2_HI 6.93147180369123816490e-01 /* 32 significant bits: k LN2_HI is exact */
#define LN2_LO 1.90821492927058770002e-10 /* ln 2 - LN2_HI */
#define SQRT_HALF_BITS 0x3FE6A09E667F3BCDull
#define TWO_PI_2M52 (6.283185307179586476925286766559 / TWO52)

/* one block's halves A, B by the scalar reference (one block at a time) */
static inline void philox_block(const stream_key *key, uint32_t b, uint64_t *a, uint64_t *bb) {
    uint64_t c0 = b, c1 = key->c1, c2 = key->c2, c3 = key->c3;
    uint32_t k0 = key->k0, k1 = key->k1;
    for (int r = 0; r < 10; r++) {
        PHILOX_ROUND(k0, k1);
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    *a = (c0 << 32) | c1;
    *bb = (c2 << 32) | c3;
}

/* Taylor coefficients 1/n! */
#define F3 (1.0 / 6)
#define F4 (1.0 / 24)
#define F5 (1.0 / 120)
#define F6 (1.0 / 720)
#define F7 (1.0 / 5040)
#define F8 (1.0 / 40320)
#define F9 (1.0 / 362880)
#define F10 (1.0 / 3628800)
#define F11 (1.0 / 39916800)
#define F12 (1.0 / 479001600)
#define F13 (1.0 / 6227020800.0)
#define F14 (1.0 / 87178291200.0)
#define F15 (1.0 / 1307674368000.0)
#define F16 (1.0 / 20922789888000.0)
#define F17 (1.0 / 355687428096000.0)

/* NAME(key, b0, nb, z): the normals of blocks b0 .. b0 + nb - 1 (nb <=
 * CHUNK) into z[2 nb] as T, by BM (box_muller or box_muller_f32): Philox for
 * the chunk, then the transform, in loops the compiler vectorises; called
 * with nb = CHUNK (a constant trip count) for all but a row's last chunk */
#define NORMAL_CHUNK(NAME, T, BM)                                                              \
    static inline __attribute__((always_inline)) void NAME(const stream_key *key, uint32_t b0, \
                                                           uint32_t nb, T *z) {                \
        uint64_t ra[CHUNK], rb[CHUNK];                                                         \
        philox_chunk(key, b0, nb, ra, rb);                                                     \
        T z0[CHUNK], z1[CHUNK];                                                                \
        for (uint32_t j = 0; j < nb; j++) BM(ra[j], rb[j], &z0[j], &z1[j]);                   \
        for (uint32_t j = 0; j < nb; j++) {                                                    \
            z[2 * j] = z0[j];                                                                  \
            z[2 * j + 1] = z1[j];                                                              \
        }                                                                                      \
    }

/* elements [e0, e0 + d) of one row (e0 even), as float64 (double chunks) or
 * float32 (float chunks) */
#define ROW_BODY(OUT_T, CHUNK_FN)                                            \
    {                                                                        \
        stream_key key = make_key(seed, draw, row);                          \
        OUT_T z[2 * CHUNK];                                                  \
        for (size_t e = 0; e < d; e += 2 * CHUNK) {                          \
            size_t m = d - e < 2 * CHUNK ? d - e : 2 * CHUNK;                \
            uint32_t b = (uint32_t)((e0 + e) / 2);                           \
            if (m == 2 * CHUNK)                                              \
                CHUNK_FN(&key, b, CHUNK, z);                                 \
            else                                                             \
                CHUNK_FN(&key, b, (uint32_t)(m + 1) / 2, z);                 \
            memcpy(out + e, z, m * sizeof(OUT_T));                           \
        }                                                                    \
    }


#if defined(__x86_64__) && defined(__GNUC__) && !defined(SGM_NO_ISA_DISPATCH)
#define SGM_NORMAL_DISPATCH 1
#define ISA_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma,bmi2")))
#define ISA_AVX2 __attribute__((target("avx2,fma,bmi2")))
/* fma is allowed for the target but never used: -ffp-contract=off */
#include <immintrin.h>

/* Philox in AVX-512 lanes: philox_chunk's operation sequence on groups of 8
 * blocks (64-bit lanes), G groups side by side. Lanes hold their word in
 * the low 32 bits and anything above: vpmuludq reads only the low 32 bits
 * and the xors act bitwise, so the masks of PHILOX_ROUND are not needed;
 * round 0's c2 product is the same for every block; round 9 forms A and B
 * directly. */
typedef struct {
    __m512i k0[10], k1[10], c3, n0r0, c1r0, k0s9, k1s9;
} philox8_key;

ISA_AVX512 static inline philox8_key philox8_setup(const stream_key *key) {
    philox8_key pk;
    for (uint32_t r = 0; r < 10; r++) {
        pk.k0[r] = _mm512_set1_epi64((long long)KEY(key->k0, r, PHILOX_W0));
        pk.k1[r] = _mm512_set1_epi64((long long)KEY(key->k1, r, PHILOX_W1));
    }
    uint64_t p1 = PHILOX_M1 * key->c2; /* round 0: c2 is the same in every block */
    pk.n0r0 = _mm512_set1_epi64((long long)((p1 >> 32) ^ key->c1 ^ KEY(key->k0, 0u, PHILOX_W0)));
    pk.c1r0 = _mm512_set1_epi64((long long)(p1 & 0xFFFFFFFFu));
    pk.c3 = _mm512_set1_epi64((long long)key->c3);
    pk.k0s9 = _mm512_set1_epi64((long long)(KEY(key->k0, 9u, PHILOX_W0) << 32));
    pk.k1s9 = _mm512_set1_epi64((long long)(KEY(key->k1, 9u, PHILOX_W1) << 32));
    return pk;
}

#define XOR3 0x96 /* vpternlog: a ^ b ^ c */
#define G8MAX 4
#define UNROLL _Pragma("GCC unroll 16")

/* blocks b .. b + 8 G - 1 (mod 2^32), G groups of 8 in lockstep (independent
 * dependency chains side by side, so the multiplier latency is hidden):
 * halves A, B of group g in ra[g], rb[g] */
ISA_AVX512 static inline __attribute__((always_inline)) void philox8(const philox8_key *pk,
                                                                     uint32_t b, int G,
                                                                     __m512i *ra, __m512i *rb) {
    const __m512i m0 = _mm512_set1_epi64((long long)PHILOX_M0);
    const __m512i m1 = _mm512_set1_epi64((long long)PHILOX_M1);
    __m512i c0[G8MAX], c1[G8MAX], c2[G8MAX], c3[G8MAX];
    /* round 0 */
    UNROLL for (int g = 0; g < G; g++) {
        __m512i c = _mm512_add_epi64(_mm512_set1_epi64((long long)b + 8 * g),
                                     _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
        __m512i p0 = _mm512_mul_epu32(c, m0);
        c2[g] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), pk->c3, pk->k1[0], XOR3);
        c3[g] = p0;
        c1[g] = pk->c1r0;
        c0[g] = pk->n0r0;
    }
    UNROLL for (int r = 1; r < 9; r++) {
        UNROLL for (int g = 0; g < G; g++) {
            __m512i q0 = _mm512_mul_epu32(c0[g], m0);
            __m512i q1 = _mm512_mul_epu32(c2[g], m1);
            c0[g] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(q1, 32), c1[g], pk->k0[r], XOR3);
            c2[g] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(q0, 32), c3[g], pk->k1[r], XOR3);
            c1[g] = q1;
            c3[g] = q0;
        }
    }
    /* round 9 straight into A = (c0 << 32) | c1: its high word hi(q1) ^ c1 ^
     * k0 is q1's high word xored with (c1 ^ k0) << 32, its low word lo(q1) */
    UNROLL for (int g = 0; g < G; g++) {
        __m512i q0 = _mm512_mul_epu32(c0[g], m0);
        __m512i q1 = _mm512_mul_epu32(c2[g], m1);
        ra[g] = _mm512_ternarylogic_epi64(q1, _mm512_slli_epi64(c1[g], 32), pk->k0s9, XOR3);
        rb[g] = _mm512_ternarylogic_epi64(q0, _mm512_slli_epi64(c3[g], 32), pk->k1s9, XOR3);
    }
}

#define V8(x) _mm512_set1_pd(x)
#define VI8(x) _mm512_set1_epi64((long long)(x))

/* the G groups of a lockstep step, one statement each */
#define FORG(stmt) UNROLL for (int g = 0; g < G; g++) { stmt; }
/* an empty asm that "changes" its operands: it pins the step order, so that
 * GCC does not regroup the lockstep chains one after the other (it emits no
 * instruction) */
#define KEEP3(x, y, z) __asm__ volatile("" : "+v"(x), "+v"(y), "+v"(z))

#define PGROUPS 4 /* groups of 8 blocks per Philox step */
#define BGROUPS 4 /* groups of 8 blocks per Box-Muller step */
#define CHUNK8 (CHUNK / 8) /* groups per chunk */
#endif /* SGM_NORMAL_DISPATCH */

/* the float32 stream's elements [e0, e0 + d) of one row (e0 even) by path
 * isa (SGM__ISA_*, resolved: not -1), in normal_bm_f32.c */
void sgm__normal_row_f32(int isa, uint64_t seed, uint64_t draw, uint64_t row, size_t e0,
                         size_t d, float *out);

#endif
