/* normal_bm_f32.c - the float32 normal stream of sgm_rng (stream version 2):
 * the Philox blocks, u and v of the float64 stream (normal_bm.c: Salmon et
 * al. 2011, Box & Muller 1958), with the transform in float
 * arithmetic (16 lanes per AVX-512 register instead of 8, and shorter
 * series): each input is rounded to float once from its exact value, then
 * - log(u): u_f = (float)u = 2^k x, x in [sqrt(1/2), sqrt(2)) by integer
 *   operations on the bits (exact); f = x - 1 (exact), except for k = 0,
 *   where f = -(float)m 2^-52 (u - 1 itself, rounded once: u_f - 1 would
 *   keep only the bits of u_f, too few near u = 1); log(1 + f) = f - s (f -
 *   R(s^2)) as in normal_bm.c with R to w^4 (the next term is < 2e-9 of the
 *   result); log u = k ln2_hi + (k ln2_lo + log1p f), ln2_hi with 17
 *   significant bits (k ln2_hi exact for |k| <= 52);
 * - sincos: the quadrant exactly as in normal_bm.c, t = (float)(rho 2 pi 2^-52)
 *   (the double product, rounded once); sin t to t^9 and cos t to t^10 (the
 *   next terms are < 2.2e-9 and 1.2e-10 of the result).
 * Error against the exact transform of the block: a few float32 ulp
 * (tests/test_normal_stream.c measures it). */
#include "normal_lanes.h"

#define LN2F_HI 6.9313812256e-01f /* 0x3f317180 */
#define LN2F_LO 9.0580006145e-06f /* ln 2 - LN2F_HI */
#define SQRT_HALF_F_BITS 0x3F3504F3u
#define FF(x) ((float)(x))

