/* ops.c - the elementwise kernels every sampler is written with, generic over
 * the run's element type (float64 / float32), and the small scalar helpers
 * (phi functions of exponential integrators, ancestral split).
 *
 * Each update is one fused pass: out = sum_j c_j in_j (k <= 8 inputs).
 * Coefficients are computed once per step in double precision (rounded to
 * float for float32 runs); the loop is OpenMP-parallel over elements, so
 * results are identical for any thread count.
 */
#include <math.h>
#include <string.h>

#include "sampler_internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define SGM__PAR_MIN 32768 /* below this many elements, stay serial */

static int nthreads(const sgm__s *s) {
#ifdef _OPENMP
    return s->cfg.n_threads > 0 ? s->cfg.n_threads : omp_get_max_threads();
#else
    (void)s;
    return 1;
#endif
}

#ifdef _OPENMP
#define PAR_FOR _Pragma("omp parallel for schedule(static) num_threads(nt) if(cnt >= SGM__PAR_MIN)")
#else
#define PAR_FOR
#endif

/* NAME: the function; PARALLEL: the OpenMP loop pragma or nothing; T: element
 * type, C: arithmetic type (double for float64 runs; float for
 * float32 runs, whose coefficients are rounded once per step — the update is
 * then pure float arithmetic, as fast as the memory traffic allows). */
#define LC_KERNEL(NAME, T, C, PARALLEL)                                                 \
    static void NAME(size_t cnt, int nt, T *out, int k, const double *cd,              \
                     const T *const *in) {                                             \
        (void)nt;                                                                      \
        C c[8];                                                                        \
        for (int j = 0; j < k && j < 8; j++) c[j] = (C)cd[j];                          \
        const T *a = in[0], *b = k > 1 ? in[1] : NULL, *e = k > 2 ? in[2] : NULL;      \
        const T *f = k > 3 ? in[3] : NULL, *g = k > 4 ? in[4] : NULL;                  \
        const T *h = k > 5 ? in[5] : NULL;                                             \
        if (k == 1) {                                                                  \
            PARALLEL for (size_t i = 0; i < cnt; i++) out[i] = (T)(c[0] * a[i]);        \
        } else if (k == 2) {                                                           \
            PARALLEL for (size_t i = 0; i < cnt; i++) out[i] =                          \
                (T)(c[0] * a[i] + c[1] * b[i]);                                        \
        } else if (k == 3) {                                                           \
            PARALLEL for (size_t i = 0; i < cnt; i++) out[i] =                          \
                (T)(c[0] * a[i] + c[1] * b[i] + c[2] * e[i]);                          \
        } else if (k == 4) {                                                           \
            PARALLEL for (size_t i = 0; i < cnt; i++) out[i] =                          \
                (T)(c[0] * a[i] + c[1] * b[i] + c[2] * e[i] + c[3] * f[i]);            \
        } else if (k == 5) {                                                           \
            PARALLEL for (size_t i = 0; i < cnt; i++) out[i] =                          \
                (T)(c[0] * a[i] + c[1] * b[i] + c[2] * e[i] + c[3] * f[i] + c[4] * g[i]); \
        } else if (k == 6) {                                                           \
            PARALLEL for (size_t i = 0; i < cnt; i++) out[i] =                          \
                (T)(c[0] * a[i] + c[1] * b[i] + c[2] * e[i] + c[3] * f[i] + c[4] * g[i] + \
                    c[5] * h[i]);                                                      \
        } else {                                                                       \
            PARALLEL for (size_t i = 0; i < cnt; i++) {                                 \
                C acc = 0;                                                             \
                for (int j = 0; j < k; j++) acc += c[j] * in[j][i];                    \
                out[i] = (T)acc;                                                       \
            }                                                                          \
        }                                                                              \
    }

LC_KERNEL(lc_double, double, double, PAR_FOR)
LC_KERNEL(lc_float, float, float, PAR_FOR)
/* the same kernels without the OpenMP region, for callers already inside one */
#define SERIAL
LC_KERNEL(lc_serial_double, double, double, SERIAL)
LC_KERNEL(lc_serial_float, float, float, SERIAL)

