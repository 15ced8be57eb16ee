#!/usr/bin/env bash
# Builds tasklets and runs the whole Catch2 suite: x86-64 natively, then AArch64 and
# RISC-V64 cross-built and run under QEMU user mode. Prints one summary line per
# architecture and fails if any architecture fails. After x86-64, the packaging test
# (ci/consumers.sh: installed package consumed by other projects) with its own summary line.
#   ci/test.sh                    all three architectures
#   ci/test.sh x86_64 aarch64     only those
set -uo pipefail
cd "$(dirname "$0")/.."
bash ci/install-deps.sh || exit 1

archs=("$@")
((${#archs[@]})) || archs=(x86_64 aarch64 riscv64)
jobs=$(nproc)

declare -A summary
status=0
for arch in "${archs[@]}"; do
  echo "=== ${arch}: configure and build"
  if ! cmake --preset "$arch" >"build-${arch}.log" 2>&1 || ! cmake --build --preset "$arch" -j "$jobs" >>"build-${arch}.log" 2>&1; then
    cat "build-${arch}.log"
    summary[$arch]="build FAILED"
    status=1
    continue
  fi
  rm -f "build-${arch}.log"
  echo "=== ${arch}: test"
  out=$(ctest --preset "$arch" -j "$jobs" 2>&1)
  rc=$?
  echo "$out" | grep -vE '^ +[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed' || true
  line=$(echo "$out" | grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' | tail -n 1)
  summary[$arch]="${line:-no ctest summary (rc=$rc)}"
  ((rc == 0)) || status=1
done

# Packaging (after a good x86_64 build): install into temporary prefixes, static (from
# build/x86_64) and shared, and build and run consumers with find_package, pkg-config and
# add_subdirectory (ci/consumers.sh).
packaging=""
if [[ -n "${summary[x86_64]:-}" && "${summary[x86_64]}" != "build FAILED" ]]; then
  echo "=== packaging: install, then consumers (find_package, pkg-config, add_subdirectory)"
  out=$(bash ci/consumers.sh 2>&1)
  rc=$?
  echo "$out" | grep -v '^ok:   ' || true
  packaging=$(echo "$out" | tail -n 1)
  ((rc == 0)) || status=1
fi

echo
echo "=== summary"
for arch in "${archs[@]}"; do
  printf '%-8s %s\n' "$arch" "${summary[$arch]}"
done
[[ -n "$packaging" ]] && printf '%-8s %s\n' packages "$packaging"
exit $status
