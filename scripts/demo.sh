#!/usr/bin/env bash
# demo.sh - what `make demo` runs (build folder as $1, default "build"):
# `sgm demo --out-dir out` trains the mlp on the built-in 8gaussians set
# (about a minute on two cores), draws 5,000 samples with DPM-Solver++(2M) at
# 20 steps and writes out/demo.safetensors, out/demo.png (held-out data left,
# samples right) and out/demo_report.txt (times, loss, NFE, sliced W2 and
# MMD^2 against held-out data, exact log-density gap and component masses).
# Extra arguments go to `sgm demo` (e.g. --data moons, --quick).
set -euo pipefail
BUILD="${1:-build}"
shift || true
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SGM="$BUILD/sgm"
[ -x "$SGM" ] || SGM="$ROOT/$BUILD/sgm"
if [ ! -x "$SGM" ]; then
    echo "demo: $BUILD/sgm not found; run \`make build\` first" >&2
    exit 1
fi
cd "$ROOT"
echo "== $SGM demo --out-dir out $*"
"$SGM" demo --out-dir out "$@"
echo "== picture: out/demo.png (left: held-out data, right: samples); report: out/demo_report.txt"
