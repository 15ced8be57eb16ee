#!/usr/bin/env bash
# Instruction counts per operation under callgrind: noise-free, machine-independent.
# Each op runs twice, N1 and N2 round trips, in a fresh process; the whole-program
# instruction totals are differenced, so start-up, set-up and tear-down cancel exactly:
#     instructions per op = (Ir(N2) - Ir(N1)) / (N2 - N1)
# The count includes the driver loop (`for (i < n) w.op()`: about 3 instructions).
#
#   bench/callgrind.sh [build-dir]        writes bench/results/callgrind.json and .md
#
# Threads are left out: their hand-off cost is in the kernel (futex, scheduler), which
# callgrind does not see. ucontext's sigprocmask system calls are likewise invisible.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build/bench}
bin=$build/bench/tasklets_bench
out=$here/results
mkdir -p "$out"
N1=${N1:-20000}
N2=${N2:-220000}
RING_N1=${RING_N1:-5030}
RING_N2=${RING_N2:-55330}

# op name -> iteration counts
ops=(
  switch/tasklets_context switch/boost_fcontext switch/boost_context_fiber switch/ucontext
  switch_framed/tasklets_context switch_framed/boost_fcontext
  schedule/tasklets schedule/boost_fiber_yield
  pingpong/tasklets pingpong/boost_fiber_unbuffered pingpong/boost_fiber_buffered
  spawn_join/tasklets ring/tasklets
  schedule/tasklets_counted pingpong/tasklets_counted schedule/tasklets_traced pingpong/tasklets_traced
)
available=$("$bin" --list | awk '$1 == "op" { print $2 }')

total_ir() {  # total instructions of `tasklets_bench --ops NAME N`
  local tmp; tmp=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$tmp" "$bin" --ops "$1" "$2" >/dev/null 2>&1
  awk '/^(summary|totals):/ { print $2; exit }' "$tmp"
  rm -f "$tmp"
}

json="$out/callgrind.json"
md="$out/callgrind.md"
{
  echo "| operation | instructions per op | N1 | N2 |"
  echo "|---|---:|---:|---:|"
} >"$md"
echo "[" >"$json"
first=1
for op in "${ops[@]}"; do
  grep -qx "$op" <<<"$available" || { echo "callgrind.sh: $op not built, skipped" >&2; continue; }
  n1=$N1; n2=$N2
  case $op in
    ring/*) n1=$RING_N1; n2=$RING_N2 ;;
    spawn_join/*) n1=10000; n2=60000 ;;
  esac
  a=$(total_ir "$op" "$n1")
  b=$(total_ir "$op" "$n2")
  per=$(awk -v a="$a" -v b="$b" -v n1="$n1" -v n2="$n2" 'BEGIN { printf "%.2f", (b - a) / (n2 - n1) }')
  printf '%-36s %10s instructions/op\n' "$op" "$per"
  echo "| \`$op\` | $per | $n1 | $n2 |" >>"$md"
  ((first)) || echo "," >>"$json"
  first=0
  printf '  {"name": "%s", "instructions_per_op": %s, "n1": %s, "ir1": %s, "n2": %s, "ir2": %s}' \
    "$op" "$per" "$n1" "$a" "$n2" "$b" >>"$json"
done
printf '\n]\n' >>"$json"
echo "callgrind.sh: wrote $json and $md"
