#!/usr/bin/env bash
# Runs an example for real, with small arguments:
#   check_run.sh PROGRAM 'EXPECTED TEXT' [ARGS ...]
# It must exit 0 within 60 seconds and print a line containing EXPECTED TEXT on stdout. The
# output is shown either way, so a failing run can be read in the test log.
set -uo pipefail
program=$1
expected=$2
shift 2
name=$(basename "$program")
# Cross builds run the program under the emulator CMake names (words, e.g. "qemu-aarch64 -L /usr/...").
read -ra run_prefix <<<"${TASKLETS_RUN_PREFIX:-}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 60 "${run_prefix[@]}" "$program" "$@" >"$out"
rc=$?
cat "$out"
if ((rc != 0)); then
  echo "FAIL: $name $*: exit $rc (expected 0)"
  exit 1
fi
if ! grep -qF -- "$expected" "$out"; then
  echo "FAIL: $name $*: no line containing \"$expected\""
  exit 1
fi
echo "ok:   $name $*: exit 0, prints \"$expected\""
