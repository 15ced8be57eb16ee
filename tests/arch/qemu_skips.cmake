# Tests that cannot run under QEMU user mode, each with the reason, printed at the start
# of every ctest run of an emulated build (never skipped silently). Read by ctest after
# the Catch2 tests are discovered (see emulator.cmake); native builds never read it.
# A name that no longer matches a test is an error, so this list cannot go stale quietly.

function(tasklets_skip_under_qemu name reason)
  set_tests_properties("${name}" PROPERTIES DISABLED TRUE)
  message("tasklets: SKIPPED under QEMU user mode: \"${name}\": ${reason}")
endfunction()

tasklets_skip_under_qemu(
  "100,000 tasklets alive at once, each blocked on its own channel, are all released"
  "QEMU 7.2 accepts madvise(MADV_GUARD_INSTALL) but installs nothing, so every stack falls back to mprotect guards (two memory mappings each, plus QEMU's own), and 100,000 stacks exceed vm.max_map_count (65530 by default)")
