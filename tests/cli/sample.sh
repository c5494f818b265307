#!/usr/bin/env bash
# sample.sh - successful runs of the `sgm` command: every process with a few
# samplers and every prediction, --init vs --n/--seed, batch- and
# thread-independence (identical bytes), output dtype and shape, `sgm schedule`
# and `sgm list`. Values are read back from the .npy files with od (no Python).
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
SRC="${SGM_SOURCE_DIR:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
M="gmm:$SRC/tests/data/models/gmm2d.json"
. "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"
run() { # run NAME ARGS...: the command must succeed
    local name="$1"
    shift
    if "$SGM" "$@" >"$T/stdout" 2>"$T/stderr"; then ok; else bad "$name: $(cat "$T/stderr")"; fi
}

# npy helpers: header text, and the values one per line
npy_header() { head -c 256 "$1" | tr -d '\0' | grep -a -o "{.*}"; }
npy_values() {
    local f="$1" hl t
    hl=$(od -A n -t u2 -j 8 -N 2 "$f" | tr -d ' ')
    if npy_header "$f" | grep -q "<f4"; then t=f4; else t=f8; fi
    od -A n -v -t "$t" -j $((10 + hl)) -w"${t#f}" "$f" | tr -d ' '
}
# max |a - b| over two files' values
max_diff() {
    paste <(npy_values "$1") <(npy_values "$2") |
        awk 'BEGIN{m=0} {d=$1-$2; if(d<0)d=-d; if(d>m)m=d} END{printf "%.3g\n", m}'
}
lt() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a < b)}'; }

# 1. every process x a few samplers (5 samples each; the flow process starts
#    at t = 1, pure noise, so it uses an x0 model)
for proc in ve vp vp-cosine vp-discrete subvp flow; do
    sched=karras
    [ "$proc" = flow ] && sched=time_uniform
    for s in euler heun euler_a dpm2 dpm2_a dpmpp_2m; do
        run "$proc/$s" sample --model "$M" --process "$proc" --sampler "$s" --schedule "$sched" \
            --steps 8 --n 5 --seed 3 --out "$T/$proc-$s.npy"
        if npy_header "$T/$proc-$s.npy" | grep -q "'shape': (5, 2)"; then ok; else bad "$proc/$s shape"; fi
        if npy_values "$T/$proc-$s.npy" | grep -qi "nan\|inf"; then bad "$proc/$s non-finite"; else ok; fi
    done
done

# 2. every prediction gives the same samples (the wrapper converts x0 to the
#    target and the library converts back: only rounding differs; 1e-9 on
#    values of size ~5 is ~1e6 ulps of slack for the 8 steps of conversions)
for pred in x0 eps v score flow; do
    run "pred $pred" sample --model "$M" --process vp --prediction "$pred" --sampler heun \
        --schedule karras --steps 8 --n 16 --out "$T/pred-$pred.npy"
done
for pred in eps v score flow; do
    d=$(max_diff "$T/pred-x0.npy" "$T/pred-$pred.npy")
    if lt "$d" 1e-9; then ok; else bad "prediction $pred differs from x0 by $d"; fi
done

# 3. --n/--seed vs --init: the saved x_T fed back gives identical bytes; the
#    shape of --init is kept ([N, 1, 2] in -> [N, 1, 2] out)
for s in euler euler_a; do
    run "save-init $s" sample --model "$M" --process ve --sampler "$s" --schedule karras --steps 6 \
        --n 9 --seed 11 --save-init "$T/x_T.npy" --out "$T/a.npy"
    run "init $s" sample --model "$M" --process ve --sampler "$s" --schedule karras --steps 6 \
        --init "$T/x_T.npy" --seed 11 --out "$T/b.npy"
    if cmp -s "$T/a.npy" "$T/b.npy"; then ok; else bad "--init rerun of $s differs"; fi
