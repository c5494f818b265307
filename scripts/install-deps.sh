#!/usr/bin/env bash
# Installs the Debian packages sgm needs, only those missing (idempotent).
set -euo pipefail
pkgs=(build-essential cmake libcjson-dev libopenblas-dev libopenblas-openmp-dev libpng-dev zlib1g-dev libcairo2-dev libdnnl-dev
      dataset-fashion-mnist pkg-config dpkg-dev file
      openmpi-bin libopenmpi-dev procps  # mpirun -np P sgm ... (SGM_MPI, docs/scaling.md; pgrep: tests/mpi/kill.sh)
      python3 python3-numpy python3-pytest python3-pip python3-setuptools
      python3-torch  # sgm.k_diffusion tests (CTest python_kdiff) and bench/kdiff_overhead.py
      clang libclang-rt-14-dev)  # the last two: the libFuzzer harnesses (make fuzz)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
