#!/usr/bin/env bash
# The round-trip curve of shared-stack tasklets against dedicated ones, by live stack size:
# runs tasklets_shared_switch (medians of 3) and writes a Markdown table and a chart.
#
#   bench/stacks/shared_switch_chart.sh [build-dir] [out-dir]
#       defaults: build/bench, docs/ (shared-stacks-roundtrip.md and .png)
# Needs gnuplot (ci/install-deps.sh --bench installs gnuplot-nox).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build/bench}
out=${2:-$root/docs}
bin=$build/bench/tasklets_shared_switch
[[ -x "$bin" ]] || { echo "shared_switch_chart.sh: $bin not built (cmake --build --preset bench)" >&2; exit 1; }
data=$(mktemp)
trap 'rm -f "$data"' EXIT
"$bin" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true --benchmark_min_time=${MIN_TIME:-0.2} 2>/dev/null |
  awk '$1 ~ /_median$/ { split($1, p, "/"); sub(/_median$/, "", p[3]); live = "-"
                          for (i = 5; i <= NF; ++i) if ($i ~ /^live=/) {  # printed as 272 or 1.232k
                            live = substr($i, 6); if (live ~ /k$/) live = sprintf("%.0f", substr(live, 1, length(live) - 1) * 1000) }
                          print p[1], p[2], p[3], $4, live }' >"$data"

# Table: one row per live size, one column per (operation, placement; copy_floor is the
# same-stack row's copies alone, after a dedicated switch), then the live bytes
# in all of a parked shared-stack tasklet (the benchmark's `live` counter: what a switch on
# one execution stack copies each way; a channel wait's 64-byte waiter slot is left out).
{
  echo "| extra live bytes | schedule: dedicated | shared, apart | shared, same stack | its copy floor | ping-pong: dedicated | shared, apart | shared, same stack | its copy floor | live in all: schedule | ping-pong |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for n in 64 128 256 512 1024 2048 4096 8192; do
    row="| $n"
    for op in schedule_round_trip pingpong_round_trip; do
      for pl in dedicated shared_apart shared_same copy_floor; do
        row+=" | $(awk -v o="$op" -v p="$pl" -v n="$n" '$1 == o && $2 == p && $3 == n { print $4 }' "$data")"
      done
    done
    for op in schedule_round_trip pingpong_round_trip; do
      row+=" | $(awk -v o="$op" -v n="$n" '$1 == o && $2 == "shared_same" && $3 == n { print $5 }' "$data")"
    done
    echo "$row |"
  done
} >"$out/shared-stacks-roundtrip.md"

plot_lines=""
for op in schedule_round_trip pingpong_round_trip; do
  for pl in dedicated shared_apart shared_same copy_floor; do
    f="$data.$op.$pl"
    awk -v o="$op" -v p="$pl" '$1 == o && $2 == p { print $3, $4 }' "$data" >"$f"
    plot_lines+="\"$f\" using 1:2 with linespoints title \"${op%_round_trip} ${pl/_/ }\", "
  done
done
gnuplot <<GP
set terminal pngcairo noenhanced size 1000,560 font "DejaVu Sans,10"
set output "$out/shared-stacks-roundtrip.png"
set title "Round trip of two tasklets by extra live stack (tasklets_shared_switch, medians of 3)"
set xlabel "extra live stack bytes per tasklet"
set ylabel "ns per round trip"
set logscale x 2
set logscale y 2
set key top left
set grid
plot ${plot_lines%, }
GP
rm -f "$data".*
echo "shared_switch_chart.sh: wrote $out/shared-stacks-roundtrip.md and .png"
