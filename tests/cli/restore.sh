#!/usr/bin/env bash
# restore.sh - `sgm restore` (docs/cli.md): every method runs on a 16-D
# mixture with a mask and writes [n, 16] finite samples; and acceptance 6 of
# issue 9: bad input (shapes of --y / --mask, sigma_y < 0, negative scales,
# an operator that does not match the model's dimension, a method the
# operator does not allow) gives exit 2, one stderr line naming the problem,
# and no output file.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
source "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"

ones=$(printf '1,%.0s' $(seq 16))
halves=$(printf '0.5,%.0s' $(seq 16))
mones=$(printf -- '-1,%.0s' $(seq 16))
printf '{"kind": "gmm", "dim": 16, "weights": [0.4, 0.6], "means": [[%s], [%s]], "stds": [[%s], [%s]]}\n' \
    "${ones%,}" "${mones%,}" "${halves%,}" "${halves%,}" >"$T/g.json"
M="gmm:$T/g.json"
# a measurement: one draw of the model (16 values), and two (32 values)
"$SGM" sample --model "$M" --process vp --sampler dpmpp_2m --schedule karras --steps 10 --n 1 \
    --seed 3 --out "$T/in_y.npy" --quiet >/dev/null || bad "sample y"
"$SGM" sample --model "$M" --process vp --sampler dpmpp_2m --schedule karras --steps 10 --n 2 \
    --seed 3 --out "$T/in_y2.npy" --quiet >/dev/null || bad "sample y2"
