/* test_torch_rng.c - the PyTorch-compatible generator (src/core/rng_torch.c)
 * against draws of Debian's python3-torch 1.13 on CPU (tests/data/torch_rng,
 * written by gen.py there): torch.manual_seed(S); torch.randn(shape) for 20
 * seeds and shapes [1], [7], [16], [4, 1, 28, 28] in float32 and float64, and
 * one stream of successive calls, all bit for bit (exact equality). Also the
 * MT19937 reference output (10000th value 4123659995 for seed 5489).
 * Then euler_a with SGM_NOISE_TORCH against k-diffusion's
 * sample_euler_ancestral run with torch on CPU (gen_euler_a.py there: x_T =
 * torch.randn([N, 2]) * 80 after torch.manual_seed, torch.randn_like per
 * step, float32 as torch's default dtype), N = 64 (block path) and N = 3
 * (per-value path with the cached normal carried between steps). */
#include <string.h>

#include "sgm.h"
#include "test_util.h"

static int load(const char *name, sgm_array *a) {
    char rel[256], path[1024];
    snprintf(rel, sizeof rel, "tests/data/torch_rng/%s", name);
    sgm_error err = {0};
    if (sgm_npy_load(tu_src(rel, path, sizeof path), a, &err)) {
        fprintf(stderr, "cannot load %s: %s\n", path, err.msg);
        return -1;
    }
    return 0;
}

/* every value equal (float32 dumps are loaded as doubles: exact) */
static void check_shape(const sgm_array *seeds, const char *shape, size_t count) {
    for (int f64 = 0; f64 < 2; f64++) {
        char name[128];
        snprintf(name, sizeof name, "randn_%s_%s.npy", shape, f64 ? "f64" : "f32");
        sgm_array ref = {0};
        if (load(name, &ref)) {
            CHECK(0, "missing %s", name);
            continue;
        }
        CHECK(ref.count == seeds->count * count, "%s: %zu values", name, ref.count);
        double *got = malloc(count * sizeof *got);
        float *gf = malloc(count * sizeof *gf);
        sgm_torch_rng *g = NULL;
        sgm_error err = {0};
        CHECK(sgm_torch_rng_create(0, &g, &err) == SGM_OK, "create");
        size_t bad = 0, first = (size_t)-1;
        for (size_t si = 0; got && gf && g && si < seeds->count; si++) {
            sgm_torch_rng_seed(g, (uint64_t)seeds->data[si]);
            if (f64) {
                sgm_torch_randn_f64(g, count, got);
            } else {
                sgm_torch_randn_f32(g, count, gf);
                for (size_t i = 0; i < count; i++) got[i] = gf[i];
            }
            for (size_t i = 0; i < count; i++)
                if (got[i] != ref.data[si * count + i]) {
                    if (first == (size_t)-1) first = si * count + i;
                    bad++;
                }
        }
        CHECK(bad == 0, "%s: %zu of %zu values differ (first at %zu: got %.9g want %.9g)", name,
              bad, ref.count, first, first == (size_t)-1 ? 0 : got[first % count],
              first == (size_t)-1 ? 0 : ref.data[first]);
        sgm_torch_rng_free(g);
        free(got);
        free(gf);
        sgm_array_free(&ref);
    }
}

/* successive calls on one stream: 7, 3, 20, 1, 33 float32, 5 and 16 float64 */
static void check_sequence(const sgm_array *seeds) {
    sgm_array ref = {0};
    if (load("randn_seq.npy", &ref)) {
        CHECK(0, "missing randn_seq.npy");
        return;
    }
    const size_t k32[] = {7, 3, 20, 1, 33}, k64[] = {5, 16};
    size_t per = 7 + 3 + 20 + 1 + 33 + 5 + 16;
    CHECK(ref.count == seeds->count * per, "randn_seq: %zu values", ref.count);
    sgm_torch_rng *g = NULL;
    sgm_error err = {0};
    if (sgm_torch_rng_create(0, &g, &err) || ref.count != seeds->count * per) {
        sgm_array_free(&ref);
        sgm_torch_rng_free(g);
        return;
    }
    size_t bad = 0;
    for (size_t si = 0; si < seeds->count; si++) {
        sgm_torch_rng_seed(g, (uint64_t)seeds->data[si]);
        const double *r = ref.data + si * per;
        size_t o = 0;
        double dv[64];
        for (int c = 0; c < 5; c++) {
            /* the sampler path: float32 draws widened to double */
            sgm_torch_randn(g, k32[c], SGM_F64, dv);
            for (size_t i = 0; i < k32[c]; i++) bad += dv[i] != r[o + i];
            o += k32[c];
        }
        for (int c = 0; c < 2; c++) {
            sgm_torch_randn_f64(g, k64[c], dv);
            for (size_t i = 0; i < k64[c]; i++) bad += dv[i] != r[o + i];
            o += k64[c];
        }
    }
    CHECK(bad == 0, "randn_seq: %zu values differ", bad);
    sgm_torch_rng_free(g);
    sgm_array_free(&ref);
}

