# mpi_lib.bash - helpers of the MPI tests in tests/mpi/ (sourced, not a test
# itself): $SGM, $T (a temp dir removed at exit), the counters of
# tests/cli_lib.bash, and mpi N ARGS...: `sgm ARGS` as N processes under
# mpirun (--oversubscribe: more ranks than free cores on a small machine;
# --bind-to none: tests running side by side do not pin to the same cores;
# -q: no banners; --allow-run-as-root when root, as in CI containers).
SGM="${SGM_BUILD_DIR:?}/sgm"
MPIEXEC="${SGM_MPIEXEC:-mpirun}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
source "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"
PY=/usr/bin/python3
MPIFLAGS=(--oversubscribe --bind-to none -q)
[ "$(id -u)" -eq 0 ] && MPIFLAGS+=(--allow-run-as-root)
# a sanitizer build: Open MPI's own allocations that outlive MPI_Finalize
# would be reported as leaks of sgm (not ours to fix); the ASan and UBSan
# checks of sgm's code stay on
if ldd "$SGM" 2>/dev/null | grep -q libasan; then
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
    ASAN=1
else
    ASAN=0
fi
# one thread per rank: P ranks x 1 thread on the test machine's cores
export OMP_NUM_THREADS=1
mpi() {
    local np="$1"
    shift
    "$MPIEXEC" "${MPIFLAGS[@]}" -np "$np" "$SGM" "$@"
}
# same FILE_A FILE_B WHAT: byte-for-byte equality
same() {
    if cmp -s "$1" "$2"; then ok; else bad "$3: $1 and $2 differ"; fi
}
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit
}
