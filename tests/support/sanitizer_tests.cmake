# Read by ctest in sanitizer builds (asan and tsan presets), after the Catch2 tests are
# discovered; TASKLETS_SANITIZER (address or thread) is set by the generated wrapper.
#
# The stack-overflow death tests check the library's own SIGSEGV report; the sanitizer's
# SEGV handler would take the fault first, so they run with handle_segv=0 (the rest of the
# preset's options kept). Tests the sanitizer makes meaningless are not run, each with
# its reason printed here at the start of every ctest run (never skipped silently); the
# same tests also print the reason and return when run directly from the binary.

if(TASKLETS_SANITIZER STREQUAL "address")
  set(_opts "ASAN_OPTIONS=string_append::handle_segv=0")
  set(_tool "AddressSanitizer + UBSan")
else()
  set(_opts "TSAN_OPTIONS=string_append::handle_segv=0")
  set(_tool "ThreadSanitizer")
endif()

function(tasklets_skip_under_sanitizer name reason)
  set_tests_properties("${name}" PROPERTIES DISABLED TRUE)
  message("tasklets: SKIPPED under ${_tool}: \"${name}\": ${reason}")
endfunction()

foreach(t "a stack overflow is reported naming the tasklet, then the process dies by SIGSEGV"
          "hardening: code copied onto a tasklet's stack cannot run (SIGSEGV)"
          "stack overflow in a tasklet is reported on stderr naming it and the process dies by SIGSEGV")
  set_tests_properties("${t}" PROPERTIES ENVIRONMENT_MODIFICATION "${_opts}")
endforeach()
# ("stacks with mprotect guards", which runs them too, gets the same in tests/CMakeLists.txt:
# tests added there are defined after this file is read.)

tasklets_skip_under_sanitizer(
  "a buffer overrun off the top of a tasklet's stack hits a guard and is reported"
  "the sanitizer's memset interceptor reports the overrun before it reaches the guard")
tasklets_skip_under_sanitizer(
  "a fault outside any tasklet stack is left to the default action, unreported"
  "the sanitizer reports the fault itself (UBSan: store to a null pointer; TSan: its SEGV report)")

# The gdb extension's test: 90 s under a sanitizer, and under ASan its `tasklet frame`
# check on a paused tasklet fails (frame #1 is not the tasklet's; reported to the
# debugging support's owner). The plain x86-64 run covers the extension.
tasklets_skip_under_sanitizer(
  "gdb extension: info tasklets, tasklet bt, tasklet frame"
  "tested on the plain build; 90 s here, and under ASan its `tasklet frame` check fails (known, reported)")

if(TASKLETS_SANITIZER STREQUAL "thread")
  # Every started tasklet is a TSan fiber, and GCC 12's TSan runtime allows 8128 live
  # threads and fibers together ("ThreadSanitizer: Thread limit (8128 threads) exceeded").
  foreach(t "100,000 tasklets alive at once, each blocked on its own channel, are all released"
            "10,000 sleeping tasklets on the virtual clock all wake in order")
    tasklets_skip_under_sanitizer("${t}"
      "more than 8128 tasklets alive at once: each is a TSan fiber, and this TSan runtime allows 8128 live threads and fibers")
  endforeach()
endif()