done
# x_T = sigma(t_0) * N(0, 1): for ve and karras sigma(t_0) = 80, so |x_T| < 80 * 6
if npy_values "$T/x_T.npy" | awk '{if ($1 > 480 || $1 < -480) bad = 1} END {exit bad}'; then ok; else bad "x_T scale"; fi
# a 3-D init keeps its shape
h="{'descr': '<f8', 'fortran_order': False, 'shape': (3, 1, 2), }"
pad=$((128 - 10 - ${#h} - 1)) # header padded to 128 bytes, ending in a newline
{ printf '\x93NUMPY\x01\x00\x76\x00%s%*s\n' "$h" "$pad" ''; head -c 48 /dev/zero; } >"$T/i3.npy"
run "init 3-D" sample --model "$M" --process vp --sampler euler --schedule karras --steps 4 \
    --init "$T/i3.npy" --out "$T/o3.npy"
if npy_header "$T/o3.npy" | grep -q "'shape': (3, 1, 2)"; then ok; else bad "3-D init shape: $(npy_header "$T/o3.npy")"; fi
# different seeds give different samples
run "seed 12" sample --model "$M" --process ve --sampler euler --schedule karras --steps 6 \
    --n 9 --seed 12 --out "$T/c.npy"
if cmp -s "$T/a.npy" "$T/c.npy"; then bad "seeds 11 and 12 agree"; else ok; fi

# 4. --batch 1 / 7 / 64 and --threads 1 / 2 give identical bytes, deterministic and stochastic
for s in dpmpp_2m euler_a dpm2_a; do
    for b in 1 7 64; do
        run "batch $s $b" sample --model "$M" --process vp --sampler "$s" --schedule karras \
            --steps 10 --n 64 --seed 5 --batch "$b" --out "$T/batch-$b.npy"
    done
    run "threads $s" sample --model "$M" --process vp --sampler "$s" --schedule karras \
        --steps 10 --n 64 --seed 5 --threads 1 --out "$T/thr-1.npy"
    if cmp -s "$T/batch-1.npy" "$T/batch-7.npy" && cmp -s "$T/batch-1.npy" "$T/batch-64.npy"; then
        ok
    else
        bad "$s: --batch changes the samples"
    fi
    if cmp -s "$T/batch-64.npy" "$T/thr-1.npy"; then ok; else bad "$s: --threads changes the samples"; fi
done

# 5. float32: state and output
run "f32" sample --model "$M" --process vp --sampler dpmpp_2m --schedule karras --steps 10 \
    --n 16 --dtype f32 --out-dtype f32 --out "$T/f32.npy"
if npy_header "$T/f32.npy" | grep -q "<f4"; then ok; else bad "--out-dtype f32 header"; fi
run "f64 for f32" sample --model "$M" --process vp --sampler dpmpp_2m --schedule karras --steps 10 \
    --n 16 --out "$T/f64.npy"
# float32 state: ~1e-7 relative rounding per step on values of size ~5, 10 steps
d=$(max_diff "$T/f32.npy" "$T/f64.npy")
if lt "$d" 1e-3; then ok; else bad "f32 vs f64 differ by $d"; fi

# 6. explicit lists and the progress / summary line
run "sigmas list" sample --model "$M" --process ve --sampler heun --sigmas 80,10,1,0.1,0 --n 4 --out "$T/l.npy"
if grep -q "NFE 7" "$T/stdout"; then ok; else bad "heun over 4 steps to 0 should use 7 NFE: $(cat "$T/stdout")"; fi
printf '80\n10\n1 0.1\n0\n' >"$T/sig.txt"
run "sigmas file" sample --model "$M" --process ve --sampler heun --sigmas "@$T/sig.txt" --n 4 --out "$T/l2.npy"
if cmp -s "$T/l.npy" "$T/l2.npy"; then ok; else bad "--sigmas @FILE differs from the list"; fi

# 7. a quality check on the exact mixture: 2000 samples, 20 steps of dpmpp_2m;
#    the component masses of 2000 samples over 8 equal components have a
#    total variation of about 0.02 from sampling noise alone, 0.06 is ~3x that
run "report" sample --model "$M" --process vp --sampler dpmpp_2m --schedule karras --steps 20 \
    --n 2000 --out "$T/r.npy" --report
tv=$(grep "total variation" "$T/stdout" | awk '{print $NF}')
if [ -n "$tv" ] && lt "$tv" 0.06; then ok; else bad "component masses off: tv=$tv"; fi

# 8. sgm schedule: karras on ve, 5 steps -> 6 lines "i t sigma alpha", 80 ... 0
"$SGM" schedule --schedule karras --steps 5 >"$T/sched.txt" 2>"$T/stderr" && ok || bad "schedule: $(cat "$T/stderr")"
if [ "$(wc -l <"$T/sched.txt")" -eq 6 ] && awk -F'\t' 'NF != 4 {exit 1}' "$T/sched.txt" &&
    awk -F'\t' 'NR == 1 && $3 != 80 {exit 1} NR == 6 && $3 != 0 {exit 1}' "$T/sched.txt"; then
    ok
else
    bad "schedule output: $(cat "$T/sched.txt")"
fi
"$SGM" schedule --schedule logsnr --steps 10 --process vp-discrete >"$T/sched2.txt" && ok || bad "schedule logsnr"
if [ "$(wc -l <"$T/sched2.txt")" -eq 11 ]; then ok; else bad "logsnr: $(wc -l <"$T/sched2.txt") lines"; fi
"$SGM" schedule --schedule trailing --steps 10 --process vp-discrete --betas scaled_linear \
    --beta-start 0.00085 --beta-end 0.012 >"$T/sched3.txt" && ok || bad "schedule trailing"

# 9. sgm list names every sampler of the registry, every process and schedule
"$SGM" list >"$T/list.txt" && ok || bad "sgm list"
for n in $(grep -o 'extern const sgm__method sgm__m_[a-z0-9_]*' "$SRC/src/sampler/registry.c" | sed 's/.*sgm__m_//'); do
    if grep -q "^  $n " "$T/list.txt"; then ok; else bad "sgm list lacks sampler $n"; fi
done
for n in ve vp vp-cosine vp-discrete subvp flow karras exponential time_uniform logsnr trailing eps x0 v score; do
    if grep -q "^  $n " "$T/list.txt"; then ok; else bad "sgm list lacks $n"; fi
done
"$SGM" list --markdown | grep -q "^| \`dpmpp_2m\` |" && ok || bad "sgm list --markdown"
"$SGM" --help >/dev/null && "$SGM" sample --help | grep -q -- "--sampler" && ok || bad "--help"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
