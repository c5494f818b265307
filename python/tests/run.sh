#!/usr/bin/env bash
# CTest entry for the Python package: runs pytest on python/tests with the
# first python3 that has numpy and pytest (PATH's, then Debian's); exits 77
# (skipped) when none has them. SGM_LIBRARY / SGM_CLI come from CTest.
here="$(cd "$(dirname "$0")" && pwd)"
for py in python3 /usr/bin/python3; do
  if command -v "$py" >/dev/null && "$py" -c "import numpy, pytest" 2>/dev/null; then
    export PYTHONPATH="$here/..${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1
    exec "$py" -m pytest -q -p no:cacheprovider "$here" "$@"
  fi
done
echo "python: no python3 with numpy and pytest (apt-get install python3-numpy python3-pytest)"
exit 77