void sgm__lc(const sgm__s *s, void *out, int k, const double *c, const void *const *in) {
    int nt = nthreads(s);
    if (s->dt == SGM_F64)
        lc_double(s->count, nt, (double *)out, k, c, (const double *const *)in);
    else
        lc_float(s->count, nt, (float *)out, k, c, (const float *const *)in);
}

/* ---- noise fused into the update ---------------------------------------
 * out = sum_j c_j in_j + cz z with z the interval's unit normals: the same
 * bits as sgm__noise_interval into s->noise followed by sgm__lc with k + 1
 * inputs (noise last). With the default stream (fresh Philox draws, no
 * noise hook) z is drawn span by span (NOISE_SPAN elements of a row, in
 * L1) and consumed at once: the noise buffer is neither written nor read. */
#define NOISE_SPAN 1024 /* even: spans start on a Philox block */

#define LC_NOISE_KERNEL(T, DT)                                                         \
    static void lc_noise_##T(const sgm__s *s, int nt, T *out, int k, const double *c,  \
                             const void *const *in, uint64_t seed, uint64_t draw) {    \
        size_t d = s->d, ns = (d + NOISE_SPAN - 1) / NOISE_SPAN, cnt = s->count;       \
        (void)cnt;                                                                     \
        (void)nt;                                                                      \
        PAR_FOR for (size_t t = 0; t < s->n * ns; t++) {                             \
            size_t r = t / ns, e = (t % ns) * NOISE_SPAN;                              \
            size_t m = d - e < NOISE_SPAN ? d - e : NOISE_SPAN, off = r * d + e;       \
            T z[NOISE_SPAN];                                                           \
            sgm__normal_span(-1, seed, draw, s->row0 + r, e, m, DT, z);                \
            const T *p[8];                                                             \
            for (int j = 0; j < k; j++) p[j] = (const T *)in[j] + off;                 \
            p[k] = z;                                                                  \
            lc_serial_##T(m, 1, out + off, k + 1, c, p);                               \
        }                                                                              \
    }

LC_NOISE_KERNEL(double, SGM_F64)
LC_NOISE_KERNEL(float, SGM_F32)

void sgm__lc_noise(sgm__s *s, void *out, int k, const double *c, const void *const *in,
                   double cz, double s_from, double s_to) {
    double cc[8];
    const void *ins[8];
    for (int j = 0; j < k && j < 7; j++) cc[j] = c[j], ins[j] = in[j];
    cc[k] = cz;
    if (s->cfg.noise_fn || s->cfg.noise != SGM_NOISE_INDEPENDENT) {
        sgm__noise_interval(s, s_from, s_to, s->noise);
        ins[k] = s->noise;
        sgm__lc(s, out, k + 1, cc, ins);
        return;
    }
    uint64_t draw = s->rng->counter++; /* as sgm_rng_normal: one draw per call */
    int nt = nthreads(s);
    if (s->dt == SGM_F64)
        lc_noise_double(s, nt, (double *)out, k, cc, ins, s->rng->seed, draw);
    else
        lc_noise_float(s, nt, (float *)out, k, cc, ins, s->rng->seed, draw);
}

void sgm__lc2_noise(sgm__s *s, void *out, double a, const void *x, double cz, double s_from,
                    double s_to) {
    const void *in[1] = {x};
    sgm__lc_noise(s, out, 1, &a, in, cz, s_from, s_to);
}

void sgm__lc3_noise(sgm__s *s, void *out, double a, const void *x, double b, const void *y,
                    double cz, double s_from, double s_to) {
    double c[2] = {a, b};
    const void *in[2] = {x, y};
    sgm__lc_noise(s, out, 2, c, in, cz, s_from, s_to);
}

