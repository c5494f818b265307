#!/usr/bin/env bash
# hostile_probe.sh - the hostile-user probe of the reliability issue, bounded
# and repeatable: seeded mutations of every kind of input the `sgm` tool
# parses (.npy, checkpoint, GMM JSON, IDX images + labels, CSV, @FILE sigma
# lists) fed through the CLI, plus unwritable / full / size-limited outputs
# and kill -9 during training. Meant for the sanitizer build (ASan + UBSan).
# A run passes when
#   - it exits 0, 1 or 2 (never a signal, never another code),
#   - stderr has no sanitizer report,
#   - a failing run (exit 1 or 2) prints exactly one non-empty stderr line
#     and leaves no output file,
#   - no temp file of the atomic writer (.NAME.sgm-tmp.*) is left,
#   - a written .npy has no NaN / Inf.
# Usage: scripts/hostile_probe.sh [RUNS_PER_KIND] [BUILD_DIR]
#   (default 40 runs per kind, build-asan). Prints the counts per kind and
#   exits non-zero on any bad run; the bad runs' inputs are kept under
#   $PROBE_KEEP (default /tmp/sgm-probe-bad).
# Mutations (a seeded Python mutator, /usr/bin/python3): byte flips, random
# bytes, inserted / deleted / duplicated ranges, truncation, and for text
# formats numbers replaced by edge values (0, -1, 1e308, 1e-320, nan, inf,
# 2^32, 2^63, ...), so that most runs reach the parsers' deep paths.
set -u
cd "$(dirname "$0")/.."
N=${1:-40}
B=${2:-build-asan}
SGM="$PWD/$B/sgm"
[ -x "$SGM" ] || { echo "hostile_probe: $SGM not built"; exit 2; }
PY=/usr/bin/python3
KEEP=${PROBE_KEEP:-/tmp/sgm-probe-bad}
T=$(mktemp -d /tmp/sgm-probe-XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$KEEP"
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
D="$PWD/tests/data"
GMM="$D/models/gmm2d.json"
total=0 nbad=0
declare -A k_ok k_e1 k_e2 k_bad

# mutate KIND SEED_FILE OUT_DIR COUNT TEXT(0|1): COUNT mutants m0..m(COUNT-1)
mutate() {
    "$PY" - "$@" <<'EOF'
import random, re, sys, os
kind, seed_file, out, count, text = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == '1'
src = open(seed_file, 'rb').read()
rng = random.Random(hash(kind) & 0xffff ^ 12345)
rng.seed(kind + str(count))
edge = [b'0', b'-1', b'1e308', b'-1e308', b'1e-320', b'nan', b'inf', b'-inf', b'4294967296',
        b'9223372036854775808', b'18446744073709551617', b'1e999', b'0.0', b'-0', b'2147483647',
        b'""', b'[]', b'{}', b'null', b'true', b'1,', b',', b'1e', b'0x10']
def one(b):
    b = bytearray(b)
    op = rng.randrange(8 if text else 6)
    n = len(b)
    if n == 0: return bytes([rng.randrange(256)])
    if op == 0:                       # flip bits
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(n); b[i] ^= 1 << rng.randrange(8)
    elif op == 1:                     # random bytes
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(n)] = rng.randrange(256)
    elif op == 2:                     # delete a range
        i = rng.randrange(n); del b[i:i + rng.randint(1, 16)]
    elif op == 3:                     # duplicate a range
        i = rng.randrange(n); j = min(n, i + rng.randint(1, 32)); b[i:i] = b[i:j]
    elif op == 4:                     # truncate
        b = b[:rng.randrange(n)]
    elif op == 5:                     # 4 bytes of a boundary integer
        i = rng.randrange(max(1, n - 3))
        b[i:i + 4] = rng.choice([b'\xff\xff\xff\xff', b'\x00\x00\x00\x00', b'\x7f\xff\xff\xff', b'\x80\x00\x00\x00'])
    else:                             # replace a number with an edge value
        nums = [m.span() for m in re.finditer(rb'-?[0-9][0-9.eE+-]*', bytes(b))]
        if nums:
            i, j = rng.choice(nums); b[i:j] = rng.choice(edge)
        else:
            b.insert(rng.randrange(n), ord(','))
    return bytes(b)
for k in range(count):
    b = src
    for _ in range(rng.choice([1, 1, 1, 2, 3])): b = one(b)
    open(os.path.join(out, 'm%d' % k), 'wb').write(b)
EOF
}

