#!/usr/bin/env bash
# Runs an example for real, with small arguments:
#   check_run.sh PROGRAM 'EXPECTED TEXT' [ARGS ...]
# It must exit 0 within 60 seconds and print a line containing EXPECTED TEXT on stdout (and,
# if EXPECT_STDERR is set, a line containing that on stderr). The output is shown either
# way, so a failing run can be read in the test log.
set -uo pipefail
program=$1
expected=$2
shift 2
name=$(basename "$program")
# Cross builds run the program under the emulator CMake names (words, e.g. "qemu-aarch64 -L /usr/...").
read -ra run_prefix <<<"${TASKLETS_RUN_PREFIX:-}"
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
timeout 60 "${run_prefix[@]}" "$program" "$@" >"$out" 2>"$err"
rc=$?
cat "$out"
cat "$err" >&2
if ((rc != 0)); then
  echo "FAIL: $name $*: exit $rc (expected 0)"
  exit 1
fi
if ! grep -qF -- "$expected" "$out"; then
  echo "FAIL: $name $*: no line containing \"$expected\""
  exit 1
fi
if [[ -n ${EXPECT_STDERR:-} ]] && ! grep -qF -- "$EXPECT_STDERR" "$err"; then
  echo "FAIL: $name $*: no line containing \"$EXPECT_STDERR\" on stderr"
  exit 1
fi
echo "ok:   $name $*: exit 0, prints \"$expected\"${EXPECT_STDERR:+ and, on stderr, \"$EXPECT_STDERR\"}"
