/* normal_bm.c - the standard normal stream of sgm_rng (stream version 2),
 * float64, and the entry of both precisions:
 * Philox-4x32-10 (Salmon et al. 2011) blocks turned into normals by the
 * Box-Muller transform (Box & Muller 1958, z0 = r cos t, z1 = r sin t with
 * r = sqrt(-2 log u), t = 2 pi v), with its own log and sincos written as
 * plain double arithmetic so that the compiler vectorises whole chunks of
 * blocks (structure of arrays over counters); the AVX-512 path is the same
 * operations written as intrinsics (section "AVX-512" below).
 *
 * Block b of (seed, draw, row) - counter (b, draw low 32, row low 32, row
 * high 32), key (seed low 32, seed high 32 ^ draw high 32), outputs o0..o3 -
 * gives elements 2b and 2b+1:
 *   A = o0:o1, B = o2:o3 (64 bits each, high word first);
 *   u = 1 - (A >> 12) 2^-52, in (0, 1] (52 random bits);
 *   v = (B >> 12) 2^-52, in [0, 1);
 *   z0 = sqrt(-2 log u) cos(2 pi v), z1 = sqrt(-2 log u) sin(2 pi v).
 *
 * Determinism: every value is a fixed sequence of IEEE double operations
 * (+ - * / sqrt, integer bit operations; no libm, no FMA: this file is
 * compiled with -ffp-contract=off) on exact inputs, so the scalar path and
 * the SSE2 / AVX2 / AVX-512 paths chosen at run time give the same bits
 * (tests/test_normal_stream.c checks every path this CPU has against the
 * scalar reference).
 *
 * Accuracy (tests/test_normal_stream.c measures it against libm):
 * - log(u): u = 2^k x with x in [sqrt(1/2), sqrt(2)) by integer operations
 *   on the bits (exact); f = x - 1 (exact); log(1 + f) = 2 atanh(s),
 *   s = f / (2 + f), |s| <= 0.1716, evaluated as f - s (f - R(s^2)) with
 *   R(w) = sum_{j=1..9} 2 w^j / (2j + 1) (series truncated where the next
 *   term is < 2.3e-17 of the result); log u = k ln2_hi + (k ln2_lo + log1p f)
 *   with ln2_hi holding 32 significant bits, so k ln2_hi is exact. Error
 *   within about 1 ulp.
 * - sincos(2 pi v): v has 52 bits, so the quadrant reduction is exact in
 *   integers: v = q/4 + rho 2^-52 with |rho| <= 2^49, a = rho (2 pi 2^-52),
 *   |a| <= pi/4 (one rounding); sin a and cos a by their Taylor series to
 *   a^17 and a^16 (the next terms are < 1.1e-19 and 2.1e-18 of the result),
 *   then the quadrant's swap and signs (exact). Error within about 1-2 ulp.
 * The float32 stream takes the same blocks, u and v through the same steps
 * in float arithmetic (normal_bm_f32.c).
 */
#include "normal_lanes.h"

/* log(u) for u = 1 - m 2^-52, m in [0, 2^52): u in [2^-52, 1] */
static inline __attribute__((always_inline)) double log_u(uint64_t m) {
    double u = 2.0 - from_bits(0x3FF0000000000000ull | m); /* exact */
    uint64_t iu = to_bits(u);
    /* kb = k + 64 with u = 2^k x, x in [sqrt(1/2), sqrt(2)); u >= 2^-52 keeps
     * the sum positive */
    uint64_t kb = (iu + (64ull << 52) - SQRT_HALF_BITS) >> 52;
    double x = from_bits(iu + ((64ull - kb) << 52));
    double k = from_bits(TWO52_BITS | kb) - (TWO52 + 64.0); /* exact */
    double f = x - 1.0;                                     /* exact (Sterbenz) */
    double s = f / (2.0 + f);
    double w = s * s;
    double r = 2.0 / 19;
    r = r * w + 2.0 / 17;
    r = r * w + 2.0 / 15;
    r = r * w + 2.0 / 13;
    r = r * w + 2.0 / 11;
    r = r * w + 2.0 / 9;
    r = r * w + 2.0 / 7;
    r = r * w + 2.0 / 5;
    r = r * w + 2.0 / 3;
    r = r * w;
    double l1p = f - s * (f - r);
    return k * LN2_HI + (k * LN2_LO + l1p);
}

