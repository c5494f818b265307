/* rng_torch.c - a PyTorch-compatible CPU normal generator (`--rng torch`):
 * the noise of `torch.manual_seed(S); torch.randn(...)` on CPU, bit for bit.
 *
 * Generator: MT19937 (Matsumoto & Nishimura 1998) seeded as
 * at::mt19937(seed) (init_by_uint32 of the low 32 bits of the seed), as in
 * ATen/core/MT19937RNGEngine.h; random() is one 32-bit output, random64() is
 * (first << 32) | second (CPUGeneratorImpl.cpp).
 * Uniforms (ATen/core/TransformationHelper.h uniform_real): float from
 * random() & (2^24 - 1) times 2^-24, double from random64() & (2^53 - 1)
 * times 2^-53, both in [0, 1).
 * Normals (ATen/native/cpu/DistributionTemplates.h, normal_kernel, PyTorch
 * 1.13 as packaged by Debian):
 *   - count >= 16: normal_fill: count uniforms of the tensor's dtype, then
 *     Box-Muller on blocks of 16 (u1 = 1 - data[j], u2 = data[j + 8],
 *     r = sqrt(-2 log u1), theta = 2 pi u2, data[j] = r cos, data[j + 8] =
 *     r sin, j < 8); when count % 16 != 0 the last 16 values are drawn again
 *     (16 fresh uniforms) and transformed as one block.
 *   - count < 16: at::normal_distribution<double> per value, cast to the
 *     tensor's dtype: two double uniforms u1, u2, r = sqrt(-2 log(1 - u2)),
 *     theta = 2 pi u1; returns r cos(theta) and caches r sin(theta) in the
 *     generator for the next call (any later small draw uses it first;
 *     manual_seed clears it).
 * The float32 block path is normal_fill_AVX2 (avx_mathfun.h polynomials
 * for log and sincos), the kernel PyTorch 1.13 runs on every CPU with AVX2,
 * AVX-512 ones included (`torch.__config__.show()`: "CPU capability usage:
 * AVX2"). Its scalar fallback (ATEN_CPU_CAPABILITY=default, or a CPU
 * without AVX2) uses the C library's logf / cosf / sinf and differs in the
 * last bit of about 1 value in 2; that fallback is not reproduced. The
 * float64 path and tensors under 16 values use the C library's double log /
 * sin / cos, as PyTorch does (glibc's are correctly rounded in practice).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MT_N 624
#define MT_M 397

struct sgm_torch_rng {
    uint32_t mt[MT_N];
    int idx;
    int has_cached; /* a cached double normal (normal_distribution<double>) */
    double cached;
};

void sgm_torch_rng_seed(sgm_torch_rng *g, uint64_t seed) {
    g->mt[0] = (uint32_t)(seed & 0xffffffffu);
    for (int j = 1; j < MT_N; j++)
        g->mt[j] = 1812433253u * (g->mt[j - 1] ^ (g->mt[j - 1] >> 30)) + (uint32_t)j;
    g->idx = MT_N;
    g->has_cached = 0;
    g->cached = 0;
}

sgm_status sgm_torch_rng_create(uint64_t seed, sgm_torch_rng **out, sgm_error *err) {
    *out = NULL;
    sgm_torch_rng *g = malloc(sizeof *g);
    if (!g) return sgm__set_error(err, SGM_ERR_NOMEM, "out of memory");
    sgm_torch_rng_seed(g, seed);
    *out = g;
    return SGM_OK;
}

void sgm_torch_rng_free(sgm_torch_rng *g) { free(g); }

static void mt_twist(sgm_torch_rng *g) {
    uint32_t *s = g->mt;
    for (int i = 0; i < MT_N; i++) {
        uint32_t y = (s[i] & 0x80000000u) | (s[(i + 1) % MT_N] & 0x7fffffffu);
        uint32_t v = s[(i + MT_M) % MT_N] ^ (y >> 1);
        if (y & 1u) v ^= 0x9908b0dfu;
        s[i] = v;
    }
    g->idx = 0;
}

