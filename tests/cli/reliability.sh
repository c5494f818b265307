#!/usr/bin/env bash
# reliability.sh - hostile-use cases of the reliability issue that are not
# bad input (exit 2): a write past the file-size limit (ulimit -f) is
# reported on one stderr line, not a death by SIGXFSZ, and leaves no file.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
DATA="${SGM_SOURCE_DIR:?}/tests/data"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
source "${SGM_SOURCE_DIR}/tests/cli_lib.bash"
M="gmm:$DATA/models/gmm2d.json"
OK=(--model "$M" --process vp --prediction eps --sampler euler --schedule karras --steps 2)

# 20000 x 2 float64 = 320 kB against a 1 kB limit
(ulimit -f 1; exec "$SGM" sample "${OK[@]}" --n 20000 --out "$T/big.npy") >/dev/null 2>"$T/err"
rc=$?
left=$(ls -A "$T" | grep -v '^err$' || true)
if [ "$rc" -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "File too large" "$T/err" &&
    [ -z "$left" ]; then
    ok
else
    bad "ulimit -f: rc=$rc (want 1; 153 is SIGXFSZ), files [$left], stderr: $(cat "$T/err")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
