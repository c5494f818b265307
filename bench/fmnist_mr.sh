#!/usr/bin/env bash
# fmnist_mr.sh - issue 9, acceptance 4: a mean-reverting restoration model
# (IR-SDE, Luo et al. 2023; docs/conditioning.md "Training an MR restoration
# model") trained on Fashion-MNIST and its PSNR.
#
#   bench/fmnist_mr.sh [BUILD_DIR]        (BUILD_DIR default: build)
#
# 1. trains (unless $OUT/mr.safetensors exists) the U-Net with mu as a
#    second input channel on (x0, mu = DEGRADE(x0)) pairs of the 60,000
#    training images, for MINUTES minutes of wall clock (--max-time; one
#    thread, nice):
#      sgm train --arch unet --data fashion-mnist --process mr --degrade $DEGRADE \
#        --mr-lambda $LAMBDA --prediction edm --sigma-data 0.3 --unet-base 16 \
#        --unet-mult 1,2,2 --unet-res 1 --unet-groups 4 --batch 32 --steps 3000 \
#        --lr 1e-3 --warmup 100 --ema 0.995 --max-time $MINUTES
# 2. restores the first N test images (t10k, x / 127.5 - 1): mu = the
#    checkpoint's degradation of each (`sgm sample --mu-from`, noise from
#    --seed 0, written with --save-mu), SAMPLER (mrs_ode) on STEPS (20)
#    log-SNR steps of the MR process from x_T = mu + lambda n;
# 3. scores the degraded input mu and the restoration against the clean
#    images with the definitions of bench/fmnist_restore.py (every image
#    clipped to [-1, 1]; PSNR = 10 log10(4 / MSE) per image, then the mean;
#    SSIM 11 x 11 Gaussian window std 1.5), so that DEGRADE =
#    blur:1,noise:0.05 is the blur row of the table of bench/fmnist_restore.sh
#    (std 1 px blur, sigma_y 0.05, test images 0..N-1).
# Environment: OUT (mr-out), MINUTES (18), N (250), DEGRADE
# (blur:1,noise:0.05), LAMBDA (0.3), STEPS (20), SAMPLER (mrs_ode).
# Needs the Debian python3 with numpy and dataset-fashion-mnist.
set -euo pipefail
BUILD=${1:-build}
SGM=$(cd "$BUILD" && pwd)/sgm
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
OUT=${OUT:-mr-out}
MINUTES=${MINUTES:-18}
N=${N:-250}
DEGRADE=${DEGRADE:-blur:1,noise:0.05}
LAMBDA=${LAMBDA:-0.3}
STEPS=${STEPS:-20}
SAMPLER=${SAMPLER:-mrs_ode}
mkdir -p "$OUT"
CK="$OUT/mr.safetensors"
if [ ! -f "$CK" ]; then
    OMP_NUM_THREADS=1 nice "$SGM" train --arch unet --data fashion-mnist --process mr \
        --degrade "$DEGRADE" --mr-lambda "$LAMBDA" --prediction edm --sigma-data 0.3 \
        --unet-base 16 --unet-mult 1,2,2 --unet-res 1 --unet-groups 4 --batch 32 \
        --steps 3000 --lr 1e-3 --warmup 100 --ema 0.995 --max-time "$MINUTES" \
        --save-every 0 --save-every-time 4 --log-every 50 --log "$OUT/train.jsonl" --out "$CK"
fi
$PY - "$N" "$OUT/truth.npy" <<'EOF'
import gzip, sys
import numpy as np
n, out = int(sys.argv[1]), sys.argv[2]
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
np.save(out, x[:n].astype(np.float64) / 127.5 - 1.0)
EOF
t0=$(date +%s.%N)
OMP_NUM_THREADS=1 nice "$SGM" sample --model "ckpt:$CK" --mu-from "$OUT/truth.npy" --n "$N" \
    --seed 0 --sampler "$SAMPLER" --schedule logsnr --steps "$STEPS" --save-mu "$OUT/mu.npy" \
    --out "$OUT/restored.npy"
t1=$(date +%s.%N)
echo "restore wall: $(echo "$t1 - $t0" | bc) s for $N images"
$PY - "$HERE" "$OUT" <<'EOF'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from fmnist_restore import psnr, ssim
out = sys.argv[2]
t = np.load(out + "/truth.npy")
n = t.shape[0]
print("| input | N | PSNR (dB) | SSIM |")
print("|---|---|---|---|")
for name, f in (("degraded input mu", "mu"), ("MR restoration", "restored")):
    x = np.clip(np.load("%s/%s.npy" % (out, f)), -1, 1).reshape(n, 28, 28)
    p = psnr(x, t.reshape(n, 28, 28))
    s = ssim(x, t.reshape(n, 28, 28))
    print("| %s | %d | %.2f +- %.2f | %.3f |" % (name, n, p.mean(), p.std() / np.sqrt(n), s.mean()))
EOF
