#!/usr/bin/env bash
# check_layering.sh - the structural rules of the tree (docs/architecture.md),
# checked from the sources as text:
#   1. the folders of src/ depend on each other without a cycle, both by
#      their includes (`#include "../X/..."`, `#include "X/..."`) and, when a
#      build folder is there, by their symbols (a function that a file of
#      folder A calls and a file of folder B defines makes B -> A, found with
#      nm on the library's object files: this also sees a call through a
#      public header); tsort finds the loops;
#   2. the public headers of include/sgm include each other without a cycle;
#   3. no file in src/ is over 600 lines;
#   4. no function in tools/cli is over 120 lines (signature to closing brace).
# Prints the folder edges and a dependency order; exits 1 on any violation.
# Usage: scripts/check_layering.sh [SOURCE_DIR [BUILD_DIR]]
set -u
cd "${1:-$(dirname "$0")/..}" || exit 2
BUILD="${2:-build}"
status=0

edges=$(for f in $(find src -name '*.[ch]' | sort); do
    from=$(echo "$f" | cut -d/ -f2)
    grep -oE '#include "(\.\./)?[a-z_0-9]+/[a-z_0-9]+\.h"' "$f" |
        sed -E 's/#include "(\.\.\/)?([a-z_0-9]+)\/.*/\2/' | grep -v '^sgm$' |
        while read -r to; do [ "$from" != "$to" ] && echo "$to $from"; done
done | sort -u)
objs="$BUILD/CMakeFiles/sgm.dir/src"
if [ -d "$objs" ]; then
    sym_edges=$(for o in $(find "$objs" -name '*.o' | sort); do
        rel="${o#"$objs"/}"
        [ -f "src/${rel%.o}" ] || continue # an object of a source that is gone
        folder=$(echo "$rel" | cut -d/ -f1)
        nm "$o" 2>/dev/null | awk -v F="$folder" '$1 == "U" { print "U", $2, F } NF == 3 && $2 ~ /^[TDBR]$/ { print "D", $3, F }'
    done | awk '$1 == "D" { def[$2] = $3 } $1 == "U" { use[NR] = $2 " " $3 }
        END { for (k in use) { split(use[k], a, " "); if ((a[1] in def) && def[a[1]] != a[2]) print def[a[1]], a[2] } }' | sort -u)
    edges=$(printf '%s\n%s\n' "$edges" "$sym_edges" | grep . | sort -u)
else
    echo "(no $objs: include edges only)"
fi
echo "src/ folder dependencies (used -> user):"
echo "$edges" | sed 's/^/  /'
if ! order=$(echo "$edges" | tsort 2>&1) || echo "$order" | grep -q loop; then
    echo "FAIL: the folders of src/ include each other in a cycle:"
    echo "$order" | sed 's/^/  /'
    status=1
else
    echo "src/ folders in dependency order: $(echo "$order" | tr '\n' ' ')"
fi

hedges=$(for f in include/sgm/*.h; do
    from=$(basename "$f" .h)
    grep -oE '#include "sgm_[a-z_]+\.h"' "$f" | sed -E 's/#include "(sgm_[a-z_]+)\.h"/\1/' |
        while read -r to; do echo "$to $from"; done
done | sort -u)
if ! horder=$(echo "$hedges" | tsort 2>&1) || echo "$horder" | grep -q loop; then
    echo "FAIL: public headers include each other in a cycle:"
    echo "$horder" | sed 's/^/  /'
    status=1
else
    echo "public headers in dependency order: $(echo "$horder" | tr '\n' ' ')"
fi

long=$(find src -name '*.[ch]' -exec wc -l {} + | awk '$2 != "total" && $1 > 600')
if [ -n "$long" ]; then
    echo "FAIL: files in src/ over 600 lines:"
    echo "$long" | sed 's/^/  /'
    status=1
else
    echo "longest file in src/: $(find src -name '*.[ch]' -exec wc -l {} + | awk '$2 != "total"' | sort -n | tail -1 | awk '{print $2 " (" $1 " lines)"}')"
fi

# functions: a line starting a definition at column 0 ("type name(...) {" or a
# signature continued on the next lines) up to the first "}" at column 0
funcs=$(for f in tools/cli/*.c; do
    awk -v F="$f" '
        /^[A-Za-z_][A-Za-z_0-9 \*]*\(/ && !/;[ \t]*$/ { if (!open) { start = NR; name = $0; open = 1 } }
        /^}/ { if (open) { print NR - start + 1, F ":" start, substr(name, 1, 60); open = 0 } }
        /;[ \t]*$/ && open && NR == start { open = 0 }' "$f"
done | sort -rn)
over=$(echo "$funcs" | awk '$1 > 120')
if [ -n "$over" ]; then
    echo "FAIL: functions in tools/cli over 120 lines:"
    echo "$over" | sed 's/^/  /'
    status=1
else
    echo "longest function in tools/cli: $(echo "$funcs" | head -1)"
fi
exit $status
