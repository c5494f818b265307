#!/usr/bin/env bash
# names.sh - the picture and the names of `sgm`:
# - `sgm sample --png OUT.png` writes the picture (with or without a diffusers
#   --grid); --grid is only the diffusers timestep grid, and a --grid value
#   ending in .png is refused: exit 2, one line on stderr that points to
#   --png, nothing on stdout, no file;
# - enumerated options take their names from the library's one table per
#   enum (src/core/enum_names.c): aliases parse and give the same bytes as
#   the canonical names (--betas cosine, --prediction epsilon, train
#   --weighting minsnr ...); an unknown name is refused with one line that
#   lists the library's names ("expected a|b|c"), exit 2;
# - help text and `sgm list` show those names: every name in the --process
#   and --schedule help is listed by `sgm list`, the explicit schedule lists
#   are not offered as --schedule names.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"
M="gmm:$SGM_SOURCE_DIR/tests/data/models/gmm2d.json"
S=(sample --model "$M" --process vp --sampler euler --schedule karras --steps 4 --n 4 --quiet)
TRAIN=(train --data moons --n-data 64 --steps 2 --batch 8 --width 8 --depth 1 --emb 4 --quiet)

# refused (tests/cli_lib.bash): exit 2, one line on stderr, no output
REFUSED_CLEAN=1
REFUSED_STDOUT=empty
is_png() { [ "$(head -c 4 "$1" | tail -c 3)" = PNG ]; }

# --grid X.png is not the picture any more
refused "grid x.png" "write the picture with --png" "${S[@]}" --out "$T/out.npy" --grid "$T/out.png"
refused "grid X.PNG" "--png" "${S[@]}" --out "$T/out.npy" --grid "$T/out.PNG"
refused "grid x.png with --png" "--png" "${S[@]}" --out "$T/out.npy" --grid "$T/a.png" \
    --png "$T/b.png"

# --png writes the picture, alone or next to a diffusers grid
if "$SGM" "${S[@]}" --out "$T/p.npy" --png "$T/p.png" 2>"$T/err" >/dev/null &&
    [ -s "$T/p.npy" ] && is_png "$T/p.png"; then ok; else bad "--png: $(cat "$T/err")"; fi
if "$SGM" "${S[@]}" --process vp-discrete --schedule trailing --grid dpmsolver --out "$T/q.npy" \
    --png "$T/q.png" 2>"$T/err" >/dev/null && is_png "$T/q.png"; then ok; else
    bad "--png with --grid dpmsolver: $(cat "$T/err")"; fi
rm -f "$T"/*.npy "$T"/*.png "$T/err"

# aliases give the bytes of the canonical names
D=(sample --model "$M" --process vp-discrete --sampler euler --schedule trailing --steps 4 --n 4
    --quiet)
same() { # same NAME "ARGS A" "ARGS B"
    local name="$1"
    "$SGM" "${D[@]}" $2 --out "$T/a.npy" >/dev/null 2>"$T/err" &&
        "$SGM" "${D[@]}" $3 --out "$T/b.npy" >/dev/null 2>>"$T/err" && cmp -s "$T/a.npy" "$T/b.npy" &&
        ok || bad "alias $name: $(cat "$T/err")"
    rm -f "$T/a.npy" "$T/b.npy" "$T/err"
}
same "--betas cosine" "--betas cosine" "--betas squaredcos_cap_v2"
same "--prediction epsilon" "--prediction epsilon" "--prediction eps"
same "--prediction v_prediction" "--prediction v_prediction" "--prediction v"
same "--interp Log-Sigma" "--interp Log-Sigma" "--interp log_sigma"
same "--process ddpm" "--process ddpm" "--process vp-discrete"
if "$SGM" "${TRAIN[@]}" --prediction epsilon --weighting minsnr --t-sampling log-normal \
    --arch MLP --out "$T/m.safetensors" 2>"$T/err" && [ -s "$T/m.safetensors" ]; then ok; else
    bad "train with aliases: $(cat "$T/err")"; fi
rm -f "$T/m.safetensors" "$T/err"

# unknown names: one line listing the library's names
B="expected linear|scaled_linear|squaredcos_cap_v2"
refused "--betas cubic" "--betas: unknown value 'cubic' ($B)" \
    "${D[@]}" --betas cubic --out "$T/out.npy"
refused "--interp" "expected log_alpha|log_sigma|sigma" "${D[@]}" --interp cubic --out "$T/out.npy"
refused "sample --prediction" "unknown prediction 'noize' (expected eps|x0|v|score|flow)" \
    "${S[@]}" --prediction noize --out "$T/out.npy"
refused "train --prediction" "expected eps|x0|v|flow|edm" "${TRAIN[@]}" --prediction score \
    --out "$T/m.safetensors"
refused "train --weighting" "expected uniform|likelihood|min_snr|edm" "${TRAIN[@]}" \
    --weighting nope --out "$T/m.safetensors"
refused "train --t-sampling" "expected uniform|lognormal|importance" "${TRAIN[@]}" \
    --t-sampling nope --out "$T/m.safetensors"
refused "train --process" "expected ve|vp|vp-cosine|vp-discrete|subvp|flow" "${TRAIN[@]}" \
    --process vq --out "$T/m.safetensors"
refused "train --arch" "--arch: unknown value 'cnn' (expected mlp|unet)" "${TRAIN[@]}" \
    --arch cnn --out "$T/m.safetensors"

# help text and `sgm list` name the same things
"$SGM" sample --help >"$T/help.txt"
"$SGM" list >"$T/list.txt"
grep -q -F "vp-discrete: linear|scaled_linear|squaredcos_cap_v2" "$T/help.txt" && ok ||
    bad "sample --help: --betas names"
for opt in process schedule; do
    names=$(grep -E "^  --$opt NAME " "$T/help.txt" | awk '{print $3}')
    [ -n "$names" ] && ok || bad "sample --help: no --$opt line"
    for n in ${names//|/ }; do
        grep -q "^  $n " "$T/list.txt" && ok || bad "--$opt help names '$n', sgm list does not"
    done
done
if grep -E "^  --schedule NAME " "$T/help.txt" | grep -q -e "|sigmas" -e "|times"; then
    bad "--schedule help offers the explicit lists"; else ok; fi
for c in sample schedule nll encode train bench; do
    "$SGM" "$c" --help | grep -q -F "{" && bad "$c --help: a {KEY} left unexpanded" || ok
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
