#!/usr/bin/env bash
# run_and_check.sh OUT.json -- PROGRAM [ARGS...] -- [check_trace.py OPTIONS...]
# Runs PROGRAM (under $TASKLETS_RUN_PREFIX, the emulator of a cross build), which must
# exit 0 and leave a trace in OUT.json, then checks the file with check_trace.py.
set -u
out=$1
shift
[[ ${1:-} == -- ]] || { echo "usage: run_and_check.sh OUT.json -- PROGRAM [ARGS...] -- [OPTIONS...]" >&2; exit 2; }
shift
program=()
while (($#)) && [[ $1 != -- ]]; do program+=("$1"); shift; done
(($#)) && shift
rm -f "$out"
# Cross builds run the program under the emulator CMake names (words, e.g. "qemu-aarch64 -L /usr/...").
read -ra run_prefix <<<"${TASKLETS_RUN_PREFIX:-}"
timeout 120 "${run_prefix[@]}" "${program[@]}" >/dev/null
rc=$?
if ((rc != 0)); then
  echo "run_and_check: ${program[*]} exited $rc" >&2
  exit 1
fi
if [[ ! -s $out ]]; then
  echo "run_and_check: ${program[*]} left no trace in $out" >&2
  exit 1
fi
exec python3 "$(dirname "$0")/check_trace.py" "$out" "$@"
