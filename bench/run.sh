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
#   MILLION [1]         attempt 1,000,000 parked tasklets (and Boost.Fiber fibers, goroutines,
#                       Erlang processes)
#   MILLION_ROUNDS [2]  rounds of (fresh_page, tasklets, boost_fiber) at 1,000,000: on a VM the
#                       host backs guest memory lazily, so a run's cost depends on what ran
#                       before it; the floor is measured in the same sequence
#   TEN_MILLION [1]     with MILLION: 10,000,000 shared-stack tasklets parked in one process
#                       (about 5 GB; issue 16's goal row)
#   TIMED [1]           run the Google Benchmark suite (0: keep results/latest.json)
#   MULTICORE [1]       with TIMED: the multi-core rows too (tasklets_bench_mc and Go's
#                       GOMAXPROCS=1/2 rows), unpinned, min(REPS, 3) repetitions, a process
#                       per row
#   CALLGRIND [1]       run bench/callgrind.sh
#   SHARED_STACKS [1]   with TIMED: the shared-stack round-trip curve against dedicated stacks
#                       (bench/stacks/shared_switch_chart.sh: shared-stacks-roundtrip.{md,png})
#   FILTER [.]          --benchmark_filter regex
#   CPU [last one]      the core to pin to
#   JOBS [2]            build parallelism
#
# Go (golang-go) and Erlang (erlang-base) run as peers when installed (ci/install-deps.sh
# --bench): bench/peers/go/peers.go for the timed rows and the memory rows,
# bench/peers/erlang/park.escript for the memory rows; each on one core like the rest.
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
TEN_MILLION=${TEN_MILLION:-1}
TIMED=${TIMED:-1}
MULTICORE=${MULTICORE:-1}
CALLGRIND=${CALLGRIND:-1}
FILTER=${FILTER:-.}
JOBS=${JOBS:-2}
if [[ "${1:-}" == "--quick" ]]; then
  REPS=1 MIN_TIME=0.05 MEM_RUNS=1 MILLION=0 CALLGRIND=0
fi

# ---- build ---------------------------------------------------------------------------------
cd "$root"
cmake --preset bench >/dev/null
cmake --build --preset bench -j "$JOBS" --target tasklets_bench tasklets_bench_mc tasklets_shared_switch
mc_bin=$build/bench/tasklets_bench_mc

# The peers in other languages, when their toolchains are installed.
go_bin=""
if command -v go >/dev/null; then
  go_bin=$build/peers/go_peers
  mkdir -p "$build/peers"
  GOCACHE=$build/peers/go-cache GO111MODULE=off go build -o "$go_bin" "$here/peers/go/peers.go"
else
  echo "run.sh: go not found: no Go rows (ci/install-deps.sh --bench installs golang-go)"
fi
erl_park=""
if command -v escript >/dev/null; then
  erl_park=$here/peers/erlang/park.escript
else
  echo "run.sh: escript not found: no Erlang rows (ci/install-deps.sh --bench installs erlang-base)"
fi

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
others=""
[[ -n "$go_bin" ]] && others+=", $(go version | awk '{ print $3 }') (GOMAXPROCS=1)"
[[ -n "$erl_park" ]] && others+=", Erlang/OTP $(erl -noshell -eval 'io:put_chars(erlang:system_info(otp_release)), halt().') (one scheduler)"
now=$(date -u '+%Y-%m-%d %H:%M UTC')
# -dirty: the build had changes not yet committed, so the figures belong to no commit
# (bench/results does not count: this run is writing it).
tree=$(git -C "$root" rev-parse --short HEAD 2>/dev/null)
[[ -n "$(git -C "$root" status --porcelain --untracked-files=no -- . ':(exclude)bench/results' 2>/dev/null)" ]] && tree+="-dirty"
# The timed tables' own tree and date: this run's, or, with TIMED=0, those of the run that
# measured the kept latest.json (the header must not lend them this run's commit).
timed_git=$tree timed_date=$now
if ((!TIMED)) && [[ -f "$results/machine.json" ]]; then
  timed_git=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m.get("timed_git", m.get("git", "?")))' "$results/machine.json")
  timed_date=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m.get("timed_date", m.get("date", "?")))' "$results/machine.json")
fi
cat >"$results/machine.json" <<EOF
{"date": "$now", "cpu": "$cpu", "cpus": $ncpu, "kernel": "$(uname -r)",
 "virt": "$virt", "compiler": "$compiler", "pinning": "$pinning", "repetitions": $REPS,
 "min_time": $MIN_TIME, "git": "$tree", "timed_git": "$timed_git", "timed_date": "$timed_date",
 "peers": "Boost $boost (Context, Fiber), glibc $(ldd --version | head -1 | awk '{ print $NF }') ucontext, std::thread$others; Google Benchmark $gbver"}
EOF