void sgm__lc4_noise(sgm__s *s, void *out, double a, const void *x, double b, const void *y,
                    double c3, const void *z, double cz, double s_from, double s_to) {
    double c[3] = {a, b, c3};
    const void *in[3] = {x, y, z};
    sgm__lc_noise(s, out, 3, c, in, cz, s_from, s_to);
}

void sgm__copy(const sgm__s *s, void *out, const void *in) {
    if (out != in) memcpy(out, in, s->count * s->esz);
}

void sgm__lc2(const sgm__s *s, void *out, double a, const void *x, double b, const void *y) {
    double c[2] = {a, b};
    const void *in[2] = {x, y};
    sgm__lc(s, out, 2, c, in);
}

void sgm__lc3(const sgm__s *s, void *out, double a, const void *x, double b, const void *y,
              double c3, const void *z) {
    double c[3] = {a, b, c3};
    const void *in[3] = {x, y, z};
    sgm__lc(s, out, 3, c, in);
}

void sgm__lc4(const sgm__s *s, void *out, double a, const void *x, double b, const void *y,
              double c3, const void *z, double e, const void *w) {
    double c[4] = {a, b, c3, e};
    const void *in[4] = {x, y, z, w};
    sgm__lc(s, out, 4, c, in);
}

static void err_rms_impl(const sgm__s *s, const void *a, const void *b, const void *c,
                         double atol, double rtol, double *rms, int dpm_style) {
    size_t d = s->d;
    for (size_t r = 0; r < s->n; r++) {
        double acc = 0;
        for (size_t j = 0; j < d; j++) {
            size_t idx = r * d + j;
            double va = sgm__get(s, a, idx), vb = sgm__get(s, b, idx);
            double vc = c ? sgm__get(s, c, idx) : vb;
            double m = fmax(fabs(va), fabs(vc));
            double tol = dpm_style ? fmax(atol, rtol * m) : atol + rtol * m;
            double e = (va - vb) / tol;
            acc += e * e;
        }
        rms[r] = sqrt(acc / (double)d);
    }
}

void sgm__err_rms(const sgm__s *s, const void *a, const void *b, const void *c,
                  double atol, double rtol, double *rms) {
    err_rms_impl(s, a, b, c, atol, rtol, rms, 0);
}

void sgm__err_rms_dpm(const sgm__s *s, const void *a, const void *b, const void *c,
                      double atol, double rtol, double *rms) {
    err_rms_impl(s, a, b, c, atol, rtol, rms, 1);
}

int sgm__all_finite(const sgm__s *s, const void *x) {
    if (s->dt == SGM_F64) {
        const double *v = x;
        for (size_t i = 0; i < s->count; i++)
            if (!isfinite(v[i])) return 0;
    } else {
        const float *v = x;
        for (size_t i = 0; i < s->count; i++)
            if (!isfinite(v[i])) return 0;
    }
    return 1;
}

/* ------------------------------------------------------ scalar helpers --- */

double sgm__phi1(double h) {
    if (fabs(h) < 1e-5) return 1 + h / 2 + h * h / 6;
    return expm1(h) / h;
}

double sgm__phi2(double h) {
    if (fabs(h) < 1e-3) return 0.5 + h / 6 + h * h / 24 + h * h * h / 120;
    return (sgm__phi1(h) - 1) / h;
}

double sgm__phi3(double h) {
    if (fabs(h) < 1e-2)
        return 1.0 / 6 + h / 24 + h * h / 120 + h * h * h / 720 + h * h * h * h / 5040;
    return (sgm__phi2(h) - 0.5) / h;
}

void sgm__ancestral(double s_from, double s_to, double eta, double *s_down, double *s_up) {
    if (eta == 0 || s_to <= 0 || !(s_from > 0)) {
        *s_up = 0;
        *s_down = s_to;
        return;
    }
    double up = eta * sqrt(s_to * s_to * (s_from * s_from - s_to * s_to) / (s_from * s_from));
    if (up > s_to) up = s_to;
    *s_up = up;
    *s_down = sqrt(s_to * s_to - up * up);
}
