#!/usr/bin/env bash
# train.sh - `sgm train`: a short run writes a checkpoint and a JSON-lines log;
# 2N steps equal N steps + --resume + N steps byte for byte (the whole
# checkpoint); a diverging run (absurd --lr) exits 1 and leaves the previous
# checkpoint untouched; a truncated checkpoint, a network for another data
# width, unknown names and a missing --out exit 2 with one line on stderr;
# the per-network defaults (parameterization and learning rate).
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
DATA="${SGM_SOURCE_DIR:?}/tests/data"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"

# --lr-min -1: a constant learning rate after the warm-up, so that a run
# extended by --resume (--steps 20, then 40) equals one straight run of 40 (the
# default cosine decay ends at the first run's --steps, which a resume keeps)
COMMON="--data moons --n-data 2000 --width 32 --depth 1 --emb 16 --batch 64 --warmup 5 --seed 3 --lr-min -1 --quiet"

"$SGM" train $COMMON --steps 40 --out "$T/a.safetensors" --log "$T/a.jsonl" --log-every 10 2>"$T/err"
check "train runs" '[ $? -eq 0 ] && [ -s "$T/a.safetensors" ]'
check "jsonl log has 4 lines" '[ "$(wc -l <"$T/a.jsonl")" -eq 4 ] && grep -q "\"step\":40" "$T/a.jsonl"'
check "no temporary files" '[ -z "$(ls -A "$T" | grep tmp)" ]'

"$SGM" train $COMMON --steps 20 --out "$T/b.safetensors" 2>/dev/null
cp "$T/b.safetensors" "$T/b20.safetensors"
"$SGM" train $COMMON --steps 40 --resume "$T/b.safetensors" --out "$T/b.safetensors" 2>/dev/null
check "resume exit 0" '[ $? -eq 0 ]'
check "40 == 20 + resume + 20, byte for byte" 'cmp -s "$T/a.safetensors" "$T/b.safetensors"'

"$SGM" train --steps 40 --resume "$T/b20.safetensors" --out "$T/b20.safetensors" --quiet 2>/dev/null
check "resume without --data uses the recorded source, byte for byte" 'cmp -s "$T/a.safetensors" "$T/b20.safetensors"'

cp "$T/a.safetensors" "$T/keep.safetensors"
"$SGM" train $COMMON --steps 200 --lr 1e30 --warmup 0 --clip 0 --save-every 0 --out "$T/a.safetensors" 2>"$T/err"
rc=$?
check "divergence exits 1 (got $rc)" '[ $rc -eq 1 ] && grep -q "diverged" "$T/err"'
check "divergence keeps the last checkpoint" 'cmp -s "$T/a.safetensors" "$T/keep.safetensors"'

head -c 1000 "$T/keep.safetensors" >"$T/trunc.safetensors"
"$SGM" train $COMMON --steps 50 --resume "$T/trunc.safetensors" --out "$T/c.safetensors" 2>"$T/err"
rc=$?
check "truncated checkpoint exits 2 (got $rc)" '[ $rc -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && [ ! -e "$T/c.safetensors" ]'

printf 'a,b,c\n1,2,3\n4,5,6\n7,8,10\n' >"$T/three.csv"
"$SGM" train --data "$T/three.csv" --steps 50 --resume "$T/keep.safetensors" --out "$T/c.safetensors" --quiet 2>"$T/err"
rc=$?
check "wrong data width exits 2 (got $rc)" '[ $rc -eq 2 ] && grep -q "2-dimensional" "$T/err"'

"$SGM" train --data "$T/three.csv" --steps 5 --batch 4 --width 8 --depth 1 --emb 4 --out "$T/csv.safetensors" --quiet 2>/dev/null
check "csv data trains" '[ $? -eq 0 ] && [ -s "$T/csv.safetensors" ]'
"$SGM" train --data "gmm:$DATA/models/gmm2d.json" --n-data 500 --steps 3 --batch 16 --width 8 --depth 1 --emb 4 --prediction edm --process ve --weighting edm --out "$T/g.safetensors" --quiet 2>/dev/null
check "gmm data, ve/edm trains" '[ $? -eq 0 ]'

# per-network defaults (docs/cli.md, docs/training-defaults.md): the mlp
# trains with EDM preconditioning at lr 2e-3; with another --prediction, the
# U-Net or the MR process, eps / the library's 1e-3. Read from the
# checkpoint's training record (its JSON header, quotes escaped).
defaults() { # FILE PREDICTION LR
    head -c 8192 "$1" | grep -aqF "\\\"prediction\\\":\\\"$2\\\"" &&
        head -c 8192 "$1" | grep -aqF "\\\"lr\\\":$3,"
}
TINY="--n-data 256 --steps 1 --batch 8 --quiet"
"$SGM" train --data moons $TINY --width 8 --depth 1 --emb 4 --out "$T/d1.safetensors" 2>/dev/null
check "mlp default: edm, lr 2e-3" 'defaults "$T/d1.safetensors" edm 0.002'
"$SGM" train --data moons $TINY --width 8 --depth 1 --emb 4 --prediction eps --out "$T/d2.safetensors" 2>/dev/null
check "mlp with --prediction eps: lr 1e-3" 'defaults "$T/d2.safetensors" eps 0.001'
"$SGM" train --data moons $TINY --width 8 --depth 1 --emb 4 --lr 5e-4 --out "$T/d3.safetensors" 2>/dev/null
check "mlp: --lr wins over the default" 'defaults "$T/d3.safetensors" edm 0.0005'
"$SGM" train --data rings $TINY --width 8 --depth 1 --emb 4 --process mr --degrade noise:0.3 --out "$T/d4.safetensors" 2>/dev/null
check "mlp, --process mr: eps, lr 1e-3" 'defaults "$T/d4.safetensors" eps 0.001'
"$SGM" train --arch unet --data fashion-mnist $TINY --unet-base 8 --unet-mult 1,2 --unet-groups 4 \
    --unet-res 1 --out "$T/d5.safetensors" 2>/dev/null
check "unet default: eps, lr 1e-3" 'defaults "$T/d5.safetensors" eps 0.001'

for bad_args in "--data nosuchset" "--data moons --prediction nope" "--data moons --weighting nope" "--data moons --process nope" "--data moons --arch unet"; do
    "$SGM" train $bad_args --out "$T/x.safetensors" >"$T/out" 2>"$T/err"
    rc=$?
    check "bad input '$bad_args' exits 2 (got $rc)" '[ $rc -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && [ ! -s "$T/out" ] && [ ! -e "$T/x.safetensors" ]'
done
"$SGM" train --data moons 2>"$T/err"
check "missing --out exits 2" '[ $? -eq 2 ]'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