# the values of an .npy: 0 when all are finite (or the file is not an .npy
# numpy reads: the CLI wrote it, so that is a finding too -> 1)
finite_npy() {
    "$PY" -c 'import numpy as np, sys; a = np.load(sys.argv[1]); sys.exit(0 if np.all(np.isfinite(a)) else 1)' "$1" 2>/dev/null
}

# check KIND OUTFILE RC ERRFILE INPUT...: judges one run
check() {
    local kind=$1 out=$2 rc=$3 errf=$4
    shift 4
    local why=""
    total=$((total + 1))
    if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer" "$errf"; then
        why="sanitizer report"
    elif [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ] && [ "$rc" -ne 2 ]; then
        why="exit $rc"
    elif [ "$rc" -ne 0 ] && { [ "$(wc -l <"$errf")" -ne 1 ] || [ ! -s "$errf" ]; }; then
        why="message of $(wc -l <"$errf") lines"
    elif [ "$rc" -ne 0 ] && [ -n "$out" ] && [ -e "$out" ]; then
        why="output written on failure"
    elif ls -A "$T/o" | grep -q 'sgm-tmp'; then
        why="temp file left"
    elif [ "$rc" -eq 0 ] && [ -n "$out" ] && [[ "$out" == *.npy ]] && ! finite_npy "$out"; then
        why="NaN / Inf in the output"
    fi
    if [ -n "$why" ]; then
        nbad=$((nbad + 1))
        k_bad[$kind]=$((${k_bad[$kind]:-0} + 1))
        local dst="$KEEP/$kind-$total"
        mkdir -p "$dst" && cp "$@" "$errf" "$dst/" 2>/dev/null
        echo "BAD $kind: $why (inputs and stderr in $dst): $(head -c 300 "$errf")"
    elif [ "$rc" -eq 0 ]; then
        k_ok[$kind]=$((${k_ok[$kind]:-0} + 1))
    elif [ "$rc" -eq 1 ]; then
        k_e1[$kind]=$((${k_e1[$kind]:-0} + 1))
    else
        k_e2[$kind]=$((${k_e2[$kind]:-0} + 1))
    fi
    rm -rf "$T/o"
    mkdir -p "$T/o"
}

# run KIND OUT INPUTS -- CMD...: runs CMD with stderr captured, then check
run() {
    local kind=$1 out=$2 inputs=$3
    shift 4
    "$SGM" "$@" >/dev/null 2>"$T/err" </dev/null
    local rc=$?
    # shellcheck disable=SC2086
    check "$kind" "$out" "$rc" "$T/err" $inputs
}

mkdir -p "$T/o"
S=(--process ve --sampler euler --schedule karras --steps 3)

# --- .npy: as --init of a sample, and as --a of eval
mkdir -p "$T/npy" && mutate npy "$D/ckpt/mlp_v1_0_samples.npy" "$T/npy" "$N" 0
for ((i = 0; i < N; i++)); do
    f="$T/npy/m$i"; cp "$f" "$T/in.npy"
    if ((i % 2)); then
        run npy "" "$T/in.npy" -- eval --a "$T/in.npy" --b "$D/ckpt/mlp_v1_0_samples.npy"
    else
        run npy "$T/o/x.npy" "$T/in.npy" -- sample --model "gmm:$GMM" "${S[@]}" --init "$T/in.npy" --out "$T/o/x.npy"
    fi
