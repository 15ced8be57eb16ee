#!/usr/bin/env bash
# The cross-thread ping-pong against its floor, alternately, so that both see the same
# placement of this VM's vCPUs: each round runs xpingpong/spin_2threads (two spinning
# threads, two cache-line transfers a round trip), xpingpong/tasklets_2workers, and the
# floor again. The floor moves by 5x from one minute to the next here (docs/multicore.md),
# so a tasklets figure alone says more about the host than the code. A round counts only if
# its two floors agree within 25 %; the medians are over those rounds.
#
#   bench/multicore/xpingpong_floor.sh [build-dir] [rounds]
#       defaults: build/bench, 9
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build/bench}
rounds=${2:-9}
bin=$build/bench/tasklets_bench_mc
[[ -x "$bin" ]] || { echo "xpingpong_floor.sh: $bin not built (cmake --build --preset bench)" >&2; exit 1; }
row() {  # real time in ns of one run of benchmark $1
  "$bin" --benchmark_filter="^$1/" --benchmark_min_time="${MIN_TIME:-0.3}" --benchmark_format=csv 2>/dev/null |
    awk -F, -v want="$1" 'index($1, want) { t = $3; u = $5; gsub(/"/, "", u)
                          if (u == "us") t *= 1000; else if (u == "ms") t *= 1e6; printf "%.1f\n", t }'
}
printf "%-6s %12s %14s %12s %8s\n" round "floor (ns)" "tasklets (ns)" "floor again" ratio
for ((i = 1; i <= rounds; ++i)); do
  f=$(row xpingpong/spin_2threads)
  t=$(row xpingpong/tasklets_2workers)
  g=$(row xpingpong/spin_2threads)
  echo "$i $f $t $g"
done | awk 'function median(a, n,   i, j, x) {
    for (i = 2; i <= n; ++i) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; --j) a[j + 1] = a[j]; a[j + 1] = x }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  { floor = ($2 + $4) / 2; ratio = $3 / floor
    stable = ($2 > $4 ? $2 / $4 : $4 / $2) < 1.25
    printf "%-6s %12.1f %14.1f %12.1f %8.2f%s\n", $1, $2, $3, $4, ratio, stable ? "" : "  (floor moved: left out)"; fflush()
    if (stable) { ++n; f[n] = floor; t[n] = $3; r[n] = ratio } }
  END { if (n) printf "median of %d rounds: floor %.1f ns, tasklets %.1f ns, ratio %.2f\n", n, median(f, n), median(t, n), median(r, n)
        else print "no round kept its floor" }'
