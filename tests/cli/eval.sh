#!/usr/bin/env bash
# eval.sh - `sgm eval`: successful runs (table, JSON report, determinism in the
# seed and the thread count, GMM metrics) and bad input (mismatched
# dimensions, empty sets, NaN values, non-finite likelihood, bad options):
# exit code 2, exactly one line on stderr, nothing on stdout, no JSON file.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
DATA="${SGM_SOURCE_DIR:?}/tests/data"
MD="$DATA/metrics"
GMM="$DATA/models/gmm2d.json"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"


# refused (tests/cli_lib.bash): exit 2, one line on stderr, no output
REFUSED_OUT=("$T/out.json")
REFUSED_CLEAN=1
REFUSED_KEEP=("in_.*" "good.*")
REFUSED_STDOUT=empty
REFUSED_MATCH=icase
expect_bad() { refused "$1" "$2" eval "${@:3}"; } # NAME PATTERN ARGS...

A="$MD/a.npy"
B="$MD/b.npy"

# ---- successful runs
if "$SGM" eval --a "$A" --b "$B" --json "$T/good1.json" >"$T/good1.txt" 2>"$T/good_err"; then ok; else
    bad "default run: $(cat "$T/good_err")"; fi
for m in sw2 mmd2 energy fd precision recall; do
    if grep -q "^$m " "$T/good1.txt"; then ok; else bad "table lacks $m"; fi
    if grep -q "\"$m\"" "$T/good1.json"; then ok; else bad "json lacks $m"; fi
done
# the numpy/scipy values of the fixture (tools/ref/gen_metrics.py), to the
# 6 significant digits of the table
if grep -q "^mmd2  *0.111654 " "$T/good1.txt"; then ok; else bad "mmd2 value"; fi
if grep -q "^fd  *1.91175 " "$T/good1.txt"; then ok; else bad "fd value"; fi
if grep -q "^precision  *0.8 " "$T/good1.txt"; then ok; else bad "precision value"; fi
# same seed, other thread count: identical bytes
"$SGM" eval --a "$A" --b "$B" --json "$T/good2.json" --threads 1 >/dev/null 2>&1
if cmp -s "$T/good1.json" "$T/good2.json"; then ok; else bad "threads change the report"; fi
# bootstrap interval present and ordered
if "$SGM" eval --a "$A" --b "$B" --metrics sw2,mmd,energy,fd --bootstrap 50 --seed 4 \
    >"$T/good3.txt" 2>"$T/good_err"; then ok; else bad "bootstrap run: $(cat "$T/good_err")"; fi
if [ "$(grep -c '\[' "$T/good3.txt")" -eq 4 ]; then ok; else bad "4 intervals expected"; fi
# GMM metrics of one set
if "$SGM" eval --b "$MD/xg.npy" --gmm "$GMM" >"$T/good4.txt" 2>"$T/good_err"; then ok; else
    bad "gmm run: $(cat "$T/good_err")"; fi
if grep -q "^loglik_b  *-5.79079 " "$T/good4.txt"; then ok; else bad "loglik value"; fi
if [ "$(grep -c '^mass_b\[' "$T/good4.txt")" -eq 8 ]; then ok; else bad "8 mass rows"; fi
if "$SGM" eval --help >/dev/null; then ok; else bad "--help"; fi

# ---- bad input
npy empty "(0, 3)" "$A" 0
npy three "(3, 3)" "$A" 72
npy nan "(4, 3)" "$A" 96
# row 2, element 1 of in_nan becomes NaN (little-endian 0x7ff8000000000000)
hl=$(od -A n -t u2 -j 8 -N 2 "$T/in_nan.npy" | tr -d ' ')
printf '\x00\x00\x00\x00\x00\x00\xf8\x7f' |
    dd of="$T/in_nan.npy" bs=1 seek=$((10 + hl + 8 * 7)) conv=notrunc status=none
printf 'not an npy file' >"$T/in_garbage.npy"

expect_bad "dims" "dimension mismatch" --a "$A" --b "$MD/xg.npy" --json "$T/out.json"
expect_bad "empty" "empty" --a "$T/in_empty.npy" --b "$B" --json "$T/out.json"
expect_bad "nan" "non-finite" --a "$A" --b "$T/in_nan.npy" --json "$T/out.json"
expect_bad "garbage" "in_garbage" --a "$A" --b "$T/in_garbage.npy" --json "$T/out.json"
expect_bad "missing file" "no_such" --a "$A" --b "$T/no_such.npy" --json "$T/out.json"
expect_bad "no b" "--b" --a "$A" --json "$T/out.json"
expect_bad "no sets" "--a" --json "$T/out.json"
expect_bad "unknown metric" "unknown metric" --a "$A" --b "$B" --metrics sw2,fid
expect_bad "k too large" "at least 4" --a "$T/in_three.npy" --b "$B" --metrics prdc \
    --json "$T/out.json"
expect_bad "level" "level" --a "$A" --b "$B" --level 1.5 --json "$T/out.json"
expect_bad "bandwidth" "bandwidth" --a "$A" --b "$B" --bandwidth -1 --json "$T/out.json"
expect_bad "bootstrap 1" "n_bootstrap" --a "$A" --b "$B" --bootstrap 1 --json "$T/out.json"
expect_bad "bad seed" "seed" --a "$A" --b "$B" --seed abc --json "$T/out.json"
expect_bad "unknown option" "frobnicate" --a "$A" --b "$B" --frobnicate 1
expect_bad "gmm dim" "dimension mismatch" --a "$A" --b "$B" --gmm "$GMM" --json "$T/out.json"
expect_bad "gmm needs file" "needs --gmm" --a "$A" --b "$B" --metrics gmm
expect_bad "non-finite likelihood" "not finite" --b "$MD/far.npy" --gmm "$GMM" \
    --json "$T/out.json"
expect_bad "gmm missing" "gmm" --b "$MD/xg.npy" --gmm "$T/no_such.json"

# a report in a missing folder is bad input, found before any metric is
# computed (exit 2, one line, nothing on stdout, nothing left behind; the
# same check as every output path: docs/cli.md "Exit codes")
"$SGM" eval --a "$A" --b "$B" --json "$T/no_dir/out.json" >"$T/stdout" 2>"$T/stderr"
rc=$?
if [ "$rc" -eq 2 ] && [ ! -s "$T/stdout" ] && [ ! -e "$T/no_dir" ] &&
    [ "$(wc -l <"$T/stderr")" -eq 1 ] && grep -q -- "--json" "$T/stderr"; then ok; else
    bad "json in a missing folder: rc=$rc (want 2): $(cat "$T/stderr")"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
