#!/usr/bin/env bash
# Installs this build into a temporary prefix, moves the prefix (the install
# must be relocatable: no build or source path in its text files), then
# builds examples/downstream (ring.c, ring.cpp) against it twice, with
# pkg-config and with find_package(sgm), and runs the programs.
set -euo pipefail
b=$SGM_BUILD_DIR src=$SGM_SOURCE_DIR
[ -n "${CXX:-}" ] || { echo "downstream: no C++ compiler, skipped"; exit 77; }
command -v pkg-config >/dev/null || { echo "downstream: no pkg-config, skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$CMAKE_COMMAND" --install "$b" --prefix "$tmp/prefix" >"$tmp/install.log"
mv "$tmp/prefix" "$tmp/moved"
p=$tmp/moved
if grep -rlIF -e "$b" -e "$src" -e "$tmp/prefix" "$p"; then
  echo "downstream: the installed files above name the build, source or install path"; exit 1
fi
libdir=$(dirname "$(find "$p" -name sgm.pc)")/..
san=""
[ "${SGM_SANITIZE:-OFF}" = ON ] && san="-fsanitize=address,undefined"
for mode in pkgconfig find_package; do
  if [ $mode = pkgconfig ]; then
    opts=(-DSGM_WITH_PKGCONFIG=ON)
    export PKG_CONFIG_PATH=$libdir/pkgconfig
  else
    opts=(-DCMAKE_PREFIX_PATH="$p")
    unset PKG_CONFIG_PATH
  fi
  if ! "$CMAKE_COMMAND" -S "$src/examples/downstream" -B "$tmp/b-$mode" "${opts[@]}" \
       -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_BUILD_TYPE=Release \
       -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" \
       >"$tmp/conf.log" 2>&1 || ! "$CMAKE_COMMAND" --build "$tmp/b-$mode" >"$tmp/build.log" 2>&1; then
    cat "$tmp/conf.log" "$tmp/build.log" 2>/dev/null; echo "downstream: $mode build failed"; exit 1
  fi
  for prog in ring ring_cxx; do
    echo "downstream ($mode): $(LD_LIBRARY_PATH=$libdir "$tmp/b-$mode/$prog")"
  done
done
