/* test_normal_stream.c - the normal stream of sgm_rng (src/core/normal_bm.c,
 * stream version 2: Philox-4x32-10 + Box-Muller with its own log and
 * sincos, in double for float64 and in float for float32): every ISA path
 * this CPU runs gives the scalar reference's bits, in both precisions; each
 * value is within a few ulp (of its own precision) of the exact transform
 * of its Philox block (long double libm); the first values are pinned; the
 * distribution of both streams passes moment, tail and Kolmogorov-Smirnov
 * checks. */
#include <math.h>

#include "core/internal.h"
#include "test_util.h"

/* the exact transform of block b (stream layout of src/core/rng.c) in long
 * double: z0 = sqrt(-2 ln u) cos(2 pi v), z1 = ... sin(2 pi v) */
static void exact_block(uint64_t seed, uint64_t draw, uint64_t row, uint32_t b,
                        long double z[2]) {
    uint32_t ctr[4] = {b, (uint32_t)draw, (uint32_t)row, (uint32_t)(row >> 32)};
    uint32_t o[4];
    sgm_philox4x32(seed ^ ((draw >> 32) << 32), ctr, o);
    uint64_t a = ((uint64_t)o[0] << 32) | o[1], c = ((uint64_t)o[2] << 32) | o[3];
    long double u = 1.0L - (long double)(a >> 12) * 0x1p-52L;
    /* 2 pi v = q pi/2 + t with the quadrant q taken exactly in integers (a
     * long double 2 pi v would lose the small values of cos near pi/2) */
    int64_t n = (int64_t)(c >> 12), q = ((n + (1ll << 49)) >> 50) & 3;
    int64_t rho = n - (((n + (1ll << 49)) >> 50) << 50);
    long double t = 6.283185307179586476925286766559005768L * (long double)rho * 0x1p-52L;
    long double r = sqrtl(-2.0L * logl(u)), cs = cosl(t), sn = sinl(t);
    long double cq = q & 1 ? sn : cs, sq = q & 1 ? cs : sn;
    z[0] = r * ((q + 1) & 2 ? -cq : cq);
    z[1] = r * (q & 2 ? -sq : sq);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* 2^20 values of 64 rows. Moments within 5 standard errors; the mass
 * beyond |z| > 3 within 5 binomial standard errors; the Kolmogorov-Smirnov
 * statistic sqrt(n) D below 1.95 (p = 0.001). Sorts z. */
static void check_distribution(double *z, size_t n, const char *name) {
    double s1 = 0, s2 = 0, s3 = 0, s4 = 0, tail = 0;
    for (size_t i = 0; i < n; i++) {
        double x = z[i], x2 = x * x;
        s1 += x;
        s2 += x2;
        s3 += x2 * x;
        s4 += x2 * x2;
        tail += fabs(x) > 3;
    }
    double nn = (double)n;
    /* SE: mean 1/sqrt(n), E z^2 sqrt(2/n), E z^3 sqrt(15/n), E z^4 sqrt(96/n) */
    CHECK(fabs(s1 / nn) < 5 / sqrt(nn), "%s mean %g", name, s1 / nn);
    CHECK(fabs(s2 / nn - 1) < 5 * sqrt(2 / nn), "%s E z^2 %g", name, s2 / nn);
    CHECK(fabs(s3 / nn) < 5 * sqrt(15 / nn), "%s E z^3 %g", name, s3 / nn);
    CHECK(fabs(s4 / nn - 3) < 5 * sqrt(96 / nn), "%s E z^4 %g", name, s4 / nn);
    double p3 = erfc(3 / sqrt(2.0));
    CHECK(fabs(tail / nn - p3) < 5 * sqrt(p3 * (1 - p3) / nn), "%s P(|z| > 3) %g vs %g", name,
          tail / nn, p3);
    qsort(z, n, sizeof(double), cmp_double);
    double dmax = 0;
    for (size_t i = 0; i < n; i++) {
        double cdf = 0.5 * erfc(-z[i] / sqrt(2.0));
        double lo = cdf - (double)i / nn, hi = (double)(i + 1) / nn - cdf;
        if (lo > dmax) dmax = lo;
        if (hi > dmax) dmax = hi;
    }
    printf("%s: KS sqrt(n) D = %.3f (n = %zu)\n", name, sqrt(nn) * dmax, n);
    CHECK(sqrt(nn) * dmax < 1.95, "%s Kolmogorov-Smirnov sqrt(n) D = %g", name, sqrt(nn) * dmax);
}

int main(void) {
    /* 1. every path = the scalar reference, bitwise: several streams (draw and
     * row above 2^32 exercise the key and the high counter word), lengths
     * below, at and across the 128-value chunk, odd and even */
    {
        const uint64_t seeds[3] = {0, 42, 0xFEEDFACECAFEBEEFull};
        const uint64_t draws[3] = {0, 7, (5ull << 32) + 3};
        const uint64_t rows[3] = {0, 1000, (9ull << 32) + 11};
        const size_t lens[6] = {1, 2, 127, 128, 129, 1001};
        double *ref = malloc(1001 * sizeof(double)), *got = malloc(1001 * sizeof(double));
        float *reff = malloc(1001 * sizeof(float)), *gotf = malloc(1001 * sizeof(float));
        int paths = 0;
        for (int isa = SGM__ISA_BASE; isa <= SGM__ISA_AVX512; isa++) {
            if (!sgm__normal_isa_supported(isa)) continue;
            paths++;
            for (int k = 0; k < 27; k++)
                for (int l = 0; l < 6; l++) {
                    uint64_t s = seeds[k % 3], dr = draws[k / 3 % 3], rw = rows[k / 9];
                    size_t d = lens[l];
                    sgm__normal_span(SGM__ISA_SCALAR, s, dr, rw, 0, d, SGM_F64, ref);
                    sgm__normal_span(isa, s, dr, rw, 0, d, SGM_F64, got);
                    CHECK(memcmp(ref, got, d * sizeof(double)) == 0,
                          "isa %d f64 differs from the scalar path (case %d, d %zu)", isa, k, d);
                    sgm__normal_span(SGM__ISA_SCALAR, s, dr, rw, 0, d, SGM_F32, reff);
                    sgm__normal_span(isa, s, dr, rw, 0, d, SGM_F32, gotf);
                    CHECK(memcmp(reff, gotf, d * sizeof(float)) == 0,
                          "isa %d f32 differs from the scalar path (case %d, d %zu)", isa, k, d);
                }
        }
        /* the public entry (widest path) agrees too */
        sgm_rng_normal_rows_f64(42, 7, 1000, 1, 1001, got);
        sgm__normal_span(SGM__ISA_SCALAR, 42, 7, 1000, 0, 1001, SGM_F64, ref);
        CHECK(memcmp(ref, got, 1001 * sizeof(double)) == 0, "public entry differs");
        /* a span [e0, e0 + d) of a row is that part of the row */
        sgm__normal_span(-1, 42, 7, 1000, 130, 301, SGM_F64, got);
        CHECK(memcmp(ref + 130, got, 301 * sizeof(double)) == 0, "span differs from its row");
        printf("paths checked bitwise against the scalar reference: %d\n", paths);
        free(ref);
        free(got);
        free(reff);
        free(gotf);
    }

    /* 2. pinned first values of stream version 2 (seed 42, draw 3, row 1000),
     * float64 and float32:
     * a change of the stream must be deliberate (docs/numerics.md) */
    {
        static const double pin[4] = {-0x1.1d02ef4917d9cp-1, -0x1.5845a5bf7f1eep+0,
                                      0x1.4aced6d7feef6p+1, 0x1.0c75638d255f5p+1};
        double z[4];
        sgm_rng_normal_rows_f64(42, 3, 1000, 1, 4, z);
        for (int i = 0; i < 4; i++)
            CHECK(z[i] == pin[i], "pinned value %d: %a != %a", i, z[i], pin[i]);
        static const float pinf[4] = {-0x1.1d02eep-1f, -0x1.5845a6p+0f, 0x1.4aced6p+1f, 0x1.0c7564p+1f};
        float zf[4];
        sgm_rng_normal_rows_f32(42, 3, 1000, 1, 4, zf);
        for (int i = 0; i < 4; i++)
            CHECK(zf[i] == pinf[i], "pinned f32 value %d: %a != %a", i, (double)zf[i],
                  (double)pinf[i]);
    }

    /* 3. accuracy against the exact transform: the error in units of the
     * value's ulp (of float64, and of float32 for the float32 stream). The
     * log is within ~1 ulp, sqrt halves it, the sincos (one rounding in the
     * reduced angle, Taylor evaluation) within ~1-2 ulp and the final
     * product adds 0.5: 4 ulp bounds the sum with margin, in either
     * precision (the float32 inputs are rounded once from exact values, the
     * series are truncated below 2.2e-9 relative, 0.04 float32 ulp). */
    {
        enum { ROWS = 40, D = 10000 };
        double *z = malloc(D * sizeof(double));
        float *zf = malloc(D * sizeof(float));
        double worst = 0, worstf = 0;
        for (uint64_t r = 0; r < ROWS; r++) {
            sgm_rng_normal_rows_f64(11, 2, r, 1, D, z);
            sgm_rng_normal_rows_f32(11, 2, r, 1, D, zf);
            for (uint32_t b = 0; b < D / 2; b++) {
                long double e[2];
                exact_block(11, 2, r, b, e);
                for (int i = 0; i < 2; i++) {
                    double ex = (double)e[i];
                    double ulp = nextafter(fabs(ex), INFINITY) - fabs(ex);
                    double err = (double)fabsl((long double)z[2 * b + (uint32_t)i] - e[i]) / ulp;
                    if (err > worst) worst = err;
                    float exf = (float)e[i];
                    double ulpf = (double)(nextafterf(fabsf(exf), INFINITY) - fabsf(exf));
                    double errf =
                        (double)fabsl((long double)zf[2 * b + (uint32_t)i] - e[i]) / ulpf;
                    if (errf > worstf) worstf = errf;
                }
            }
        }
        printf("max error vs the exact transform: %.2f ulp (float64), %.2f ulp (float32) over "
               "%d values\n",
               worst, worstf, ROWS * D);
        CHECK(worst <= 4, "normal transform error %.2f ulp", worst);
        CHECK(worstf <= 4, "float32 normal transform error %.2f ulp", worstf);
        free(z);
        free(zf);
    }

    /* 4. distribution of both streams */
    {
        enum { R = 64, D = 16384 };
        size_t n = (size_t)R * D;
        double *z = malloc(n * sizeof(double));
        float *zf = malloc(n * sizeof(float));
        sgm_rng_normal_rows_f64(123, 0, 0, R, D, z);
        check_distribution(z, n, "float64");
        sgm_rng_normal_rows_f32(123, 0, 0, R, D, zf);
        for (size_t i = 0; i < n; i++) z[i] = (double)zf[i];
        check_distribution(z, n, "float32");
        free(z);
        free(zf);
    }
    TEST_MAIN_END();
}
