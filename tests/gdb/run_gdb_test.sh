#!/usr/bin/env bash
# Tests tools/gdb/tasklets_gdb.py with gdb in batch mode on tests/gdb/gdb_target.cpp, once on
# the live process stopped at tasklets_gdb_breakpoint_here() and once on a core file of it:
# `info tasklets` lists the tasklets with the right names and states, `tasklet bt` of the
# blocked, paused and runnable ones shows their functions, `tasklet frame` shows a parked
# tasklet's frames and `tasklet restore` (or resuming) gives the real ones back, after which
# the program still runs to a clean exit.
#   run_gdb_test.sh [--debug-info-only] ARCH TARGET_EXECUTABLE EXTENSION.py [LIBRARY [BUILD_TYPE]]
# LIBRARY is the tasklets library the target was linked with; BUILD_TYPE only names the
# build in the message below.
# Exits 77 (ctest: skipped), saying why, off native x86-64 and i386, without a usable gdb, or when
# the target (or the shared library it uses) has no debug information (e.g. Release).
# --debug-info-only: only that last check (ctest runs it when it starts, to print the reason
# up front; see tests/CMakeLists.txt).
set -uo pipefail
debug_info_only=0
[[ "${1:-}" == --debug-info-only ]] && { debug_info_only=1; shift; }
arch=$1 target=$(realpath "$2") extension=$(realpath "$3") library=${4:-} build_type=${5:-}

skip() { echo "SKIPPED: $*"; exit 77; }
[[ -f "$target" ]] || { echo "FAIL: $target is not built"; exit 1; }
if ((!debug_info_only)); then
  [[ "$arch" == x86_64 || "$arch" == i386 ]] ||
    skip "the gdb test runs natively on x86-64 and i386 only (this build: $arch); see README, \"Debugging with gdb\""
  command -v gdb >/dev/null || skip "gdb is not installed (ci/install-deps.sh installs it)"
  gdb -nx -batch -ex 'python print("python ok")' 2>/dev/null | grep -q "python ok" || skip "this gdb has no Python support"
fi

# Debug information: the extension reads the kernel's structures by field name through
# DWARF, and the checks name the target's own frames, inlined ones included. Decided from
# the binaries, not the build type: a build without -g (Release, MinSizeRel) has no C++
# compile unit in its DWARF; the x86-64 switch's assembler unit (nasm -g) does not count.
# The files are the target and, when the target links it as a shared object, the library.
# (grep reads all of readelf's output: with pipefail, grep -q could stop readelf by SIGPIPE.)
has_cxx_dwarf() { readelf --debug-dump=info --dwarf-depth=1 "$1" 2>/dev/null | grep -E 'DW_AT_language +: .*\(C\+\+' >/dev/null; }
if command -v readelf >/dev/null; then
  debug_files=("$target")
  if [[ -n "$library" ]] && readelf -h "$library" 2>/dev/null | grep -E 'Type: +DYN' >/dev/null; then
    debug_files+=("$(realpath "$library")")
  fi
  for f in "${debug_files[@]}"; do
    has_cxx_dwarf "$f" && continue
    skip "$(basename "$f") has no debug information${build_type:+ (CMAKE_BUILD_TYPE=$build_type)}; the gdb extension" \
         "reads the kernel's structures through DWARF: build RelWithDebInfo (the default) or Debug to run it"
  done
fi
((debug_info_only)) && exit 0

# Registers that `tasklet bt` and `tasklet frame` must leave as they were: pc, sp and some
# callee-saved ones, which the extension's unwinder substitutes while a tasklet is selected.
if [[ "$arch" == i386 ]]; then regs="eip esp ebp ebx esi"; else regs="rip rsp rbp rbx r12"; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gdbcmd=(gdb -nx -batch -iex "set debuginfod enabled off" -iex "set pagination off" -iex "set width 0")