/* z0, z1 of one block from its halves a, b */
static inline __attribute__((always_inline)) void box_muller(uint64_t a, uint64_t b,
                                                              double *z0, double *z1) {
    double rad = sqrt(-2.0 * log_u(a >> 12));
    uint64_t n = (b >> 12) + (1ull << 49); /* v 2^52 + 2^49 */
    uint64_t q = (n >> 50) & 3;
    double rho = from_bits(TWO52_BITS | (n & ((1ull << 50) - 1))) - (TWO52 + 0x1p49);
    double t = rho * TWO_PI_2M52;
    double w = t * t;
    double ps = F17;
    ps = -ps * w + F15;
    ps = -ps * w + F13;
    ps = -ps * w + F11;
    ps = -ps * w + F9;
    ps = -ps * w + F7;
    ps = -ps * w + F5;
    ps = -ps * w + F3;
    double sn = t - t * (w * ps);
    double pc = F16;
    pc = -pc * w + F14;
    pc = -pc * w + F12;
    pc = -pc * w + F10;
    pc = -pc * w + F8;
    pc = -pc * w + F6;
    pc = -pc * w + F4;
    pc = -pc * w + 0.5;
    double cs = 1.0 - w * pc;
    /* theta = q pi/2 + t: (cos, sin) = (c, s), (-s, c), (-c, -s), (s, -c) */
    double cq = (q & 1) ? sn : cs;
    double sq = (q & 1) ? cs : sn;
    double sgc = ((q + 1) & 2) ? -1.0 : 1.0;
    double sgs = (q & 2) ? -1.0 : 1.0;
    *z0 = rad * (sgc * cq);
    *z1 = rad * (sgs * sq);
}

NORMAL_CHUNK(normal_chunk, double, box_muller)

#ifdef SGM_NORMAL_DISPATCH
/* ---- AVX-512: explicit intrinsics -----------------------------------------
 * The operation sequence of philox_chunk / box_muller above on groups of 8
 * blocks (64-bit lanes), G groups side by side, into the output without the
 * auto-vectorised path's packing and copies. What differs is only how exact
 * values are formed, so the bits do not change (tests/test_normal_stream.c):
 * - Philox as philox8 (normal_lanes.h);
 * - log: k 2^52 and x from bits(u) - SQRT_HALF_BITS by masks (no shifts),
 *   k LN2 as (k 2^52)(LN2 2^-52) (scaling by a power of 2: same product);
 * - sincos: rho 2^14 converted from b's bits, t = (rho 2^14)(C 2^-14);
 *   -p w + F as p (-w) + F with -w = t (-t) ((-p) w = p (-w) exactly), so
 *   every polynomial step is a multiply and an add of a constant taken
 *   from memory (a constant as the first operand of a subtraction took a
 *   broadcast op per use); the quadrant's signs as sign-bit flips of sn
 *   and rad (IEEE products are sign-symmetric);
 * - u = 2 - y as (-y) + 2, -y formed by the same or that forms y. 
 * On Zen 4 this runs at ~1.6 ns per normal (docs/bench.md, "Normal draws"),
 * near the issue limit of the 512-bit multiply and add pipes. */

/* box_muller on G groups of 8 blocks, in lockstep like philox8; the log
 * and sincos polynomials step by step side by side (their chains are
 * independent) */
ISA_AVX512 static inline __attribute__((always_inline)) void box_muller8(const __m512i *a,
                                                                         const __m512i *b, int G,
                                                                         __m512d *z0, __m512d *z1) {
    __m512d f[G8MAX], s[G8MAX], w[G8MAX], r[G8MAX], k[G8MAX];
    __m512i h[G8MAX];
    __m512d t[G8MAX], mtw[G8MAX], ps[G8MAX], pc[G8MAX];
    FORG({
        /* sincos: rho = bits 12..61 of b as a signed 50-bit integer (= the
         * scalar path's n mod 2^50 - 2^49); h = b + 2^61 holds q in its
         * bits 62 (q & 1) and 63 (q & 2) */
        /* rho 2^14 = (b << 2) with its low 14 bits cleared (as int64, 52
         * significant bits: the conversion is exact), and rho C = (rho 2^14)
         * (C 2^-14) exactly: the same rounded product */
        __m512i b2 = _mm512_add_epi64(b[g], b[g]);
        __m512d rho14 = _mm512_cvtepi64_pd(_mm512_and_si512(_mm512_add_epi64(b2, b2), VI8(~0x3FFFull)));
        h[g] = _mm512_add_epi64(b[g], VI8(1ull << 61));
        t[g] = _mm512_mul_pd(rho14, V8(TWO_PI_2M52 * 0x1p-14));
        /* mtw = -(t t) exactly: each F - p w below is computed as p (-w) + F
         * (the same value: a - b is a + (-b)), which takes its constant as a
         * memory operand */
        mtw[g] = _mm512_mul_pd(t[g], _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(t[g]), VI8(1ull << 63))));
        /* log_u(a >> 12) */
        __m512i m = _mm512_srli_epi64(a[g], 12);
        /* u = 2 - (1 + m 2^-52) as -(1 + m 2^-52) + 2 (a - b is a + (-b)) */
        __m512d u = _mm512_add_pd(_mm512_castsi512_pd(_mm512_or_si512(m, VI8(0xBFF0000000000000ull))), V8(2.0));
        /* dd = bits(u) - SQRT_HALF_BITS: k = dd >> 52 (arithmetic; = kb - 64),
         * bits(x) = bits(u) - (k << 52) = (dd mod 2^52) + SQRT_HALF_BITS;
         * k 2^52 = dd with its low 52 bits cleared (exact as a double), and
         * k LN2_HI = (k 2^52) (LN2_HI 2^-52) exactly (same for LN2_LO) */
        __m512i dd = _mm512_sub_epi64(_mm512_castpd_si512(u), VI8(SQRT_HALF_BITS));
        __m512d x = _mm512_castsi512_pd(
            _mm512_add_epi64(_mm512_and_si512(dd, VI8((1ull << 52) - 1)), VI8(SQRT_HALF_BITS)));
        k[g] = _mm512_cvtepi64_pd(_mm512_andnot_si512(VI8((1ull << 52) - 1), dd));
        f[g] = _mm512_sub_pd(x, V8(1.0));
        s[g] = _mm512_div_pd(f[g], _mm512_add_pd(V8(2.0), f[g]));
        ps[g] = _mm512_add_pd(_mm512_mul_pd(V8(F17), mtw[g]), V8(F15));
        pc[g] = _mm512_add_pd(_mm512_mul_pd(V8(F16), mtw[g]), V8(F14));
        w[g] = _mm512_mul_pd(s[g], s[g]);
        r[g] = _mm512_add_pd(_mm512_mul_pd(V8(2.0 / 19), w[g]), V8(2.0 / 17));
    })