done

# --- checkpoints: sample 4 rows from the network
mkdir -p "$T/ckpt" && mutate ckpt "$D/ckpt/mlp_v1_0.safetensors" "$T/ckpt" "$N" 0
for ((i = 0; i < N; i++)); do
    cp "$T/ckpt/m$i" "$T/in.safetensors"
    run ckpt "$T/o/x.npy" "$T/in.safetensors" -- sample --model "ckpt:$T/in.safetensors" --sampler euler \
        --schedule karras --steps 3 --n 4 --out "$T/o/x.npy"
done

# --- GMM JSON: sample, and the exact reference of eval
mkdir -p "$T/gmm" && mutate gmm "$GMM" "$T/gmm" "$N" 1
for ((i = 0; i < N; i++)); do
    cp "$T/gmm/m$i" "$T/in.json"
    if ((i % 2)); then
        run gmm "" "$T/in.json" -- eval --b "$D/ckpt/mlp_v1_0_samples.npy" --gmm "$T/in.json"
    else
        run gmm "$T/o/x.npy" "$T/in.json" -- sample --model "gmm:$T/in.json" "${S[@]}" --n 8 --out "$T/o/x.npy"
    fi
done

# --- CSV: one training step of a small mlp
printf 'x,y\n' >"$T/seed.csv"
"$PY" -c 'import math
for i in range(40): print("%.4f,%.4f" % (math.cos(i / 6.0) * 2, math.sin(i / 6.0) * 2))' >>"$T/seed.csv"
mkdir -p "$T/csv" && mutate csv "$T/seed.csv" "$T/csv" "$N" 1
TR=(--width 8 --depth 1 --emb 4 --steps 2 --batch 8 --quiet --save-every 0)
for ((i = 0; i < N; i++)); do
    cp "$T/csv/m$i" "$T/in.csv"
    run csv "$T/o/c.safetensors" "$T/in.csv" -- train --data "$T/in.csv" "${TR[@]}" --out "$T/o/c.safetensors"
done

# --- IDX (images or labels mutated, plain or gzip): one step of a tiny U-Net
"$PY" - "$T" <<'EOF'
import struct, sys, gzip
t = sys.argv[1]
n, h = 8, 8
img = struct.pack('>IIII', 0x803, n, h, h) + bytes((i * 37 + j * 11) % 256 for i in range(n) for j in range(h * h))
lab = struct.pack('>II', 0x801, n) + bytes(i % 2 for i in range(n))
open(t + '/seed-images', 'wb').write(img)
open(t + '/seed-labels', 'wb').write(lab)
EOF
mkdir -p "$T/idxi" "$T/idxl"
mutate idx-images "$T/seed-images" "$T/idxi" "$N" 0
mutate idx-labels "$T/seed-labels" "$T/idxl" "$N" 0
UN=(--arch unet --unet-base 4 --unet-mult 1 --unet-attn 0 --unet-res 1 --unet-groups 2 --unet-emb 8
    --steps 1 --batch 2 --quiet --save-every 0)
for ((i = 0; i < N; i++)); do
    rm -rf "$T/idx" && mkdir -p "$T/idx"
    im="$T/seed-images" lb="$T/seed-labels"
    if ((i % 2)); then lb="$T/idxl/m$i"; else im="$T/idxi/m$i"; fi
    if ((i % 4 >= 2)); then
        gzip -c "$im" >"$T/idx/train-images-idx3-ubyte.gz"; gzip -c "$lb" >"$T/idx/train-labels-idx1-ubyte.gz"
    else
        cp "$im" "$T/idx/train-images-idx3-ubyte"; cp "$lb" "$T/idx/train-labels-idx1-ubyte"
    fi
    run idx "$T/o/u.safetensors" "$im $lb" -- train --data "mnist:$T/idx" "${UN[@]}" --out "$T/o/u.safetensors"
