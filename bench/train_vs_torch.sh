#!/usr/bin/env bash
# train_vs_torch.sh - training and inference speed of sgm's NN engine against
# PyTorch (issues 3 and 12): bench_train_step (sgm) and
# bench/torch_train_step.py (PyTorch: the twins in tools/ref that the parity
# tests check, same batch, loss and AdamW), ROUNDS times alternating which
# side goes first (the machine may be shared: each configuration keeps its
# best round). PyTorch runs in every configuration a user could pick - 1 and
# THREADS threads, float32 and bf16 autocast - and its best one is the
# baseline of each row; sgm runs at THREADS threads in float32 (and in bf16
# mixed precision with SGM_PRECISIONS="fp32 bf16": its best configuration
# then counts, U-Net rows only). Prints, per
# model: sgm's rate, PyTorch's best rate and its configuration, the ratio,
# the target, the verdict, and both sides' peak resident memory (MiB, the
# process's ru_maxrss; each model runs in its own process).
#
# Models (bench_train_step.c): mlp (width 256, 4 blocks, batch 1024), unet
# (sgm_unet_config_default, batch 64), unet16 (issue 12: base 16, mult 1-2-4,
# one res block, 2 heads, embedding 128, batch 64) - training steps/s; and
# unet-infer / unet16-infer - forward calls/s at batch 250.
# Targets: 2x PyTorch's best for every row (issue 12).
#
# Usage: bench/train_vs_torch.sh [THREADS]          (default: nproc)
# Environment: SGM_BUILD_DIR (default ./build) holds bench_train_step;
#   ROUNDS (default 2); MODELS (space-separated subset, default all five);
#   PYTHON (default /usr/bin/python3, needs python3-torch);
#   TORCH_PRECISIONS (default "fp32 bf16"); SGM_PRECISIONS (default "fp32";
#   "fp32 bf16" adds sgm's bf16 runs, needs AVX512-BF16); MLP_ARGS / UNET_ARGS: "K R W"
#   (timed steps per repetition, repetitions, warm-up steps; defaults
#   "30 3 3" and "3 2 1"); OPENBLAS_CORETYPE, when set, reaches both sides.
# Exit status 0 when every target is met, 1 when one is missed, 2 on a setup
# error.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
threads=${1:-$(nproc)}
build=${SGM_BUILD_DIR:-$root/build}
rounds=${ROUNDS:-2}
models=${MODELS:-mlp unet unet16 unet-infer unet16-infer}
precisions=${TORCH_PRECISIONS:-fp32 bf16}
sgm_precisions=${SGM_PRECISIONS:-fp32}
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
for m in $models; do
    case "$m" in mlp | unet | unet16 | unet-infer | unet16-infer) ;;
        *) echo "train_vs_torch: unknown model '$m' in MODELS" >&2; exit 2 ;; esac
done
torch_threads="1"
[ "$threads" -gt 1 ] && torch_threads="1 $threads"
bf16=$(grep -m1 -o -w avx512_bf16 /proc/cpuinfo || echo "no avx512_bf16")

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "threads $threads, rounds $rounds, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')" \
     "($bf16), nproc $(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg)," \
     "OPENBLAS_CORETYPE ${OPENBLAS_CORETYPE:-(auto)}"
# one side's run: "<side> <config> <model> <rate> <peak MiB> <round>" lines into the log
run_side() { # side config model round cmd...
    local side=$1 cfg=$2 m=$3 r=$4 out
    shift 4
    out=$("$@") || { echo "train_vs_torch: $side ($cfg) failed on $m" >&2; exit 2; }
    echo "$out" | awk -v s="$side" -v c="$cfg" -v r="$r" '$1 == "RESULT" { print s, c, $2, $3, $5, r }' |
        tee -a "$log" | awk '{ printf "  round %s: %-5s %-12s %-13s %10.3f /s  %7.1f MiB\n", $6, $1, $2, $3, $4, $5 }'
}
for r in $(seq 1 "$rounds"); do
    for m in $models; do
        case "$m" in mlp) a=$mlp_args ;; *) a=$unet_args ;; esac
        # alternate which side goes first from round to round
        if [ $((r % 2)) -eq 1 ]; then order="sgm torch"; else order="torch sgm"; fi
        for side in $order; do
            if [ "$side" = sgm ]; then
                for p in $sgm_precisions; do
                    [ "$p" != fp32 ] && [ "$m" = mlp ] && continue # no bf16 mlp
                    # shellcheck disable=SC2086
                    SGM_BENCH_PRECISION=$p OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads \
                        run_side sgm "${threads}t-$p" "$m" "$r" "$bin" "$m" $a || exit 2
                done
            else
                for t in $torch_threads; do
                    for p in $precisions; do
                        # shellcheck disable=SC2086
                        OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t \
                            run_side torch "${t}t-$p" "$m" "$r" \
                            "$py" "$root/bench/torch_train_step.py" "$m" $a --threads "$t" --precision "$p" || exit 2
                    done
                done
            fi
        done
    done
done
echo
awk -v list="$models" '
    { k = $1 SUBSEP $2 SUBSEP $3
      if ($4 > rate[k]) rate[k] = $4
      if ($5 > mem[$1, $3]) mem[$1, $3] = $5 }
    END {
        for (k in rate) {
            split(k, f, SUBSEP)
            if (rate[k] > best[f[1], f[3]]) { best[f[1], f[3]] = rate[k]; cfg[f[1], f[3]] = f[2] }
        }
        printf "%-13s %11s %-9s %11s %-9s %7s %7s  %-7s %9s %9s\n", "model", "sgm /s", "(config)",
               "torch /s", "(config)", "ratio", "target", "verdict", "sgm MiB", "torch MiB"
        n = split(list, ms, " "); miss = 0
        for (i = 1; i <= n; i++) {
            m = ms[i]; if (!(("sgm", m) in best) || !(("torch", m) in best)) continue
            ratio = best["sgm", m] / best["torch", m]
            v = ratio >= 2 ? "met" : "MISSED"; if (ratio < 2) miss = 1
            printf "%-13s %11.3f %-9s %11.3f %-9s %6.2fx %6gx  %-7s %9.1f %9.1f\n", m, best["sgm", m],
                   cfg["sgm", m], best["torch", m], cfg["torch", m], ratio, 2, v, mem["sgm", m],
                   mem["torch", m]
        }
        print "(rates: training steps/s, or forward calls/s at batch 250 for *-infer; config:"
        print " threads-precision of the best run of each side; MiB: peak resident memory)"
        exit miss
    }' "$log"
