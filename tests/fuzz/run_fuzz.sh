#!/usr/bin/env bash
# Runs the differential libFuzzer target (tests/fuzz/fuzz_diff.cpp) for a short while.
#   run_fuzz.sh --binary <tasklets_fuzz_diff> [libFuzzer args...]
#   run_fuzz.sh --build <source dir> <build dir> [libFuzzer args...]
#       configures <build dir> with clang++ (library built with ASan and fuzzer
#       coverage: TASKLETS_FUZZ_SANITIZE=ON), builds tasklets_fuzz_diff there, and runs it.
# Time: TASKLETS_FUZZ_SECONDS (default 20). Exit 77 (ctest: skipped) without clang++ or
# libFuzzer. A mismatch aborts the fuzzer: its output has the program and a TEST_CASE.
set -euo pipefail
seconds=${TASKLETS_FUZZ_SECONDS:-20}
mode=${1:-}
shift || true
if [[ "$mode" == "--build" ]]; then
  src=$1 bld=$2
  shift 2
  if ! command -v clang++ >/dev/null || ! command -v clang >/dev/null; then
    echo "skipped: no clang/clang++ (ci/install-deps.sh installs clang and libclang-rt-14-dev)"
    exit 77
  fi
  gen=()
  command -v ninja >/dev/null && gen=(-G Ninja)
  # -O1 with line tables only, as OSS-Fuzz builds its fuzzers: the fuzzer's reports need
  # file and line, not types, and this build (inside CI's x86_64 test run) takes a fifth
  # less compile time than at RelWithDebInfo's -O2 -g (55 s of CPU instead of 69 s).
  if ! cmake -S "$src" -B "$bld" "${gen[@]}" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG" \
        -DTASKLETS_BUILD_EXAMPLES=OFF -DTASKLETS_FUZZ_SANITIZE=ON \
        >"$bld.configure.log" 2>&1; then
    cat "$bld.configure.log"
    exit 1
  fi
  if ! grep -q '^TASKLETS_HAVE_LIBFUZZER:INTERNAL=1' "$bld/CMakeCache.txt"; then
    echo "skipped: clang++ cannot link -fsanitize=fuzzer (is libclang-rt-14-dev installed?)"
    exit 77
  fi
  cmake --build "$bld" --target tasklets_fuzz_diff -j 2
  binary="$bld/tests/fuzz/tasklets_fuzz_diff"
elif [[ "$mode" == "--binary" ]]; then
  binary=$1
  shift
else
  echo "usage: $0 --binary <fuzzer> | --build <source dir> <build dir> [libFuzzer args...]" >&2
  exit 2
fi
# The tasklets' stacks are not the thread's, which ASan would warn about on every throw.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_stack_use_after_return=0:detect_leaks=1}
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
echo "fuzzing for ${seconds} s: $binary"
"$binary" -max_total_time="$seconds" -max_len=256 -seed=1 -print_final_stats=1 -print_funcs=0 "$@" "$corpus"
