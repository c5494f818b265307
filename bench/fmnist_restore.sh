#!/usr/bin/env bash
# fmnist_restore.sh - issue 9, acceptance 2: posterior sampling on Fashion-MNIST.
#
#   bench/fmnist_restore.sh CKPT.safetensors [BUILD_DIR]   (BUILD_DIR default: build)
#
# CKPT: the class-conditional U-Net of docs/fashion-mnist.md trained with
# `sgm train` for 3,000 steps (the recipe's command with --steps 3000):
#   sgm train --arch unet --data fashion-mnist --classes --label-dropout 0.1 \
#     --unet-base 16 --unet-mult 1,2,2 --unet-res 1 --unet-groups 4 \
#     --prediction edm --sigma-data 0.5 --batch 64 --steps 3000 --lr 1e-3 \
#     --lr-min 1e-4 --warmup 100 --ema 0.995 --out fashion.safetensors
# The first N test images (t10k, pixels x / 127.5 - 1 in [-1, 1]) are measured
# with sgm's own operators (`sgm restore --measure`, sigma_y = 0.05):
#   mask  the top 14 rows observed, the bottom half inpainted
#   down  2 x 2 average pooling (2x super-resolution, y 14 x 14)
#   blur  Gaussian blur, std BLUR_SIGMA px (default 1), radius 3 std, zero padding
# and restored by every posterior method of `sgm restore` (dps, pigdm, replace,
# repaint, reddiff: all apply to these linear operators; DDRM is not
# implemented, Pi-GDM covers the SVD-based linear case), one restoration per
# image (--y of N rows). Rows of the table: the degraded input itself and an
# unconditional prior sample (no measurement) as the references. Then
# classifier-free guidance: N samples with --class rows at each scale of
# CFG_SCALES. bench/fmnist_restore.py scores everything (PSNR, SSIM, the
# fixed classifier's accuracy; definitions there) and writes the grids.
#
# Needs the classifier folder ../shared/fmnist-eval beside the checkout (or FMNIST_EVAL) and
# the Debian python3 with numpy + torch; without them it says so and exits 0.
#
# Environment: N (1000), CHUNK (50 rows per sgm call; chunks run in order, so
# a stopped run has whole chunks of every method), JOBS (2 parallel calls,
# one thread each), OUT (work folder, kept: a rerun with the same OUT skips
# the parts already there), STEPS (20: Karras schedule, the checkpoint's VP
# process), REDDIFF_STEPS (50), CFG_SCALES (0,1,2,3), N_CFG (500), METHODS, OPS,
# SKIP (op:method pairs left out; default blur:repaint: RePaint is replacement
# plus resampling, and replacement of a blurred image does not restore it, see
# docs/conditioning.md).
# Cost: per chunk of 50 images (13 restorations each, NFE 20-50, DPS and
# Pi-GDM one VJP per step) about 8-10 min wall on the shared 2-core machine
# at load ~30 under nice 10, so N = 1000 takes hours there (652 s on the same
# machine idle, JOBS=2); the job list is
# chunk-major, so a run stopped early has the same first images for every row,
# and bench/fmnist_restore.py scores the first n images that every row has.
set -euo pipefail
CKPT=${1:?usage: $0 CKPT.safetensors [BUILD_DIR]}
BUILD=${2:-build}
SGM=$(cd "$BUILD" && pwd)/sgm
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
export FMNIST_EVAL=${FMNIST_EVAL:-$(cd "$(dirname "$0")/../.." && pwd)/shared/fmnist-eval}
if [ ! -f "$FMNIST_EVAL/classifier.pt" ] || ! $PY -c "import numpy, torch" 2>/dev/null; then
    echo "fmnist_restore: needs $FMNIST_EVAL/classifier.pt and python3 with numpy + torch; skipped"
    exit 0
fi
N=${N:-1000}
CHUNK=${CHUNK:-50}
JOBS=${JOBS:-2}
STEPS=${STEPS:-20}
REDDIFF_STEPS=${REDDIFF_STEPS:-50}
BLUR_SIGMA=${BLUR_SIGMA:-1}
SY=0.05
CFG_SCALES=${CFG_SCALES:-0,1,2,3}
N_CFG=${N_CFG:-500}
METHODS=${METHODS:-"replace reddiff dps pigdm repaint"}
OPS=${OPS:-"mask down blur"}
SKIP=${SKIP:-"blur:repaint"}
OUT=${OUT:-fmnist_restore_out}
mkdir -p "$OUT/parts"
OUT=$(cd "$OUT" && pwd)
M="ckpt:$CKPT"
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive

