#!/usr/bin/env bash
# fn_length.sh - no function of the CLI (tools/cli/*.c) is longer than 120
# lines, counted from the first line of its signature to its closing brace:
# each subcommand is split into parse / run / report functions. Prints the
# five longest.
set -u
SRC="${SGM_SOURCE_DIR:?}/tools/cli"
LIMIT=120
# a function starts at a column-0 line with '(' that does not end in ';' and
# opens its body at a line ending in ') {'; it ends at the next column-0 '}'
lengths=$(awk '
FNR == 1 { sig = 0; infn = 0 }
!infn && /^[A-Za-z_].*\(/ && !/;[[:space:]]*$/ { sig = FNR; name = $0 }
!infn && sig && /\)[[:space:]]*\{[[:space:]]*$/ { infn = 1; next }
!infn && /;[[:space:]]*$/ { sig = 0 }
infn && /^\}/ {
    f = FILENAME; sub(/.*\//, "", f)
    printf "%d %s:%d %s\n", FNR - sig + 1, f, sig, name
    infn = 0; sig = 0
}' "$SRC"/*.c | sort -rn)
n=$(printf '%s\n' "$lengths" | grep -c .)
echo "$n functions; the longest:"
printf '%s\n' "$lengths" | head -5 | sed 's/^/  /'
if [ "$n" -lt 50 ]; then
    echo "FAIL: only $n functions found (is the scan broken?)"
    exit 1
fi
over=$(printf '%s\n' "$lengths" | awk -v L="$LIMIT" '$1 > L')
if [ -n "$over" ]; then
    echo "FAIL: longer than $LIMIT lines:"
    printf '%s\n' "$over" | sed 's/^/  /'
    exit 1
fi
echo "all within $LIMIT lines"