# mask files: 16 (alternating 1, 0) and 8 values, float64
mask_npy() { # NAME COUNT
    local h="{'descr': '<f8', 'fortran_order': False, 'shape': ($2,), }"
    local pad=$(((64 - (10 + ${#h} + 1) % 64) % 64)) hl
    hl=$((${#h} + pad + 1))
    {
        printf '\x93NUMPY\x01\x00'
        printf "\\x$(printf %02x $((hl % 256)))\\x$(printf %02x $((hl / 256)))"
        printf '%s%*s\n' "$h" "$pad" ""
        for _ in $(seq $(($2 / 2))); do
            printf '\x00\x00\x00\x00\x00\x00\xf0\x3f\x00\x00\x00\x00\x00\x00\x00\x00'
        done
    } >"$T/in_$1.npy"
}
mask_npy mask 16
mask_npy mask8 8

RUN=(--model "$M" --process vp --schedule time_uniform --steps 20 --n 3 --sigma-y 0.05)
# good runs: every method, shape [3, 16], finite values; the observed entries
# (mask 1) lie near y (sigma_y = 0.05, posterior std ~ 0.05 there)
ymask=$(values "$T/in_y.npy")
for m in dps pigdm replace repaint reddiff; do
    rm -f "$T/out.npy"
    if "$SGM" restore "${RUN[@]}" --method "$m" --operator mask --mask "$T/in_mask.npy" \
        --y "$T/in_y.npy" --jump-length 5 --resample 2 --out "$T/out.npy" --quiet; then
        n=$(values "$T/out.npy" | wc -l)
        if [ "$n" -eq 48 ] && ! values "$T/out.npy" | grep -qi nan; then ok; else bad "$m: $n values"; fi
        # first observed entry of row 0 against y[0]: within 0.5 (10 sigma_y)
        y0=$(echo "$ymask" | head -1)
        x0=$(values "$T/out.npy" | head -1)
        if awk -v a="$x0" -v b="$y0" 'BEGIN { d = a - b; exit !(d < 0.5 && d > -0.5) }'; then ok
        else bad "$m: x[0] = $x0, y[0] = $y0"; fi
    else
        bad "$m: exit $?"
    fi
done
# the other operators run (dps; down on 4x4)
for op in blur proj tanh; do
    rm -f "$T/out.npy"
    yy="$T/in_y.npy"
    extra=()
    [ "$op" = proj ] && extra=(--proj-dim 16)
    if "$SGM" restore "${RUN[@]}" --method dps --operator "$op" --y "$yy" "${extra[@]}" \
        --out "$T/out.npy" --quiet && [ -s "$T/out.npy" ]; then ok; else bad "dps $op"; fi
done

# --measure: y = A(x) + sigma_y n for each row of X ([2, 16] -> [2, 16] for the
# mask, the unobserved entries 0 at sigma_y = 0); --y-rows: one restoration per
# row of y ([2, 16] out), row i near its own y_i on the observed entries
if "$SGM" restore --model "$M" --operator mask --mask "$T/in_mask.npy" --measure "$T/in_y2.npy" \
    --out "$T/in_ym.npy" --quiet >/dev/null && [ "$(values "$T/in_ym.npy" | wc -l)" -eq 32 ] &&
    awk -v a="$(values "$T/in_ym.npy" | sed -n 2p)" 'BEGIN { exit !(a == 0) }' &&
    [ "$(values "$T/in_ym.npy" | sed -n 17p)" = "$(values "$T/in_y2.npy" | sed -n 17p)" ]; then ok
else bad "--measure"; fi
rm -f "$T/out.npy"
if "$SGM" restore --model "$M" --process vp --schedule time_uniform --steps 20 --sigma-y 0.05 \
    --method replace --operator mask --mask "$T/in_mask.npy" --y "$T/in_ym.npy" --y-rows \
    --out "$T/out.npy" --quiet && [ "$(values "$T/out.npy" | wc -l)" -eq 32 ] &&
    awk -v a="$(values "$T/out.npy" | sed -n 17p)" -v b="$(values "$T/in_y2.npy" | sed -n 17p)" \
        'BEGIN { d = a - b; exit !(d < 0.5 && d > -0.5) }'; then ok
else bad "--y-rows"; fi
rm -f "$T/out.npy"

# refused (tests/cli_lib.bash): exit 2, one line on stderr, no output
REFUSED_OUT=("$T/out.npy")
REFUSED_CLEAN=1
REFUSED_KEEP=("in_.*" g.json)
REFUSED_MATCH=icase
expect_bad() { refused "$1" "$2" restore "${@:3}"; } # NAME PATTERN ARGS...
G=("${RUN[@]}" --out "$T/out.npy")
MK=(--operator mask --mask "$T/in_mask.npy")
expect_bad "y of the wrong shape" "--y has 32 values" "${G[@]}" --method dps "${MK[@]}" --y "$T/in_y2.npy"
expect_bad "mask of the wrong shape" "--mask has 8 values" "${G[@]}" --method dps --operator mask \
    --mask "$T/in_mask8.npy" --y "$T/in_y.npy"
expect_bad "mask missing" "missing required option --mask" "${G[@]}" --method dps --operator mask --y "$T/in_y.npy"
expect_bad "sigma_y < 0" "--sigma-y" "${G[@]}" --method dps "${MK[@]}" --y "$T/in_y.npy" --sigma-y -0.1
expect_bad "zeta < 0" "--zeta" "${G[@]}" --method dps "${MK[@]}" --y "$T/in_y.npy" --zeta -1
expect_bad "lambda < 0" "--lambda" "${G[@]}" --method reddiff "${MK[@]}" --y "$T/in_y.npy" --lambda -1
expect_bad "lr <= 0" "--lr" "${G[@]}" --method reddiff "${MK[@]}" --y "$T/in_y.npy" --lr 0
expect_bad "blur sigma < 0" "blur" "${G[@]}" --method dps --operator blur --blur-sigma -2 --y "$T/in_y.npy"
expect_bad "shape vs model dimension" "dimension 16" "${G[@]}" --method dps --operator blur --shape 1,4,5 --y "$T/in_y.npy"
expect_bad "down factor vs shape" "factor 3" "${G[@]}" --method dps --operator down --shape 1,4,4 --factor 3 --y "$T/in_y.npy"
expect_bad "proj rows vs y" "--y has 16 values" "${G[@]}" --method dps --operator proj --proj-dim 4 --y "$T/in_y.npy"
expect_bad "down output vs y" "gives 4" "${G[@]}" --method dps --operator down --shape 1,4,4 --y "$T/in_y.npy"
expect_bad "nonlinear with pigdm" "linear operator" "${G[@]}" --method pigdm --operator tanh --y "$T/in_y.npy"
expect_bad "unknown method" "--method" "${G[@]}" --method nope "${MK[@]}" --y "$T/in_y.npy"
expect_bad "unknown operator" "--operator" "${G[@]}" --method dps --operator fft --y "$T/in_y.npy"
expect_bad "negative jump length" "jump-length" "${G[@]}" --method repaint "${MK[@]}" --y "$T/in_y.npy" --jump-length -1
expect_bad "adaptive sampler with dps" "adaptive" "${G[@]}" --method dps "${MK[@]}" --y "$T/in_y.npy" --sampler dpm_adaptive
expect_bad "--y-rows count" "per row" "${G[@]}" --method dps --operator proj --proj-dim 5 --y "$T/in_y2.npy" --y-rows
expect_bad "--y-rows vs --n" "--n 3" "${G[@]}" --method dps "${MK[@]}" --y "$T/in_y2.npy" --y-rows
expect_bad "--measure with --y" "--measure" --model "$M" "${MK[@]}" --measure "$T/in_y2.npy" --y "$T/in_y.npy" --out "$T/out.npy"
expect_bad "--measure of the wrong shape" "--measure has 8" --model "$M" "${MK[@]}" --measure "$T/in_mask8.npy" --out "$T/out.npy"
expect_bad "--measure sigma_y < 0" "--sigma-y" --model "$M" "${MK[@]}" --measure "$T/in_y2.npy" --sigma-y -1 --out "$T/out.npy"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
