#!/usr/bin/env bash
# Builds tasklets and runs the whole Catch2 suite on every target: x86-64 natively;
# AArch64, RISC-V64, s390x (big-endian), armhf (32-bit ARM, hard-float), ppc64le and
# mips64el (n64) cross-built and run under QEMU user mode; i386 cross-built and run
# natively (an x86-64 kernel runs 32-bit programs; one built without IA32 emulation does
# not, and then they run under qemu-i386: toolchains/i686-linux-gnu.cmake); Windows x64
# (MinGW-w64) under Wine. The sanitizer builds of i386 and armhf (ASan+UBSan) and of
# ppc64le and s390x (UBSan) run when named. With x86-64, the packaging test
# (ci/consumers.sh: the installed package consumed by other projects) and the
# reliability tools: ASan+UBSan, TSan and Valgrind memcheck
# (TASKLETS_CI_TOOLS=0 leaves the tools out). Prints one summary line per step, with its
# time, and fails if any fails.
#   ci/test.sh                    every target (the default list below)
#   ci/test.sh x86_64 aarch64     only those (any configure preset with a test preset,
#                                 e.g. release or armhf-asan)
#
# Steps are taken from one queue by TASKLETS_CI_WORKERS workers (default 1); each step's
# output is printed whole when it ends. CI uses one: with two at a time on its 2-core
# machine, a run was not measurably shorter (2026-12-07, fresh clone: 1,440 s with two,
# 1,260-1,377 s with one; each step's build keeps both cores busy already), and the
# heavier load exposed two tests that assumed a lightly loaded machine (both fixed).
set -uo pipefail
cd "$(dirname "$0")/.."
bash ci/install-deps.sh || exit 1

# Every target by default, each as its plain preset; the Release check runs on riscv64
# (its preset builds the library -O3 without debug information), not as another x86-64
# build of everything (`ci/test.sh release`). The sanitizer builds of the four targets of
# the second porting pass (i386-asan, armhf-asan, ppc64le-ubsan, s390x-ubsan: the whole
# suite with the library at the same -O2 plus the sanitizer's checks) run by name. They
# were the default until a host on which the full run took 78 min (4,710 s, 2026-12-07,
# an AMD EPYC VM): i386-asan took 662 s and armhf-asan 898 s there, where the plain i386
# and armhf took 148 s and 181 s; ppc64le-ubsan 393 s, s390x-ubsan 311 s. ASan+UBSan, TSan
# and Valgrind keep checking the whole suite on x86-64 in every run.
default=(x86_64 aarch64 riscv64 i386 armhf ppc64le s390x mips64el windows)
# A kernel built without IA32 emulation runs no i386 program (the cross loader is one that
# runs alone). Its tests then go under qemu-i386 (toolchains/i686-linux-gnu.cmake), where
# i386-asan fails 8 tests: ASan's fake stacks land outside its 32-bit layout ("CHECK
# failed: AddrIsInMem", 2026-12-06). The summary says where the i386 tests ran.
i386_note=""
if ! /usr/i686-linux-gnu/lib/ld-linux.so.2 --version >/dev/null 2>&1; then
  i386_note="this kernel runs no i386 programs: the i386 tests ran under qemu-i386"
