#!/usr/bin/env bash
# Packaging test: installs tasklets into temporary prefixes, the static and the shared
# variant, and builds and runs two tiny consumer projects from outside the source tree
# against each: tests/consumers/cmake (find_package(tasklets CONFIG)) and
# tests/consumers/pkgconfig (pkg-config --cflags --libs tasklets). Also checks that a
# find_package request for an incompatible version is refused, that the pkg-config file
# names the gdb extension, and (when gdb is installed) that gdb auto-loads the extension
# next to the shared library; and that add_subdirectory works. Prints one line per check and a
# summary line; exit status 1 if any check failed.
#   ci/consumers.sh
# The static variant is installed from build/x86_64 (the x86_64 preset's build, which
# ci/test.sh has just built; set TASKLETS_STATIC_BUILD to use another), the shared one from
# build/pkg-shared (the library only).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc)
((jobs > 2)) && jobs=2

static_build=${TASKLETS_STATIC_BUILD:-build/x86_64}
shared_build=build/pkg-shared
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
failures=()
log=$work/log
check() {  # check LABEL COMMAND...: runs it quietly; its output is shown on failure
  local label=$1
  shift
  if "$@" >"$log" 2>&1; then
    echo "ok:   $label"
    passed=$((passed + 1))
  else
    echo "FAIL: $label"
    sed 's/^/      /' "$log" | tail -n 40
    failed=$((failed + 1))
    failures+=("$label")
  fi
}
fails() { ! "$@"; }  # a check that must fail

build_library() {  # build_library VARIANT DIR
  if [[ "$1" == static ]]; then
    [[ -f "$2/CMakeCache.txt" ]] || cmake --preset x86_64 || return 1
  else
    cmake -S . -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_SHARED_LIBS=ON \
      -DTASKLETS_BUILD_TESTS=OFF -DTASKLETS_BUILD_EXAMPLES=OFF || return 1
  fi
  cmake --build "$2" -j "$jobs" --target tasklets
}

run_consumer() {  # run_consumer PROGRAM: runs it and checks its report
  local out
  out=$("$1") || { echo "$out"; return 1; }
  echo "$out"
  grep -q "consumer received 30 numbers" <<<"$out"
}

gdb_autoload() {  # gdb_autoload PREFIX PROGRAM: the installed extension is auto-loaded with the library
  local out
  out=$(gdb -nx -batch -iex "set debuginfod enabled off" -iex "set breakpoint pending on" \
    -iex "add-auto-load-scripts-directory $1/share/gdb/auto-load" -iex "add-auto-load-safe-path $1" \
    -ex 'break tasklets::run' -ex run -ex 'info auto-load python-scripts' -ex 'info tasklets' "$2" 2>&1)
  echo "$out"
  grep -Eq '^Yes +.*libtasklets\.so\.[0-9.]+-gdb\.py' <<<"$out" &&
    grep -Eq '^\*\s+1\s+main\s+running' <<<"$out" && grep -Eq 'consumer\s+runnable' <<<"$out"
}

for variant in static shared; do
  echo "=== consumers: ${variant} library"
  if [[ "$variant" == static ]]; then dir=$static_build; else dir=$shared_build; fi
  prefix=$work/prefix-$variant
  check "$variant: build the library ($dir)" build_library "$variant" "$dir" || continue
  check "$variant: cmake --install into a fresh prefix" cmake --install "$dir" --prefix "$prefix" || continue
  libdir=$(find "$prefix" -name tasklets.pc -printf '%h\n' | head -n 1)
  libdir=${libdir%/pkgconfig}
  if [[ "$variant" == static ]]; then
    check "static: the prefix has libtasklets.a and no shared library" \
      bash -c "[[ -f '$libdir/libtasklets.a' ]] && ! compgen -G '$libdir/libtasklets.so*'"
  else
    check "shared: the prefix has libtasklets.so.<version>, its gdb auto-load script, no .a" \
      bash -c "compgen -G '$libdir/libtasklets.so.*.*' && find '$prefix/share/gdb/auto-load' -name 'libtasklets.so.*-gdb.py' | grep -q . && [[ ! -f '$libdir/libtasklets.a' ]]"
  fi
  check "$variant: headers installed, version.hpp generated" \
    grep -q "TASKLETS_VERSION_STRING" "$prefix/include/tasklets/version.hpp"

  # CMake consumer, from outside the source tree.
  cp -r tests/consumers "$work/src-$variant"
  cm=$work/cmake-$variant
  check "$variant: find_package(tasklets 0.1 CONFIG) configures" \
    cmake -S "$work/src-$variant/cmake" -B "$cm" -G Ninja -DCMAKE_PREFIX_PATH="$prefix"
  check "$variant: the CMake consumer builds" cmake --build "$cm"
  check "$variant: the CMake consumer runs its tasklets" run_consumer "$cm/consumer"
  check "$variant: find_package(tasklets 1.0) is refused (incompatible version)" \
    fails cmake -S "$work/src-$variant/cmake" -B "$work/cmake-wrong-$variant" -G Ninja \
    -DCMAKE_PREFIX_PATH="$prefix" -DTASKLETS_REQUEST=1.0

  # pkg-config consumer.
  pc=$work/pkgconfig-$variant
  mkdir -p "$pc"
  export PKG_CONFIG_PATH="$libdir/pkgconfig"
  check "$variant: pkg-config --cflags --libs tasklets" pkg-config --cflags --libs tasklets
  check "$variant: the pkg-config consumer builds" make -s -f "$work/src-$variant/pkgconfig/Makefile" OUT="$pc"
  check "$variant: the pkg-config consumer runs its tasklets" run_consumer "$pc/consumer"
  check "$variant: tasklets.pc names the installed gdb extension" \
    bash -c "test -f \"\$(pkg-config --variable=gdb_extension tasklets)\""
  unset PKG_CONFIG_PATH

  if [[ "$variant" == shared ]]; then
    if command -v gdb >/dev/null; then
      check "shared: gdb auto-loads the installed extension with libtasklets.so" gdb_autoload "$prefix" "$pc/consumer"
    else
      echo "skip: shared: gdb auto-load check (gdb is not installed)"
    fi
  fi
done

# add_subdirectory from the source tree: builds the library as part of the consumer, without
# tasklets' tests and examples (their options default to off when not top level).
echo "=== consumers: add_subdirectory"
sub=$work/subdir
cp -r tests/consumers "$work/src-subdir"
check "add_subdirectory: the CMake consumer configures" \
  cmake -S "$work/src-subdir/cmake" -B "$sub" -G Ninja -DTASKLETS_SOURCE="$root"
check "add_subdirectory: tasklets' tests and examples are not part of it" \
  bash -c "! grep -Eq '^(tasklets_tests|pipeline):' <(cmake --build '$sub' --target help)"
check "add_subdirectory: the CMake consumer builds" cmake --build "$sub" -j "$jobs"
check "add_subdirectory: the CMake consumer runs its tasklets" run_consumer "$sub/consumer"

echo
if ((failed)); then
  echo "consumers: $passed checks passed, $failed FAILED: ${failures[*]}"
  exit 1
fi
echo "consumers: $passed checks passed, 0 failed (static and shared: find_package, pkg-config; add_subdirectory)"
