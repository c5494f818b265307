#!/usr/bin/env bash
# train_vs_torch.sh - training speed of sgm against PyTorch (issue 3): runs
# bench_train_step (sgm) and bench/torch_train_step.py (PyTorch, same
# architectures, batch, loss and AdamW) with the same thread count, ROUNDS
# times alternating sgm / torch (the machine may be shared: each side keeps its
# best round), and prints a table: model, sgm steps/s, torch steps/s, ratio,
# target, verdict. Targets: mlp (width 256, 4 blocks, batch 1024) >= 2x
# PyTorch; U-Net (Fashion-MNIST default config, batch 64) >= 1x.
#
# Usage: bench/train_vs_torch.sh [THREADS]          (default: nproc)
# Environment: SGM_BUILD_DIR (default ./build) holds bench_train_step;
#   ROUNDS (default 2); MODELS (mlp, unet or all; default all);
#   PYTHON (default /usr/bin/python3, needs python3-torch);
#   MLP_ARGS / UNET_ARGS: "K R W" (timed steps per repetition, repetitions,
#   warm-up steps; defaults "30 3 3" and "3 2 1"); OPENBLAS_CORETYPE, when
#   set, reaches both sides (PyTorch's linear layers may use the same
#   OpenBLAS), e.g. SkylakeX on CPUs newer than the installed OpenBLAS knows.
# Exit status 0 when every measured target is met, 1 when one is missed,
# 2 on a setup error.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
threads=${1:-$(nproc)}
build=${SGM_BUILD_DIR:-$root/build}
rounds=${ROUNDS:-2}
models=${MODELS:-all}
py=${PYTHON:-/usr/bin/python3}
mlp_args=${MLP_ARGS:-30 3 3}
unet_args=${UNET_ARGS:-3 2 1}
bin=$build/bench_train_step
if [ ! -x "$bin" ]; then
    echo "train_vs_torch: $bin not found (build it: cmake --build $build --target bench_train_step)" >&2
    exit 2
fi
if ! "$py" -c 'import torch' 2>/dev/null; then
    echo "train_vs_torch: $py cannot import torch (apt-get install python3-torch)" >&2
    exit 2
fi
case "$models" in mlp) list="mlp" ;; unet) list="unet" ;; all) list="mlp unet" ;;
    *) echo "train_vs_torch: MODELS must be mlp, unet or all" >&2; exit 2 ;; esac

ncpu=$(nproc)
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "threads $threads, rounds $rounds, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')," \
     "nproc $ncpu, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
     "OPENBLAS_CORETYPE ${OPENBLAS_CORETYPE:-(auto)}"
for r in $(seq 1 "$rounds"); do
    for m in $list; do
        if [ "$m" = mlp ]; then a=$mlp_args; else a=$unet_args; fi
        # alternate which side goes first from round to round
        if [ $((r % 2)) -eq 1 ]; then order="sgm torch"; else order="torch sgm"; fi
        for side in $order; do
            if [ "$side" = sgm ]; then
                # shellcheck disable=SC2086
                out=$("$bin" "$m" $a) || { echo "train_vs_torch: bench_train_step failed" >&2; exit 2; }
            else
                # shellcheck disable=SC2086
                out=$("$py" "$root/bench/torch_train_step.py" "$m" $a --threads "$threads") ||
                    { echo "train_vs_torch: torch_train_step.py failed" >&2; exit 2; }
            fi
            echo "$out" | awk -v s="$side" -v r="$r" '$1 == "RESULT" { print s, $2, $3, r }' |
                tee -a "$log" | awk '{ printf "  round %s: %-5s %-4s %10.3f steps/s\n", $4, $1, $2, $3 }'
        done
    done
done
echo
awk '
    { if ($3 > best[$1, $2]) best[$1, $2] = $3; seen[$2] = 1 }
    END {
        printf "%-6s %14s %14s %8s %8s  %s\n", "model", "sgm steps/s", "torch steps/s",
               "ratio", "target", "verdict"
        n = split("mlp unet", ms, " "); miss = 0
        for (i = 1; i <= n; i++) {
            m = ms[i]; if (!(m in seen)) continue
            tgt = (m == "mlp") ? 2 : 1
            ratio = best["sgm", m] / best["torch", m]
            v = ratio >= tgt ? "met" : "MISSED"; if (ratio < tgt) miss = 1
            printf "%-6s %14.3f %14.3f %7.2fx %7gx  %s\n", m, best["sgm", m], best["torch", m],
                   ratio, tgt, v
        }
        exit miss
    }' "$log"