# ---- live process -------------------------------------------------------------------------
live=$("${gdbcmd[@]}" -x "$extension" \
  -ex 'break tasklets_gdb_breakpoint_here' -ex run \
  -ex 'echo ==regs-before\n' -ex "info registers $regs" \
  -ex 'echo ==info\n' -ex 'info tasklets' \
  -ex 'echo ==bt-consumer\n' -ex 'tasklet bt consumer' \
  -ex 'echo ==bt-producer\n' -ex 'tasklet bt 3' \
  -ex 'echo ==bt-digger\n' -ex 'tasklet bt digger' \
  -ex 'echo ==bt-worker\n' -ex 'tasklet bt worker' \
  -ex 'echo ==bt-latecomer\n' -ex 'tasklet bt latecomer' \
  -ex 'echo ==bt-lodger1\n' -ex 'tasklet bt lodger1 full' \
  -ex 'echo ==bt-lodger5\n' -ex 'tasklet bt lodger5 full' \
  -ex 'echo ==frame-sleeper\n' -ex 'tasklet frame sleeper' -ex 'bt' \
  -ex 'echo ==restored\n' -ex 'tasklet restore' -ex 'bt' \
  -ex 'echo ==regs-after\n' -ex "info registers $regs" \
  -ex 'echo ==resume\n' -ex 'tasklet frame consumer' -ex 'continue' \
  "$target" 2>&1)

if grep -q "ptrace: Operation not permitted" <<<"$live"; then
  skip "gdb may not trace processes here (ptrace not permitted)"
fi

failures=0
section() { awk -v s="==$2" '$0 == s {on = 1; next} /^==/ {on = 0} on' <<<"$1"; }
expect() {  # expect LABEL TEXT REGEX
  if grep -Eq -- "$3" <<<"$2"; then echo "ok:   $1"; else echo "FAIL: $1 (no line matches /$3/)"; failures=$((failures + 1)); fi
}
reject() {  # reject LABEL TEXT REGEX
  if grep -Eq -- "$3" <<<"$2"; then echo "FAIL: $1 (a line matches /$3/)"; failures=$((failures + 1)); else echo "ok:   $1"; fi
}
count_at_least() {  # count_at_least LABEL TEXT REGEX N
  local n
  n=$(grep -Ec -- "$3" <<<"$2")
  if ((n >= $4)); then echo "ok:   $1 ($n)"; else echo "FAIL: $1 ($n < $4)"; failures=$((failures + 1)); fi
}

check_info() {  # check_info WHERE TEXT
  local info=$2
  expect "$1: main running" "$info" '^\*\s+1\s+main\s+running\s'
  expect "$1: consumer blocked receiving" "$info" '^\s+2\s+consumer\s+blocked receiving on channel 0x[0-9a-f]+'
  expect "$1: producer blocked sending" "$info" '^\s+3\s+producer\s+blocked sending on channel 0x[0-9a-f]+'
  expect "$1: sleeper paused" "$info" '^\s+4\s+sleeper\s+paused\s+64K\s'
  expect "$1: digger paused, 128K stack" "$info" '^\s+5\s+digger\s+paused\s+128K\s'
  expect "$1: worker runnable" "$info" '^\s+6\s+worker\s+runnable\s+64K\s'
  expect "$1: latecomer not started" "$info" '^\s+12\s+latecomer\s+runnable \(not started\)'
  # Shared-stack tasklets: lodger1 and lodger5 share an execution stack; lodger5 ran last.
  # lodger1 was copied out past the limit the target set, so their stack is kept.
  expect "$1: lodger1 shared, kept, frames copied out" "$info" '^\s+7\s+lodger1\s+blocked receiving on channel 0x[0-9a-f]+ \(5 waiting\) \[frames copied out\]\s+shared, kept\s+[0-9.]+K\s+-$'
  expect "$1: lodger5 shared, kept, frames in place" "$info" '^\s+11\s+lodger5\s+blocked receiving on channel 0x[0-9a-f]+ \(5 waiting\)\s+shared, kept\s+[0-9.]+K\s+-$'
  expect "$1: lodger2 shared, alone on its stack" "$info" '^\s+8\s+lodger2\s+blocked receiving on channel 0x[0-9a-f]+ \(5 waiting\)\s+shared\s+[0-9.]+K\s+-$'
  local c1 c2
  c1=$(grep -Eo 'receiving on channel 0x[0-9a-f]+' <<<"$info" | awk '{print $NF}')
  c2=$(grep -Eo 'sending on channel 0x[0-9a-f]+' <<<"$info" | awk '{print $NF}')
  if [[ -n "$c1" && "$c1" != "$c2" ]]; then echo "ok:   $1: the two channels differ"; else
    echo "FAIL: $1: channels '$c1' and '$c2'"; failures=$((failures + 1)); fi
  # The digger is parked ~48 KiB deep: its depth column says so.
  local depth
  depth=$(awk '$2 == "digger" {print $(NF - 1)}' <<<"$info" | tr -d K)
  if [[ -n "$depth" ]] && awk -v d="$depth" 'BEGIN {exit !(d >= 48)}'; then echo "ok:   $1: digger depth ${depth}K >= 48K"; else
    echo "FAIL: $1: digger depth '$depth'"; failures=$((failures + 1)); fi
}

