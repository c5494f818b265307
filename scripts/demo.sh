#!/usr/bin/env bash
# demo.sh - what `make demo` runs (build folder as $1, default "build"):
# samples the built-in 2-D mixture (tests/data/models/gmm2d.json: 8 Gaussians
# on a ring of radius 4) with DPM-Solver++(2M) at 20 steps, writes
# out/demo_samples.npy and reports NFE, wall time, the sample mean and
# covariance against the exact mixture, and the mass of each component.
set -euo pipefail
BUILD="${1:-build}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SGM="$BUILD/sgm"
[ -x "$SGM" ] || SGM="$ROOT/$BUILD/sgm"
if [ ! -x "$SGM" ]; then
    echo "demo: $BUILD/sgm not found; run \`make build\` first" >&2
    exit 1
fi
mkdir -p "$ROOT/out"
echo "== sgm demo: exact 2-D Gaussian mixture, dpmpp_2m, 20 steps, 4096 samples"
echo "   $SGM sample --model gmm:tests/data/models/gmm2d.json --process ve --sampler dpmpp_2m \\"
echo "       --schedule karras --steps 20 --n 4096 --seed 0 --out out/demo_samples.npy --report"
"$SGM" sample --model "gmm:$ROOT/tests/data/models/gmm2d.json" --process ve --sampler dpmpp_2m \
    --schedule karras --steps 20 --n 4096 --seed 0 --out "$ROOT/out/demo_samples.npy" --report
echo "== samples written to out/demo_samples.npy (float64, shape [4096, 2])"