fi
targets=("$@")
((${#targets[@]})) || targets=("${default[@]}")
jobs=$(nproc)
# A test that hangs fails after this many seconds instead of stalling CI.
test_timeout=${TEST_TIMEOUT:-600}
tools_on=0
[[ " ${targets[*]} " == *" x86_64 "* && "${TASKLETS_CI_TOOLS:-1}" != 0 ]] && tools_on=1

out_dir=$(mktemp -d)
trap 'rm -rf "$out_dir"' EXIT

# Prints a finished step's log whole, one step at a time.
show() { flock "$out_dir/.print" cat "$1"; }

# record NAME LINE RC: the step's summary line, and whether it failed.
record() {
  echo "$2" >"$out_dir/$1.summary"
  (($3 == 0)) || touch "$out_dir/$1.failed"
}

# ctest_summary OUTPUT RC: ctest's result line, or what happened instead.
ctest_summary() {
  local line
  line=$(echo "$1" | grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' | tail -n 1)
  echo "${line:-no ctest summary (rc=$2)}"
}

# preset NAME [ctest arguments]: configure, build and test one preset.
preset() {
  local name=$1 t0=$SECONDS log="$out_dir/$1.log" out rc reruns
  shift
  {
    echo "=== ${name}: configure and build"
    if ! cmake --preset "$name" >"$out_dir/$name.build" 2>&1 ||
       ! cmake --build --preset "$name" -j "$jobs" >>"$out_dir/$name.build" 2>&1; then
      cat "$out_dir/$name.build"
      record "$name" "build FAILED ($((SECONDS - t0)) s)" 1
    else
      echo "=== ${name}: test"
      rm -f "build/$name/wine-reruns.log"
      out=$(ctest --preset "$name" -j "$jobs" --timeout "$test_timeout" "$@" 2>&1)
      rc=$?
      echo "$out" | grep -vE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed' || true
      # Programs Wine failed to start, run again by toolchains/wine-run.sh.
      reruns=""
      if [[ -s "build/$name/wine-reruns.log" ]]; then
        echo "--- Wine failed before these programs ran (no output, non-zero exit); each ran again:"
        cat "build/$name/wine-reruns.log"
        reruns=", $(wc -l <"build/$name/wine-reruns.log") run again after Wine failed to start them"
      fi
      record "$name" "$(ctest_summary "$out" $rc) ($((SECONDS - t0)) s${reruns})" $rc
    fi
  } >"$log" 2>&1
  show "$log"
}

# Packaging (after a good x86_64 build): install into temporary prefixes, static (from
# build/x86_64) and shared, and build and run consumers with find_package, pkg-config and
# add_subdirectory (ci/consumers.sh).
packaging() {
  local t0=$SECONDS log="$out_dir/packages.log" out rc
  {
    echo "=== packaging: install, then consumers (find_package, pkg-config, add_subdirectory)"
    out=$(bash ci/consumers.sh 2>&1)
    rc=$?
    echo "$out" | grep -v '^ok:   ' || true
    record packages "$(echo "$out" | tail -n 1) ($((SECONDS - t0)) s)" $rc
  } >"$log" 2>&1
  show "$log"
}

# Valgrind memcheck over the plain x86_64 test binary, in one process. Leaks and memory
# errors are errors (exit 99); "client switching stacks?" means a stack switch Valgrind
# was not told about, which fails the step too. Left out, by tag or name (each runs
# natively and under the sanitizers):
#   [death] [overflow]  a forked or re-executed child must die by SIGSEGV; under
#                       Valgrind the tool reports first (they also print this and
#                       return when run under Valgrind anyway)
#   [scale]             100,000 live tasklets: minutes under memcheck
#   [fp]                Valgrind's x87/SSE emulation keeps no x87 precision control
#                       and ignores some rounding-mode changes (Valgrind manual,
#                       "Limitations"), so FP control per tasklet cannot be observed
#   [emfile]            Valgrind reserves descriptors of its own below the limit
# A hang is killed after 300 seconds and fails the step. The differential batch is cut to
# 2,000 programs. --fair-sched=yes: Valgrind runs one thread at a time, and its default
# lock lets a thread that makes no system call take it straight back, so a pool worker
# busy with tasklets that only yield starved the one it was moving a tasklet to (the
# migration test failed 2 runs in 3 once busy threads stopped polling the kernel). One
# suppression, for glibc's resolver state on the helper threads that live until exit
# (ci/valgrind.supp says why).
valgrind_step() {
  local t0=$SECONDS log="$out_dir/valgrind.log" bin=build/x86_64/tests/tasklets_tests
  local filter='~[death]~[overflow]~[scale]~[fp]~[emfile]~[.]' vlog rc switching errors cases total failed pct nerr
  {
    echo "=== valgrind: memcheck over $bin (one process)"
    vlog="$out_dir/valgrind.memcheck"
    TASKLETS_DIFF_PROGRAMS=2000 timeout --signal=KILL 300 valgrind --fair-sched=yes --suppressions=ci/valgrind.supp --error-exitcode=99 \
      --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
      --log-file="$vlog" "$bin" "$filter" >"$vlog.out" 2>&1
    rc=$?
    grep -E '^(===|test cases|All tests passed)|FAILED|SKIPPED' "$vlog.out" | tail -n 20 || true
    switching=$(grep -c 'client switching stacks' "$vlog" || true)
    errors=$(grep -E 'ERROR SUMMARY: [0-9]+' "$vlog" | tail -n 1)
    ((rc != 0 || switching != 0)) && cat "$vlog"
    cases=$(grep -oE '(All tests passed \([0-9]+ assertions in [0-9]+ test cases\)|test cases: +[0-9]+ \| +[0-9]+ passed \| +[0-9]+ failed)' "$vlog.out" | tail -n 1)
    total=$(echo "$cases" | grep -oE '[0-9]+ test cases|test cases: +[0-9]+' | grep -oE '[0-9]+' | head -n 1)
    failed=$(echo "$cases" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0)
    total=${total:-0}
    failed=${failed:-0}
    pct=$((total ? 100 * (total - failed) / total : 0))
    nerr=$(echo "$errors" | grep -oE 'ERROR SUMMARY: [0-9]+' | grep -oE '[0-9]+' || echo '?')
    record valgrind "${pct}% tests passed, ${failed} tests failed out of ${total} (one process; memcheck: ${nerr:-?} errors incl. leaks, ${switching} stack-switch warnings, exit ${rc}) ($((SECONDS - t0)) s)" \
      $((rc != 0 || switching != 0))
  } >"$log" 2>&1
  show "$log"
}

# One step of the queue. x86_64 brings what reuses its build: the packaging test and
# Valgrind. The fuzzer test is left out of release: it configures and builds its own clang
# RelWithDebInfo tree whatever this build's type, so it would repeat the x86_64 step's run.
# The sanitizer runs print the tests they skip, with reasons, first
# (tests/support/sanitizer_tests.cmake).
step() {
  case $1 in
    x86_64)
      preset x86_64
      if [[ "$(cat "$out_dir/x86_64.summary")" == "build FAILED"* ]]; then
        record packages "not run (no x86_64 build)" 1
        ((tools_on)) && record valgrind "not run (no x86_64 build)" 1
      else
        packaging
        ((tools_on)) && valgrind_step
      fi ;;
    release) preset release -E '^differential fuzzer \(libFuzzer, clang\)$' ;;
    *) preset "$1" ;;
  esac
}

# The queue: the targets as given, with x86_64's sanitizer builds right after it (the
# Release build of x86-64 runs when named: `ci/test.sh release`). Workers take the next
# step in turn.
queue=()
for t in "${targets[@]}"; do
  queue+=("$t")
  [[ "$t" == x86_64 ]] && ((tools_on)) && queue+=(asan tsan)
done
echo 0 >"$out_dir/.next"
worker() {
  local i
  while :; do
    i=$(flock "$out_dir/.queue" bash -c 'i=$(cat "$1"); echo $((i + 1)) >"$1"; echo "$i"' _ "$out_dir/.next")
    ((i < ${#queue[@]})) || return 0
    step "${queue[$i]}"
  done
}
workers=()
for ((w = 1; w < ${TASKLETS_CI_WORKERS:-1}; ++w)); do
  worker &
  workers+=($!)
done
worker
((${#workers[@]})) && wait "${workers[@]}"

echo
echo "=== summary"
[[ -n "$i386_note" && " ${targets[*]} " == *" i386 "* ]] && echo "note: $i386_note"
steps=("${targets[@]}")
[[ " ${targets[*]} " == *" x86_64 "* ]] && steps+=(packages)
((tools_on)) && steps+=(asan tsan valgrind)
status=0
for s in "${steps[@]}"; do
  printf '%-14s %s\n' "$s" "$(cat "$out_dir/$s.summary" 2>/dev/null || echo 'no result')"
  [[ -f "$out_dir/$s.summary" && ! -f "$out_dir/$s.failed" ]] || status=1
done
echo "total: ${SECONDS} s"
exit $status
