#!/usr/bin/env bash
# fmnist_race.sh - the Fashion-MNIST race of issue 12: quality per minute of
# training on this machine. Trains a U-Net with `sgm train --max-time` up to
# each of the given wall-clock budgets (cumulative minutes of training; the
# sampling and scoring between them are not counted), and at each budget
# samples RACE_N images (default 10,000) with the recipe's sampler (at most
# 35 NFE) and scores them with ../shared/fmnist-eval/fd.py (FD, precision,
# recall, coverage against the training set) when that folder is present.
#
# Usage: bench/fmnist_race.sh MINUTES[,MINUTES...] [RECIPE]
#   e.g. bench/fmnist_race.sh 15,27.5,30,55
#   RECIPE: a bash file that sets the arrays TRAIN_OPTS (options of
#   `sgm train`, without --out/--steps/--max-time) and SAMPLE_OPTS (options
#   of `sgm sample`: sampler, schedule, steps, class); default: the recipe
#   of docs/fashion-mnist.md, unconditional, Heun 18 steps (35 NFE).
# Environment: SGM_BUILD_DIR (default ./build), RACE_DIR (default
#   ./race-<date>: checkpoints per budget, samples, logs, table.txt),
#   RACE_N (default 10000), FMNIST_EVAL (default ../shared/fmnist-eval),
#   PYTHON (default /usr/bin/python3), OMP_NUM_THREADS (default nproc).
# Output: one line per budget - minutes, steps, steps/s, FD, precision,
#   recall, coverage, sampling seconds - also in RACE_DIR/table.txt; a
#   10 x 10 grid of the first 100 samples per budget (RACE_DIR/grid-M.png).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
budgets=${1:?usage: bench/fmnist_race.sh MINUTES[,MINUTES...] [RECIPE]}
recipe=${2:-}
sgm=${SGM_BUILD_DIR:-$root/build}/sgm
dir=${RACE_DIR:-$root/race-$(date +%Y%m%d-%H%M%S)}
n=${RACE_N:-10000}
evald=${FMNIST_EVAL:-$root/../shared/fmnist-eval}
py=${PYTHON:-/usr/bin/python3}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}

TRAIN_OPTS=(--arch unet --data fashion-mnist --unet-base 16 --unet-mult 1,2,2 --unet-res 1
    --unet-groups 4 --prediction edm --sigma-data 0.5 --batch 64 --lr 1e-3 --warmup 100
    --ema 0.995)
SAMPLE_OPTS=(--sampler heun --schedule karras --steps 18)
if [ -n "$recipe" ]; then
    # shellcheck disable=SC1090
    . "$recipe" || { echo "fmnist_race: cannot read recipe $recipe" >&2; exit 2; }
fi
[ -x "$sgm" ] || { echo "fmnist_race: $sgm not found (make build)" >&2; exit 2; }
prev=0
for m in ${budgets//,/ }; do
    if ! awk -v m="$m" -v p="$prev" 'BEGIN { exit !(m + 0 > p + 0) }'; then
        echo "fmnist_race: budgets must be increasing minutes > 0 (got $m after $prev)" >&2
        exit 2
    fi
    prev=$m
done
score=1
if [ ! -f "$evald/fd.py" ] || ! "$py" -c 'import torch, numpy, scipy' 2>/dev/null; then
    echo "fmnist_race: $evald/fd.py or $py with torch, numpy and scipy missing (apt-get install python3-torch python3-scipy): FD not computed" >&2
    score=0
fi
mkdir -p "$dir" || exit 2
# fd.py caches reference statistics beside itself; elsewhere when read-only
[ -w "$evald" ] || export FMNIST_EVAL_CACHE="$dir/ref_stats.npz"
ck="$dir/race.safetensors"
table="$dir/table.txt"
{
    echo "# fmnist_race $budgets, recipe ${recipe:-default}, N $n, OMP_NUM_THREADS $OMP_NUM_THREADS," \
         "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# train: ${TRAIN_OPTS[*]}"
    echo "# sample: ${SAMPLE_OPTS[*]}"
    printf "%8s %8s %8s %9s %9s %9s %9s %9s\n" minutes steps steps/s FD precision recall coverage sample_s
} | tee "$table"
prev=0
for m in ${budgets//,/ }; do
    budget=$(awk -v m="$m" -v p="$prev" 'BEGIN { printf "%.6g", m - p }')
    if [ "$prev" = 0 ]; then
        "$sgm" train "${TRAIN_OPTS[@]}" --steps 2000000000 --save-every 0 --max-time "$budget" \
            --quiet --out "$ck" --log "$dir/train.jsonl" 2>>"$dir/train.err"
    else
        "$sgm" train --resume "$ck" --steps 2000000000 --save-every 0 --max-time "$budget" \
            --quiet --out "$ck" --log "$dir/train.jsonl" 2>>"$dir/train.err"
    fi || { echo "fmnist_race: training failed (see $dir/train.err)" >&2; exit 1; }
    prev=$m
    steps=$(sed -n 's/.*reached at step \([0-9]*\) .*/\1/p' "$dir/train.err" | tail -n 1)
    cp "$ck" "$dir/race-${m}min.safetensors"
    t0=$(date +%s.%N)
    "$sgm" sample --model "ckpt:$ck" "${SAMPLE_OPTS[@]}" --n "$n" --seed 0 \
        --out "$dir/samples-${m}min.npy" >/dev/null 2>>"$dir/sample.err" ||
        { echo "fmnist_race: sampling failed (see $dir/sample.err)" >&2; exit 1; }
    ts=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    "$sgm" sample --model "ckpt:$ck" "${SAMPLE_OPTS[@]}" --n 100 --seed 0 \
        --out "$dir/grid-${m}min.npy" --png "$dir/grid-${m}min.png" >/dev/null 2>>"$dir/sample.err"
    fd=- p=- r=- c=-
    if [ "$score" = 1 ]; then
        (cd "$evald" && "$py" fd.py "$dir/samples-${m}min.npy" --json "$dir/fd-${m}min.json") \
            >"$dir/fd-${m}min.txt" 2>&1 || echo "fmnist_race: fd.py failed (see $dir/fd-${m}min.txt)" >&2
        if [ -s "$dir/fd-${m}min.json" ]; then
            read -r fd p r c < <("$py" -c 'import json, sys; d = json.load(open(sys.argv[1]))
print("%.3f %.4f %.4f %.4f" % (d["fd"], d["precision"], d["recall"], d["coverage"]))' "$dir/fd-${m}min.json")
        fi
    fi
    sps=$(awk -v s="$steps" -v m="$m" 'BEGIN { printf "%.2f", s / (60 * m) }')
    printf "%8s %8s %8s %9s %9s %9s %9s %9s\n" "$m" "$steps" "$sps" "$fd" "$p" "$r" "$c" "$ts" | tee -a "$table"
done