#define STEP(rc_, sc_, cc_)                                                  \
    FORG({                                                                   \
        ps[g] = _mm512_add_pd(_mm512_mul_pd(ps[g], mtw[g]), V8(sc_));        \
        pc[g] = _mm512_add_pd(_mm512_mul_pd(pc[g], mtw[g]), V8(cc_));        \
        r[g] = _mm512_add_pd(_mm512_mul_pd(r[g], w[g]), V8(rc_));            \
    })                                                                       \
    FORG(KEEP3(ps[g], pc[g], r[g]))
    STEP(2.0 / 15, F13, F12)
    STEP(2.0 / 13, F11, F10)
    STEP(2.0 / 11, F9, F8)
    STEP(2.0 / 9, F7, F6)
    STEP(2.0 / 7, F5, F4)
    STEP(2.0 / 5, F3, 0.5)
#undef STEP
    FORG({
        r[g] = _mm512_add_pd(_mm512_mul_pd(r[g], w[g]), V8(2.0 / 3));
        __m512d rr = _mm512_mul_pd(r[g], w[g]);
        __m512d l1p = _mm512_sub_pd(f[g], _mm512_mul_pd(s[g], _mm512_sub_pd(f[g], rr)));
        __m512d lg = _mm512_add_pd(_mm512_mul_pd(k[g], V8(LN2_HI * 0x1p-52)),
                                   _mm512_add_pd(_mm512_mul_pd(k[g], V8(LN2_LO * 0x1p-52)), l1p));
        __m512d rad = _mm512_sqrt_pd(_mm512_mul_pd(V8(-2.0), lg));
        __m512d sn = _mm512_add_pd(t[g], _mm512_mul_pd(t[g], _mm512_mul_pd(mtw[g], ps[g])));
        __m512d cs = _mm512_add_pd(_mm512_mul_pd(mtw[g], pc[g]), V8(1.0));
        __mmask8 odd = _mm512_test_epi64_mask(h[g], VI8(1ull << 62));
        /* (cos, sin) of q pi/2 + t: q even (cs, sn), odd (-sn, cs); then both
         * negated when q & 2, here on rad: rad * (-c) = (-rad) * c exactly */
        __m512d cq = _mm512_mask_xor_pd(cs, odd, sn, V8(-0.0));
        __m512d sq = _mm512_mask_blend_pd(odd, sn, cs);
        __m512d r0 = _mm512_castsi512_pd(
            _mm512_ternarylogic_epi64(_mm512_castpd_si512(rad), h[g], VI8(1ull << 63), 0x78));
        z0[g] = _mm512_mul_pd(r0, cq);
        z1[g] = _mm512_mul_pd(r0, sq);
    })
}


/* z0, z1 of 8 blocks interleaved into 16 values: z0[0] z1[0] z0[1] ... */
#define IL_LO _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0)
#define IL_HI _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4)

/* z0, z1 of the nb8 groups of 8 blocks from block b on (nb8 <= CHUNK8): Philox
 * for the whole chunk first, kept in L1, then the transform (two loops with
 * fewer live registers than one) */
