#!/usr/bin/env bash
# precision.sh - `sgm train --precision bf16` and `sgm sample --precision
# bf16` on a tiny U-Net (first 32 Fashion-MNIST images): where the CPU runs
# bf16 (no note on stderr) the log records "precision":"bf16", two runs give
# the same checkpoint and the same samples (bitwise), and the bf16 model
# differs from the fp32 one; on a CPU without bf16 - forced here with
# oneDNN's DNNL_MAX_CPU_ISA=AVX512_CORE, which hides AVX512-BF16 - both
# commands print exactly one note on stderr, run fp32 (log "fp32", the same
# bits as --precision fp32 under the same setting); bad input exits 2 with
# one line (unknown precision, bf16 on a mixture). Skipped (exit 77) when
# the Debian dataset-fashion-mnist files are missing.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
. "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"
if ! have_fashion_mnist; then
    echo "fashion-mnist not installed: skipped"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

NET=(--arch unet --data fashion-mnist --n-data 32 --unet-base 8 --unet-mult 1,2
    --unet-groups 4 --unet-res 1 --batch 8 --steps 3 --quiet)
SAMPLE=(--sampler dpmpp_2m --schedule karras --steps 3 --n 4 --seed 1 --quiet)

# train + sample with the given precision and environment; NAME.safetensors,
# NAME.jsonl, NAME.npy, NAME.err (train's stderr), NAME.serr (sample's)
run() { # name precision env...
    local name=$1 p=$2
    shift 2
    env "$@" "$SGM" train "${NET[@]}" --precision "$p" --log "$T/$name.jsonl" \
        --out "$T/$name.safetensors" 2>"$T/$name.err" &&
        env "$@" "$SGM" sample --model "ckpt:$T/$name.safetensors" "${SAMPLE[@]}" \
            --precision "$p" --out "$T/$name.npy" >/dev/null 2>"$T/$name.serr"
}
logged() { grep -o '"precision":"[a-z0-9]*"' "$1" | sort -u | tr -d '\n'; }

# native: bf16 when the CPU has it (the note says why not, otherwise)
if run a bf16 && run b bf16 && run f fp32; then ok; else
    bad "runs: $(cat "$T"/*.err "$T"/*.serr 2>/dev/null)"; fi
if [ -s "$T/a.err" ]; then
    # no bf16 here: one note, and the log says fp32
    if [ "$(wc -l <"$T/a.err")" -eq 1 ] && grep -q "running in fp32" "$T/a.err" &&
        [ "$(logged "$T/a.jsonl")" = '"precision":"fp32"' ]; then ok; else
        bad "fallback note / log: $(cat "$T/a.err") $(logged "$T/a.jsonl")"; fi
    if grep -q -w avx512_bf16 /proc/cpuinfo && ! grep -q "without oneDNN" "$T/a.err"; then
        bad "this CPU has avx512_bf16 but sgm fell back: $(cat "$T/a.err")"; fi
else
    if [ "$(logged "$T/a.jsonl")" = '"precision":"bf16"' ] && [ ! -s "$T/a.serr" ]; then ok; else
        bad "bf16 log: $(logged "$T/a.jsonl"), sample stderr: $(cat "$T/a.serr")"; fi
    if cmp -s "$T/a.safetensors" "$T/b.safetensors" && cmp -s "$T/a.npy" "$T/b.npy"; then ok; else
        bad "bf16 training / sampling is not bitwise deterministic"; fi
    if cmp -s "$T/a.safetensors" "$T/f.safetensors"; then bad "bf16 trained fp32's bits"; else ok; fi
fi
if [ "$(logged "$T/f.jsonl")" = '"precision":"fp32"' ] && [ ! -s "$T/f.err" ]; then ok; else
    bad "fp32 log: $(logged "$T/f.jsonl") $(cat "$T/f.err")"; fi

# forced fallback: oneDNN limited to AVX-512 without bf16
if run n bf16 DNNL_MAX_CPU_ISA=AVX512_CORE && run m fp32 DNNL_MAX_CPU_ISA=AVX512_CORE; then ok; else
    bad "fallback runs: $(cat "$T/n.err" "$T/n.serr" "$T/m.err" "$T/m.serr")"; fi
for f in "$T/n.err" "$T/n.serr"; do
    if [ "$(wc -l <"$f")" -eq 1 ] && grep -q -- "--precision bf16: .*; running in fp32" "$f"; then
        ok; else bad "fallback note ($f): $(cat "$f")"; fi
done
if [ "$(logged "$T/n.jsonl")" = '"precision":"fp32"' ]; then ok; else
    bad "fallback log: $(logged "$T/n.jsonl")"; fi
if cmp -s "$T/n.safetensors" "$T/m.safetensors" && cmp -s "$T/n.npy" "$T/m.npy"; then ok; else
    bad "the fallback is not fp32's bits"; fi

# refused (tests/cli_lib.bash): exit 2, one line on stderr, no output
REFUSED_OUT=("$T/out.npy")
REFUSED_MATCH=icase
refused "unknown precision" "unknown precision" sample --model "ckpt:$T/f.safetensors" \
    "${SAMPLE[@]}" --precision fp16 --out "$T/out.npy"
refused "bf16 on a mixture" "network (ckpt:) models" sample \
    --model "gmm:$SGM_SOURCE_DIR/tests/data/models/gmm2d.json" --process vp "${SAMPLE[@]}" --precision bf16 \
    --out "$T/out.npy"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
