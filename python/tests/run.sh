#!/usr/bin/env bash
# CTest entry for the Python package: runs pytest on python/tests with the
# first python3 that has numpy and pytest (PATH's, then Debian's); exits 77
# (skipped) when none has them. SGM_LIBRARY / SGM_CLI come from CTest.
#   run.sh          every test but kdiff/ (CTest `python`)
#   run.sh --torch  kdiff/, the k-diffusion entry points on torch tensors
#                   (CTest `python_kdiff`): exit 77 when no python3 has torch,
#                   so a missing torch is a skipped test, never a passed one
here="$(cd "$(dirname "$0")" && pwd)"
mods="numpy, pytest"
args=("$here" "--ignore=$here/kdiff")
if [ "${1:-}" = "--torch" ]; then
  shift
  mods="numpy, pytest, torch"
  args=("$here/kdiff")
fi
for py in python3 /usr/bin/python3; do
  if command -v "$py" >/dev/null && "$py" -c "import $mods" 2>/dev/null; then
    export PYTHONPATH="$here/..${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1
    exec "$py" -m pytest -q -p no:cacheprovider "${args[@]}" "$@"
  fi
done
echo "python: no python3 with $mods (apt-get install python3-numpy python3-pytest python3-torch)"
exit 77
