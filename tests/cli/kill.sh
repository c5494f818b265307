#!/usr/bin/env bash
# kill.sh - `sgm train` survives SIGKILL: a small mlp on moons is trained to
# STEPS steps with a checkpoint every SAVE steps, killed with SIGKILL after a
# seeded pseudo-random delay 10 times, each time resumed with --resume from
# the last checkpoint on disk; the last run goes to the end. Its checkpoint
# must equal the uninterrupted run's byte for byte (the checkpoint has no
# time or host in it: tests/cli/train.sh compares whole files the same way),
# and no temporary file of the atomic writer (.NAME.sgm-tmp.*) may be left:
# a kill mid-write leaves one, the next write of the target removes it.
#
# Not flaky by construction: where a kill lands only decides how far each
# run got, never the result. A kill before the first checkpoint exists
# leaves nothing to resume, so that run starts from scratch again; a kill
# after a run finished (a slow delay on a fast machine) leaves the final
# checkpoint, which a resume to the same step returns unchanged. The delays
# are RANDOM with seed 42, 0.05 .. 0.5 s each, so the 10 kills cover up to
# 5 s of a run that takes about 4 s; the whole test is about twice one run
# (10-15 s, well under a minute).
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
source "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"

# one thread: a 2-thread OpenMP team on a loaded 2-core machine runs this
# small mlp 20x slower and its speed swings with the load; both runs use the
# same setting, so the comparison is unaffected
export OMP_NUM_THREADS=1
# about 4 s in the Release build (8000 steps of a 32-wide mlp, 160
# checkpoints, each fsynced); the sanitizer build (libasan linked) runs the
# same code several times slower, so it trains 2000
STEPS=8000
if ldd "$SGM" 2>/dev/null | grep -q libasan; then STEPS=2000; fi
SAVE=50
COMMON=(--data moons --n-data 2000 --width 32 --depth 1 --emb 16 --batch 64 --warmup 5 --seed 3
    --quiet --save-every "$SAVE")

# the uninterrupted run (same --save-every: the same writes, the same result)
mkdir "$T/ref" "$T/run"
t0=$(date +%s.%N)
if ! "$SGM" train "${COMMON[@]}" --steps "$STEPS" --out "$T/ref/m.safetensors" 2>"$T/err"; then
    bad "uninterrupted run: $(cat "$T/err")"
    echo "$pass passed, $fail failed"
    exit 1
fi
t1=$(date +%s.%N)
echo "uninterrupted run: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"

CK="$T/run/m.safetensors"
# one run: resume from the checkpoint if there is one, else from scratch
start() {
    if [ -e "$CK" ]; then
        "$SGM" train "${COMMON[@]}" --steps "$STEPS" --resume "$CK" --out "$CK" 2>>"$T/run.err" &
    else
        "$SGM" train "${COMMON[@]}" --steps "$STEPS" --out "$CK" 2>>"$T/run.err" &
    fi
    pid=$!
}

RANDOM=42
fresh=0
for i in $(seq 1 10); do
    [ -e "$CK" ] || fresh=$((fresh + 1))
    start
    # 50 .. 500 ms
    ms=$((50 + RANDOM % 451))
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
    # 137: killed; 0: the run had finished before the kill
    if [ "$rc" -ne 137 ] && [ "$rc" -ne 0 ]; then
        bad "run $i ended with $rc, not 0 or 137 (SIGKILL): $(tail -n 3 "$T/run.err")"
    fi
    echo "kill $i after ${ms} ms: rc $rc, checkpoint $([ -e "$CK" ] && echo present || echo absent)," \
        "temp files $(ls -A "$T/run" | grep -c 'sgm-tmp')"
done
echo "runs from scratch (no checkpoint yet): $fresh of 10"

# the last run goes to the end
[ -e "$CK" ] || fresh=$((fresh + 1))
start
wait "$pid"
rc=$?
if [ "$rc" -eq 0 ]; then ok; else bad "final resumed run: rc $rc: $(tail -n 3 "$T/run.err")"; fi
if cmp -s "$T/ref/m.safetensors" "$CK"; then
    ok
else
    bad "killed-and-resumed checkpoint differs from the uninterrupted run"
fi
left=$(ls -A "$T/run" | grep -v '^m\.safetensors$' || true)
if [ -z "$left" ]; then ok; else bad "files left next to the checkpoint: $left"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
