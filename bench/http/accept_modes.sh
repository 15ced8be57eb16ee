#!/usr/bin/env bash
# The two ways examples/http_server spreads connections over its workers, measured where
# they differ: every request on a new connection (wrk -H "Connection: close"), so that each
# request goes through accept(). Runs, at once, http_server with 2 workers in each mode
# (epoll) and nginx with 2 workers, and measures them in turn, 3 rounds, everything sharing
# all CPUs. Writes results/accept-modes.md.
#
#   bench/http/accept_modes.sh [--duration S] [--connections N] [--rounds N]
#
# listeners: a SO_REUSEPORT listener per worker (the kernel spreads connections);
# acceptor:  worker 0 accepts and hands each connection to the workers in turn.
# Needs wrk and nginx (ci/install-deps.sh --bench); builds http_server as run.sh does.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
duration=5
connections=100
rounds=3
while (($#)); do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "usage: $0 [--duration S] [--connections N] [--rounds N]" >&2; exit 2 ;;
  esac
done
for tool in wrk nginx cmake; do
  command -v "$tool" >/dev/null || { echo "accept_modes.sh: $tool is missing (ci/install-deps.sh --bench)" >&2; exit 1; }
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
build="$root/build/io-bench"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTASKLETS_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target http_server -j2 >/dev/null

work=$(mktemp -d /tmp/tasklets-accept-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "accept_modes.sh: nothing listens on port $1" >&2
  return 1
}
TASKLETS_IO_BACKEND=epoll "$build/examples/http_server" 18090 127.0.0.1 2 listeners >"$work/listeners.log" 2>&1 &
pids+=("$!")
TASKLETS_IO_BACKEND=epoll "$build/examples/http_server" 18091 127.0.0.1 2 acceptor >"$work/acceptor.log" 2>&1 &
pids+=("$!")
sed -e "s|@DIR@|$work|g" -e "s|@PORT@|18092|g" -e "s|^worker_processes 1;|worker_processes 2;|" "$here/nginx.conf.in" >"$work/nginx.conf"
nginx -p "$work" -c "$work/nginx.conf" -e "$work/nginx-error.log" &  # nginx.conf.in: daemon off
pids+=("$!")
for port in 18090 18091 18092; do wait_port "$port"; done

rows=()
for ((round = 1; round <= rounds; round++)); do
  for entry in listeners:18090 acceptor:18091 nginx:18092; do
    name=${entry%%:*}
    port=${entry##*:}
    rps=$(wrk -t2 -c"$connections" -d"${duration}s" -H "Connection: close" "http://127.0.0.1:$port/" 2>&1 |
      awk '/^Requests\/sec:/ {print $2}')
    echo "accept_modes.sh: round $round $name ${rps:-?} requests (= connections)/s"
    rows+=("$round $name ${rps:-0}")
  done
done
{
  echo "# http_server, 2 workers: per-worker listeners vs one acceptor, a new connection per request"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, Linux $(uname -r); wrk -t2 -c$connections -d${duration}s"
  echo "-H \"Connection: close\" on 127.0.0.1, everything sharing all CPUs; epoll backend; nginx with 2 workers;"
  echo "$rounds rounds, servers measured in turn. Command: bench/http/accept_modes.sh."
  echo
  echo "| round | listeners req/s | acceptor req/s | nginx req/s | acceptor/listeners | listeners/nginx | acceptor/nginx |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}" | awk '
    { r[$1] = 1; v[$1, $2] = $3; sum[$2] += $3; n[$2]++ }
    END {
      for (i = 1; i in r; i++)
        printf "| %d | %.0f | %.0f | %.0f | %.3f× | %.2f× | %.2f× |\n", i, v[i, "listeners"], v[i, "acceptor"], v[i, "nginx"],
          v[i, "acceptor"] / v[i, "listeners"], v[i, "listeners"] / v[i, "nginx"], v[i, "acceptor"] / v[i, "nginx"]
      l = sum["listeners"] / n["listeners"]; a = sum["acceptor"] / n["acceptor"]; g = sum["nginx"] / n["nginx"]
      printf "| mean | %.0f | %.0f | %.0f | %.3f× | %.2f× | %.2f× |\n", l, a, g, a / l, l / g, a / g
    }'
} >"$here/results/accept-modes.md"
cat "$here/results/accept-modes.md"