done

# --- @FILE sigma lists
printf '14.6,5,2,0.5,0.1,0\n' >"$T/seed-sigmas"
mkdir -p "$T/sig" && mutate sigmas "$T/seed-sigmas" "$T/sig" "$N" 1
for ((i = 0; i < N; i++)); do
    cp "$T/sig/m$i" "$T/in.txt"
    run sigmas "$T/o/x.npy" "$T/in.txt" -- sample --model "gmm:$GMM" --process ve --sampler heun \
        --sigmas "@$T/in.txt" --n 8 --out "$T/o/x.npy"
done

# --- outputs that cannot be written: exit 2 before the work, or 1 (disk
# full, past ulimit -f) after it, one line, nothing left
mkdir -p "$T/ro"
for out in /proc/version/x.npy /proc/x.npy "$T/nodir/x.npy" "$T/ro" ""; do
    run outputs "" "" -- sample --model "gmm:$GMM" "${S[@]}" --n 8 --out "$out"
    run outputs "" "" -- train --data moons --n-data 64 "${TR[@]}" --out "${out/x.npy/c.safetensors}"
    run outputs "" "" -- eval --a "$D/ckpt/mlp_v1_0_samples.npy" --b "$D/ckpt/mlp_v1_0_samples.npy" --json "${out/x.npy/e.json}"
    run outputs "" "" -- nll --model "gmm:$GMM" --process ve --data "$D/ckpt/mlp_v1_0_samples.npy" --out "$out"
done
ulimited() { (ulimit -f 1; exec "$SGM" "$@") >/dev/null 2>"$T/err"; }
ulimited sample --model "gmm:$GMM" "${S[@]}" --n 20000 --out "$T/o/big.npy"
check ulimit "$T/o/big.npy" $? "$T/err"
ulimited train --data moons --n-data 64 --width 256 --depth 4 --steps 1 --batch 8 --quiet --out "$T/o/big.safetensors"
check ulimit "$T/o/big.safetensors" $? "$T/err"

# --- kill -9 during training, then resume: no temp file after the
# resumed run, and the checkpoint loads
KT=(--data moons --n-data 256 --width 16 --depth 1 --emb 8 --batch 32 --steps 400 --save-every 20 --quiet)
for k in 1 2 3 4 5; do
    rm -f "$T/o/k.safetensors"
    "$SGM" train "${KT[@]}" --out "$T/o/k.safetensors" >/dev/null 2>&1 &
    pid=$!
    sleep "0.$((k * 17 % 9 + 1))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    if [ -e "$T/o/k.safetensors" ]; then
        "$SGM" train --resume "$T/o/k.safetensors" --steps 420 --save-every 20 --quiet --out "$T/o/k.safetensors" >/dev/null 2>"$T/err"
    else
        "$SGM" train "${KT[@]}" --steps 20 --out "$T/o/k.safetensors" >/dev/null 2>"$T/err"
    fi
    rc=$?
    if [ $rc -eq 0 ]; then
        "$SGM" sample --model "ckpt:$T/o/k.safetensors" --sampler euler --schedule karras --steps 3 --n 4 \
            --out "$T/o/k.npy" >/dev/null 2>>"$T/err" || rc=$?
    fi
    # check judges the temp files and the sample (k.npy)
    check kill "$([ $rc -eq 0 ] && echo "$T/o/k.npy")" $rc "$T/err"
done

printf '%-8s %5s %5s %5s %5s\n' kind ok exit1 exit2 bad
for kind in npy ckpt gmm csv idx sigmas outputs ulimit kill; do
    printf '%-8s %5d %5d %5d %5d\n' "$kind" "${k_ok[$kind]:-0}" "${k_e1[$kind]:-0}" "${k_e2[$kind]:-0}" "${k_bad[$kind]:-0}"
done
echo "hostile_probe: $total runs, $nbad bad"
[ "$nbad" -eq 0 ]
