# cli_lib.bash - helpers shared by the shell tests in tests/cli/ (sourced,
# not a test itself): pass/fail counters and check, whether the
# fashion-mnist files are installed, a float64 .npy writer for crafted
# inputs, a reader of an .npy's values, and the check that a command is
# refused (exit 2, one line on stderr, nothing written). Expects $T (a temp
# dir) and, for refused, $SGM.
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
# check NAME CONDITION: ok when the shell condition (a string, eval'd) holds
check() { if eval "$2"; then ok; else bad "$1"; fi; }

# have_fashion_mnist: the Debian dataset-fashion-mnist files (that
# scripts/install-deps.sh installs) are there
have_fashion_mnist() {
    [ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] ||
        [ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte ]
}

# npy NAME SHAPE SRC.npy NBYTES: $T/in_NAME.npy, float64 of the given shape,
# data bytes copied from SRC's data
npy() {
    local name="$1" shape="$2" src="$3" nbytes="$4"
    local h="{'descr': '<f8', 'fortran_order': False, 'shape': $shape, }"
    local pad=$(((64 - (10 + ${#h} + 1) % 64) % 64))
    local hl=$((${#h} + pad + 1))
    {
        printf '\x93NUMPY\x01\x00'
        printf "\\x$(printf %02x $((hl % 256)))\\x$(printf %02x $((hl / 256)))"
        printf '%s%*s\n' "$h" "$pad" ""
        if [ "$nbytes" -gt 0 ]; then
            local shl
            shl=$(od -A n -t u2 -j 8 -N 2 "$src" | tr -d ' ')
            tail -c +$((10 + shl + 1)) "$src" | head -c "$nbytes"
        fi
    } >"$T/in_$name.npy"
}

# the float64 payload of an .npy, one value per line
values() {
    local shl
    shl=$(od -A n -t u2 -j 8 -N 2 "$1" | tr -d ' ')
    tail -c +$((10 + shl + 1)) "$1" | od -A n -v -t f8 -w8 | tr -d ' '
}

# refused NAME TEXT ARGS...: "$SGM" ARGS... must be refused as docs/cli.md
# says bad input is: exit 2, exactly one line on stderr containing TEXT, and
# no output. Streams go to $T/stdout and $T/stderr. What "no output" means is
# set once per script by these variables:
#   REFUSED_OUT    files removed before the run that must not exist after it
#   REFUSED_CLEAN  1: no file may be left in $T after the run but stdout,
#                  stderr and the names matching one of REFUSED_KEEP (grep -x
#                  patterns)
#   REFUSED_STDOUT empty: stdout must be empty too
#   REFUSED_MATCH  fixed: TEXT is a fixed string, case-sensitive; icase: TEXT
#                  is a grep pattern matched in any case
#   REFUSED_RUN    the command that runs sgm (default "$SGM"; the MPI tests:
#                  a function running it as several processes)
REFUSED_OUT=()
REFUSED_CLEAN=0
REFUSED_KEEP=()
REFUSED_STDOUT=any
REFUSED_MATCH=fixed
REFUSED_RUN=""
refused() {
    local name="$1" text="$2"
    shift 2
    [ "${#REFUSED_OUT[@]}" -eq 0 ] || rm -f "${REFUSED_OUT[@]}"
    "${REFUSED_RUN:-$SGM}" "$@" >"$T/stdout" 2>"$T/stderr"
    local rc=$? n why="" f files="" keep=(-e stdout -e stderr)
    n=$(wc -l <"$T/stderr")
    [ "$rc" -eq 2 ] || why+=" exit $rc (want 2);"
    [ "$n" -eq 1 ] || why+=" $n stderr lines (want 1);"
    if [ "$REFUSED_MATCH" = icase ]; then
        grep -qi -e "$text" "$T/stderr" || why+=" stderr does not match '$text';"
    else
        grep -qF -e "$text" "$T/stderr" || why+=" stderr lacks '$text';"
    fi
    [ "$REFUSED_STDOUT" != empty ] || [ ! -s "$T/stdout" ] || why+=" stdout not empty;"
    for f in "${REFUSED_OUT[@]}"; do [ ! -e "$f" ] || why+=" wrote $f;"; done
    if [ "$REFUSED_CLEAN" = 1 ]; then
        for f in "${REFUSED_KEEP[@]}"; do keep+=(-e "$f"); done
        files=$(ls -A "$T" | grep -v -x "${keep[@]}" | tr '\n' ' ' || true)
        [ -z "$files" ] || why+=" files left: [$files];"
    fi
    if [ -z "$why" ]; then ok; return; fi
    bad "$name:$why"
    sed 's/^/    stderr: /' "$T/stderr"
    sed 's/^/    stdout: /' "$T/stdout" | head -3
}
