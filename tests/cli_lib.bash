# cli_lib.bash - helpers shared by the shell tests in tests/cli/ (sourced,
# not a test itself): pass/fail counters, a float64 .npy writer for crafted
# inputs, and a reader of an .npy's values. Expects $T (a temp dir).
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

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
