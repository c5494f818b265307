#!/usr/bin/env bash
# unet.sh - the U-Net in the CLI: `sgm train --arch unet --classes` on the
# first 64 Fashion-MNIST images (a tiny net, a few steps), --resume to a
# later step, `sgm sample` from the image checkpoint ([N, 1, 28, 28] npy,
# --class rows / lists, --guidance, --png with and without a diffusers
# --grid; a --grid value ending in .png is refused), `sgm nll` of
# the sampled images through the U-Net's VJP (Hutchinson), and bad input
# (exit 2, one line on stderr, nothing written). Reported as skipped to CTest
# (exit 77, never as passed) when the Debian dataset-fashion-mnist files that
# scripts/install-deps.sh installs are missing.
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
REFUSED_OUT=("$T/out.npy" "$T/out.png" "$T/x.safetensors")
REFUSED_STDOUT=empty
REFUSED_MATCH=icase

# --lr-min -1: a constant rate, so that a 2-step run resumed to 4 steps equals
# the straight 4-step run (the default cosine decay ends at the first --steps)
NET=(--arch unet --data fashion-mnist --n-data 64 --classes --unet-base 8 --unet-mult 1,2
    --unet-groups 4 --unet-res 1 --batch 8 --prediction edm --sigma-data 0.5 --lr-min -1 --quiet)
M="$T/m.safetensors"
if "$SGM" train "${NET[@]}" --steps 4 --save-every 2 --out "$M" 2>"$T/err"; then ok; else
    bad "train: $(cat "$T/err")"; fi
# resume 2 -> 4 from the step-2 checkpoint gives the same file as the straight run
"$SGM" train "${NET[@]}" --steps 2 --out "$T/r.safetensors" 2>/dev/null
if "$SGM" train --resume "$T/r.safetensors" --steps 4 --quiet --out "$T/r4.safetensors" \
    2>"$T/err" && cmp -s "$M" "$T/r4.safetensors"; then ok; else
    bad "resume is not bit for bit: $(cat "$T/err")"; fi

# sampling: [4, 1, 28, 28] float64 (npy header), PNG written
if "$SGM" sample --model "ckpt:$M" --sampler dpmpp_2m --schedule karras --steps 4 --n 4 \
    --class rows --guidance 1 --quiet --out "$T/s.npy" --png "$T/s.png" >/dev/null 2>"$T/err" &&
    head -c 128 "$T/s.npy" | grep -q "'shape': (4, 1, 28, 28)" &&
    [ "$(head -c 4 "$T/s.png" | tail -c 3)" = "PNG" ]; then ok; else
    bad "sample grid: $(cat "$T/err")"; fi
if "$SGM" sample --model "ckpt:$M" --sampler heun --schedule karras --steps 2 --n 3 \
    --class 0,9,-1 --grid ddim --png "$T/p.png" --quiet --out "$T/s2.npy" >/dev/null 2>"$T/err" &&
    [ -s "$T/p.png" ]; then ok; else bad "sample --png with a diffusers --grid: $(cat "$T/err")"; fi

# a U-Net sample does not depend on --batch or the thread count either
for cfg in "2 4" "1 4" "2 1" "1 3"; do
    set -- $cfg
    OMP_NUM_THREADS=$1 "$SGM" sample --model "ckpt:$M" --sampler dpmpp_2m --schedule karras \
        --steps 3 --n 4 --class rows --guidance 1 --seed 2 --batch "$2" --quiet \
        --out "$T/inv_$1_$2.npy" >/dev/null 2>"$T/err" || bad "invariance: $(cat "$T/err")"
    if cmp -s "$T/inv_2_4.npy" "$T/inv_$1_$2.npy"; then ok; else
        bad "unet: threads $1, batch $2 differs from threads 2, batch 4"; fi
done

# nll of the 4 sampled images: the unconditional (null-class) model's
# density through the U-Net's input VJP; 4 finite values, bits/dim reported,
# not the old "model callback failed" (loose tolerances: a smoke test)
if "$SGM" nll --model "ckpt:$M" --data "$T/s.npy" --divergence hutchinson --rtol 1e-3 \
    --atol 1e-3 --bits-per-dim --out "$T/lp.npy" >"$T/nll.txt" 2>"$T/err" &&
    [ "$(values "$T/lp.npy" | grep -c -E '^-?[0-9]')" -eq 4 ] &&
    grep -q "^bits/dim: " "$T/nll.txt"; then ok; else
    bad "nll on the U-Net: $(cat "$T/err")"; fi
if grep -q "callback failed" "$T/err"; then bad "nll: $(cat "$T/err")"; else ok; fi

refused "class range" "classes in" sample --model "ckpt:$M" --sampler heun \
    --schedule karras --steps 2 --n 2 --class 10 --out "$T/out.npy"
refused "guidance without class" "needs --class" sample --model "ckpt:$M" --sampler heun \
    --schedule karras --steps 2 --n 2 --guidance 2 --out "$T/out.npy"
refused "grid png" "picture with --png" sample --model "ckpt:$M" --sampler heun \
    --schedule karras --steps 2 --n 2 --grid "$T/out.png" --out "$T/out.npy"
refused "unet on 2-D data" "image data" train --arch unet --data moons --out "$T/x.safetensors"
refused "classes on the mlp" "needs --arch unet" train --data moons --classes \
    --out "$T/x.safetensors"
refused "attn list" "one value per level" train --arch unet --data fashion-mnist \
    --unet-mult 1,2 --unet-attn 0,1,1 --out "$T/x.safetensors"
refused "levels vs size" "divisible" train --arch unet --data fashion-mnist --n-data 8 \
    --unet-mult 1,2,2,2 --out "$T/x.safetensors"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
