#!/usr/bin/env bash
# atomic.sh - outputs of the `sgm` command get the mode the umask gives, as
# any file the user creates (the atomic writer of sgm_io.h; mkstemp's 0600
# made `sgm sample --out` unreadable to others): -rw-r--r-- under umask 022,
# -rw------- under 077, for `sample --out` (.npy), `eval --json` and
# `bench --csv`, also over an existing file; no temporary file is left; a
# stale temporary file of the target from a dead process is removed by the
# next write, a live process's one and unrelated files are kept; a failed
# write names the target, never the temporary file.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
SRC="${SGM_SOURCE_DIR:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$SRC/tests/cli_lib.bash"
M="gmm:$SRC/tests/data/models/gmm2d.json"
MD="$SRC/tests/data/metrics"

mode() { stat -c %A "$1" 2>/dev/null; }
# out UMASK KIND FILE: writes FILE with the command of KIND under UMASK
out() {
    local mask="$1" kind="$2" f="$3"
    case "$kind" in
    sample) (umask "$mask" && "$SGM" sample --model "$M" --process ve --sampler euler --schedule karras --steps 4 --n 5 --out "$f") ;;
    eval) (umask "$mask" && "$SGM" eval --a "$MD/a.npy" --b "$MD/b.npy" --metrics sw2 --json "$f") ;;
    bench) (umask "$mask" && "$SGM" bench --model "$M" --samplers euler --schedules karras --nfe 5 \
        --n 20 --csv "$f" --quiet) ;;
    esac >/dev/null 2>"$T/err"
}

for kind in sample eval bench; do
    case "$kind" in sample) f="$T/x.npy" ;; eval) f="$T/r.json" ;; bench) f="$T/b.csv" ;; esac
    # new file, then over the existing file of the other umask, then back
    for mask in 022 077 022; do
        if out "$mask" "$kind" "$f"; then ok; else bad "$kind under umask $mask: $(cat "$T/err")"; fi
        want=-rw-r--r--
        [ "$mask" = 077 ] && want=-rw-------
        got=$(mode "$f")
        if [ "$got" = "$want" ]; then ok; else bad "$kind under umask $mask: $got (want $want)"; fi
    done
done
if [ -z "$(ls -A "$T" | grep sgm-tmp)" ]; then ok; else bad "temporary files left: $(ls -A "$T")"; fi

# stale temporary files: a dead process's is removed, the rest kept
dead=$(bash -c 'echo $$') # a process that has exited
live=$$
touch "$T/.x.npy.sgm-tmp.$dead.abc" "$T/.x.npy.sgm-tmp.$live.abc" "$T/.y.npy.sgm-tmp.$dead.abc" \
    "$T/x.npy.keep"
if out 022 sample "$T/x.npy"; then ok; else bad "sample over stale files: $(cat "$T/err")"; fi
if [ ! -e "$T/.x.npy.sgm-tmp.$dead.abc" ]; then ok; else bad "stale temporary file of a dead process kept"; fi
for f in ".x.npy.sgm-tmp.$live.abc" ".y.npy.sgm-tmp.$dead.abc" x.npy.keep; do
    if [ -e "$T/$f" ]; then ok; else bad "$f removed (not a stale file of x.npy)"; fi
done
rm -f "$T"/.*.sgm-tmp.* "$T/x.npy.keep"

# a failed write (the folder is a regular file) names the target, leaves nothing
touch "$T/plain"
out 022 eval "$T/plain/r.json"
rc=$?
if [ "$rc" -ne 0 ] && grep -q "$T/plain/r.json" "$T/err" && ! grep -q sgm-tmp "$T/err"; then ok; else
    bad "failed write: rc=$rc, stderr: $(cat "$T/err")"; fi
if [ -z "$(ls -A "$T" | grep sgm-tmp)" ]; then ok; else bad "temporary file left after a failure"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
