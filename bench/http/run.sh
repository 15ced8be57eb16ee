#!/usr/bin/env bash
# The HTTP comparison, in one run: our tasklet-per-connection server
# (examples/http_server.cpp, one thread) on each I/O backend — io_uring and epoll, the same
# binary started with TASKLETS_IO_BACKEND set — nginx (one worker, same fixed 200 response)
# and a thread-per-connection server (bench/http/thread_server.cpp), each driven by wrk at
# 1, 10, 100, 1,000 and 10,000 concurrent keep-alive connections on loopback. Reports
# requests/s and p99 latency side by side (and the server's CPU use), in
# bench/http/results/latest.md (latest-shared.md with --shared).
#
#   bench/http/run.sh [--duration SECONDS] [--connections "100 1000 10000"] [--wrk-threads N]
#                     [--rounds N] [--shared] [--workers N [--acceptor]]
#
# --workers N (N > 1): our server runs N workers of a worker_pool (a SO_REUSEPORT listener
# each) and nginx N worker processes; the thread-per-connection server is unchanged. Several
# workers need several CPUs, so everything then shares all CPUs, as with --shared, and the
# report is latest-workers<N>.md. --acceptor: our server's worker 0 accepts alone and hands
# connections out to the workers in turn (report latest-workers<N>-acceptor.md); nginx,
# run the same way in both, is the yardstick the two designs are compared by.
#
# Order: all four servers run at once (an idle one costs nothing) and are warmed up
# first; then, for each connection count, each server is measured in turn, in a
# different order each round (forward, then reversed), and the report gives the mean
# over the rounds (2 by default). Measuring one server after the other in a fixed order
# gave whichever came first the cold state of the machine (on this VM, 10-15 % fewer
# requests/s at the first point).
#
# CPUs: with two or more, each server is pinned to CPU 0 and wrk to CPU 1 (one wrk thread
# unless --wrk-threads says otherwise), so the load generator takes no CPU from the server
# it measures and every server gets the same budget, one core (our server and nginx's one
# worker use one anyway; the thread-per-connection server gets the same core for its
# threads). --shared lets everything float over all CPUs instead, wrk included: req/s
# then also measures how much CPU each server leaves to wrk.
#
# Needs wrk and nginx (ci/install-deps.sh --bench). Raises the descriptor limit; stops
# everything it started, also when interrupted. Loopback only.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
duration=10
connections="1 10 100 1000 10000"
wrk_threads=
rounds=2
shared=0
workers=1
mode=listeners
while (($#)); do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --wrk-threads) wrk_threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --shared) shared=1; shift ;;
    --workers) workers=$2; shift 2 ;;
    --acceptor) mode=acceptor; shift ;;
    *) echo "usage: $0 [--duration S] [--connections \"100 1000 10000\"] [--wrk-threads N] [--rounds N] [--shared] [--workers N [--acceptor]]" >&2; exit 2 ;;
  esac
done
((workers > 1)) && shared=1
if ((shared == 0)) && (($(nproc) >= 2)); then
  server_cpu=(taskset -c 0)
  wrk_cpu=(taskset -c 1)
  : "${wrk_threads:=1}"
  placement="servers pinned to CPU 0, wrk to CPU 1 (taskset)"
else
  server_cpu=()
  wrk_cpu=()
  : "${wrk_threads:=2}"
  placement="servers and wrk share all $(nproc) CPUs"
fi
report=latest.md
((shared)) && report=latest-shared.md
((workers > 1)) && report=latest-workers$workers.md
[[ $mode == acceptor ]] && report=latest-workers$workers-acceptor.md
for tool in wrk nginx cmake g++; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (ci/install-deps.sh --bench)" >&2; exit 1; }
done

# 10,000 connections: a descriptor each on both sides, plus the servers' own.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"  # without CAP_SYS_RESOURCE: the hard limit
echo "run.sh: descriptor limit $(ulimit -n)"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$here/results"
raw="$out/raw-$stamp"
work=$(mktemp -d /tmp/tasklets-http-XXXXXX)
mkdir -p "$raw"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# ---- build ---------------------------------------------------------------------------------
build="$root/build/io-bench"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTASKLETS_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target http_server -j2 >/dev/null
g++ -std=c++20 -O2 -pthread "$here/thread_server.cpp" -o "$build/thread_server"

