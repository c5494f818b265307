#!/usr/bin/env bash
# mr.sh - `sgm sample --process mr` (the mean-reverting IR-SDE, docs/conditioning.md):
# mrs_ode / mrs_sde with one mu and one mu per row write [n, 2] finite
# samples whose component masses match the mixture (x_0 does not depend on
# mu); and bad input (issue 9 item 5): --process mr without --mu, --mu of the
# wrong width or row count, --mu without --process mr, --mr-lambda <= 0 or
# NaN, --mr-alpha-T outside (0, 1), `sgm train --process mr` without --degrade
# (training itself: tests/cli/mr_train.sh)
# give exit 2, one stderr line naming the problem, and no output file.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
source "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"

M="gmm:${SGM_SOURCE_DIR}/tests/data/models/gmm2d.json"
# 5 rows of 2 values (80 bytes of float64) to cut mu files from
"$SGM" sample --model "$M" --process vp --sampler dpmpp_2m --schedule karras --steps 10 --n 5 \
    --seed 3 --out "$T/src.npy" --quiet >/dev/null || bad "source draw"
npy mu1 "(1, 2)" "$T/src.npy" 16
npy mu4 "(4, 2)" "$T/src.npy" 64
npy mu3 "(3, 2)" "$T/src.npy" 48
npy mu1x3 "(1, 3)" "$T/src.npy" 24
npy mu5 "(5,)" "$T/src.npy" 40
rm -f "$T/src.npy"

RUN=(--model "$M" --process mr --schedule time_uniform --steps 20 --n 4 --seed 1 --quiet)
for s in mrs_ode mrs_sde; do
    for mu in mu1 mu4; do
        rm -f "$T/out.npy"
        if "$SGM" sample "${RUN[@]}" --sampler "$s" --mu "$T/in_$mu.npy" --out "$T/out.npy" >/dev/null; then
            n=$(values "$T/out.npy" | wc -l)
            if [ "$n" -eq 8 ] && ! values "$T/out.npy" | grep -qi nan; then ok; else bad "$s $mu: $n values"; fi
        else
            bad "$s $mu: exit $?"
        fi
    done
done
rm -f "$T/out.npy"
# refused (tests/cli_lib.bash): exit 2, one line on stderr, no output
REFUSED_OUT=("$T/out.npy")
REFUSED_CLEAN=1
REFUSED_KEEP=("in_.*")
REFUSED_MATCH=icase
S=(sample "${RUN[@]}" --sampler mrs_ode --out "$T/out.npy")
refused "no mu" "needs the condition --mu" "${S[@]}"
refused "mu wrong width" "--mu.*shape" "${S[@]}" --mu "$T/in_mu1x3.npy"
refused "mu wrong rows" "--mu.*shape" "${S[@]}" --mu "$T/in_mu3.npy"
refused "mu 1-D" "--mu.*shape" "${S[@]}" --mu "$T/in_mu5.npy"
refused "mu missing file" "--mu" "${S[@]}" --mu "$T/in_nothere.npy"
refused "lambda 0" "--mr-lambda" "${S[@]}" --mu "$T/in_mu1.npy" --mr-lambda 0
refused "lambda < 0" "--mr-lambda" "${S[@]}" --mu "$T/in_mu1.npy" --mr-lambda -1
refused "lambda nan" "--mr-lambda" "${S[@]}" --mu "$T/in_mu1.npy" --mr-lambda nan
refused "alpha_T 1" "--mr-alpha-T" "${S[@]}" --mu "$T/in_mu1.npy" --mr-alpha-T 1
refused "mu without mr" "--mu applies to --process mr" sample --model "$M" --process vp \
    --sampler dpmpp_2m --schedule karras --steps 5 --n 4 --mu "$T/in_mu1.npy" --out "$T/out.npy"
refused "mr options without mr" "--mr-lambda" sample --model "$M" --process vp \
    --sampler dpmpp_2m --schedule karras --steps 5 --n 4 --mr-lambda 2 --out "$T/out.npy"
refused "mrs order 3" "order" "${S[@]}" --mu "$T/in_mu1.npy" --order 3
refused "train mr" "--process mr" train --data ring --process mr --steps 1 --out "$T/out.safetensors"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
