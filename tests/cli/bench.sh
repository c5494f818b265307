#!/usr/bin/env bash
# bench.sh - `sgm bench`: a small grid writes the CSV (header + one line per
# row) and a valid PNG and prints the best sampler per budget; bad input
# (unknown sampler / schedule, bad budgets, missing outputs, unwritable
# folder, bad model): exit code 2, exactly one line on stderr, nothing on
# stdout, no output file.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
GMM="${SGM_SOURCE_DIR:?}/tests/data/models/gmm2d.json"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"

# ---- a small grid
if "$SGM" bench --model "gmm:$GMM" --samplers euler,heun,dpmpp_2m,euler_a --schedules karras \
    --nfe 5,10,20 --n 100 --csv "$T/b.csv" --plot "$T/b.png" --quiet >"$T/stdout" 2>"$T/stderr"; then
    ok
else
    bad "small grid: $(cat "$T/stderr")"
fi
# 2 baselines + 4 samplers x 3 budgets, plus the header
if [ -f "$T/b.csv" ] && [ "$(wc -l <"$T/b.csv")" -eq 15 ]; then ok; else bad "csv lines"; fi
if head -1 "$T/b.csv" | grep -q '^sampler,schedule,stochastic,adaptive,nfe_budget,steps,'; then ok; else
    bad "csv header"; fi
if grep -q '^heun,karras,0,0,10,5,,10,' "$T/b.csv"; then ok; else bad "heun at 10 NFE: 5 steps"; fi
if [ "$(head -c 8 "$T/b.png" | od -A n -t x1 | tr -d ' \n')" = "89504e470d0a1a0a" ]; then ok; else
    bad "png signature"; fi
for nfe in 5 10 20; do
    if grep -qE "^ +$nfe  [a-z_0-9]+ \(karras, [0-9]+\)" "$T/stdout"; then ok; else bad "best at $nfe"; fi
done
# (under ASan, LeakSanitizer reports its fontconfig suppression: not ours)
if ! grep -vqE 'Suppressions used|count +bytes template|libfontconfig|^-+$|^$' "$T/stderr"; then ok; else
    bad "--quiet printed to stderr"; fi
if ls -A "$T" | grep -q tmp; then bad "temporary files left"; else ok; fi

# ---- bad input
# refused (tests/cli_lib.bash): exit 2, one line on stderr, no output
REFUSED_OUT=("$T/o.csv" "$T/o.png")
REFUSED_STDOUT=empty
REFUSED_MATCH=icase
expect_bad() { refused "$1" "$2" bench "${@:3}"; } # NAME PATTERN ARGS...
M="gmm:$GMM"
O=(--csv "$T/o.csv" --plot "$T/o.png" --n 10 --quiet)
expect_bad "unknown sampler" "unknown sampler 'nope'" --model "$M" --samplers euler,nope "${O[@]}"
expect_bad "unknown schedule" "unknown schedule" --model "$M" --schedules karras,wobbly "${O[@]}"
expect_bad "budget 0" "not an integer in" --model "$M" --nfe 0,5 "${O[@]}"
expect_bad "fractional budget" "not an integer in" --model "$M" --nfe 2.5 "${O[@]}"
expect_bad "repeated budget" "given twice" --model "$M" --nfe 5,5 "${O[@]}"
expect_bad "empty entry" "empty entry" --model "$M" --samplers euler,,heun "${O[@]}"
expect_bad "n = 1" "--n" --model "$M" --n 1 --csv "$T/o.csv"
expect_bad "no outputs" "--csv" --model "$M" --n 10
expect_bad "no model" "--model" --csv "$T/o.csv"
expect_bad "missing model file" "gmm_missing" --model "gmm:$T/gmm_missing.json" "${O[@]}"
expect_bad "bad model kind" "model kind" --model "pt:$GMM" "${O[@]}"
expect_bad "unwritable folder" "not writable" --model "$M" --csv "$T/no/such/dir/o.csv" --n 10
expect_bad "csv is a folder" "directory" --model "$M" --csv "$T" --n 10
expect_bad "unknown option" "unknown" --model "$M" --frobnicate 1 "${O[@]}"
expect_bad "bad process" "process" --model "$M" --process nope "${O[@]}"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