echo "--- live process"
info=$(section "$live" info)
check_info live "$info"
# High-water marks from /proc/<pid>/pagemap: the digger's at least its depth, the sleeper's a few pages.
high=$(awk '$2 == "digger" {print $NF}' <<<"$info" | tr -d K)
if [[ "$high" =~ ^[0-9]+$ ]] && ((high >= 48 && high <= 128)); then echo "ok:   live: digger high-water ${high}K"; else
  echo "FAIL: live: digger high-water '$high'"; failures=$((failures + 1)); fi
high=$(awk '$2 == "sleeper" {print $NF}' <<<"$info" | tr -d K)
if [[ "$high" =~ ^[0-9]+$ ]] && ((high >= 4 && high <= 16)); then echo "ok:   live: sleeper high-water ${high}K"; else
  echo "FAIL: live: sleeper high-water '$high'"; failures=$((failures + 1)); fi

bt=$(section "$live" bt-consumer)
expect "bt consumer: header" "$bt" '^tasklet 2 "consumer": blocked receiving'
expect "bt consumer: gdbtest_wait_for_order" "$bt" '^#1 .*gdbtest_wait_for_order|^#[0-9]+ .*gdbtest_wait_for_order'
expect "bt consumer: gdbtest_consumer_body" "$bt" '^#[0-9]+ .*gdbtest_consumer_body'
expect "bt consumer: tasklet_entry at the bottom" "$bt" 'tasklet_entry'
reject "bt consumer: no frame #0 (the thread's own)" "$bt" '^#0 '
reject "bt consumer: no null frame" "$bt" '0x0+ in \?\?'
reject "bt consumer: not main's frames" "$bt" 'tasklets_gdb_breakpoint_here|in main '
bt=$(section "$live" bt-producer)
expect "bt producer: gdbtest_send_reply" "$bt" '^#[0-9]+ .*gdbtest_send_reply'
bt=$(section "$live" bt-digger)
count_at_least "bt digger: gdbtest_dig frames" "$bt" '^#[0-9]+ .*gdbtest_dig' 49
bt=$(section "$live" bt-worker)
expect "bt worker (runnable): gdbtest_worker_loop" "$bt" '^#[0-9]+ .*gdbtest_worker_loop'
bt=$(section "$live" bt-latecomer)
expect "bt latecomer: says it has not started" "$bt" 'has not started yet'
# lodger1's frames are in its buffer: put back in place for the backtrace, with its local.
bt=$(section "$live" bt-lodger1)
expect "bt lodger1 (copied out): gdbtest_lodge" "$bt" '^#[0-9]+ .*gdbtest_lodge'
expect "bt lodger1 (copied out): its own local" "$bt" 'mark = 1111'
expect "bt lodger1 (copied out): tasklet_entry at the bottom" "$bt" 'tasklet_entry'
# ...and lodger5's, which occupy those addresses, are back afterwards.
bt=$(section "$live" bt-lodger5)
expect "bt lodger5 (in place, after lodger1's): its own local" "$bt" 'mark = 5555'

frame=$(section "$live" frame-sleeper)
# Frame #1 is the sleeper's innermost: gdbtest_paused_in_sleep itself when the kernel's
# switch path is inlined or a tail call (-O2, -O3), else (Debug, -O0) the kernel's own
# frames of that switch come first. Either way nothing but kernel frames before it.
expect "tasklet frame sleeper: gdbtest_paused_in_sleep is on the sleeper's stack" "$frame" '^#[0-9]+ .*gdbtest_paused_in_sleep'
expect "tasklet frame sleeper: there is a frame #1" "$frame" '^#1 '
above=$(awk '/^#[0-9]+ / && $1 != "#0" {if (/gdbtest_paused_in_sleep/) exit; print}' <<<"$frame" | sort -u)  # (#1 shows twice)
not_kernel=$(grep -Ev ' in tasklets(::|_kernel_switch)' <<<"$above" | grep . )
if [[ -z "$not_kernel" ]]; then
  echo "ok:   tasklet frame sleeper: frame #1 is the sleeper's ($(grep -c . <<<"$above") kernel frame(s) above gdbtest_paused_in_sleep)"
else
  echo "FAIL: tasklet frame sleeper: frames above gdbtest_paused_in_sleep that are not the kernel's:"; echo "$not_kernel"
  failures=$((failures + 1))
