#!/usr/bin/env bash
# edit.sh - `sgm edit`, `sgm invert` and the guidance options of `sgm sample`
# on the exact 2-D mixture (class = component) and the stored checkpoints:
# - the reversible inversion round trip (invert, --regenerate) gives the
#   input back to 1e-10 (rounding only: the solver is algebraically
#   reversible), and a DDIM latent regenerates with `sample --init`;
# - edit at strength 0 returns the input; guidance with --class runs and
#   reports its network calls;
# - bad input: strength outside [0, 1], negative scales, guidance on a model
#   without classes, wrong input shape, --cfgpp with another sampler, the
#   reversible solver on a schedule ending at 0: exit 2, one stderr line, no
#   output file.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"
M="gmm:$SGM_SOURCE_DIR/tests/data/models/gmm2d.json"
MLP="ckpt:$SGM_SOURCE_DIR/tests/data/ckpt/mlp_v1_0.safetensors"
P=(--model "$M" --process vp --schedule karras --steps 12)

# refused (tests/cli_lib.bash): exit 2, one line on stderr, no output
REFUSED_CLEAN=1
REFUSED_KEEP=(x0.npy x3.npy)

"$SGM" sample "${P[@]}" --sampler euler --n 64 --seed 3 --out "$T/x0.npy" --quiet >/dev/null ||
    bad "sample x0"
npy x3 "(4, 3)" "$T/x0.npy" 96
mv "$T/in_x3.npy" "$T/x3.npy"

# the reversible round trip
R=("${P[@]}" --final sigma_min --method reversible)
if "$SGM" invert "${R[@]}" --input "$T/x0.npy" --out "$T/z.npy" >/dev/null &&
    "$SGM" invert "${R[@]}" --regenerate --input "$T/z.npy" --out "$T/xr.npy" >/dev/null; then
    err=$(paste <(values "$T/x0.npy") <(values "$T/xr.npy") |
        awk '{d = $1 - $2; n += d * d; s += $1 * $1} END {printf "%.3g", sqrt(n / s)}')
    awk -v e="$err" 'BEGIN {exit !(e <= 1e-10)}' && ok || bad "reversible round trip $err > 1e-10"
    head -c 128 "$T/z.npy" | grep -q "(2, 64, 2)" && ok || bad "reversible latent is [2, N, d]"
else
    bad "reversible invert / regenerate failed"
fi
rm -f "$T"/z.npy "$T"/xr.npy
# a DDIM latent regenerates with sample --init (an approximate inversion: 0.5 relative)
if "$SGM" invert "${P[@]}" --final sigma_min --method ddim --input "$T/x0.npy" \
    --out "$T/z.npy" >/dev/null &&
    "$SGM" sample "${P[@]}" --final sigma_min --sampler ddim --init "$T/z.npy" \
        --out "$T/xr.npy" --quiet >/dev/null; then
    err=$(paste <(values "$T/x0.npy") <(values "$T/xr.npy") |
        awk '{d = $1 - $2; n += d * d; s += $1 * $1} END {printf "%.3g", sqrt(n / s)}')
    awk -v e="$err" 'BEGIN {exit !(e < 1)}' && ok || bad "ddim round trip $err"
else
    bad "ddim invert / sample --init failed"
fi
rm -f "$T"/z.npy "$T"/xr.npy

# edit: strength 0 is the identity; guidance runs and reports
"$SGM" edit "${P[@]}" --input "$T/x0.npy" --strength 0 --out "$T/e.npy" >/dev/null &&
    cmp -s <(values "$T/x0.npy") <(values "$T/e.npy") && ok || bad "strength 0 is the identity"
"$SGM" edit "${P[@]}" --input "$T/x0.npy" --strength 0.6 --class 2 --guidance 1 \
    --out "$T/e.npy" >"$T/stdout" && grep -q "guided" "$T/stdout" && ok || bad "edit with guidance"
"$SGM" sample "${P[@]}" --sampler dpmpp_2m --n 16 --class 1 --guidance-scale 3 --cfgpp \
    --guidance-rescale 0.7 --guidance-interval 0.2,20 --threshold dynamic --threshold-max 8 \
    --out "$T/s.npy" >"$T/stdout" && grep -q "network calls" "$T/stdout" && ok ||
    bad "sample with every guidance option"
rm -f "$T"/e.npy "$T"/s.npy

refused "strength > 1" "--strength 1.5 is outside [0, 1]" \
    edit "${P[@]}" --input "$T/x0.npy" --strength 1.5 --out "$T/o.npy"
refused "strength < 0" "is outside [0, 1]" \
    edit "${P[@]}" --input "$T/x0.npy" --strength -0.1 --out "$T/o.npy"
refused "negative guidance" "must be finite and >= 0" \
    sample "${P[@]}" --sampler euler --n 4 --class 0 --guidance -2 --out "$T/o.npy"
refused "negative guidance scale" "must be finite and >= 0" \
    edit "${P[@]}" --input "$T/x0.npy" --class 0 --guidance-scale -1 --out "$T/o.npy"
refused "rescale > 1" "--guidance-rescale 2 is outside [0, 1]" \
    sample "${P[@]}" --sampler euler --n 4 --class 0 --guidance 1 --guidance-rescale 2 \
    --out "$T/o.npy"
refused "empty interval" "expected 0 <= A <= B" \
    sample "${P[@]}" --sampler euler --n 4 --class 0 --guidance 1 --guidance-interval 3,1 \
    --out "$T/o.npy"
refused "guidance without classes" "class-conditional model" \
    sample --model "$MLP" --sampler euler --schedule karras --steps 3 --n 4 --class 0 \
    --guidance 1 --out "$T/o.npy"
refused "edit: guidance without classes" "class-conditional model" \
    edit --model "$MLP" --schedule karras --steps 3 --input "$T/x0.npy" --class 0 \
    --guidance 1 --out "$T/o.npy"
refused "cfgpp on heun" "--cfgpp works with the samplers" \
    sample "${P[@]}" --sampler heun --n 4 --class 0 --guidance 1 --cfgpp --out "$T/o.npy"
refused "edit: wrong input shape" "values per row, but the model has dimension 2" \
    edit "${P[@]}" --input "$T/x3.npy" --out "$T/o.npy"
refused "invert: wrong input shape" "values per row, but the model has dimension 2" \
    invert "${P[@]}" --input "$T/x3.npy" --out "$T/o.npy"
refused "reversible on a schedule ending at 0" "--final sigma_min" \
    invert "${P[@]}" --method reversible --input "$T/x0.npy" --out "$T/o.npy"
refused "coupling 0" "--coupling 0 is outside (0, 1]" \
    invert "${P[@]}" --final sigma_min --method reversible --coupling 0 --input "$T/x0.npy" \
    --out "$T/o.npy"
refused "threshold percentile" "--threshold-percentile 0 is outside (0, 1]" \
    sample "${P[@]}" --sampler euler --n 4 --threshold dynamic --threshold-percentile 0 \
    --out "$T/o.npy"

echo "edit.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
