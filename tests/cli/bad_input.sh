#!/usr/bin/env bash
# bad_input.sh - acceptance item 5: every kind of bad input to `sgm sample` /
# `sgm schedule` (and the hostile inputs of the reliability issue, some to
# `sgm train`) gives exit code 2, exactly one line on stderr naming the
# problem, and no output file.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
DATA="${SGM_SOURCE_DIR:?}/tests/data"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
M="gmm:$DATA/models/gmm2d.json"
. "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"

# refused (tests/cli_lib.bash): exit 2, one line on stderr, no output
REFUSED_OUT=("$T/out.npy")
REFUSED_CLEAN=1
REFUSED_KEEP=("in_.*")
REFUSED_STDOUT=empty
REFUSED_MATCH=icase
expect_bad() { # NAME PATTERN ARGS...: refused, after clearing earlier temporary files
    rm -f "$T"/.*.tmp* 2>/dev/null
    refused "$@"
}

BASE=(--model "$M" --process vp --prediction eps --sampler euler)
OK=("${BASE[@]}" --schedule karras --steps 5)

# inputs
printf '{"kind": "gmm", "dim": 2, "weights": [1.0], "means": [[0, 0]' >"$T/in_trunc.json"
printf 'not json at all' >"$T/in_garbage.json"
printf '{"kind": "gmm", "dim": 3, "weights": [1], "means": [[0, 0]], "stds": [[1, 1]]}' >"$T/in_dim.json"
printf '{"kind": "gmm", "dim": 2, "weights": [1], "means": [[0, 0]], "stds": [[-1, 1]]}' >"$T/in_neg.json"
# a valid 4x2 float64 npy, then broken copies of it
hdr="{'descr': '<f8', 'fortran_order': False, 'shape': (4, 2), }"
hdr3="{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), }"
make_npy() { # header-dict nvalues file
    local h="$1" n="$2" f="$3" pad
    pad=$((64 - (10 + ${#h} + 1) % 64))
    [ "$pad" -eq 64 ] && pad=0
    local len=$((${#h} + pad + 1))
    { printf '\x93NUMPY\x01\x00'; printf "\\x$(printf %02x $((len % 256)))\\x$(printf %02x $((len / 256)))";
      printf '%s' "$h"; printf "%${pad}s" ''; printf '\n'; head -c $((8 * n)) /dev/zero; } >"$f"
}
make_npy "$hdr" 8 "$T/in_ok.npy"
make_npy "$hdr3" 12 "$T/in_d3.npy"
head -c $(( $(stat -c %s "$T/in_ok.npy") - 8 )) "$T/in_ok.npy" >"$T/in_short.npy"
head -c 30 "$T/in_ok.npy" >"$T/in_hdr.npy"
printf 'PK\x03\x04 not an npy file' >"$T/in_magic.npy"
make_npy "{'descr': '<i4', 'fortran_order': False, 'shape': (4, 2), }" 4 "$T/in_int.npy"

# sanity: the good inputs work (so the failures below are about the one bad thing)
if ! "$SGM" sample "${OK[@]}" --init "$T/in_ok.npy" --out "$T/good.npy" >/dev/null 2>&1; then
    echo "FAIL sanity: a valid run failed"
    fail=$((fail + 1))
fi
rm -f "$T/good.npy"

# malformed model JSON
expect_bad json-truncated "json" sample "${OK[@]}" --model "gmm:$T/in_trunc.json" --n 4 --out "$T/out.npy"
expect_bad json-garbage "json" sample "${OK[@]}" --model "gmm:$T/in_garbage.json" --n 4 --out "$T/out.npy"
expect_bad json-dim "dim\|means\|shape" sample "${OK[@]}" --model "gmm:$T/in_dim.json" --n 4 --out "$T/out.npy"
expect_bad json-negative-std "std" sample "${OK[@]}" --model "gmm:$T/in_neg.json" --n 4 --out "$T/out.npy"
expect_bad model-missing "cannot open\|no such" sample "${OK[@]}" --model "gmm:$T/nope.json" --n 4 --out "$T/out.npy"
expect_bad model-kind "model kind" sample "${OK[@]}" --model "unet:$T/in_ok.npy" --n 4 --out "$T/out.npy"
expect_bad model-spec "KIND:PATH" sample "${OK[@]}" --model "$DATA/models/gmm2d.json" --n 4 --out "$T/out.npy"
# malformed / truncated npy
expect_bad npy-truncated-data "truncated\|size\|short" sample "${OK[@]}" --init "$T/in_short.npy" --out "$T/out.npy"
expect_bad npy-truncated-header "truncated\|header" sample "${OK[@]}" --init "$T/in_hdr.npy" --out "$T/out.npy"
expect_bad npy-bad-magic "magic\|npy" sample "${OK[@]}" --init "$T/in_magic.npy" --out "$T/out.npy"
expect_bad npy-int-dtype "dtype\|descr" sample "${OK[@]}" --init "$T/in_int.npy" --out "$T/out.npy"
expect_bad npy-missing "cannot open\|no such" sample "${OK[@]}" --init "$T/nope.npy" --out "$T/out.npy"
# unknown names
expect_bad unknown-sampler "unknown sampler 'foo'" sample "${OK[@]}" --sampler foo --n 4 --out "$T/out.npy"
expect_bad unknown-process "unknown process 'vq'" sample "${OK[@]}" --process vq --n 4 --out "$T/out.npy"
expect_bad unknown-schedule "unknown schedule 'cosmic'" sample "${OK[@]}" --schedule cosmic --n 4 --out "$T/out.npy"
expect_bad unknown-prediction "unknown prediction 'noize'" sample "${OK[@]}" --prediction noize --n 4 --out "$T/out.npy"
expect_bad unknown-option "unknown option '--stepz'" sample "${OK[@]}" --stepz 3 --n 4 --out "$T/out.npy"
expect_bad unknown-choice "solver-type" sample "${OK[@]}" --solver-type rk9 --n 4 --out "$T/out.npy"
expect_bad unknown-betas "betas" sample "${OK[@]}" --process vp-discrete --betas cubic --n 4 --out "$T/out.npy"
expect_bad schedule-unknown "unknown schedule" schedule --schedule cosmic --steps 4
# mismatched dimensions
expect_bad init-dim "dimension 2" sample "${OK[@]}" --init "$T/in_d3.npy" --out "$T/out.npy"
# steps < 1
expect_bad steps-zero "steps" sample "${OK[@]}" --steps 0 --n 4 --out "$T/out.npy"
expect_bad steps-negative "steps" sample "${OK[@]}" --steps -3 --n 4 --out "$T/out.npy"
expect_bad schedule-steps-zero "steps" schedule --schedule karras --steps 0
# sigma_min >= sigma_max
expect_bad sigma-order "sigma" sample "${OK[@]}" --sigma-min 10 --sigma-max 1 --n 4 --out "$T/out.npy"
expect_bad sigma-equal "sigma" sample "${OK[@]}" --process ve --sigma-min 2 --sigma-max 2 --n 4 --out "$T/out.npy"
expect_bad schedule-sigma-order "sigma" schedule --schedule karras --steps 4 --sigma-min 5 --sigma-max 1
expect_bad sigmas-increasing "decrease" sample "${BASE[@]}" --sigmas 1,2,3 --n 4 --out "$T/out.npy"
# non-numeric values
expect_bad steps-nan "not an integer" sample "${OK[@]}" --steps abc --n 4 --out "$T/out.npy"
expect_bad steps-float "not an integer" sample "${OK[@]}" --steps 2.5 --n 4 --out "$T/out.npy"
expect_bad eta-text "not a finite number" sample "${OK[@]}" --eta lots --n 4 --out "$T/out.npy"
expect_bad rho-inf "not a finite number" sample "${OK[@]}" --rho inf --n 4 --out "$T/out.npy"
expect_bad seed-negative "seed" sample "${OK[@]}" --seed -1 --n 4 --out "$T/out.npy"
expect_bad n-zero "--n" sample "${OK[@]}" --n 0 --out "$T/out.npy"
expect_bad sigmas-text "not a finite number" sample "${BASE[@]}" --sigmas 3,x,1 --n 4 --out "$T/out.npy"
# missing required options / values
expect_bad missing-model "missing required option --model" sample --process vp --sampler euler --schedule karras --steps 5 --n 4 --out "$T/out.npy"
expect_bad missing-out "missing required option --out" sample "${OK[@]}" --n 4
expect_bad missing-sampler "missing required option --sampler" sample --model "$M" --process vp --schedule karras --steps 5 --n 4 --out "$T/out.npy"
expect_bad missing-process "missing required option --process" sample --model "$M" --sampler euler --schedule karras --steps 5 --n 4 --out "$T/out.npy"
expect_bad missing-n "--init or --n" sample "${OK[@]}" --out "$T/out.npy"
expect_bad missing-steps "missing required option --steps" sample --model "$M" --process vp --sampler euler --schedule karras --n 4 --out "$T/out.npy"
expect_bad missing-value "needs a value" sample "${OK[@]}" --n 4 --out
expect_bad both-init-n "not both" sample "${OK[@]}" --init "$T/in_ok.npy" --n 4 --out "$T/out.npy"
expect_bad out-folder "folder" sample "${OK[@]}" --n 4 --out "$T/no/such/dir/out.npy"
expect_bad unknown-command "unknown command" frobnicate

# hostile inputs (reliability issue): a CSV cell that is not a number is quoted
# from the file text while it is still alive (ASan: no use after free)
printf '1,2\n3,abc\n' >"$T/in_cell.csv"
TR=(train --steps 1 --batch 4 --width 8 --depth 1 --emb 4 --out "$T/out.safetensors")
expect_bad csv-cell "not a number: 'abc'" "${TR[@]}" --data "$T/in_cell.csv"
# rows x columns of mixture data past any memory: refused before allocating
expect_bad n-data-huge "too large" "${TR[@]}" --data "$M" --n-data 144115188075855872
# file content quoted in a message stays on one line (control characters escaped)
printf '{"kind": "gmm", x\n\n"dim": 2}' >"$T/in_newlines.json"
expect_bad json-newlines "json" sample "${OK[@]}" --model "gmm:$T/in_newlines.json" --n 4 --out "$T/out.npy"
# an .npy header naming a key twice (Python keeps the last: '<i8' data read as float64)
make_npy "{'descr': '<f8', 'descr': '<i8', 'fortran_order': False, 'shape': (4, 2), }" 8 "$T/in_dup.npy"
expect_bad npy-duplicate-descr "'descr' more than once" sample "${OK[@]}" --init "$T/in_dup.npy" --out "$T/out.npy"
make_npy "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 2), 'shape': (8,), }" 8 "$T/in_dup2.npy"
expect_bad npy-duplicate-shape "'shape' more than once" sample "${OK[@]}" --init "$T/in_dup2.npy" --out "$T/out.npy"
# a bad --save-init / --png folder is reported under that flag, not --out
expect_bad save-init-folder "--save-init" sample "${OK[@]}" --n 4 --out "$T/out.npy" --save-init "$T/no/dir/x0.npy"
expect_bad png-folder "--png" sample "${OK[@]}" --n 4 --out "$T/out.npy" --png "$T/no/dir/x.png"

# every subcommand's output paths: a missing folder is bad input found before
# any work (exit 2, one line naming the flag, nothing written); docs/cli.md
# "Exit codes". (An unwritable folder takes the same check, access(W_OK),
# but cannot be shown here when the tests run as root.)
ND="$T/no/such/dir"
TR2=(train --data moons --steps 1 --batch 4 --width 8 --depth 1 --emb 4)
expect_bad train-out-folder "--out" "${TR2[@]}" --out "$ND/m.safetensors"
expect_bad train-log-folder "--log" "${TR2[@]}" --out "$T/out.safetensors" --log "$ND/log.jsonl"
expect_bad train-out-is-dir "directory" "${TR2[@]}" --out "$T"
expect_bad eval-json-folder "--json" eval --a "$T/in_ok.npy" --b "$T/in_ok.npy" --json "$ND/e.json"
expect_bad nll-out-folder "--out" nll --model "$M" --process vp --data "$T/in_ok.npy" --out "$ND/l.npy"
expect_bad nll-z-folder "--z" nll --model "$M" --process vp --data "$T/in_ok.npy" --z "$ND/z.npy"
expect_bad encode-out-folder "--out" encode --model "$M" --process vp --data "$T/in_ok.npy" --out "$ND/z.npy"
expect_bad bench-csv-folder "--csv" bench --model "$M" --process vp --samplers euler --nfe 2 --csv "$ND/b.csv"
expect_bad bench-plot-folder "--plot" bench --model "$M" --process vp --samplers euler --nfe 2 --csv "$T/out.csv" --plot "$ND/b.png"
expect_bad demo-out-dir-parent "--out-dir" demo --quick --out-dir "$ND/demo"
printf 'x' >"$T/in_file"
expect_bad demo-out-dir-file "not a folder" demo --quick --out-dir "$T/in_file"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
