#!/bin/sh
# The Windows build's emulator (x86_64-w64-mingw32.cmake): runs a Windows program under
# Wine, in the build tree's own prefix, with Wine's debug channels off.
#   wine-run.sh WINE64 PREFIX RERUN_LOG PROGRAM [ARGS...]
#
# A run that exits non-zero having printed nothing, or nothing but Wine's own "wine
# client error:" lines (its connection to the wineserver broke), runs once more, and the
# rerun is written to RERUN_LOG, not to the program's streams, which tests check
# (ci/test.sh prints the log with the Windows step's summary).
# Why: two CI runs of the suite's 400 Windows tests on 2026-12-07 had one test each fail
# in 0.03 s (a pass takes 0.06 s), one with no output, one with only "wine client
# error:0: recvmsg: Connection reset by peer": a wineserver that was exiting
# (tests/windows/tests.cmake now starts a persistent one for each ctest run; this is
# what is left if that ever fails). A program of the suite that got as far as its main
# prints: Catch2 prints its result, an example its usage or its figures, and a program
# that crashes prints winedbg's report ("Unhandled exception: page fault ...", register
# dump, backtrace) even with WINEDEBUG=-all. So such a run says nothing about the
# program. A program that fails that way twice fails.
#
# stdout and stderr are kept apart (tests check them apart), so each is held in a file
# until the run ends and then printed to its own stream.
set -u
wine=$1
prefix=$2
rerun_log=$3
shift 3
out=$(mktemp) && err=$(mktemp) || exit 125
trap 'rm -f "$out" "$err"' EXIT
attempt=1
while :; do
  WINEDEBUG=-all WINEPREFIX=$prefix "$wine" "$@" >"$out" 2>"$err"
  rc=$?
  if [ "$rc" -eq 0 ] || [ -s "$out" ] || grep -qv '^wine client error:' "$err" || [ "$attempt" -eq 2 ]; then
    break
  fi
  echo "$(date -u +%FT%TZ) exit $rc, nothing printed$(head -c 200 "$err" | tr '\n' ' ' | sed 's/^./ but: &/'), ran again: $*" >>"$rerun_log"
  attempt=2
done
cat "$out"
cat "$err" >&2
exit "$rc"
