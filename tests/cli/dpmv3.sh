#!/usr/bin/env bash
# dpmv3.sh - DPM-Solver-v3 from the command line: `sgm dpmv3-calibrate` writes
# an EMS file [4, K, d] (l, s, b, lambda) for the mixture; `sgm sample
# --sampler dpm_solver_v3 --ems FILE` uses it (finite samples, different from
# the run without statistics); bad input exits 2 with one line on stderr and
# no output file: --ems with another sampler, an EMS file of the wrong shape,
# an empty sigma range, a checkpoint-less --data of the wrong width.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"
REFUSED_OUT=("$T/x.npy") # refused: exit 2, one line, no $T/x.npy
M="gmm:$SGM_SOURCE_DIR/tests/data/models/gmm2d.json"
S=(sample --model "$M" --process ve --schedule logsnr --steps 8 --n 16 --seed 3 --quiet)

if "$SGM" dpmv3-calibrate --model "$M" --process ve --n 256 --grid 41 --out "$T/ems.npy" \
    2>/dev/null; then ok; else bad "calibrate"; fi
# header shape (4, 41, 2) and 4 * 41 * 2 finite values
if head -c 128 "$T/ems.npy" | grep -aq "'shape': (4, 41, 2)"; then ok; else bad "ems shape"; fi
n_vals=$(values "$T/ems.npy" | grep -vci "nan\|inf")
[ "$n_vals" -eq 328 ] && ok || bad "ems values: $n_vals finite of 328"

if "$SGM" "${S[@]}" --sampler dpm_solver_v3 --ems "$T/ems.npy" --out "$T/a.npy" &&
    "$SGM" "${S[@]}" --sampler dpm_solver_v3 --out "$T/b.npy" &&
    ! values "$T/a.npy" | grep -qi "nan\|inf"; then ok; else bad "sample with --ems"; fi
cmp -s "$T/a.npy" "$T/b.npy" && bad "--ems changed nothing" || ok
rm -f "$T/a.npy" "$T/b.npy"

refused "--ems with euler" "dpm_solver_v3 only" "${S[@]}" --sampler euler --ems "$T/ems.npy" \
    --out "$T/x.npy"
"$SGM" "${S[@]}" --sampler euler --out "$T/wrong.npy" 2>/dev/null
refused "--ems wrong shape" "want shape [4" "${S[@]}" --sampler dpm_solver_v3 \
    --ems "$T/wrong.npy" --out "$T/x.npy"
refused "calibrate sigma range" "sigma" dpmv3-calibrate --model "$M" --process ve \
    --sigma-min 5 --sigma-max 1 --out "$T/x.npy"
refused "calibrate data width" "values" dpmv3-calibrate --model "$M" --process ve \
    --data "$T/ems.npy" --out "$T/x.npy"
refused "calibrate grid" "--grid" dpmv3-calibrate --model "$M" --process ve --grid 2 \
    --out "$T/x.npy"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