static inline float from_bits_f(uint32_t b) {
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static inline uint32_t to_bits_f(float f) {
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* z0, z1 of one block from its halves a, b, in float */
static inline __attribute__((always_inline)) void box_muller_f32(uint64_t a, uint64_t b,
                                                                  float *z0, float *z1) {
    uint64_t m = a >> 12;
    float mf = (float)(from_bits(TWO52_BITS | m) - TWO52);          /* m, rounded once */
    float uf = (float)(2.0 - from_bits(0x3FF0000000000000ull | m)); /* u, rounded once */
    uint32_t iu = to_bits_f(uf);
    /* kb = k + 64 with u_f = 2^k x, x in [sqrt(1/2), sqrt(2)) */
    uint32_t kb = (iu + (64u << 23) - SQRT_HALF_F_BITS) >> 23;
    float x = from_bits_f(iu + ((64u - kb) << 23));
    float k = (float)((int32_t)kb - 64); /* exact */
    float f = kb == 64u ? -(mf * 0x1p-52f) : x - 1.0f;
    float s = f / (2.0f + f);
    float w = s * s;
    float r = FF(2.0 / 9);
    r = r * w + FF(2.0 / 7);
    r = r * w + FF(2.0 / 5);
    r = r * w + FF(2.0 / 3);
    r = r * w;
    float l1p = f - s * (f - r);
    float rad = sqrtf(-2.0f * (k * LN2F_HI + (k * LN2F_LO + l1p)));
    uint64_t n = (b >> 12) + (1ull << 49);
    uint64_t q = (n >> 50) & 3;
    double rho = from_bits(TWO52_BITS | (n & ((1ull << 50) - 1))) - (TWO52 + 0x1p49);
    float t = (float)(rho * TWO_PI_2M52);
    float mtw = t * -t;
    float ps = FF(F9);
    ps = ps * mtw + FF(F7);
    ps = ps * mtw + FF(F5);
    ps = ps * mtw + FF(F3);
    float sn = t + t * (mtw * ps);
    float pc = FF(F10);
    pc = pc * mtw + FF(F8);
    pc = pc * mtw + FF(F6);
    pc = pc * mtw + FF(F4);
    pc = pc * mtw + 0.5f;
    float cs = mtw * pc + 1.0f;
    float cq = (q & 1) ? sn : cs;
    float sq = (q & 1) ? cs : sn;
    float sgc = ((q + 1) & 2) ? -1.0f : 1.0f;
    float sgs = (q & 2) ? -1.0f : 1.0f;
    *z0 = rad * (sgc * cq);
    *z1 = rad * (sgs * sq);
}

NORMAL_CHUNK(normal_chunk_f32, float, box_muller_f32)

#ifdef SGM_NORMAL_DISPATCH
/* the float32 transform (box_muller_f32) of G pairs of groups of 8 blocks
 * (a[2p], a[2p + 1] and b[2p], b[2p + 1] for pair p), each pair as 16
 * float lanes (lane i: block i of the pair), the G pairs side by side like
 * box_muller8 (their chains are independent; one pair alone is latency
 * bound): the inputs of each group are rounded to float in 64-bit lanes
 * and packed, the rest is the scalar sequence on 16 lanes */
#define VF16(x) _mm512_set1_ps(x)
#define VI16(x) _mm512_set1_epi32((int)(x))
#define PACK_PS(lo, hi) _mm512_insertf32x8(_mm512_castps256_ps512(lo), (hi), 1)
#define F16MAX 4
ISA_AVX512 static inline __attribute__((always_inline)) void box_muller16f(const __m512i *a,
                                                                           const __m512i *b, int G,
                                                                           __m512 *z0, __m512 *z1) {
    __m512 mf[F16MAX], t[F16MAX], k[F16MAX], f[F16MAX], s[F16MAX], w[F16MAX], mtw[F16MAX];
    __m512 r[F16MAX], ps[F16MAX], pc[F16MAX];
    __m512i hh[F16MAX], kb[F16MAX];
    FORG({
        __m256 mf2[2];
        __m256 uf2[2];
        __m256 tf2[2];
        __m256i hh2[2];
        for (int h = 0; h < 2; h++) {
            __m512i m = _mm512_srli_epi64(a[2 * g + h], 12);
            mf2[h] = _mm512_cvtepu64_ps(m); /* m < 2^52: one rounding of the exact value */
            uf2[h] = _mm512_cvtpd_ps(_mm512_add_pd(
                _mm512_castsi512_pd(_mm512_or_si512(m, VI8(0xBFF0000000000000ull))), V8(2.0)));
            __m512i b2 = _mm512_add_epi64(b[2 * g + h], b[2 * g + h]);
            __m512d rho14 =
                _mm512_cvtepi64_pd(_mm512_and_si512(_mm512_add_epi64(b2, b2), VI8(~0x3FFFull)));
            tf2[h] = _mm512_cvtpd_ps(_mm512_mul_pd(rho14, V8(TWO_PI_2M52 * 0x1p-14)));
            /* q in bits 30 (q & 1) and 31 (q & 2) of h's high word */
            hh2[h] = _mm512_cvtepi64_epi32(
                _mm512_srli_epi64(_mm512_add_epi64(b[2 * g + h], VI8(1ull << 61)), 32));
        }
        mf[g] = PACK_PS(mf2[0], mf2[1]);
        t[g] = PACK_PS(tf2[0], tf2[1]);
        hh[g] = _mm512_inserti64x4(_mm512_castsi256_si512(hh2[0]), hh2[1], 1);
        /* log(u): kb = k + 64, x, k */
        __m512i iu = _mm512_castps_si512(PACK_PS(uf2[0], uf2[1]));
        kb[g] = _mm512_srli_epi32(_mm512_add_epi32(iu, VI16((64u << 23) - SQRT_HALF_F_BITS)), 23);
        __m512 x = _mm512_castsi512_ps(
            _mm512_add_epi32(iu, _mm512_slli_epi32(_mm512_sub_epi32(VI16(64), kb[g]), 23)));
        k[g] = _mm512_cvtepi32_ps(_mm512_sub_epi32(kb[g], VI16(64)));
        /* k = 0: -(m 2^-52) = m (-2^-52), the same value */
        f[g] = _mm512_mask_mul_ps(_mm512_sub_ps(x, VF16(1.0f)),
                                  _mm512_cmpeq_epi32_mask(kb[g], VI16(64)), mf[g], VF16(-0x1p-52f));
        s[g] = _mm512_div_ps(f[g], _mm512_add_ps(VF16(2.0f), f[g]));
        mtw[g] = _mm512_mul_ps(
            t[g], _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(t[g]), VI16(1u << 31))));
        w[g] = _mm512_mul_ps(s[g], s[g]);
        ps[g] = _mm512_add_ps(_mm512_mul_ps(VF16(FF(F9)), mtw[g]), VF16(FF(F7)));
        pc[g] = _mm512_add_ps(_mm512_mul_ps(VF16(FF(F10)), mtw[g]), VF16(FF(F8)));
        r[g] = _mm512_add_ps(_mm512_mul_ps(VF16(FF(2.0 / 9)), w[g]), VF16(FF(2.0 / 7)));
    })
#define STEPF(rc_, sc_, cc_)                                                     \
    FORG({                                                                       \
        ps[g] = _mm512_add_ps(_mm512_mul_ps(ps[g], mtw[g]), VF16(FF(sc_)));      \
        pc[g] = _mm512_add_ps(_mm512_mul_ps(pc[g], mtw[g]), VF16(FF(cc_)));      \
        r[g] = _mm512_add_ps(_mm512_mul_ps(r[g], w[g]), VF16(FF(rc_)));          \
    })                                                                           \
    FORG(KEEP3(ps[g], pc[g], r[g]))
    STEPF(2.0 / 5, F5, F6)
    STEPF(2.0 / 3, F3, F4)
#undef STEPF
    FORG({
        __m512 rr = _mm512_mul_ps(r[g], w[g]);
        __m512 pcg = _mm512_add_ps(_mm512_mul_ps(pc[g], mtw[g]), VF16(0.5f));
        __m512 l1p = _mm512_sub_ps(f[g], _mm512_mul_ps(s[g], _mm512_sub_ps(f[g], rr)));
        __m512 lg = _mm512_add_ps(_mm512_mul_ps(k[g], VF16(LN2F_HI)),
                                  _mm512_add_ps(_mm512_mul_ps(k[g], VF16(LN2F_LO)), l1p));
        __m512 rad = _mm512_sqrt_ps(_mm512_mul_ps(VF16(-2.0f), lg));
        __m512 sn = _mm512_add_ps(t[g], _mm512_mul_ps(t[g], _mm512_mul_ps(mtw[g], ps[g])));
        __m512 cs = _mm512_add_ps(_mm512_mul_ps(mtw[g], pcg), VF16(1.0f));
        __mmask16 odd = _mm512_test_epi32_mask(hh[g], VI16(1u << 30));
        __m512 cq = _mm512_mask_xor_ps(cs, odd, sn, VF16(-0.0f));
        __m512 sq = _mm512_mask_blend_ps(odd, sn, cs);
        __m512 r0 = _mm512_castsi512_ps(
            _mm512_ternarylogic_epi32(_mm512_castps_si512(rad), hh[g], VI16(1u << 31), 0x78));
        z0[g] = _mm512_mul_ps(r0, cq);
        z1[g] = _mm512_mul_ps(r0, sq);
    })
}

