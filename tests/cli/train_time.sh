#!/usr/bin/env bash
# train_time.sh - `sgm train --max-time MIN --save-every-time MIN --preview N`
# (issue 12): a wall-clock budget ends the run cleanly before --steps with a
# final checkpoint that --resume continues, a "stopped" line in the log and a
# message naming the step; a timed checkpoint period writes checkpoints
# between the step-period ones; --preview writes OUT.preview.png (a scatter
# for 2-D data, an image grid for the U-Net) with each checkpoint; bad values
# exit 2 before any work, nothing written.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"
png_size() { od -A n -t u1 -j 16 -N 8 "$1" | awk '{print $2 * 65536 + $3 * 256 + $4, $6 * 65536 + $7 * 256 + $8}'; }

MLP=(--data moons --n-data 2000 --width 32 --depth 1 --emb 16 --batch 64 --seed 1)
# a budget of 0.02 min (1.2 s) can never reach 10^9 steps: the stop is the budget's
"$SGM" train "${MLP[@]}" --steps 1000000000 --max-time 0.02 --save-every 0 --preview 100 \
    --out "$T/a.safetensors" --log "$T/a.jsonl" --log-every 1000000 2>"$T/err"
check "--max-time exits 0 with a checkpoint" '[ $? -eq 0 ] && [ -s "$T/a.safetensors" ]'
check "--max-time names the step and --resume" 'grep -q "max-time 0.02 min reached at step [0-9]* of 1000000000" "$T/err" && grep -q -- "--resume" "$T/err"'
check "the log ends with a stopped line" 'tail -n 1 "$T/a.jsonl" | grep -q "\"stopped\":\"max-time\""'
check "--preview writes OUT.preview.png (512 x 512 scatter)" '[ "$(png_size "$T/a.preview.png")" = "512 512" ]'
s1=$(sed -n 's/.*reached at step \([0-9]*\) .*/\1/p' "$T/err")
"$SGM" train --resume "$T/a.safetensors" --steps $((s1 + 5)) --out "$T/b.safetensors" --quiet 2>"$T/err2"
check "--resume continues from the budget's checkpoint" '[ $? -eq 0 ] && [ -s "$T/b.safetensors" ]'

# timed checkpoints: a period of 0 steps with a 0.005 min (0.3 s) timer writes
# several previews; count the preview lines
"$SGM" train "${MLP[@]}" --steps 1000000000 --max-time 0.03 --save-every-time 0.005 --save-every 0 \
    --preview 50 --out "$T/c.safetensors" 2>"$T/err3"
n=$(grep -c "preview $T/c.preview.png" "$T/err3")
check "--save-every-time checkpoints between (>= 2 previews, got $n)" '[ "$n" -ge 2 ]'

# bad values: exit 2, nothing written
for bad_opt in "--max-time -1" "--max-time nan" "--save-every-time -0.5" "--preview -1" "--preview 5000"; do
    # shellcheck disable=SC2086
    "$SGM" train "${MLP[@]}" --steps 10 $bad_opt --out "$T/x.safetensors" 2>"$T/e"
    rc=$?
    check "$bad_opt: exit 2, one line, nothing written" '[ $rc -eq 2 ] && [ "$(wc -l <"$T/e")" -eq 1 ] && [ ! -e "$T/x.safetensors" ]'
done

# the U-Net: an image grid (1 channel, 28 x 28, scale 2) when the data set is there
if have_fashion_mnist; then
    "$SGM" train --arch unet --data fashion-mnist --n-data 64 --unet-base 8 --unet-mult 1,2 \
        --unet-res 1 --unet-groups 4 --batch 8 --steps 2 --preview 4 --quiet \
        --out "$T/u.safetensors" 2>"$T/eu"
    check "U-Net --preview writes an image grid" '[ $? -eq 0 ] && [ -s "$T/u.preview.png" ]'
else
    echo "fashion-mnist not installed: U-Net preview not checked (not counted)"
fi

echo "train_time: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
