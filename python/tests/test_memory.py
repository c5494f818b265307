"""Reference counts and memory over 10,000 sample calls.

RSS bound: after 500 warm-up calls (allocator pools, numpy caches and
ctypes' type cache are filled), 10,000 more calls of a 4 x 2 Euler run with a
Python denoiser may grow the resident set by at most 2 MiB. Every call
allocates a process, a schedule, a sampler and its scratch (a few KiB) and
frees them, plus Python objects for each of the 2 denoiser calls; a leak of
any of these, even a 256-byte record per call, would add over 2.4 MiB, so
the bound catches it while leaving room for allocator noise.
"""
import gc
import importlib
import sys

import numpy as np

import sgm

sample_mod = importlib.import_module("sgm.sample")


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_no_leak_over_10000_calls(gmm):
    def den(x, t, sigma, alpha):
        return gmm(x, t, sigma, alpha)

    x_T = np.random.default_rng(0).normal(size=(4, 2)) * 80

    def one():
        return sgm.sample(den, x_T, sampler="euler", steps=2, seed=1)

    for _ in range(500):
        one()
    gc.collect()
    refs = sys.getrefcount(den), sys.getrefcount(x_T), sys.getrefcount(gmm)
    objs = len(gc.get_objects())
    before = rss_kib()
    for _ in range(10000):
        one()
    gc.collect()
    grown = rss_kib() - before
    assert (sys.getrefcount(den), sys.getrefcount(x_T), sys.getrefcount(gmm)) == refs
    assert len(gc.get_objects()) - objs < 100
    assert not sample_mod._runs  # no run state left behind
    print("RSS growth over 10,000 calls: %d KiB" % grown)
    assert grown < 2048, "RSS grew by %d KiB over 10,000 calls" % grown


def test_failing_calls_do_not_leak(gmm):
    """Raising denoisers: the exception (and its traceback) is not kept."""
    class Boom(Exception):
        pass

    def bad(x, t, s, a):
        raise Boom()

    def fail_n(times):
        for _ in range(times):
            try:
                sgm.sample(bad, np.ones((4, 2)), steps=2)
            except Boom:
                pass

    fail_n(200)
    gc.collect()
    before = rss_kib()
    objs = len(gc.get_objects())
    fail_n(2000)
    gc.collect()
    assert len(gc.get_objects()) - objs < 100
    assert rss_kib() - before < 1024
