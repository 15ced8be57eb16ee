#!/usr/bin/env bash
# The examples' command lines (examples/cli.hpp), without running them for real:
#   check_cli.sh PROGRAM 'BAD ARGS' ['BAD ARGS' ...]
# PROGRAM --help and -h must exit 0 with "Usage" on stdout; each 'BAD ARGS' (words split on
# spaces) must exit 2 with nothing on stdout and a message on stderr that names the last word
# (the bad argument). A timeout stops a program that started instead (a server would listen).
set -uo pipefail
program=$1
shift
name=$(basename "$program")
# Cross builds run the program under the emulator CMake names (words, e.g. "qemu-aarch64 -L /usr/...").
read -ra run_prefix <<<"${TASKLETS_RUN_PREFIX:-}"
failed=0
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

for help in --help -h; do
  timeout 10 "${run_prefix[@]}" "$program" "$help" >"$out" 2>"$err"
  rc=$?
  if ((rc != 0)) || ! grep -q "Usage" "$out"; then
    echo "FAIL: $name $help: exit $rc (expected 0), stdout:"
    cat "$out" "$err"
    failed=1
  else
    echo "ok:   $name $help: exit 0, prints its usage"
  fi
done

for case in "$@"; do
  read -ra args <<<"$case"
  bad=${args[-1]}
  timeout 10 "${run_prefix[@]}" "$program" "${args[@]}" >"$out" 2>"$err"
  rc=$?
  if ((rc != 2)) || [[ -s "$out" ]] || ! grep -qF -- "\"$bad\"" "$err"; then
    echo "FAIL: $name $case: exit $rc (expected 2, nothing on stdout, stderr naming \"$bad\"); stdout, stderr:"
    cat "$out" "$err"
    failed=1
  else
    echo "ok:   $name $case: exit 2: $(head -n 1 "$err")"
  fi
done
exit $failed
