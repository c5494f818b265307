#!/usr/bin/env bash
# train_quality.sh - issue 15: the training defaults on the seeded test family
# of random mixtures (sgm mixture; src/model/gmm_family.c). For each of ten
# members (seed i = 1..10, dimension 2, 8, 16, 2, 8, ...): 100,000 exact draws
# train `sgm train` with the defaults only (--steps 6000 --batch 1024), the
# checkpoint is sampled along its recorded default path (sgm sample with no
# sampler options: dpmpp_2m, Karras, trained sigma range) at 20 and 50 steps
# and, for the split of model and sampler error, with a tight adaptive solve
# (rk45, rtol = atol = 1e-4; 2,000 samples, ~170,000 NFE per batch) over the
# same range; 10,000 samples each (20 / 50 steps) are
# compared with 50,000 held-out exact draws by `sgm eval --gmm`:
#   gap   mean exact log-density of the held-out draws minus that of the
#         samples (nats; 0 for a perfect sampler, up to noise of ~0.02)
#   mass  per component, the fraction of samples whose most responsible
#         component it is, over the same fraction of the held-out draws
#         (the same classifier on both sides, so an overlapping pair is not
#         penalised for overlapping); the table shows the range over components
# and prints a table (markdown) on stdout; acceptance (issue 15): gap <= 0.10
# and masses in [0.85, 1.15] at 20 steps on >= 9 of 10, gap <= 0.05 at 50 steps
# on >= 9 of 10.
#   bench/train_quality.sh [BUILD_DIR]   (default: build)
# Environment: SEEDS ("1 2 ... 10"), STEPS (6000), BATCH (1024), TRAIN_OPTS
# (extra `sgm train` options, e.g. a smaller network for a quick look),
# N_DATA (100000), OUT (a kept work folder; default a temporary one),
# ADAPTIVE (1: also the tight adaptive solve). Cost: about 2 minutes of
# training per mixture on an idle 16-core machine, far more on a loaded one.
set -euo pipefail
BUILD=${1:-build}
SGM="$BUILD/sgm"
PY=/usr/bin/python3
SEEDS=${SEEDS:-"1 2 3 4 5 6 7 8 9 10"}
STEPS=${STEPS:-6000}
BATCH=${BATCH:-1024}
N_DATA=${N_DATA:-100000}
TRAIN_OPTS=${TRAIN_OPTS:-}
ADAPTIVE=${ADAPTIVE:-1}
if [ -n "${OUT:-}" ]; then W=$OUT; mkdir -p "$W"; else W=$(mktemp -d); trap 'rm -rf "$W"' EXIT; fi

# one row of results: gap and mass range of samples S against mixture M / held-out H
score() {
    "$SGM" eval --a "$2" --b "$3" --gmm "$1" --metrics gmm --json "$3.json" >/dev/null
    $PY - "$3.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["metrics"]
v = lambda n: r[n]["value"]
k, rat = 0, []
while "mass_b[%d]" % k in r:
    rat.append(v("mass_b[%d]" % k) / v("mass_a[%d]" % k)); k += 1
print("%.4f %.3f %.3f" % (v("loglik_a") - v("loglik_b"), min(rat), max(rat)))
PY
}

echo "| mixture | d | K | train s | gap@20 | mass@20 | gap@50 | mass@50 | gap adaptive (NFE) | mass adaptive |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for i in $SEEDS; do
    case $(( (i - 1) % 3 )) in 0) d=2 ;; 1) d=8 ;; *) d=16 ;; esac
    M="$W/m$i.json" H="$W/held$i.npy" C="$W/c$i.safetensors"
    "$SGM" mixture --seed "$i" --dim "$d" --out "$M" --draws 50000 --draws-out "$H" --draws-seed 99 >/dev/null
    K=$($PY -c "import json,sys; print(len(json.load(open(sys.argv[1]))['weights']))" "$M")
    t0=$(date +%s)
    # shellcheck disable=SC2086
    "$SGM" train --data "gmm:$M" --n-data "$N_DATA" --steps "$STEPS" --batch "$BATCH" --save-every 0 \
        --quiet --out "$C" $TRAIN_OPTS
    t1=$(date +%s)
    row="| $i | $d | $K | $((t1 - t0)) |"
    for ns in 20 50; do
        "$SGM" sample --model "ckpt:$C" --steps $ns --n 10000 --out "$W/s$i.$ns.npy" --quiet >/dev/null
        read -r gap lo hi <<<"$(score "$M" "$H" "$W/s$i.$ns.npy")"
        row="$row $gap | $lo-$hi |"
    done
    if [ "$ADAPTIVE" = 1 ]; then
        nfe=$("$SGM" sample --model "ckpt:$C" --sampler rk45 --rtol 1e-4 --atol 1e-4 --n 2000 \
              --out "$W/s$i.ad.npy" --quiet | sed -n 's/.*NFE \([0-9-]*\).*/\1/p')
        read -r gap lo hi <<<"$(score "$M" "$H" "$W/s$i.ad.npy")"
        row="$row $gap ($nfe) | $lo-$hi |"
    else
        row="$row - | - |"
    fi
    echo "$row"
done