static uint32_t mt_next(sgm_torch_rng *g) {
    if (g->idx >= MT_N) mt_twist(g);
    uint32_t y = g->mt[g->idx++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

uint32_t sgm_torch_rng_next_u32(sgm_torch_rng *g) { return mt_next(g); }

static float uniform_f32(sgm_torch_rng *g) {
    return (float)((double)(mt_next(g) & ((1u << 24) - 1)) * 0x1.0p-24);
}

static double uniform_f64(sgm_torch_rng *g) {
    uint64_t hi = mt_next(g), lo = mt_next(g);
    uint64_t v = (hi << 32) | lo;
    return (double)(v & ((UINT64_C(1) << 53) - 1)) * 0x1.0p-53;
}

/* at::normal_distribution<double>(0, 1) with the generator's cache */
static double normal_scalar(sgm_torch_rng *g) {
    if (g->has_cached) {
        g->has_cached = 0;
        return g->cached;
    }
    double u1 = uniform_f64(g), u2 = uniform_f64(g);
    double r = sqrt(-2.0 * log(1.0 - u2));
    double th = 2.0 * 3.14159265358979323846 * u1;
    g->cached = r * sin(th);
    g->has_cached = 1;
    return r * cos(th);
}

/* PyTorch's float32 block transform is normal_fill_16_AVX2: log256_ps and
 * sincos256_ps of avx_mathfun.h (Cephes polynomials after Pommier's
 * sse_mathfun), compiled by GCC with -mfma, which fuses each multiply whose
 * only use is an add into one FMA. Emulated here lane by lane with the same
 * operations in the same order; fmaf is exact (single rounding) everywhere. */
static float fma_f(float a, float b, float c) { return fmaf(a, b, c); }
static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}
static float bitsf(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static float log_cephes(float x) {
    int invalid = x <= 0.0f;
    if (x < bitsf(0x00800000u)) x = bitsf(0x00800000u);
    int32_t imm0 = (int32_t)(fbits(x) >> 23);
    x = bitsf((fbits(x) & ~0x7f800000u) | fbits(0.5f));
    imm0 -= 0x7f;
    float e = (float)imm0;
    e = e + 1.0f;
    int mask = x < 0.707106781186547524f;
    float tmp = mask ? x : 0.0f;
    x = x - 1.0f;
    e = e - (mask ? 1.0f : 0.0f);
    x = x + tmp;
    float z = x * x;
    float y = 7.0376836292E-2f;
    y = fma_f(y, x, -1.1514610310E-1f);
    y = fma_f(y, x, 1.1676998740E-1f);
    y = fma_f(y, x, -1.2420140846E-1f);
    y = fma_f(y, x, +1.4249322787E-1f);
    y = fma_f(y, x, -1.6668057665E-1f);
    y = fma_f(y, x, +2.0000714765E-1f);
    y = fma_f(y, x, -2.4999993993E-1f);
    y = fma_f(y, x, +3.3333331174E-1f);
    y = y * x;
    float t1 = e * -2.12194440e-4f;
    y = fma_f(y, z, t1);
    y = fmaf(-z, 0.5f, y);
    float xy = x + y;
    x = fma_f(e, 0.693359375f, xy);
    if (invalid) x = NAN;
    return x;
}
static void sincos_cephes(float xin, float *s, float *c) {
    float x = fabsf(xin);
    uint32_t sign_sin = fbits(xin) & 0x80000000u;
    float y = x * 1.27323954473516f;
    int32_t imm2 = (int32_t)y; /* cvtt */
    imm2 = (imm2 + 1) & ~1;
    y = (float)imm2;
    int32_t imm4 = imm2;
    uint32_t swap = (uint32_t)(imm2 & 4) << 29;
    int poly = (imm2 & 2) == 0;
    x = fma_f(y, -0.78515625f, x);
    x = fma_f(y, -2.4187564849853515625e-4f, x);
    x = fma_f(y, -3.77489497744594108e-8f, x);
    imm4 = imm4 - 2;
    uint32_t sign_cos = (uint32_t)(~imm4 & 4) << 29;
    sign_sin ^= swap;
    float z = x * x;
    float yc = 2.443315711809948E-005f;
    yc = fma_f(yc, z, -1.388731625493765E-003f);
    yc = fma_f(yc, z, 4.166664568298827E-002f);
    yc = yc * z;
    float tmp = z * 0.5f;
    yc = fmaf(yc, z, -tmp);
    yc = yc + 1.0f;
    float y2 = -1.9515295891E-4f;
    y2 = fma_f(y2, z, 8.3321608736E-3f);
    y2 = fma_f(y2, z, -1.6666654611E-1f);
    y2 = y2 * z;
    y2 = fma_f(y2, x, x);
    float ysin2 = poly ? y2 : 0.0f;
    float ysin1 = poly ? 0.0f : yc;
    y2 = y2 - ysin2;
    yc = yc - ysin1;
    float sv = ysin1 + ysin2, cv = yc + y2;
    *s = bitsf(fbits(sv) ^ sign_sin);
    *c = bitsf(fbits(cv) ^ sign_cos);
}
/* normal_fill_16_AVX2 on 16 uniforms (mean 0, std 1) */
static void fill16_f32(float *d) {
    const float two_pi = (float)(2.0 * 3.14159265358979323846);
    for (int j = 0; j < 8; j++) {
        float u1 = 1.0f - d[j], u2 = d[j + 8];
        float radius = sqrtf(-2.0f * log_cephes(u1));
        float theta = two_pi * u2;
        float sn, cs;
        sincos_cephes(theta, &sn, &cs);
        d[j] = radius * cs;
        d[j + 8] = radius * sn;
    }
}

static void fill16_f64(double *d) {
    for (int j = 0; j < 8; j++) {
        double u1 = 1.0 - d[j], u2 = d[j + 8];
        double radius = sqrt(-2.0 * log(u1));
        double theta = 2.0 * 3.14159265358979323846 * u2;
        d[j] = radius * cos(theta);
        d[j + 8] = radius * sin(theta);
    }
}

void sgm_torch_randn_f32(sgm_torch_rng *g, size_t count, float *out) {
    if (count < 16) {
        for (size_t i = 0; i < count; i++) out[i] = (float)normal_scalar(g);
        return;
    }
    size_t full = count / 16;
    for (size_t b = 0; b < full; b++) {
        float *d = out + 16 * b;
        for (int j = 0; j < 16; j++) d[j] = uniform_f32(g);
        fill16_f32(d);
    }
    if (count % 16) {
        for (size_t i = 16 * full; i < count; i++) (void)uniform_f32(g); /* overwritten */
        float *d = out + count - 16;
        for (int j = 0; j < 16; j++) d[j] = uniform_f32(g);
        fill16_f32(d);
    }
}

void sgm_torch_randn_f64(sgm_torch_rng *g, size_t count, double *out) {
    if (count < 16) {
        for (size_t i = 0; i < count; i++) out[i] = normal_scalar(g);
        return;
    }
    size_t full = count / 16;
    for (size_t b = 0; b < full; b++) {
        double *d = out + 16 * b;
        for (int j = 0; j < 16; j++) d[j] = uniform_f64(g);
        fill16_f64(d);
    }
    if (count % 16) {
        for (size_t i = 16 * full; i < count; i++) (void)uniform_f64(g);
        double *d = out + count - 16;
        for (int j = 0; j < 16; j++) d[j] = uniform_f64(g);
        fill16_f64(d);
    }
}

void sgm_torch_randn(sgm_torch_rng *g, size_t count, sgm_dtype dt, void *out) {
    if (dt == SGM_F32) {
        sgm_torch_randn_f32(g, count, (float *)out);
        return;
    }
    /* float32 draws widened in place: fill the front half as floats, then
     * expand from the top down (value i is read before slot i is written) */
    unsigned char *b = out;
    sgm_torch_randn_f32(g, count, (float *)out);
    for (size_t i = count; i-- > 0;) {
        float v;
        memcpy(&v, b + i * sizeof v, sizeof v);
        double w = (double)v;
        memcpy(b + i * sizeof w, &w, sizeof w);
    }
}