ISA_AVX512 static inline __attribute__((always_inline)) void normals_chunk8(const philox8_key *pk,
                                                                          uint32_t b, int nb8,
                                                                          __m512d *z0, __m512d *z1) {
    __m512i ra[CHUNK8], rb[CHUNK8];
    int g8 = 0;
    for (; g8 + PGROUPS <= nb8; g8 += PGROUPS)
        philox8(pk, b + 8u * (uint32_t)g8, PGROUPS, ra + g8, rb + g8);
    for (; g8 < nb8; g8++) philox8(pk, b + 8u * (uint32_t)g8, 1, ra + g8, rb + g8);
    g8 = 0;
    for (; g8 + BGROUPS <= nb8; g8 += BGROUPS)
        box_muller8(ra + g8, rb + g8, BGROUPS, z0 + g8, z1 + g8);
    for (; g8 < nb8; g8++) box_muller8(ra + g8, rb + g8, 1, z0 + g8, z1 + g8);
}

ISA_AVX512 static void row_f64_avx512(uint64_t seed, uint64_t draw, uint64_t row, size_t e0,
                                      size_t d, double *out) {
    stream_key key = make_key(seed, draw, row);
    philox8_key pk = philox8_setup(&key);
    __m512d z0[CHUNK8], z1[CHUNK8];
    for (size_t e = 0; e < d; e += 2 * CHUNK) {
        size_t m = d - e < 2 * CHUNK ? d - e : 2 * CHUNK;
        int nb8 = (int)((m + 15) / 16);
        normals_chunk8(&pk, (uint32_t)((e0 + e) / 2), nb8, z0, z1);
        for (int g = 0; g < nb8; g++) {
            __m512d lo = _mm512_permutex2var_pd(z0[g], IL_LO, z1[g]);
            __m512d hi = _mm512_permutex2var_pd(z0[g], IL_HI, z1[g]);
            size_t o = e + 16 * (size_t)g;
            if (o + 16 <= d) {
                _mm512_storeu_pd(out + o, lo);
                _mm512_storeu_pd(out + o + 8, hi);
            } else {
                double z[16];
                _mm512_storeu_pd(z, lo);
                _mm512_storeu_pd(z + 8, hi);
                memcpy(out + o, z, (d - o) * sizeof(double));
            }
        }
    }
}

ISA_AVX2 static void row_f64_avx2(uint64_t seed, uint64_t draw, uint64_t row, size_t e0, size_t d,
                                  double *out) ROW_BODY(double, normal_chunk)
#endif
static void row_f64_base(uint64_t seed, uint64_t draw, uint64_t row, size_t e0, size_t d,
                         double *out) ROW_BODY(double, normal_chunk)

/* the widest path this CPU runs */
static int best_isa(void) {
#ifdef SGM_NORMAL_DISPATCH
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2"))
        return SGM__ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        __builtin_cpu_supports("bmi2"))
        return SGM__ISA_AVX2;
#endif
    return SGM__ISA_BASE;
}

int sgm__normal_isa_supported(int isa) {
    if (isa == SGM__ISA_SCALAR || isa == SGM__ISA_BASE) return 1;
    int best = best_isa();
    return isa == SGM__ISA_AVX2 ? best >= SGM__ISA_AVX2 : isa == SGM__ISA_AVX512 && best == isa;
}

/* the scalar reference: one block at a time, nothing to vectorise across */
static __attribute__((noinline)) void ref_block(const stream_key *key, uint32_t b, double z[2]) {
    uint64_t a, bb;
    philox_block(key, b, &a, &bb);
    box_muller(a, bb, &z[0], &z[1]);
}

void sgm__normal_span(int isa, uint64_t seed, uint64_t draw, uint64_t row, size_t e0,
                      size_t d, sgm_dtype dt, void *out) {
    if (isa < 0) isa = best_isa();
    if (dt == SGM_F32) {
        sgm__normal_row_f32(isa, seed, draw, row, e0, d, (float *)out);
        return;
    }
    double *o = out;
    if (isa == SGM__ISA_SCALAR) {
        stream_key key = make_key(seed, draw, row);
        for (size_t e = 0; e < d; e += 2) {
            double z[2];
            ref_block(&key, (uint32_t)((e0 + e) / 2), z);
            for (size_t i = 0; i < 2 && e + i < d; i++) o[e + i] = z[i];
        }
        return;
    }
#ifdef SGM_NORMAL_DISPATCH
    if (isa == SGM__ISA_AVX512) {
        row_f64_avx512(seed, draw, row, e0, d, o);
        return;
    }
    if (isa == SGM__ISA_AVX2) {
        row_f64_avx2(seed, draw, row, e0, d, o);
        return;
    }
#endif
    row_f64_base(seed, draw, row, e0, d, o);
}
