#!/usr/bin/env bash
# demo.sh - `sgm demo --quick` into a temporary folder: exit 0, the checkpoint,
# the PNG (signature), the report with every expected field (training time,
# loss, NFE, sampling time, sliced W2, MMD^2, and for the 8gaussians mixture
# the log-density gap and masses), identical stdout and report file, no
# temporary files left; bad options exit 2 with one line and write nothing.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"

"$SGM" demo --quick --quiet --out-dir "$T/out" >"$T/stdout" 2>"$T/err"
rc=$?
check "demo --quick exits 0 (got $rc)" '[ $rc -eq 0 ]'
check "no stderr with --quiet" '[ ! -s "$T/err" ]'
check "checkpoint written" '[ -s "$T/out/demo.safetensors" ]'
check "PNG signature" '[ "$(head -c 8 "$T/out/demo.png" | od -An -tx1 | tr -d " \n")" = "89504e470d0a1a0a" ]'
R="$T/out/demo_report.txt"
check "report written" '[ -s "$R" ]'
for f in "training:" "final loss" "it/s" "NFE 20" "sampling:" "dpmpp_2m" "sliced W2" "MMD^2" \
    "mean log p" "gap" "mass / weight"; do
    check "report has '$f'" 'grep -qF "$f" "$R"'
done
check "stdout equals the report" 'cmp -s "$T/stdout" "$R"'
check "no temporary files" '[ -z "$(ls -A "$T/out" | grep -v -x -e demo.png -e demo.safetensors -e demo_report.txt)" ]'

# a data set without an exact density: no mixture lines
"$SGM" demo --quick --quiet --data moons --steps 20 --n-samples 200 --out-dir "$T/m" >"$T/m.txt" 2>"$T/err"
check "moons: exit 0" '[ $? -eq 0 ] && grep -q "sliced W2" "$T/m.txt" && ! grep -q "mean log p" "$T/m.txt"'

# bad options: exit 2, one line on stderr, nothing written
for args in "--data nosuchset" "--steps 0" "--steps abc" "--n-samples 3" "--bogus" "--data gmm:$T/missing.json"; do
    "$SGM" demo --quick --quiet $args --out-dir "$T/bad" >/dev/null 2>"$T/err"
    rc=$?
    check "'$args' exits 2 (got $rc)" '[ $rc -eq 2 ]'
    check "'$args' one line" '[ "$(wc -l <"$T/err")" -eq 1 ]'
    check "'$args' writes nothing" '[ ! -e "$T/bad" ]'
done
"$SGM" demo --help >/dev/null
check "--help exits 0" '[ $? -eq 0 ]'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
