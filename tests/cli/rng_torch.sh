#!/usr/bin/env bash
# rng_torch.sh - `sgm sample --rng torch`: euler_a on the ring mixture equals
# k-diffusion's sample_euler_ancestral with the same torch seed on CPU
# (tests/data/torch_rng/euler_a_N64_seed1234.npy, gen_euler_a.py there) within
# the parity criterion max |x - ref| <= 1e-4 max |ref| (the reference ran in
# float32, sgm in float64); the default (philox) is unchanged; bad --rng use
# exits 2 with one line and writes nothing.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
SRC="${SGM_SOURCE_DIR:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
source "$SRC/tests/cli_lib.bash"
M="gmm:$SRC/tests/data/models/gmm2d.json"
COMMON=(--model "$M" --process ve --sampler euler_a --schedule karras --steps 20
        --sigma-min 0.002 --sigma-max 80 --n 64 --seed 1234 --quiet)

if "$SGM" sample "${COMMON[@]}" --rng torch --out "$T/t.npy" >/dev/null 2>"$T/err"; then
    worst=$(paste <(values "$T/t.npy") <(values "$SRC/tests/data/torch_rng/euler_a_N64_seed1234.npy") |
        awk '{d = $1 - $2; if (d < 0) d = -d; if (d > e) e = d; r = $2 < 0 ? -$2 : $2;
              if (r > m) m = r; n++} END {print (n == 128 && e <= 1e-4 * m) ? "ok" : "bad " e " " m " " n}')
    [ "$worst" = ok ] && ok || bad "--rng torch vs k-diffusion: $worst"
else
    bad "--rng torch run: $(cat "$T/err")"
fi
# philox (the default) is a different stream, and stays batch-independent
"$SGM" sample "${COMMON[@]}" --rng philox --out "$T/p1.npy" >/dev/null 2>&1 || bad "philox run"
"$SGM" sample "${COMMON[@]}" --out "$T/p2.npy" --batch 7 >/dev/null 2>&1 || bad "default run"
cmp -s "$T/p1.npy" "$T/p2.npy" && ok || bad "--rng philox is not the default / not batch-independent"
cmp -s "$T/p1.npy" "$T/t.npy" && bad "torch and philox gave the same samples" || ok

# refused (tests/cli_lib.bash): exit 2, one line on stderr, no output
REFUSED_OUT=("$T/o.npy")
expect2() { refused "$1" "" sample "${@:2}" --out "$T/o.npy"; } # NAME ARGS...
expect2 "unknown --rng" "${COMMON[@]}" --rng tensorflow
expect2 "--rng torch with --batch < N" "${COMMON[@]}" --rng torch --batch 8
expect2 "--rng torch with --noise brownian" "${COMMON[@]}" --rng torch --noise brownian

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
