"""Sampler overhead of sgm.k_diffusion against k-diffusion itself (issue 11,
acceptance 3): the same small torch model sampled through both, N = 64 x
16,384 float32, time per step and the sampler's overhead beyond the model's
own time, both sides measured in the same run.

The model is the exact denoiser of standard normal data, D(x, sigma) =
x / (1 + sigma^2) (one multiply per value: as cheap as a model can be, so
what remains is the sampler). Its calls are timed on their own (perf_counter
around each call), and overhead = wall time of the sampler call - time in
the model. A side's figure is the best of R runs (the least disturbed by
other jobs); per step = / steps.

    python3 bench/kdiff_overhead.py --kdiff /path/to/k-diffusion [--steps 30] [--runs 5]
        [--threads 1] [--samplers euler,dpmpp_2m,...] [--clock wall|thread]

(k-diffusion at the pinned commit of bench/kdiff_import.py, loaded from the
checkout; nothing of it is committed here). bench/kdiff_overhead.sh wraps it.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
sys.path.insert(0, HERE)

# NAME or NAME:ETA (ancestral samplers; eta 0 is deterministic, so the two
# outputs can be compared; at eta 1 each side draws its own noise: torch's
# randn_like there, sgm's Philox here; NAME:1:randn gives both sides
# noise_sampler = lambda sigma, sigma_next: torch.randn_like(x), through
# sgm's noise hook on the sgm side, timed as the caller's code: TimedNoise)
SAMPLERS = ["euler", "heun", "dpm_2", "dpmpp_2m", "euler_ancestral:0", "dpm_2_ancestral:0",
            "dpmpp_2s_ancestral:0", "euler_ancestral:1", "dpmpp_2s_ancestral:1",
            "euler_ancestral:1:randn"]


CLOCK = time.perf_counter


class TimedModel:
    """D(x, sigma) = x / (1 + sigma^2), timing its own calls."""

    def __init__(self, torch):
        self.torch, self.t, self.calls = torch, 0.0, 0

    def __call__(self, x, sigma):
        t0 = CLOCK()
        c = (1 / (1 + sigma * sigma)).view(-1, *([1] * (x.ndim - 1)))
        out = x * c
        self.t += CLOCK() - t0
        self.calls += 1
        return out


class TimedNoise:
    """The caller's noise sampler of the row "randn", torch.randn_like(x),
    timing its own calls (caller's code, like the model)."""

    def __init__(self, torch, x):
        self.torch, self.x, self.t = torch, x, 0.0

    def __call__(self, sigma, sigma_next):
        t0 = CLOCK()
        z = self.torch.randn_like(self.x)
        self.t += CLOCK() - t0
        return z


def measure(fn, model, x, sigmas, runs, **kw):
    best = None
    noise = kw.get("noise_sampler")
    for _ in range(runs):
        model.t, model.calls = 0.0, 0
        if noise is not None:
            noise.t = 0.0
        t0 = CLOCK()
        out = fn(model, x, sigmas, disable=True, **kw)
        wall = CLOCK() - t0
        r = (wall, model.t + (noise.t if noise is not None else 0.0), model.calls, out)
        if best is None or wall - model.t < best[0] - best[1]:
            best = r
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kdiff", default=os.environ.get("K_DIFFUSION_DIR"),
                    help="k-diffusion checkout (or $K_DIFFUSION_DIR)")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--d", type=int, default=16384)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads; sgm's OpenMP threads come from "
                         "OMP_NUM_THREADS (the .sh wrapper sets both)")
    ap.add_argument("--samplers", default=",".join(SAMPLERS))
    ap.add_argument("--clock", choices=("wall", "thread"), default="wall",
                    help="thread: CPU time of the calling thread (time.thread_time), "
                         "immune to preemption on a shared machine; only with --threads 1 "
                         "and OMP_NUM_THREADS=1, where all the work runs on that thread")
    a = ap.parse_args()
    global CLOCK
    if a.clock == "thread":
        if a.threads != 1 or os.environ.get("OMP_NUM_THREADS") != "1":
            raise SystemExit("--clock thread needs --threads 1 and OMP_NUM_THREADS=1")
        CLOCK = time.thread_time

    import torch
    import kdiff_import
    from sgm import k_diffusion as S
    kd = kdiff_import.load(a.kdiff)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    sigmas = kd.get_sigmas_karras(a.steps, 0.002, 80.0)  # float32, the default dtype
    x = torch.randn(a.n, a.d) * sigmas[0]
    model = TimedModel(torch)
    print("# N = %d x %d float32, %d steps (karras 0.002..80), best of %d runs, torch %s, "
          "%d torch thread(s), OMP_NUM_THREADS=%s, clock %s" % (
              a.n, a.d, a.steps, a.runs, torch.__version__, a.threads,
              os.environ.get("OMP_NUM_THREADS", "-"), a.clock))
    print("# per step, ms: wall (caller's code + sampler), user (the caller's code: the model, "
          "and the noise sampler in the randn row), overhead = wall - user; ratio = sgm "
          "overhead / k-diffusion overhead (target <= 0.33)")
    print("%-26s %5s | %9s %9s %9s | %9s %9s %9s | %6s %9s" % (
        "sampler", "nfe", "kd wall", "kd user", "kd ovh", "sgm wall", "sgm user", "sgm ovh",
        "ratio", "max|diff|"))
    for entry in a.samplers.split(","):
        name, eta, noise = (entry.split(":") + ["", ""])[:3]
        fn_k, fn_s = getattr(kd, "sample_" + name), getattr(S, "sample_" + name)
        kw = {"eta": float(eta)} if eta else {}
        if noise == "randn":
            kw["noise_sampler"] = TimedNoise(torch, x)
        # warm-up (first-call allocations, page faults) on both sides
        fn_k(model, x, sigmas, disable=True, **kw)
        fn_s(model, x, sigmas, **kw)
        k = measure(fn_k, model, x, sigmas, a.runs, **kw)
        s = measure(fn_s, model, x, sigmas, a.runs, **kw)
        st = a.steps
        diff = float((k[3] - s[3]).abs().max()) if not kw.get("eta") else float("nan")
        ko, so = (k[0] - k[1]) / st * 1e3, (s[0] - s[1]) / st * 1e3
        print("%-26s %5d | %9.3f %9.3f %9.3f | %9.3f %9.3f %9.3f | %6.3f %9.2e" % (
            entry.replace(":", " eta ", 1).replace(":", " "), k[2], k[0] / st * 1e3,
            k[1] / st * 1e3, ko, s[0] / st * 1e3,
            s[1] / st * 1e3, so, so / ko, diff))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