# ---- helpers -------------------------------------------------------------------------------
wait_port() {  # port: until it accepts
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "run.sh: nothing listens on port $1" >&2
  return 1
}
cpu_ticks() {  # pid: "user system" clock ticks of it and its children (nginx's worker)
  local user=0 system=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    [[ -r /proc/$p/stat ]] || continue
    read -r u s < <(awk '{print $14, $15}' "/proc/$p/stat")
    user=$((user + u))
    system=$((system + s))
  done
  echo "$user $system"
}
to_ms() {  # wrk latency ("812.00us", "3.41ms", "1.02s") in ms
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n *= 1; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

results="$work/results.tsv"
: >"$results"
hz=$(getconf CLK_TCK)

start_server() {  # name port command...: starts it pinned, waits for it, warms it up
  local name=$1 port=$2
  shift 2
  "${server_cpu[@]}" "$@" >"$raw/$name-server.log" 2>&1 &
  server_pid[$name]=$!
  server_port[$name]=$port
  pids+=("$!")
  wait_port "$port"
  # a short warm-up (page faults, caches), not measured
  "${wrk_cpu[@]}" wrk -t1 -c10 -d1s "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
}

measure() {  # name connections round: one wrk run against a running server
  local name=$1 c=$2 round=$3
  local pid=${server_pid[$name]} port=${server_port[$name]}
  local t=$wrk_threads
  ((c < t)) && t=$c
  local before after user_before sys_before user_after sys_after
  local out_file="$raw/$name-c$c-r$round.txt"
  read -r user_before sys_before < <(cpu_ticks "$pid")
  # wrk's own CPU share too: at 100 % the load generator, not the server, sets the pace.
  "${wrk_cpu[@]}" /usr/bin/time -f '%P' -o "$out_file.cpu" \
    wrk -t"$t" -c"$c" -d"${duration}s" --timeout 10s --latency "http://127.0.0.1:$port/" >"$out_file" 2>&1 || true
  read -r user_after sys_after < <(cpu_ticks "$pid")
  before=$((user_before + sys_before))
  after=$((user_after + sys_after))
  local rps p99 errors cpu requests per_req sys_per_req wrk_cpu_share
  wrk_cpu_share=$(tr -d '%' <"$out_file.cpu" 2>/dev/null | tail -n 1)
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out_file")
  p99=$(awk '$1 == "99%" {print $2}' "$out_file")
  errors=$(awk '/Socket errors:/ {sub(/.*Socket errors: /, ""); print}' "$out_file")
  requests=$(awk '/requests in/ {print $1}' "$out_file")
  cpu=$(awk -v a="$after" -v b="$before" -v hz="$hz" -v d="$duration" 'BEGIN { printf "%.0f", 100 * (a - b) / hz / d }')
  # server CPU time per request served: the efficiency figure, whoever wins the CPUs
  per_req=$(awk -v a="$after" -v b="$before" -v hz="$hz" -v n="${requests:-0}" 'BEGIN { if (n > 0) printf "%.2f", 1e6 * (a - b) / hz / n; else print "-" }')
  # of which in the kernel (system time: TCP, loopback, system calls, context switches)
  sys_per_req=$(awk -v a="$sys_after" -v b="$sys_before" -v hz="$hz" -v n="${requests:-0}" 'BEGIN { if (n > 0) printf "%.2f", 1e6 * (a - b) / hz / n; else print "-" }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$c" "${rps:-0}" "$(to_ms "${p99:-0}")" "$cpu" "${errors:-none}" "$per_req" "$sys_per_req" "$round" "${wrk_cpu_share:-0}" >>"$results"
  printf 'run.sh: round %s %-8s c=%-6s %12s req/s   p99 %10s   server CPU %s%% (%s us/request, %s in the kernel)   wrk CPU %s%%   errors: %s\n' \
    "$round" "$name" "$c" "${rps:-?}" "${p99:-?}" "$cpu" "$per_req" "$sys_per_req" "${wrk_cpu_share:-?}" "${errors:-none}"
  sleep 1  # let the server close the connections (10,000 threads exiting) before the next run
}

# ---- the three servers, all running, measured in turn ---------------------------------------
declare -A server_pid server_port
start_server uring 18080 env TASKLETS_IO_BACKEND=io_uring "$build/examples/http_server" 18080 127.0.0.1 "$workers" "$mode"
start_server epoll 18083 env TASKLETS_IO_BACKEND=epoll "$build/examples/http_server" 18083 127.0.0.1 "$workers" "$mode"
grep -q "I/O backend: io_uring" "$raw/uring-server.log" || { echo "run.sh: the io_uring server did not start on io_uring:" >&2; cat "$raw/uring-server.log" >&2; exit 1; }
sed -e "s|@DIR@|$work|g" -e "s|@PORT@|18081|g" -e "s|^worker_processes 1;|worker_processes $workers;|" "$here/nginx.conf.in" >"$work/nginx.conf"
start_server nginx 18081 nginx -p "$work" -c "$work/nginx.conf" -e "$work/nginx-error.log"
start_server threads 18082 "$build/thread_server" 18082 127.0.0.1

servers=(uring epoll nginx threads)
for c in $connections; do
  for ((round = 1; round <= rounds; round++)); do
    order=("${servers[@]}")
    ((round % 2 == 0)) && order=(threads nginx epoll uring)
    for name in "${order[@]}"; do measure "$name" "$c" "$round"; done
  done
done

# ---- report ---------------------------------------------------------------------------------
{
  echo "# HTTP hello server: tasklets (io_uring and epoll) vs nginx vs thread-per-connection"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), Linux $(uname -r)."
  echo "wrk -t$wrk_threads -c<N> -d${duration}s --latency on 127.0.0.1; $placement;"
  echo "means over $rounds rounds, servers measured in turn (forward order, then reversed);"
  echo "nginx $(nginx -v 2>&1 | sed 's|.*/||'), $workers worker(s); uring and epoll: examples/http_server ($workers worker(s), $mode) with"
  echo "TASKLETS_IO_BACKEND=io_uring and =epoll; threads: bench/http/thread_server."
  echo
  echo "| connections | uring req/s | epoll req/s | nginx req/s | threads req/s | uring/epoll | uring/nginx | epoll/nginx | p99 u / e / n / th | server CPU % u / e / n / th | CPU µs/request u / e / n / th | of which kernel u / e / n / th | wrk CPU % u / e / n / th |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|---|"
  for c in $connections; do
    awk -F'\t' -v c="$c" '
      $2 == c { n[$1]++; rps[$1] += $3; p99[$1] += $4; cpu[$1] += $5; us[$1] += $7; sys[$1] += $8; wc[$1] += $10 }
      END {
        for (k in n) { rps[k] /= n[k]; p99[k] /= n[k]; cpu[k] /= n[k]; us[k] /= n[k]; sys[k] /= n[k]; wc[k] /= n[k] }
        ue = rps["epoll"] > 0 ? sprintf("%.3f×", rps["uring"] / rps["epoll"]) : "-"
        un = rps["nginx"] > 0 ? sprintf("%.2f×", rps["uring"] / rps["nginx"]) : "-"
        en = rps["nginx"] > 0 ? sprintf("%.2f×", rps["epoll"] / rps["nginx"]) : "-"
        printf "| %s | %.0f | %.0f | %.0f | %.0f | %s | %s | %s | %.2f / %.2f / %.2f / %.2f ms | %.0f / %.0f / %.0f / %.0f | %.2f / %.2f / %.2f / %.2f | %.2f / %.2f / %.2f / %.2f | %.0f / %.0f / %.0f / %.0f |\n", c,
          rps["uring"], rps["epoll"], rps["nginx"], rps["threads"], ue, un, en,
          p99["uring"], p99["epoll"], p99["nginx"], p99["threads"],
          cpu["uring"], cpu["epoll"], cpu["nginx"], cpu["threads"],
          us["uring"], us["epoll"], us["nginx"], us["threads"],
          sys["uring"], sys["epoll"], sys["nginx"], sys["threads"],
          wc["uring"], wc["epoll"], wc["nginx"], wc["threads"]
      }' "$results"
  done
  echo
  echo "Socket errors reported by wrk (connect/read/write/timeout):"
  echo
  awk -F'\t' '{ printf "- %s, %s connections, round %s: %s\n", $1, $2, $9, $6 }' "$results"
  echo
  echo "Raw wrk output: results/raw-$stamp/."
} >"$out/$report"
cp "$results" "$raw/results.tsv"
echo
cat "$out/$report"
