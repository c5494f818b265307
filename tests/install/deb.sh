#!/usr/bin/env bash
# Builds the Debian package of this build tree (cpack -G DEB, as `make deb`)
# into a scratch directory, checks its name, Depends and contents, extracts it
# into a scratch root (dpkg-deb -x) and runs the packaged `sgm --version`.
set -euo pipefail
command -v dpkg-deb >/dev/null || { echo "deb: no dpkg-deb, skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! "$CPACK_COMMAND" --config "$SGM_BUILD_DIR/CPackConfig.cmake" -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1; then
  cat "$tmp/cpack.log"; echo "deb: cpack failed"; exit 1
fi
ver=$("$SGM_BUILD_DIR/sgm" --version | head -n1 | awk '{print $2}')
deb=$tmp/out/sgm_${ver}_$(dpkg --print-architecture).deb
[ -f "$deb" ] || { ls "$tmp/out"; echo "deb: no $deb"; exit 1; }
depends=$(dpkg-deb -f "$deb" Depends)
echo "deb: Depends: $depends"
for lib in libcjson libopenblas libpng libc6; do
  grep -q "$lib" <<<"$depends" || { echo "deb: Depends lacks $lib"; exit 1; }
done
dpkg-deb -c "$deb" | awk '{print $6}' >"$tmp/list"
for f in usr/bin/sgm usr/include/sgm.h usr/include/sgm/sgm_core.h 'usr/lib/.*libsgm\.so\.0' \
         'usr/lib/.*libsgm\.a' 'usr/lib/.*pkgconfig/sgm\.pc' 'usr/lib/.*cmake/sgm/sgmConfig\.cmake' \
         usr/share/man/man1/sgm.1 usr/share/bash-completion/completions/sgm; do
  grep -q "^\./$f" "$tmp/list" || { echo "deb: $f missing from the package"; exit 1; }
done
dpkg-deb -x "$deb" "$tmp/root"
out=$(LD_LIBRARY_PATH=$tmp/root/usr/lib "$tmp/root/usr/bin/sgm" --version)
echo "deb: packaged sgm --version: $out"
grep -q "^sgm $ver" <<<"$out"
