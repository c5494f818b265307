#!/usr/bin/env bash
# mr_train.sh - `sgm train --process mr --degrade SPEC` (a mean-reverting
# restoration U-Net, docs/conditioning.md) on the first 64 Fashion-MNIST
# images (a tiny net, 3 steps), then `sgm sample` from that checkpoint with
# --mu-from (the checkpoint's own degradation of clean rows; --save-mu) and
# with --mu: [N, 1, 28, 28] finite restorations, the same bytes on a rerun
# and from the saved mu; the mlp variant (mu as extra features) on the 2-D
# rings data, trained and restored. Bad input
# exits 2 with one stderr line and writes nothing: --degrade (or
# --degrade-seed) without --process mr, an unknown or malformed degradation,
# --process mr without --degrade or with --classes; at sampling
# mu of the wrong shape, --mu with --mu-from, --mu-from with a gmm: model,
# --save-mu without --process mr, a contradicting --mr-lambda. Skipped (77)
# without Debian's dataset-fashion-mnist.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
. "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"
if ! have_fashion_mnist; then
    echo "fashion-mnist not installed: skipped"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# refused (tests/cli_lib.bash): exit 2, one line on stderr, no output
REFUSED_OUT=("$T/out.npy" "$T/mu_out.npy" "$T/x.safetensors")
REFUSED_MATCH=icase

NET=(--arch unet --data fashion-mnist --n-data 64 --unet-base 8 --unet-mult 1,2
    --unet-groups 4 --unet-res 1 --batch 8 --quiet)
M="$T/m.safetensors"
if "$SGM" train "${NET[@]}" --process mr --degrade blur:1.5,noise:0.05 --mr-lambda 0.3 \
    --prediction edm --sigma-data 0.4 --steps 3 --out "$M" >/dev/null 2>"$T/err"; then
    ok
else
    bad "train --process mr: exit $?"
    cat "$T/err"
fi

# clean rows to degrade: any finite [3, 1, 28, 28] rows (here zeros)
npy zeros "(3, 1, 28, 28)" /dev/null 0
head -c $((3 * 784 * 8)) /dev/zero >>"$T/in_zeros.npy"

S=(sample --model "ckpt:$M" --n 3 --seed 4 --quiet)
if "$SGM" "${S[@]}" --mu-from "$T/in_zeros.npy" --save-mu "$T/mu.npy" --out "$T/r1.npy" \
    >/dev/null 2>"$T/err"; then
    n=$(values "$T/r1.npy" | wc -l)
    if [ "$n" -eq $((3 * 784)) ] && ! values "$T/r1.npy" | grep -qi -e nan -e inf &&
        od -A n -c -N 80 "$T/r1.npy" | tr -d ' \n' | grep -q "(3,1,28,28)"; then
        ok
    else
        bad "--mu-from: $n values or not [3, 1, 28, 28]"
    fi
    # the degraded zeros are the noise alone: not all zero, finite
    if values "$T/mu.npy" | grep -qv '^0$'; then ok; else bad "--save-mu wrote no noise"; fi
else
    bad "sample --mu-from: exit $?"
    cat "$T/err"
fi
"$SGM" "${S[@]}" --mu-from "$T/in_zeros.npy" --out "$T/r2.npy" >/dev/null 2>&1
"$SGM" "${S[@]}" --mu "$T/mu.npy" --out "$T/r3.npy" >/dev/null 2>&1
if cmp -s "$T/r1.npy" "$T/r2.npy" && cmp -s "$T/r1.npy" "$T/r3.npy"; then
    ok
else
    bad "rerun / --mu of the saved mu differ"
fi
# one mu for all rows; the default path recorded in the checkpoint is the MR Sampler
npy mu1 "(1, 784)" "$T/mu.npy" $((784 * 8))
if "$SGM" sample --model "ckpt:$M" --n 2 --mu "$T/in_mu1.npy" --out "$T/r4.npy" 2>/dev/null |
    grep -q "mrs_ode"; then
    ok
else
    bad "one mu for all rows / default sampler"
fi

# the mlp: mu as extra input features (2-D rings data, degraded as 1 x 1 x 2)
if "$SGM" train --data rings --n-data 512 --process mr --degrade noise:0.3 --width 32 --depth 1 \
    --batch 64 --steps 3 --quiet --out "$T/mlp.safetensors" >/dev/null 2>"$T/err" &&
    npy z2 "(4, 2)" /dev/null 0 && head -c 64 /dev/zero >>"$T/in_z2.npy" &&
    "$SGM" sample --model "ckpt:$T/mlp.safetensors" --mu-from "$T/in_z2.npy" --n 4 --quiet \
        --out "$T/rm.npy" >/dev/null 2>>"$T/err" &&
    [ "$(values "$T/rm.npy" | wc -l)" -eq 8 ] && ! values "$T/rm.npy" | grep -qi -e nan -e inf; then
    ok
else
    bad "mlp MR train + restore"
    cat "$T/err"
fi

B=(train "${NET[@]}" --steps 1 --out "$T/x.safetensors")
refused "degrade without mr" "--degrade applies to --process mr" "${B[@]}" --degrade noise:0.1
refused "degrade-seed without mr" "--degrade applies" "${B[@]}" --degrade-seed 3
refused "unknown degradation" "unknown stage 'sharpen'" "${B[@]}" --process mr \
    --degrade blur:1,sharpen:2
refused "malformed degradation" "blur needs a number" "${B[@]}" --process mr --degrade blur
refused "noise < 0" "out of range" "${B[@]}" --process mr --degrade noise:-1
refused "down not dividing" "does not divide" "${B[@]}" --process mr --degrade down:3
refused "mr without degrade" "needs --degrade" "${B[@]}" --process mr
refused "mr classes" "--classes" "${B[@]}" --process mr --degrade noise:0.1 --classes
refused "mr lambda 0" "--mr-lambda" "${B[@]}" --process mr --degrade noise:0.1 --mr-lambda 0
refused "mr options without mr" "--mr-lambda" "${B[@]}" --mr-lambda 2

npy mu2x5 "(2, 5)" "$T/mu.npy" 80
refused "mu wrong shape" "--mu.*shape" "${S[@]}" --mu "$T/in_mu2x5.npy" --out "$T/out.npy"
refused "mu-from wrong shape" "--mu-from.*shape" "${S[@]}" --mu-from "$T/in_mu2x5.npy" \
    --out "$T/out.npy"
refused "no mu" "needs the condition --mu" "${S[@]}" --out "$T/out.npy"
refused "mu and mu-from" "not both" "${S[@]}" --mu "$T/mu.npy" --mu-from "$T/mu.npy" \
    --out "$T/out.npy"
refused "lambda contradicts" "--mr-lambda.*contradicts" "${S[@]}" --mu "$T/mu.npy" \
    --mr-lambda 1 --out "$T/out.npy"
G="gmm:${SGM_SOURCE_DIR}/tests/data/models/gmm2d.json"
refused "mu-from gmm" "--mu-from needs an MR checkpoint" sample --model "$G" --process mr \
    --sampler mrs_ode --schedule logsnr --steps 5 --n 1 --mu-from "$T/in_mu1.npy" \
    --out "$T/out.npy"
refused "save-mu without mr" "--save-mu" sample --model "$G" --process vp --sampler ddim \
    --schedule karras --steps 5 --n 1 --save-mu "$T/mu_out.npy" --out "$T/out.npy"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
