// ring.cpp - a downstream C++ program using an installed sgm: the same
// sampling as ring.c (the 8-Gaussian ring, DPM-Solver++(2M), 20 Karras
// steps), with the library's handles owned by std::unique_ptr.
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include <sgm.h>

namespace {
struct Free {
    void operator()(sgm_gmm *p) const { sgm_gmm_free(p); }
    void operator()(sgm_process *p) const { sgm_process_free(p); }
    void operator()(sgm_schedule *p) const { sgm_schedule_free(p); }
    void operator()(sgm_sampler *p) const { sgm_sampler_free(p); }
};
template <class T> using owned = std::unique_ptr<T, Free>;

int check(sgm_status s, const sgm_error &err) {
    if (s != SGM_OK) std::fprintf(stderr, "ring++: %s\n", err.msg);
    return s != SGM_OK;
}
} // namespace

int main() {
    const int K = 8, N = 2000;
    const double pi = 3.14159265358979323846;
    std::vector<double> w(K, 1.0 / K), mu(2 * K), sd(2 * K, 0.3), x(2 * N);
    for (int k = 0; k < K; k++) {
        mu[2 * k] = 4 * std::cos(2 * pi * k / K);
        mu[2 * k + 1] = 4 * std::sin(2 * pi * k / K);
    }
    sgm_error err{};
    sgm_gmm *g = nullptr;
    sgm_process *p = nullptr;
    sgm_schedule *s = nullptr;
    sgm_sampler *smp = nullptr;
    if (check(sgm_gmm_create(K, 2, w.data(), mu.data(), sd.data(), &g, &err), err)) return 1;
    owned<sgm_gmm> gmm(g);
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VE);
    if (check(sgm_process_create(&pc, &p, &err), err)) return 1;
    owned<sgm_process> proc(p);
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_KARRAS);
    sc.steps = 20;
    if (check(sgm_schedule_create(&sc, p, &s, &err), err)) return 1;
    owned<sgm_schedule> sched(s);
    sgm_sampler_config cfg;
    if (check(sgm_sampler_config_default("dpmpp_2m", &cfg, &err), err)) return 1;
    if (check(sgm_sampler_create(&cfg, p, N, 2, &smp, &err), err)) return 1;
    owned<sgm_sampler> sampler(smp);

    const double sig_T = sgm_process_sigma(p, s->t[0]);
    sgm_rng_normal_rows_f64(1, 0, 0, N, 2, x.data());
    for (double &v : x) v *= sig_T;
    sgm_denoiser den = sgm_gmm_denoiser(g);
    sgm_rng rng = sgm_rng_init(1);
    rng.counter = 1;
    if (check(sgm_sampler_run(smp, s, &den, &rng, 0, N, x.data(), &err), err)) return 1;
    double r = 0;
    for (int i = 0; i < N; i++) r += std::hypot(x[2 * i], x[2 * i + 1]) / N;
    std::printf("ring (C++, sgm %s): %d samples, mean radius %.3f (mixture: 4.01)\n",
                SGM_VERSION_STRING, N, r);
    return std::fabs(r - 4.01) < 0.1 ? 0 : 1;
}
