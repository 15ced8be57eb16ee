#!/usr/bin/env bash
# Runs the tasklets benchmark suite and renders bench/results/latest.{md,png}.
#
#   bench/run.sh                  build (preset `bench`), time, memory, 1M, callgrind, render
#   bench/run.sh --quick          1 short repetition, no 1M attempt, no callgrind (smoke test)
#
# Environment knobs (defaults in brackets):
#   REPS [7]            Google Benchmark repetitions (the table shows their median)
#   MIN_TIME [0.3]      seconds per repetition
#   MEM_RUNS [3]        fresh processes per memory row (median)
#   MEM_N [100000]      contexts parked per memory run (std::thread: MEM_N/10)
#   MILLION [1]         attempt 1,000,000 parked tasklets (and Boost.Fiber fibers)
#   MILLION_ROUNDS [2]  rounds of (fresh_page, tasklets, boost_fiber) at 1,000,000: on a VM the
#                       host backs guest memory lazily, so a run's cost depends on what ran
#                       before it; the floor is measured in the same sequence
#   TIMED [1]           run the Google Benchmark suite (0: keep results/latest.json)
#   CALLGRIND [1]       run bench/callgrind.sh
#   FILTER [.]          --benchmark_filter regex
#   CPU [last one]      the core to pin to
#   JOBS [2]            build parallelism
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
results=$here/results
build=$root/build/bench
bin=$build/bench/tasklets_bench

REPS=${REPS:-7}
MIN_TIME=${MIN_TIME:-0.3}
MEM_RUNS=${MEM_RUNS:-3}
MEM_N=${MEM_N:-100000}
MILLION=${MILLION:-1}
MILLION_ROUNDS=${MILLION_ROUNDS:-2}
TIMED=${TIMED:-1}
CALLGRIND=${CALLGRIND:-1}
FILTER=${FILTER:-.}
JOBS=${JOBS:-2}
if [[ "${1:-}" == "--quick" ]]; then
  REPS=1 MIN_TIME=0.05 MEM_RUNS=1 MILLION=0 CALLGRIND=0
fi

# ---- build ---------------------------------------------------------------------------------
cd "$root"
cmake --preset bench >/dev/null
cmake --build --preset bench -j "$JOBS" --target tasklets_bench

# ---- pinning: one core, where there is more than one ----------------------------------------
ncpu=$(nproc)
pin=()
pinning="not pinned (1 CPU)"
if ((ncpu > 1)) && command -v taskset >/dev/null; then
  CPU=${CPU:-$((ncpu - 1))}
  pin=(taskset -c "$CPU")
  pinning="taskset -c $CPU (whole process, threads included)"
fi

mkdir -p "$results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
commands=$results/commands.txt
# Parts not re-run (TIMED=0, CALLGRIND=0) keep their command lines from the previous run.
kept=""
[[ -f "$commands" ]] && kept=$(grep -E -- "$( ((TIMED)) && echo '^$' || echo '--benchmark_')|$( ((CALLGRIND)) && echo '^$' || echo 'callgrind.sh')" "$commands" || true)
: >"$commands"
[[ -n "$kept" ]] && echo "$kept" >>"$commands"
# Command lines are recorded relative to the repository, so they read the same anywhere.
log() { echo "${*//$root\//}" | tee -a "$commands"; }

# ---- machine -------------------------------------------------------------------------------
cxx=$(awk -F= '/^CMAKE_CXX_COMPILER:/ { print $2 }' "$build/CMakeCache.txt")
compiler=$("$cxx" --version | head -1)
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
virt=""
grep -qw hypervisor /proc/cpuinfo && virt="virtual machine (hypervisor flag set)"
boost=$(dpkg-query -W -f='${Version}' libboost-context1.81-dev 2>/dev/null || echo "not found")
gbver=$(dpkg-query -W -f='${Version}' libbenchmark-dev 2>/dev/null || echo "?")
cat >"$results/machine.json" <<EOF
{"date": "$(date -u '+%Y-%m-%d %H:%M UTC')", "cpu": "$cpu", "cpus": $ncpu, "kernel": "$(uname -r)",
 "virt": "$virt", "compiler": "$compiler", "pinning": "$pinning", "repetitions": $REPS,
 "min_time": $MIN_TIME, "git": "$(git -C "$root" rev-parse --short HEAD 2>/dev/null)",
 "peers": "Boost $boost (Context, Fiber), glibc $(ldd --version | head -1 | awk '{ print $NF }') ucontext, std::thread; Google Benchmark $gbver"}
