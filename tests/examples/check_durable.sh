#!/usr/bin/env bash
# The durable example across processes and architectures (examples/harbour.cpp):
#   check_durable.sh HARBOUR DATA_DIR
# 1. `run 900` prints exactly DATA_DIR/harbour-900.log, the events x86-64 printed;
# 2. `save 300` then, in a second process, `restore 900` print those same events;
# 3. the image saved here is byte-identical to DATA_DIR/harbour-300.img, saved on x86-64, so
#    an image saved on this architecture restores wherever x86-64's does;
# 4. x86-64's image restores here and goes on with the same events;
# 5. `check` replays an image without going on, and refuses a damaged one, naming the damage.
# Cross builds run under the emulator (TASKLETS_RUN_PREFIX), so each port checks itself.
set -uo pipefail
program=$1
data=$2
read -ra run_prefix <<<"${TASKLETS_RUN_PREFIX:-}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
run() { timeout 120 "${run_prefix[@]}" "$program" "$@"; }
fail() {
  echo "FAIL: $*"
  exit 1
}

run run 900 >"$dir/whole.log" || fail "harbour run 900 exited $?"
cmp "$dir/whole.log" "$data/harbour-900.log" || fail "run 900 printed other events than x86-64 did ($data/harbour-900.log)"
echo "ok:   run 900 prints the $(wc -l <"$dir/whole.log") events x86-64 printed"

run save 300 "$dir/world.img" >"$dir/first.log" || fail "harbour save 300 exited $?"
run restore "$dir/world.img" 900 >"$dir/second.log" || fail "harbour restore exited $?"
cat "$dir/first.log" "$dir/second.log" | cmp - "$dir/whole.log" ||
  fail "save at 300 s and restore to 900 s in a second process printed other events than one run"
echo "ok:   saved at 300 s, restored in a second process: the same events as one run to 900 s"

cmp "$dir/world.img" "$data/harbour-300.img" || fail "the image saved here differs from the one x86-64 saved"
echo "ok:   the image saved here is byte-identical to x86-64's ($(wc -c <"$dir/world.img") bytes)"

run restore "$data/harbour-300.img" 900 >"$dir/third.log" || fail "harbour restore of x86-64's image exited $?"
cmp "$dir/third.log" "$dir/second.log" || fail "x86-64's image went on here with other events"
echo "ok:   x86-64's image restores here and goes on with the same events"

run check "$dir/world.img" | grep -q "^harbour: the image replays: 9 tasklets, 9 channels" ||
  fail "check did not report the replayed image"
head -c 600 "$dir/world.img" >"$dir/cut.img"
run check "$dir/cut.img" 2>"$dir/err.txt" && fail "check accepted a truncated image"
grep -q "^harbour: tasklets: durable image: truncated" "$dir/err.txt" ||
  fail "a truncated image was refused without saying so: $(cat "$dir/err.txt")"
echo "ok:   check replays the image, and refuses a truncated one: $(cat "$dir/err.txt")"
