#!/usr/bin/env bash
# Starts http_server with N workers on a free port, makes 32 connections with one request
# each, and checks that every request was answered and that every worker got some.
#   listeners (the default): each worker accepts on its own SO_REUSEPORT listener (the kernel
#     spreads connections by their source port: all 32 landing on one of two listeners
#     would happen once in 2^31 runs);
#   acceptor: worker 0 accepts and hands connections to the workers in turn.
#   check_http_workers.sh PROGRAM WORKERS [listeners|acceptor]
set -uo pipefail
program=$1
workers=$2
mode=${3:-listeners}
if [[ $mode == acceptor ]]; then
  banner="workers, one acceptor handing connections out"
  got="was handed its first connection"
else
  banner="workers, a listener each"
  got="accepted its first connection"
fi
read -ra run_prefix <<<"${TASKLETS_RUN_PREFIX:-}"
out=$(mktemp)
trap 'rm -f "$out"; [[ -n ${pid:-} ]] && kill "$pid" 2>/dev/null' EXIT
"${run_prefix[@]}" "$program" 0 127.0.0.1 "$workers" "$mode" >"$out" 2>&1 &
pid=$!
port=
for _ in $(seq 200); do
  port=$(sed -nE 's/^http_server: listening on 127\.0\.0\.1:([0-9]+) .*/\1/p' "$out")
  [[ -n $port ]] && grep -q "$banner" "$out" && break
  sleep 0.1
done
[[ -n $port ]] || { echo "FAIL: no banner"; cat "$out"; exit 1; }
answered=0
for _ in $(seq 32); do
  exec 3<>"/dev/tcp/127.0.0.1/$port" || continue
  printf 'GET / HTTP/1.1\r\nHost: test\r\n\r\n' >&3
  IFS= read -r -t 10 status <&3 && [[ $status == "HTTP/1.1 200"* ]] && answered=$((answered + 1))
  exec 3>&-
done
for _ in $(seq 100); do
  (( $(grep -c "$got" "$out") >= workers )) && break
  sleep 0.1
done
cat "$out"
echo "answered $answered of 32"
(( answered == 32 )) || { echo "FAIL: not every request was answered"; exit 1; }
for ((w = 0; w < workers; ++w)); do
  grep -q "^http_server: worker $w $got$" "$out" || { echo "FAIL: worker $w got no connection"; exit 1; }
done
