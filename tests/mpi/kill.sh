#!/usr/bin/env bash
# kill.sh - a rank of `mpirun -np 2 sgm train` killed with SIGKILL: mpirun
# ends the whole job (non-zero exit) with a message naming the rank and the
# signal, the last checkpoint on disk is whole (rank 0 writes it through the
# atomic writer: temp file, fsync, rename) and no temp file is left beside
# it once the next run writes, and a restart with --resume goes to the end
# and gives the same checkpoint, byte for byte, as an uninterrupted P = 2
# run (every step is a pure function of the checkpoint's state).
#
# Not flaky by construction: the kill lands after the first checkpoint exists
# (the loop waits for it) and wherever it lands only decides the step the
# restart begins at, never the result. mpirun runs without -q here: its
# report of the dead rank is what this test checks.
set -u
source "${SGM_SOURCE_DIR:?}/tests/mpi/mpi_lib.bash"
STEPS=400
[ "$ASAN" -eq 1 ] && STEPS=200
C=(train --data moons --n-data 2000 --width 32 --depth 1 --emb 16 --batch 64 --warmup 5 --seed 3
    --quiet --save-every 10 --steps "$STEPS")
LOUD=(--oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && LOUD+=(--allow-run-as-root)

mkdir "$T/ref" "$T/run"
if ! mpi 2 "${C[@]}" --out "$T/ref/m.safetensors" 2>"$T/err"; then
    bad "uninterrupted P=2 run: $(cat "$T/err")"
    finish
fi
CK="$T/run/m.safetensors"
"$MPIEXEC" "${LOUD[@]}" -np 2 "$SGM" "${C[@]}" --out "$CK" >"$T/out" 2>"$T/kill.err" &
mp=$!
for _ in $(seq 1 300); do [ -e "$CK" ] && break; sleep 0.05; done
ranks=($(pgrep -P "$mp"))
if [ "${#ranks[@]}" -eq 2 ] && [ -e "$CK" ]; then
    kill -KILL "${ranks[1]}"
    wait "$mp"
    rc=$?
    if [ "$rc" -ne 0 ] && grep -q "exited on signal 9" "$T/kill.err"; then ok; else
        bad "after kill -9 of a rank: mpirun rc $rc, stderr: $(cat "$T/kill.err")"; fi
    echo "mpirun said: $(grep "signal 9" "$T/kill.err")"
    # the checkpoint on disk is whole: it resumes, at P = 1 or 2
    step=$("$SGM" train --resume "$CK" --steps 0 --quiet --out "$T/probe.safetensors" 2>&1)
    if [ $? -eq 0 ]; then ok; else bad "the checkpoint left by the kill does not load: $step"; fi
    if mpi 2 train --resume "$CK" --steps "$STEPS" --quiet --save-every 10 --out "$CK" 2>"$T/err"; then
        ok
        same "$T/ref/m.safetensors" "$CK" "killed and resumed vs uninterrupted"
    else
        bad "restart: $(cat "$T/err")"
    fi
    left=$(ls -A "$T/run" | grep -v '^m\.safetensors$' || true)
    if [ -z "$left" ]; then ok; else bad "files left next to the checkpoint: $left"; fi
else
    kill "$mp" 2>/dev/null
    wait "$mp"
    # the run finished before a checkpoint could be seen, or ranks not found
    bad "could not kill a rank mid-run (ranks: ${ranks[*]:-none}, checkpoint $([ -e "$CK" ] && echo present || echo absent))"
fi
finish