ISA_AVX512 static void row_f32_avx512(uint64_t seed, uint64_t draw, uint64_t row, size_t e0,
                                      size_t d, float *out) {
    stream_key key = make_key(seed, draw, row);
    philox8_key pk = philox8_setup(&key);
    /* z0[0..7] z1[0..7] interleaved, then z0[8..15] z1[8..15] */
    const __m512i il_lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i il_hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    __m512i ra[CHUNK8], rb[CHUNK8];
    for (size_t e = 0; e < d; e += 2 * CHUNK) {
        size_t m = d - e < 2 * CHUNK ? d - e : 2 * CHUNK;
        /* groups of 8 blocks, rounded up to pairs (the extra group's values
         * are computed and not stored) */
        int nb16 = (int)((m + 31) / 32), nb8 = 2 * nb16;
        uint32_t b = (uint32_t)((e0 + e) / 2);
        int g8 = 0;
        for (; g8 + PGROUPS <= nb8; g8 += PGROUPS)
            philox8(&pk, b + 8u * (uint32_t)g8, PGROUPS, ra + g8, rb + g8);
        for (; g8 < nb8; g8++) philox8(&pk, b + 8u * (uint32_t)g8, 1, ra + g8, rb + g8);
        __m512 z0[CHUNK8 / 2], z1[CHUNK8 / 2];
        int g = 0;
        for (; g + BGROUPS <= nb16; g += BGROUPS)
            box_muller16f(ra + 2 * g, rb + 2 * g, BGROUPS, z0 + g, z1 + g);
        for (; g < nb16; g++) box_muller16f(ra + 2 * g, rb + 2 * g, 1, z0 + g, z1 + g);
        for (g = 0; g < nb16; g++) {
            __m512 lo = _mm512_permutex2var_ps(z0[g], il_lo, z1[g]);
            __m512 hi = _mm512_permutex2var_ps(z0[g], il_hi, z1[g]);
            size_t o = e + 32 * (size_t)g;
            if (o + 32 <= d) {
                _mm512_storeu_ps(out + o, lo);
                _mm512_storeu_ps(out + o + 16, hi);
            } else {
                size_t left = d - o;
                _mm512_mask_storeu_ps(out + o, (__mmask16)(left >= 16 ? 0xFFFFu : (1u << left) - 1), lo);
                if (left > 16) _mm512_mask_storeu_ps(out + o + 16, (__mmask16)((1u << (left - 16)) - 1), hi);
            }
        }
    }
}

ISA_AVX2 static void row_f32_avx2(uint64_t seed, uint64_t draw, uint64_t row, size_t e0, size_t d,
                                  float *out) ROW_BODY(float, normal_chunk_f32)
#endif
static void row_f32_base(uint64_t seed, uint64_t draw, uint64_t row, size_t e0, size_t d,
                         float *out) ROW_BODY(float, normal_chunk_f32)

/* the scalar reference: one block at a time, nothing to vectorise across */
static __attribute__((noinline)) void ref_block_f32(const stream_key *key, uint32_t b, float z[2]) {
    uint64_t a, bb;
    philox_block(key, b, &a, &bb);
    box_muller_f32(a, bb, &z[0], &z[1]);
}

void sgm__normal_row_f32(int isa, uint64_t seed, uint64_t draw, uint64_t row, size_t e0,
                         size_t d, float *out) {
    if (isa == SGM__ISA_SCALAR) {
        stream_key key = make_key(seed, draw, row);
        for (size_t e = 0; e < d; e += 2) {
            float z[2];
            ref_block_f32(&key, (uint32_t)((e0 + e) / 2), z);
            for (size_t i = 0; i < 2 && e + i < d; i++) out[e + i] = z[i];
        }
        return;
    }
#ifdef SGM_NORMAL_DISPATCH
    if (isa == SGM__ISA_AVX512) {
        row_f32_avx512(seed, draw, row, e0, d, out);
        return;
    }
    if (isa == SGM__ISA_AVX2) {
        row_f32_avx2(seed, draw, row, e0, d, out);
        return;
    }
#endif
    row_f32_base(seed, draw, row, e0, d, out);
}
