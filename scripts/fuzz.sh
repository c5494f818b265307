#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/fuzz_*.c) with clang + ASan + UBSan in
# build-fuzz (-DSGM_FUZZ=ON, cmake/sgm_fuzz.cmake) and runs each for SECONDS
# on the seed corpus fuzz/corpus/<harness>. New inputs go to
# build-fuzz/corpus/<harness>, crashes to build-fuzz/crashes/. Exits non-zero
# when a harness finds a crash, a leak, a sanitizer report or a timeout.
#   scripts/fuzz.sh [SECONDS] [HARNESS...]     (default 10 s, all harnesses)
# Environment: FUZZ_BUILD (build-fuzz), FUZZ_JOBS (1: one process per
# harness; N > 1: libFuzzer's -fork=N), FUZZ_ARGS (more libFuzzer flags).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
shift || true
B=${FUZZ_BUILD:-build-fuzz}
jobs=${FUZZ_JOBS:-1}
all=(npy safetensors gmm_json idx csv ckpt_info sigmas cli_args png)
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=("${all[@]}")

CC=clang cmake -S . -B "$B" -DSGM_FUZZ=ON -DSGM_OPENMP=OFF -DSGM_DNNL=OFF \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-O1 -g" ${SGM_FUZZ_CMAKE_FLAGS:-} >/dev/null
cmake --build "$B" --target fuzz_harnesses -j "$(nproc 2>/dev/null || echo 2)"

fail=0
for h in "${harnesses[@]}"; do
  mkdir -p "$B/corpus/$h" "$B/crashes"
  extra=()
  [ "$jobs" -gt 1 ] && extra+=("-fork=$jobs")
  echo "== fuzz_$h: ${secs}s"
  # -timeout: one input running 10 s is a finding (a hang), as is a leak
  if ! "$B/fuzz_$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$B/crashes/$h-" -print_final_stats=1 "${extra[@]}" ${FUZZ_ARGS:-} \
      "$B/corpus/$h" "fuzz/corpus/$h" >"$B/fuzz_$h.log" 2>&1; then
    echo "fuzz_$h FAILED (log: $B/fuzz_$h.log; inputs: $B/crashes/$h-*)"
    tail -n 40 "$B/fuzz_$h.log"
    fail=1
  fi
  grep -E "^stat::number_of_executed_units|^stat::average_exec_per_sec" "$B/fuzz_$h.log" \
    | sed "s/^/  /" || true
done
exit $fail
