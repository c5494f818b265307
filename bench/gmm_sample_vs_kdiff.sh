#!/usr/bin/env bash
# gmm_sample_vs_kdiff.sh - exact-model sampling, whole process (issue 12):
# `sgm sample --model gmm:M.json --process ve --schedule karras --sampler
# dpmpp_2m --steps 20` against k-diffusion's sample_dpmpp_2m with the same
# mixture's exact denoiser in float32 PyTorch (bench/gmm_kdiff_sample.py), on
# the 16-D mixture `sgm mixture --seed 1 --dim 16` (7 components), for
# N = 4,096 and 65,536, each side at 1 and THREADS threads and, for sgm, in
# --dtype f64 and f32; ROUNDS rounds alternating the sides, best wall time of
# each configuration (start-up, import, sampling and writing the .npy
# included). Prints each configuration's best, then per N the ratio of
# k-diffusion's best configuration to sgm's best. Target: >= 10x.
#
# Usage: bench/gmm_sample_vs_kdiff.sh K_DIFFUSION_DIR [THREADS]
#   (K_DIFFUSION_DIR: crowsonkb/k-diffusion at commit 4601bf0, see
#   bench/kdiff_import.py)
# Environment: SGM_BUILD_DIR (default ./build), ROUNDS (default 3),
#   SIZES (default "4096 65536"), STEPS (default 20), PYTHON.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
kdir=${1:?usage: bench/gmm_sample_vs_kdiff.sh K_DIFFUSION_DIR [THREADS]}
threads=${2:-$(nproc)}
sgm=${SGM_BUILD_DIR:-$root/build}/sgm
rounds=${ROUNDS:-3}
sizes=${SIZES:-4096 65536}
steps=${STEPS:-20}
py=${PYTHON:-/usr/bin/python3}
[ -x "$sgm" ] || { echo "gmm_sample_vs_kdiff: $sgm not found" >&2; exit 2; }
[ -f "$kdir/k_diffusion/sampling.py" ] || { echo "gmm_sample_vs_kdiff: no k-diffusion checkout at $kdir" >&2; exit 2; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$sgm" mixture --seed 1 --dim 16 --out "$T/m.json" >/dev/null || exit 2
tlist="1"
[ "$threads" -gt 1 ] && tlist="1 $threads"
echo "# $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), nproc $(nproc)," \
     "load $(cut -d' ' -f1-3 /proc/loadavg), dpmpp_2m $steps steps, rounds $rounds"
wall() { # prints the wall seconds of "$@" (its output discarded), or fails
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || return 1
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}
for r in $(seq 1 "$rounds"); do
    for n in $sizes; do
        for t in $tlist; do
            for dt in f64 f32; do
                s=$(OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t wall "$sgm" sample --model "gmm:$T/m.json" \
                    --process ve --schedule karras --sampler dpmpp_2m --steps "$steps" --n "$n" \
                    --dtype "$dt" --out "$T/s.npy") || { echo "sgm sample failed" >&2; exit 2; }
                echo "sgm ${t}t-$dt $n $s" >>"$T/log"
            done
            k=$(OMP_NUM_THREADS=$t K_DIFFUSION_DIR=$kdir wall "$py" "$here/gmm_kdiff_sample.py" \
                "$T/m.json" "$n" "$steps" "$T/k.npy" --threads "$t") ||
                { echo "gmm_kdiff_sample.py failed" >&2; exit 2; }
            echo "kdiff ${t}t-f32 $n $k" >>"$T/log"
        done
    done
done
printf "%-6s %-8s %7s %10s\n" side config N "best s"
awk '
    { k = $1 " " $2 " " $3; if (!(k in best) || $4 < best[k]) best[k] = $4 }
    END {
        for (k in best) { split(k, f, " "); printf "%-6s %-8s %7s %10.3f\n", f[1], f[2], f[3], best[k] }
        for (k in best) {
            split(k, f, " ")
            sk = f[1] " " f[3]
            if (!(sk in side) || best[k] < side[sk]) { side[sk] = best[k]; cfg[sk] = f[2] }
            ns[f[3]] = 1
        }
        miss = 0
        for (n in ns) {
            ratio = side["kdiff " n] / side["sgm " n]
            printf "N %7s: k-diffusion best %.3f s (%s), sgm best %.3f s (%s): %.2fx (target 10x) %s\n",
                   n, side["kdiff " n], cfg["kdiff " n], side["sgm " n], cfg["sgm " n], ratio,
                   (ratio >= 10 ? "met" : "MISSED")
            if (ratio < 10) miss = 1
        }
        exit miss
    }' "$T/log" | sort
