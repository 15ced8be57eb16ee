#!/usr/bin/env bash
# Starts a server example, reads the first line it prints, and stops it:
#   check_banner.sh PROGRAM 'EXTENDED REGEX' [ARGS ...]
# The line must come within 20 seconds and match the pattern (grep -E).
set -uo pipefail
program=$1
pattern=$2
shift 2
read -ra run_prefix <<<"${TASKLETS_RUN_PREFIX:-}"
out=$(mktemp)
trap 'rm -f "$out"; [[ -n ${pid:-} ]] && kill "$pid" 2>/dev/null' EXIT
"${run_prefix[@]}" "$program" "$@" >"$out" 2>&1 &
pid=$!
for _ in $(seq 200); do
  [[ -s $out ]] && grep -q . "$out" && break
  sleep 0.1
done
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
line=$(head -n 1 "$out")
echo "$line"
if ! grep -qE -- "$pattern" <<<"$line"; then
  echo "FAIL: $(basename "$program") $*: first line does not match /$pattern/"
  exit 1
fi