fi
expect "tasklet frame sleeper: #0 is the thread's real position" "$frame" '^#0 .*tasklets_gdb_breakpoint_here'
reject "tasklet frame sleeper: main is not on its stack" "$frame" 'in main '
restored=$(section "$live" restored)
expect "restore: main's frames again" "$restored" '^#1 .* in main '
reject "restore: no tasklet frames" "$restored" 'gdbtest_paused_in_sleep'
before=$(section "$live" regs-before | grep -E "^(${regs// /|}) ")
after=$(section "$live" regs-after | grep -E "^(${regs// /|}) ")
if [[ -n "$before" && "$before" == "$after" ]]; then echo "ok:   registers unchanged by tasklet frame/bt"; else
  echo "FAIL: registers changed:"; echo "$before"; echo "$after"; failures=$((failures + 1)); fi
resume=$(section "$live" resume)
expect "continue after tasklet frame: the program finishes its work" "$resume" '^consumer got 7'
expect "continue after tasklet frame: clean exit" "$resume" 'exited normally'

# ---- core file ----------------------------------------------------------------------------
# Preferably one the kernel writes (the program aborts where it would have stopped): that is
# what a crash in production leaves. Where core dumps go elsewhere (a piped core_pattern,
# e.g. systemd-coredump) or are not allowed, gdb's gcore instead, with mprotect guards: gcore
# reads each mapping in one go and fails on a slab with madvise guard regions inside it.
echo "--- core file"
core_file=""
pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null || echo "|unknown")
if [[ "$pattern" != "|"* ]] && (ulimit -c unlimited) 2>/dev/null; then
  (cd "$work" && ulimit -c unlimited && TASKLETS_GDB_TARGET_ABORT=1 "$target" >/dev/null 2>&1) 2>/dev/null
  core_file=$(find "$work" -maxdepth 1 -name 'core*' -type f | head -n 1)
  [[ -n "$core_file" ]] && echo "(a core dump written by the kernel: $core_file)"
fi
if [[ -z "$core_file" ]]; then
  echo "(no kernel core dump here (core_pattern '$pattern'); using gdb's gcore with TASKLETS_STACK_GUARD=mprotect)"
  "${gdbcmd[@]}" -ex 'set environment TASKLETS_STACK_GUARD=mprotect' -ex 'break tasklets_gdb_breakpoint_here' \
    -ex run -ex "generate-core-file $work/gcore" -ex kill "$target" >/dev/null 2>&1
  core_file="$work/gcore"
fi
if [[ ! -s "$core_file" ]]; then
  echo "FAIL: no core file"; failures=$((failures + 1))
else
  core=$("${gdbcmd[@]}" -x "$extension" -ex 'echo ==info\n' -ex 'info tasklets' \
    -ex 'echo ==bt-consumer\n' -ex 'tasklet bt consumer' \
    -ex 'echo ==bt-lodger1\n' -ex 'tasklet bt lodger1' \
    -ex 'echo ==bt-lodger5\n' -ex 'tasklet bt lodger5 full' \
    -ex 'echo ==frame\n' -ex 'tasklet frame 3' -ex 'bt' -ex 'tasklet restore' \
    "$target" "$core_file" 2>&1)
  info=$(section "$core" info)
  check_info core "$info"
  expect "core: high-water unknown without the process" "$info" '^\s+5\s+digger\s+paused\s+128K\s+[0-9.]+K\s+\?$'
  bt=$(section "$core" bt-consumer)
  expect "core: bt consumer: gdbtest_wait_for_order" "$bt" '^#[0-9]+ .*gdbtest_wait_for_order'
  expect "core: bt consumer: gdbtest_consumer_body" "$bt" '^#[0-9]+ .*gdbtest_consumer_body'
  bt=$(section "$core" bt-lodger1)
  expect "core: bt lodger1 (copied out) says a live process is needed" "$bt" "tasklet 7's frames are copied out of its shared stack.*a live process is needed"
  bt=$(section "$core" bt-lodger5)
  expect "core: bt lodger5 (in place): its own local" "$bt" 'mark = 5555'
  frame=$(section "$core" frame)
  expect "core: tasklet frame 3: the producer's frames" "$frame" '^#[0-9]+ .*gdbtest_send_reply'
fi

if ((failures)); then
  echo "=== gdb output (live) ==="; echo "$live"
  [[ -n "${core:-}" ]] && { echo "=== gdb output (core) ==="; echo "$core"; }
  echo "$failures check(s) failed"
  exit 1
fi
echo "all gdb extension checks passed"