[ -f "$OUT/truth.npy" ] || $PY "$HERE/fmnist_restore.py" prep "$N" "$OUT"
opargs() { # the operator's options
    case $1 in
        mask) echo "--operator mask --mask $OUT/mask.npy" ;;
        down) echo "--operator down --factor 2" ;;
        blur) echo "--operator blur --blur-sigma $BLUR_SIGMA" ;;
    esac
}
for op in $OPS; do
    [ -f "$OUT/y_$op.npy" ] || "$SGM" restore --model "$M" $(opargs $op) --measure "$OUT/truth.npy" \
        --sigma-y $SY --seed 1 --out "$OUT/y_$op.npy"
done

# the settings of each method (published step sizes / defaults of sgm restore)
margs() {
    case $1 in
        dps) echo "--method dps --sampler ddpm --zeta 1 --schedule karras --steps $STEPS" ;;
        pigdm) echo "--method pigdm --sampler ddim --schedule karras --steps $STEPS" ;;
        replace) echo "--method replace --sampler ddpm --schedule karras --steps $STEPS" ;;
        repaint) echo "--method repaint --sampler ddpm --jump-length 5 --resample 3 \
--schedule karras --steps $STEPS" ;;
        reddiff) echo "--method reddiff --lambda 0.25 --lr 0.1 --schedule karras --steps $REDDIFF_STEPS" ;;
    esac
}

# every chunk's measurements: OUT/parts/y_<op>.c<k>.npy
for op in $OPS; do
    [ -f "$OUT/parts/y_$op.c0.npy" ] || $PY -c "import numpy as np, sys
y = np.load(sys.argv[1])
for k in range(0, len(y), $CHUNK):
    np.save(sys.argv[2] % (k // $CHUNK), y[k:k + $CHUNK])" "$OUT/y_$op.npy" "$OUT/parts/y_$op.c%d.npy"
done

# the job list, chunk-major: every job writes OUT/parts/<name>.c<k>.npy
JOBLIST="$OUT/jobs.txt"
: > "$JOBLIST"
nch=$(( (N + CHUNK - 1) / CHUNK ))
for ((k = 0; k < nch; k++)); do
    r0=$((k * CHUNK)); n=$(( N - r0 < CHUNK ? N - r0 : CHUNK ))
    for op in $OPS; do
        for m in $METHODS; do
            case " $SKIP " in *" $op:$m "*) continue ;; esac
            f="$OUT/parts/r_${op}_$m.c$k.npy"
            [ -f "$f" ] || echo "'$SGM' restore --model '$M' $(opargs $op) --y '$OUT/parts/y_$op.c$k.npy' --y-rows \
--sigma-y $SY $(margs $m) --seed 3 --row0 $r0 --out '$f'" >> "$JOBLIST"
        done
    done
    # the prior: unconditional samples (null class), seed 7 + chunk
    f="$OUT/parts/prior.c$k.npy"
    [ -f "$f" ] || echo "'$SGM' sample --model '$M' --sampler dpmpp_2m --schedule karras \
--steps $STEPS --n $n --seed $((7 + k)) --out '$f' --quiet" >> "$JOBLIST"
    [ $k -gt 0 ] && continue
    # after the first chunk: CFG (N_CFG class-conditional samples per scale,
    # class i * 10 / N_CFG)
    for w in ${CFG_SCALES//,/ }; do
        f="$OUT/cfg_$w.npy"
        [ -f "$f" ] || echo "'$SGM' sample --model '$M' --sampler dpmpp_2m --schedule karras \
--steps $STEPS --n $N_CFG --class rows --guidance $w --seed 11 --out '$f' --quiet" >> "$JOBLIST"
    done
done
echo "fmnist_restore: $(wc -l < "$JOBLIST") jobs, $JOBS at a time, N = $N in chunks of $CHUNK -> $OUT" >&2
t0=$(date +%s)
tr '\n' '\0' < "$JOBLIST" | xargs -0 -P "$JOBS" -I{} nice -n 10 bash -c "{} >> '$OUT/log.txt' 2>&1 || echo 'FAILED: {}' >> '$OUT/log.txt'"
echo "fmnist_restore: sgm runs took $(( $(date +%s) - t0 )) s wall" >&2

$PY "$HERE/fmnist_restore.py" score "$OUT" "${OPS// /,}" "${METHODS// /,}"
$PY "$HERE/fmnist_restore.py" cfg "$OUT" "$CFG_SCALES"