EOF

# ---- timed suite ---------------------------------------------------------------------------
json=$results/run-$stamp.json
if ((TIMED)); then
log "${pin[*]} $bin --benchmark_filter='$FILTER' --benchmark_repetitions=$REPS --benchmark_min_time=$MIN_TIME --benchmark_enable_random_interleaving=true --benchmark_out=$json --benchmark_out_format=json"
"${pin[@]}" "$bin" --benchmark_filter="$FILTER" --benchmark_repetitions="$REPS" \
  --benchmark_min_time="$MIN_TIME" --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=false --benchmark_display_aggregates_only=true \
  --benchmark_out="$json" --benchmark_out_format=json
cp "$json" "$results/latest.json"
fi

# ---- memory: a fresh process per run -------------------------------------------------------
# park NAME COUNT FILE: runs `tasklets_bench --park NAME COUNT`; if it dies, writes a JSON line
# built from its last progress line and its exit status.
park() {
  local name=$1 count=$2 file=$3 err line rc
  err=$(mktemp)
  set +e
  line=$(timeout 900 "${pin[@]}" "$bin" --park "$name" "$count" 2>"$err")
  rc=$?
  set -e
  if [[ -z "$line" ]]; then
    local last why
    last=$(grep -o 'parked [0-9]*' "$err" | tail -1 | awk '{ print $2 }')
    why=$(grep -v '^parked' "$err" | tail -2 | tr '"\n\\' "' /" || true)
    ((rc > 128)) && why="killed by signal $((rc - 128)) $why"
    ((rc == 124)) && why="timed out after 900 s $why"
    line="{\"name\": \"$name\", \"requested\": $count, \"parked\": ${last:-0}, \"ok\": false, \"seconds\": 0, \"ns_per_park\": null, \"rss_bytes_per\": null, \"vm_bytes_per\": null, \"note\": \"$why\"}"
  fi
  echo "$line" | sed "s/}\$/, \"exit\": $rc}/" >>"$file"
  echo "  $line"
  rm -f "$err"
}

available=$("$bin" --list | awk '$1 == "park" { print $2 }')
: >"$results/memory.jsonl"
log "for each NAME: $(echo $available | tr '\n' ' '): ${pin[*]} $bin --park NAME $MEM_N  ($MEM_RUNS fresh processes each; std_thread: $((MEM_N / 10)))"
for ((r = 0; r < MEM_RUNS; ++r)); do
  for name in $available; do
    n=$MEM_N
    [[ $name == std_thread ]] && n=$((MEM_N / 10))
    park "$name" "$n" "$results/memory.jsonl"
  done
done

: >"$results/million.jsonl"
if ((MILLION)); then
  for ((r = 0; r < MILLION_ROUNDS; ++r)); do
    for name in fresh_page tasklets boost_fiber; do
      grep -qx "$name" <<<"$available" || continue
      log "${pin[*]} $bin --park $name 1000000"
      park "$name" 1000000 "$results/million.jsonl"
    done
  done
fi

# ---- callgrind -----------------------------------------------------------------------------
if ((CALLGRIND)); then
  log "$here/callgrind.sh $build"
  "$here/callgrind.sh" "$build"
fi

# Results name files relative to the repository, so they read the same on any machine.
sed -i "s|$root/||g" "$results"/*.json "$results"/*.jsonl 2>/dev/null || true
python3 "$here/render.py" "$results"
echo "run.sh: $results/latest.md, $results/latest.png"