/* euler_a, VE karras 20 steps (0.002 .. 80, rho 7, final 0) on the exact
 * 2-D ring mixture with torch noise, against k-diffusion. */
static void check_euler_a(size_t N, uint64_t seed) {
    char name[128], path[1024];
    snprintf(name, sizeof name, "euler_a_N%zu_seed%llu.npy", N, (unsigned long long)seed);
    sgm_array ref = {0};
    if (load(name, &ref)) {
        CHECK(0, "missing %s", name);
        return;
    }
    sgm_error err = {0};
    sgm_gmm *g = NULL;
    sgm_process *proc = NULL;
    sgm_schedule *sched = NULL;
    sgm_sampler *smp = NULL;
    sgm_torch_rng *tg = NULL;
    double *x = malloc(N * 2 * sizeof *x);
    sgm_status st = sgm_gmm_load(tu_src("tests/data/models/gmm2d.json", path, sizeof path), &g,
                                 &err);
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VE);
    if (!st) st = sgm_process_create(&pc, &proc, &err);
    if (!st) {
        sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_KARRAS);
        sc.steps = 20;
        sc.sigma_min = 0.002;
        sc.sigma_max = 80;
        sc.rho = 7;
        sc.final_point = SGM_FINAL_ZERO;
        st = sgm_schedule_create(&sc, proc, &sched, &err);
    }
    sgm_sampler_config cfg;
    if (!st) st = sgm_sampler_config_default("euler_a", &cfg, &err);
    if (!st) {
        cfg.noise = SGM_NOISE_TORCH;
        st = sgm_sampler_create(&cfg, proc, N, 2, &smp, &err);
    }
    if (!st) {
        /* without a generator attached the run is refused */
        sgm_rng rng = sgm_rng_init(seed);
        sgm_denoiser den = sgm_gmm_denoiser(g);
        for (size_t i = 0; i < 2 * N; i++) x[i] = 0;
        CHECK(sgm_sampler_run(smp, sched, &den, &rng, 0, N, x, &err) == SGM_ERR_INVALID_ARG,
              "torch noise without a generator must fail");
        st = sgm_torch_rng_create(seed, &tg, &err);
        if (!st) {
            sgm_sampler_set_torch_rng(smp, tg);
            sgm_torch_randn(tg, N * 2, SGM_F64, x);
            for (size_t i = 0; i < 2 * N; i++) x[i] *= sched->sigma[0];
            st = sgm_sampler_run(smp, sched, &den, &rng, 0, N, x, &err);
        }
    }
    CHECK(st == SGM_OK, "%s: %s", name, err.msg);
    if (!st && ref.count == 2 * N) {
        /* the parity criterion of the reference cases: max |x - ref| <= 1e-4 max |ref|
         * (the reference state is float32, sgm's float64: they differ by rounding) */
        double emax = 0, rmax = 0;
        for (size_t i = 0; i < 2 * N; i++) {
            emax = fmax(emax, fabs(x[i] - ref.data[i]));
            rmax = fmax(rmax, fabs(ref.data[i]));
        }
        CHECK(emax <= 1e-4 * rmax, "%s: max error %.3g, max |ref| %.3g", name, emax, rmax);
        printf("%s: max |sgm - k-diffusion| %.3g (max |ref| %.3g)\n", name, emax, rmax);
    }
    CHECK(ref.count == 2 * N, "%s: %zu values", name, ref.count);
    sgm_torch_rng_free(tg);
    sgm_sampler_free(smp);
    sgm_schedule_free(sched);
    sgm_process_free(proc);
    sgm_gmm_free(g);
    free(x);
    sgm_array_free(&ref);
}

int main(void) {
    /* MT19937 with the reference seed 5489: the 10000th output is 4123659995
     * (the C++ standard's check value of std::mt19937) */
    sgm_torch_rng *g = NULL;
    sgm_error err = {0};
    if (sgm_torch_rng_create(5489, &g, &err) == SGM_OK) {
        uint32_t v = 0;
        for (int i = 0; i < 10000; i++) v = sgm_torch_rng_next_u32(g);
        CHECK(v == 4123659995u, "mt19937 10000th output %u", v);
        sgm_torch_rng_free(g);
    }
    sgm_array seeds = {0};
    if (load("seeds.npy", &seeds)) {
        CHECK(0, "missing seeds.npy");
        TEST_MAIN_END();
    }
    CHECK(seeds.count == 20, "20 seeds (%zu)", seeds.count);
    check_shape(&seeds, "1", 1);
    check_shape(&seeds, "7", 7);
    check_shape(&seeds, "16", 16);
    check_shape(&seeds, "4x1x28x28", 4 * 28 * 28);
    check_sequence(&seeds);
    sgm_array_free(&seeds);
    const uint64_t eseeds[] = {0, 1234, UINT64_C(4294967303)};
    for (int k = 0; k < 3; k++) {
        check_euler_a(64, eseeds[k]);
        check_euler_a(3, eseeds[k]);
    }
    TEST_MAIN_END();
}
