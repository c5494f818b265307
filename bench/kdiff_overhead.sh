#!/usr/bin/env bash
# sgm.k_diffusion vs k-diffusion: time per step and sampler overhead beyond
# the model, N = 64 x 16,384 float32, both in the same run
# (bench/kdiff_overhead.py; docs/bench.md). Needs build/libsgm.so (make
# build), python3-torch and a k-diffusion checkout at the pinned commit:
#   git clone https://github.com/crowsonkb/k-diffusion /tmp/k-diffusion
#   git -C /tmp/k-diffusion checkout 4601bf085320592473f681a62808ed873d17fad5
#   bench/kdiff_overhead.sh /tmp/k-diffusion [THREADS] [extra kdiff_overhead.py args]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
kdiff="${1:-${K_DIFFUSION_DIR:-}}"
[ -n "$kdiff" ] || { echo "usage: $0 K_DIFFUSION_DIR [THREADS] [args]" >&2; exit 2; }
threads="${2:-1}"
shift $(( $# >= 2 ? 2 : $# ))
py=python3
python3 -c "import torch, numpy" 2>/dev/null || py=/usr/bin/python3
# the same number of threads for sgm's OpenMP kernels and torch's intra-op pool
export OMP_NUM_THREADS="$threads" OMP_WAIT_POLICY=PASSIVE
exec "$py" "$here/kdiff_overhead.py" --kdiff "$kdiff" --threads "$threads" "$@"
