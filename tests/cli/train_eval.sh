#!/usr/bin/env bash
# train_eval.sh - `sgm train --eval-every N --eval-data HELDOUT.npy` (issue 15,
# item 4): every N steps a JSON line with sliced W2 / MMD^2 and their noise
# floors (plus the exact log-density gap and mass range for gmm: data) in the
# --log file and an "eval step" line on stderr; a held-out set of another
# width, a missing file, or one option without the other exit 2 before any
# training (no checkpoint written). Also `sgm mixture` (the test family) and
# the checkpoint's default sampling path used by `sgm sample`.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"

"$SGM" mixture --seed 3 --dim 2 --out "$T/m.json" --draws 2000 --draws-out "$T/held.npy" >/dev/null
check "mixture writes json + draws" '[ $? -eq 0 ] && [ -s "$T/m.json" ] && [ -s "$T/held.npy" ]'
"$SGM" mixture --seed 3 --dim 2 --out "$T/m2.json" >/dev/null
check "mixture is a pure function of (seed, dim)" 'cmp -s "$T/m.json" "$T/m2.json"'
"$SGM" mixture --seed 3 --dim 8 --out "$T/m8.json" --draws 100 --draws-out "$T/held8.npy" >/dev/null

COMMON="--data gmm:$T/m.json --n-data 2000 --width 32 --depth 1 --emb 16 --batch 64 --seed 3"
"$SGM" train $COMMON --steps 20 --out "$T/a.safetensors" --log "$T/a.jsonl" --log-every 10 \
    --eval-every 10 --eval-data "$T/held.npy" --eval-n 200 2>"$T/err"
check "train with --eval-every exits 0" '[ $? -eq 0 ] && [ -s "$T/a.safetensors" ]'
check "two eval lines in the log" '[ "$(grep -c "\"eval\"" "$T/a.jsonl")" -eq 2 ]'
check "eval line has floors and gmm metrics" \
    'grep "\"step\":20,\"eval\"" "$T/a.jsonl" | grep -q "sw2_floor.*mmd2_floor.*loglik_gap.*mass_ratio_max"'
check "eval lines on the progress stream" '[ "$(grep -c "^eval step" "$T/err")" -eq 2 ]'

for bad_case in "--eval-every 10 --eval-data $T/held8.npy" "--eval-every 10 --eval-data $T/none.npy" \
                "--eval-every 10" "--eval-data $T/held.npy"; do
    "$SGM" train $COMMON --steps 20 --out "$T/b.safetensors" $bad_case 2>"$T/err"
    rc=$?
    check "refused before training: $bad_case (rc $rc)" \
        '[ $rc -eq 2 ] && [ ! -e "$T/b.safetensors" ] && [ "$(wc -l <"$T/err")" -eq 1 ]'
done

# the recorded sampling path fills --sampler / --schedule / --steps
"$SGM" sample --model "ckpt:$T/a.safetensors" --n 50 --out "$T/s.npy" >"$T/out" 2>/dev/null
check "sample with the recorded path" '[ $? -eq 0 ] && grep -q "unipc, 20 steps" "$T/out"'
"$SGM" sample --model "ckpt:$T/a.safetensors" --steps 7 --n 50 --out "$T/s.npy" >"$T/out" 2>/dev/null
check "--steps overrides the recorded count" 'grep -q "7 steps" "$T/out"'

echo "train_eval: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
