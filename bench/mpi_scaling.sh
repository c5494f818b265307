#!/usr/bin/env bash
# mpi_scaling.sh - data-parallel training throughput (issue 14,
# docs/scaling.md): `sgm train` of the U-Net on Fashion-MNIST and of the mlp
# on a 2-D set, as 1 process x 1 thread, 1 process x 2 threads and
# `mpirun -np 2` x 1 thread, all at the same global batch. Prints steps/s of
# each, the ratios to 1 x 1, and (from the P = 2 runs) the time per step and
# the part of it spent in the gradient all-reduce. ROUNDS rounds alternate
# the three setups (the machine may be shared: each keeps its best round).
#
# Usage: bench/mpi_scaling.sh            (needs an SGM_MPI build)
# Environment: SGM_BUILD_DIR (default ./build); ROUNDS (default 2);
#   UNET_STEPS (default 12), MLP_STEPS (default 200): timed steps, after
#   the first log period (warm-up); UNET_BATCH (64), MLP_BATCH (1024).
# Exit status 0 when U-Net P=2 x 1 reaches 1.7x of 1 x 1 (issue 14), 1 when
# not, 2 on a setup error.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${SGM_BUILD_DIR:-$root/build}
SGM=$build/sgm
rounds=${ROUNDS:-2}
us=${UNET_STEPS:-12}
ms=${MLP_STEPS:-200}
ub=${UNET_BATCH:-64}
mb=${MLP_BATCH:-1024}
[ -x "$SGM" ] || { echo "mpi_scaling: no $SGM (build first)" >&2; exit 2; }
command -v mpirun >/dev/null || { echo "mpi_scaling: no mpirun (scripts/install-deps.sh)" >&2; exit 2; }
MPIF=(--oversubscribe --bind-to none -q)
[ "$(id -u)" -eq 0 ] && MPIF+=(--allow-run-as-root)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMP_WAIT_POLICY=PASSIVE

# steps/s over the timed part: the log's time_s at steps W and W + N
# (warm-up W excluded: first steps allocate and plan the convolutions)
rate() { # rate LOG W N
    awk -F'[:,}]' -v w="$2" -v n="$3" '{ for (i = 1; i < NF; i++) { if ($i ~ /"step"/) s = $(i + 1);
        if ($i ~ /"time_s"/) t = $(i + 1) } if (s == w) a = t; if (s == w + n) b = t }
        END { if (b > a) printf "%.4f", n / (b - a); else print "nan" }' "$1"
}

run() { # run MODEL SETUP: prints steps/s; the P=2 timing line goes to $T/timing.MODEL
    local model=$1 setup=$2 w n args
    if [ "$model" = unet ]; then
        w=2 n=$us
        args=(--arch unet --data fashion-mnist --n-data 2048 --batch "$ub" --prediction edm)
    else
        w=20 n=$ms
        args=(--data moons --n-data 20000 --batch "$mb")
    fi
    args+=(--steps $((w + n)) --save-every 0 --log "$T/log" --log-every 1 --seed 1 --out "$T/m.safetensors")
    rm -f "$T/log"
    case $setup in
    1x1) OMP_NUM_THREADS=1 "$SGM" train "${args[@]}" 2>/dev/null ;;
    1x2) OMP_NUM_THREADS=2 "$SGM" train "${args[@]}" 2>/dev/null ;;
    2x1) OMP_NUM_THREADS=1 mpirun "${MPIF[@]}" -np 2 "$SGM" train "${args[@]}" 2>"$T/err"
        tr '\r' '\n' <"$T/err" | grep "all-reduce" >"$T/timing.$model" ;;
    esac
    rate "$T/log" "$w" "$n"
}

echo "mpi_scaling: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $rounds rounds, best of each"
status=0
for model in unet mlp; do
    declare -A best=([1x1]=0 [1x2]=0 [2x1]=0)
    for r in $(seq 1 "$rounds"); do
        for s in 1x1 2x1 1x2; do
            v=$(run "$model" "$s")
            best[$s]=$(awk -v a="${best[$s]}" -v b="$v" 'BEGIN { print (b > a ? b : a) }')
        done
    done
    r2=$(awk -v a="${best[2x1]}" -v b="${best[1x1]}" 'BEGIN { printf "%.2f", a / b }')
    rt=$(awk -v a="${best[1x2]}" -v b="${best[1x1]}" 'BEGIN { printf "%.2f", a / b }')
    printf '%-5s steps/s: 1 proc x 1 thread %s | 1 proc x 2 threads %s (%sx) | 2 procs x 1 thread %s (%sx)\n' \
        "$model" "${best[1x1]}" "${best[1x2]}" "$rt" "${best[2x1]}" "$r2"
    sed 's/^/      P=2 (last round): /' "$T/timing.$model" 2>/dev/null
    if [ "$model" = unet ] && ! awk -v r="$r2" 'BEGIN { exit !(r >= 1.7) }'; then status=1; fi
    unset best
done
exit $status
