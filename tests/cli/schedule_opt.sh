#!/usr/bin/env bash
# schedule_opt.sh - `sgm schedule --optimize` (docs/schedule-optimizer.md):
# on a 4-D mixture it writes a sigmas file of K + 1 decreasing values from
# sigma_max to sigma_min that `sgm sample --sigmas @FILE` reads (K steps,
# K NFE), prints the standard schedules and the optimised one with a lower
# calibration error, and a {sampler}/{nfe} pattern writes one file per pair;
# bad input (nfe < 1, unknown or stochastic sampler, --optimize without
# --model, several pairs without a pattern): exit code 2, exactly one line
# on stderr, no output file.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"

"$SGM" mixture --seed 3 --dim 4 --out "$T/m.json" >/dev/null 2>&1 || bad "mixture"
M="gmm:$T/m.json"
# small and fast: 8 rows, reference rtol 1e-7, 30 evaluations
FAST=(--n 8 --ref-rtol 1e-7 --max-evals 30 --quiet)

# ---- one sampler, one budget
if "$SGM" schedule --optimize --model "$M" --sampler dpmpp_2m --nfe 4 "${FAST[@]}" \
    --holdout 8 --out "$T/s.txt" >"$T/stdout" 2>"$T/stderr"; then ok; else
    bad "optimize: $(cat "$T/stderr")"; fi
if [ -f "$T/s.txt" ] && [ "$(wc -l <"$T/s.txt")" -eq 5 ]; then ok; else bad "5 points"; fi
if awk 'NR == 1 && $1 != 80 { exit 1 } NR > 1 && !($1 < p) { exit 1 } { p = $1 }
        END { if (p != 0.002) exit 1 }' "$T/s.txt"; then ok; else bad "80 .. 0.002 decreasing"; fi
for k in karras exponential logsnr ays optimized; do
    if grep -qE "^dpmpp_2m +$k +4 " "$T/stdout"; then ok; else bad "row $k"; fi
done
# the optimised calibration error is below every standard one (field 4)
if awk '$2 == "optimized" { o = $4 } $2 ~ /^(karras|exponential|logsnr|ays)$/ { if ($4 < m || m == "") m = $4 }
        END { exit !(o < m) }' "$T/stdout"; then ok; else bad "optimised < standard: $(cat "$T/stdout")"; fi
if grep -q "ratio best-standard / optimized: calibration" "$T/stdout"; then ok; else bad "ratio line"; fi
if ls -A "$T" | grep -q tmp; then bad "temporary files left"; else ok; fi

# ---- sgm sample reads it: 4 steps, 4 NFE
if "$SGM" sample --model "$M" --process ve --sampler dpmpp_2m --sigmas "@$T/s.txt" --n 8 --out "$T/x.npy" \
    >"$T/sout" 2>&1 && grep -q "4 steps, NFE 4" "$T/sout"; then ok; else bad "sample: $(cat "$T/sout")"; fi

# ---- several pairs share the references, one file each
if "$SGM" schedule --optimize --model "$M" --sampler dpmpp_2m,ipndm --nfe 3,4 "${FAST[@]}" \
    --max-evals 6 --out "$T/o-{sampler}-{nfe}.txt" >"$T/stdout" 2>"$T/stderr"; then ok; else
    bad "pairs: $(cat "$T/stderr")"; fi
for f in dpmpp_2m-3 dpmpp_2m-4 ipndm-3 ipndm-4; do
    if [ -f "$T/o-$f.txt" ]; then ok; else bad "file o-$f.txt"; fi
done
if [ "$(wc -l <"$T/o-ipndm-3.txt")" -eq 4 ]; then ok; else bad "ipndm NFE 3: 4 points"; fi

# ---- bad input
# refused (tests/cli_lib.bash): exit 2, one line on stderr, no output
REFUSED_OUT=("$T/b.txt")
REFUSED_MATCH=icase
expect_bad() { refused "$1" "$2" schedule "${@:3}"; } # NAME PATTERN ARGS...
expect_bad "nfe 0" "nfe" --optimize --model "$M" --sampler dpmpp_2m --nfe 0 --out "$T/b.txt"
expect_bad "unknown sampler" "unknown sampler" --optimize --model "$M" --sampler nope --nfe 4 \
    --out "$T/b.txt"
expect_bad "stochastic" "deterministic" --optimize --model "$M" --sampler euler_a --nfe 4 \
    --out "$T/b.txt"
expect_bad "no model" "--model" --optimize --sampler dpmpp_2m --nfe 4 --out "$T/b.txt"
expect_bad "no pattern" "{sampler}" --optimize --model "$M" --sampler dpmpp_2m,unipc --nfe 4 \
    --out "$T/b.txt"
expect_bad "same seeds" "holdout-seed" --optimize --model "$M" --sampler dpmpp_2m --nfe 4 \
    --holdout 8 --holdout-seed 0 --out "$T/b.txt"

echo "schedule_opt.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
