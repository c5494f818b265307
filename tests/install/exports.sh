#!/usr/bin/env bash
# libsgm.so exports the public API only: no internal sgm__ symbol (nor any
# other non-sgm_ symbol) in its dynamic symbol table, and a few public
# functions present.   usage: exports.sh path/to/libsgm.so
set -euo pipefail
lib=$1
syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[A-Za-z]$/ && $2 != "A" {print $3}')
fail=0
internal=$(grep '^sgm__' <<<"$syms" || true)
if [ -n "$internal" ]; then
  echo "exports: $(wc -l <<<"$internal") internal sgm__ symbols exported from $lib, e.g.:"
  head -5 <<<"$internal"
  fail=1
fi
other=$(grep -v '^sgm_' <<<"$syms" | grep -v '^_\(init\|fini\)$' || true)
if [ -n "$other" ]; then
  echo "exports: non-sgm_ symbols exported from $lib:"; head -5 <<<"$other"; fail=1
fi
for f in sgm_status_str sgm_process_create sgm_sampler_run sgm_gmm_create sgm_rng_init; do
  grep -qx "$f" <<<"$syms" || { echo "exports: public $f missing from $lib"; fail=1; }
done
[ "$fail" = 0 ] && echo "exports: $(wc -l <<<"$syms") public symbols, no sgm__"
exit "$fail"
