#!/usr/bin/env bash
# examples.sh - acceptance item 7: the embedding example samples through the
# library with its own eps-prediction callback and checks its moments against
# the closed form (it exits non-zero when they are off).
set -u
B="${SGM_BUILD_DIR:?}"
pass=0
fail=0
for m in dpmpp_2m dpm_solver; do
    if "$B/example_sample_custom" "$m" >"$B/example_$m.log" 2>&1; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL example_sample_custom $m:"
        sed 's/^/    /' "$B/example_$m.log"
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
