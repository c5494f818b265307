"""sgm.k_diffusion over 2,000 rounds: no reference, object or memory leak
(the views of sgm's buffers, the run record, the callback dicts and a
raised exception's traceback are all released).

RSS bound: after 200 warm-up rounds, 2,000 rounds (each a 4 x 2 dpmpp_2m run
of 3 steps with a callback, an euler_ancestral run with a noise sampler, and
every 10th round a failing run) may grow the resident set by at most 1 MiB;
a leaked record of even 256 bytes per sampler call would add 1.05 MiB."""
import gc
import sys

import torch

import sgm
from sgm import k_diffusion as K
from kdiff_util import model  # noqa: F401 - fixture


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_no_leak(model):
    x = torch.randn(4, 2, dtype=torch.float64) * 10
    sig = torch.tensor([10.0, 1.0, 0.1, 0.0], dtype=torch.float64)
    seen = []
    ns = (lambda s, t: torch.zeros(4, 2, dtype=torch.float64))

    class Boom(Exception):
        pass

    def bad(x, s):
        raise Boom()

    def one(i):
        K.sample_dpmpp_2m(model, x, sig, callback=lambda d: seen.append(d["i"]))
        K.sample_euler_ancestral(model, x, sig, noise_sampler=ns, seed=i)
        if i % 10 == 0:
            try:
                K.sample_euler(bad, x, sig)
            except Boom:
                pass

    for i in range(200):
        one(i)
    gc.collect()
    refs = sys.getrefcount(model), sys.getrefcount(x), sys.getrefcount(sig)
    objs = len(gc.get_objects())
    before = rss_kib()
    for i in range(2000):
        one(i)
        seen.clear()
    gc.collect()
    grown = rss_kib() - before
    assert (sys.getrefcount(model), sys.getrefcount(x), sys.getrefcount(sig)) == refs
    assert len(gc.get_objects()) - objs < 100
    assert not sgm.sample.__globals__["_runs"]
    print("RSS growth over 2,000 rounds: %d KiB" % grown)
    assert grown < 1024, "RSS grew by %d KiB" % grown