# ---- timed suite ---------------------------------------------------------------------------
json=$results/run-$stamp.json
# merge_rows RUN OTHER FILTER: appends OTHER's benchmark entries whose names match FILTER
# to RUN (Google Benchmark JSON both; bench/render.py reads them as any other row).
merge_rows() {
  python3 - "$1" "$2" "$3" <<'EOF'
import json, os, re, sys
run, other, flt = sys.argv[1], sys.argv[2], sys.argv[3]
# Google Benchmark writes no file when FILTER matched none of its rows.
doc = json.load(open(run)) if os.path.exists(run) and os.path.getsize(run) else {"benchmarks": []}
doc["benchmarks"] += [b for b in json.load(open(other))["benchmarks"] if re.search(flt, b["name"])]
json.dump(doc, open(run, "w"), indent=2)
EOF
}
if ((TIMED)); then
log "${pin[*]} $bin --benchmark_filter='$FILTER' --benchmark_repetitions=$REPS --benchmark_min_time=$MIN_TIME --benchmark_enable_random_interleaving=true --benchmark_out=$json --benchmark_out_format=json"
"${pin[@]}" "$bin" --benchmark_filter="$FILTER" --benchmark_repetitions="$REPS" \
  --benchmark_min_time="$MIN_TIME" --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=false --benchmark_display_aggregates_only=true \
  --benchmark_out="$json" --benchmark_out_format=json
if [[ -n "$go_bin" ]]; then
  # Go's rows, in Google Benchmark's JSON, appended to this run's (bench/render.py reads
  # them as any other row); the same repetitions and minimum time, FILTER applied.
  log "${pin[*]} ${go_bin} timed $REPS $MIN_TIME"
  "${pin[@]}" "$go_bin" timed "$REPS" "$MIN_TIME" >"$build/peers/go.json"
  merge_rows "$json" "$build/peers/go.json" "$FILTER"
fi

# ---- the multi-core workloads: every core, one process per row -----------------------------
# tasklets_bench_mc's rows (skynet, cross-thread ping-pong) and Go's with GOMAXPROCS 1 and 2,
# unpinned. A row per process: Boost.Fiber's work_stealing can be configured only once in a
# process, and a skynet leaves a million stacks' worth of memory behind it.
if ((MULTICORE)); then
  mc_reps=$(( REPS < 3 ? REPS : 3 ))
  for row in $("$mc_bin" --benchmark_list_tests | sed 's|/process_time/real_time$||' | grep -E -- "$FILTER"); do
    log "$mc_bin --benchmark_filter='^$row/' --benchmark_repetitions=$mc_reps --benchmark_min_time=$MIN_TIME --benchmark_out=$build/mc-row.json --benchmark_out_format=json"
    "$mc_bin" --benchmark_filter="^$row/" --benchmark_repetitions="$mc_reps" --benchmark_min_time="$MIN_TIME" \
      --benchmark_report_aggregates_only=false --benchmark_display_aggregates_only=true \
      --benchmark_out="$build/mc-row.json" --benchmark_out_format=json
    merge_rows "$json" "$build/mc-row.json" "$FILTER"
  done
  if [[ -n "$go_bin" ]]; then
    log "$go_bin multicore $mc_reps $MIN_TIME"
    "$go_bin" multicore "$mc_reps" "$MIN_TIME" >"$build/peers/go-multicore.json"
    merge_rows "$json" "$build/peers/go-multicore.json" "$FILTER"
  fi
fi
cp "$json" "$results/latest.json"
fi

# ---- memory: a fresh process per run -------------------------------------------------------
# park NAME COUNT FILE: runs `tasklets_bench --park NAME COUNT` (NAME go or erlang: the
# peer's own program); if it dies, writes a JSON line built from its last progress line
# and its exit status.
park() {
  local name=$1 count=$2 file=$3 err line rc cmd
  case $name in
    go) cmd=("$go_bin" park "$count") ;;
    erlang) cmd=(escript "$erl_park" "$count") ;;
    *) cmd=("$bin" --park "$name" "$count") ;;
  esac
  err=$(mktemp)
  set +e
  line=$(timeout 900 "${pin[@]}" "${cmd[@]}" 2>"$err")
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
[[ -n "$go_bin" ]] && available+=$'\ngo'
[[ -n "$erl_park" ]] && available+=$'\nerlang'
: >"$results/memory.jsonl"
log "for each NAME: $(echo $available | tr '\n' ' '): ${pin[*]} $bin --park NAME $MEM_N  ($MEM_RUNS fresh processes each; std_thread: $((MEM_N / 10)); go: ${go_bin#$root/} park N; erlang: escript ${erl_park#$root/} N)"
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
    for name in fresh_page tasklets tasklets_shared boost_fiber go erlang; do
      grep -qx "$name" <<<"$available" || continue
      log "${pin[*]} $bin --park $name 1000000  (go, erlang: their programs, as above)"
      park "$name" 1000000 "$results/million.jsonl"
    done
  done
fi
: >"$results/ten_million.jsonl"
if ((MILLION && TEN_MILLION)) && grep -qx tasklets_shared <<<"$available"; then
  log "${pin[*]} $bin --park tasklets_shared 10000000"
  park tasklets_shared 10000000 "$results/ten_million.jsonl"
fi

# ---- shared stacks: round trips by live stack size ------------------------------------------
if ((TIMED && ${SHARED_STACKS:-1})); then
  log "$here/stacks/shared_switch_chart.sh $build $results"
  "$here/stacks/shared_switch_chart.sh" "$build" "$results"
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
