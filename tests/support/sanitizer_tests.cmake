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
elseif(TASKLETS_SANITIZER STREQUAL "undefined")
  set(_opts "UBSAN_OPTIONS=string_append::handle_segv=0")
  set(_tool "UBSan")
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

if(NOT TASKLETS_SANITIZER STREQUAL "undefined")
  tasklets_skip_under_sanitizer(
    "a buffer overrun off the top of a tasklet's stack hits a guard and is reported"
    "the sanitizer's memset interceptor reports the overrun before it reaches the guard")
endif()
tasklets_skip_under_sanitizer(
  "a fault outside any tasklet stack is left to the default action, unreported"
  "the sanitizer reports the fault itself (UBSan: store to a null pointer; TSan: its SEGV report)")

if(TASKLETS_SANITIZER MATCHES "^(address|undefined)$")
  tasklets_skip_under_sanitizer(
    "EMFILE on accept: an exception, then a back-off sleep instead of a spin"
    "it uses up every descriptor, and UBSan's vptr check probes memory through a pipe, which then cannot be made: it reports the caught std::system_error as having an invalid vptr (a false positive; TSan and the plain build run it)")
endif()

# On a 32-bit target, ASan's fake stack for each tasklet (detect_stack_use_after_return;
# 712 KiB on i386) times ten thousand tasklets does not fit in the 4 GiB address space
# ("failed to allocate ... bytes of FakeStack"). The tests that keep that many alive run
# without it; everything else keeps it.
if(TASKLETS_SANITIZER STREQUAL "address" AND TASKLETS_POINTER_BYTES EQUAL 4)
  foreach(t "100,000 tasklets alive at once, each blocked on its own channel, are all released"
            "10,000 sleeping tasklets on the virtual clock all wake in order"
            "stacks with mprotect guards")
    if(NOT t STREQUAL "stacks with mprotect guards")  # (that one is set in tests/CMakeLists.txt)
      set_tests_properties("${t}" PROPERTIES ENVIRONMENT_MODIFICATION
                           "ASAN_OPTIONS=string_append::detect_stack_use_after_return=0")
    endif()
    message("tasklets: under ${_tool} on this 32-bit target, \"${t}\" runs without "
            "detect_stack_use_after_return: a fake stack per tasklet for that many tasklets does "
            "not fit in a 32-bit address space")
  endforeach()
endif()

# Under QEMU, ASan's checks make the differential batch (1,000 programs there already,
# against 20,000 natively) the longest test of the run: 82 s on armhf. Its ASan run is cut
# to 250 programs; the plain armhf run keeps 1,000.
if(TASKLETS_SANITIZER STREQUAL "address" AND TASKLETS_EMULATED)
  set(_diff "differential: a fixed-seed batch of random programs behaves exactly as the reference model")
  set_tests_properties("${_diff}" PROPERTIES ENVIRONMENT_MODIFICATION "TASKLETS_DIFF_PROGRAMS=set:250")
  message("tasklets: REDUCED under ${_tool} and QEMU: \"${_diff}\" runs 250 random programs "
          "(TASKLETS_DIFF_PROGRAMS), not 1,000")
  # The armhf-asan test preset also keeps allocation and free stacks 3 frames deep
  # (malloc_context_size=3, not 30): ASan records a stack at every allocation, and here it
  # walks it with the slow unwinder (fast_unwind_on_malloc=1 changes nothing), which QEMU
  # makes costly: a test process's start-up took 0.50 s with 30 frames, 0.35 s with 3, and
  # the whole armhf-asan test run 1 min 59 s, 1 min 38 s.
  message("tasklets: REDUCED under ${_tool} and QEMU: allocation and free stacks in reports "
          "are 3 frames deep (malloc_context_size=3); rerun a failing test with "
          "malloc_context_size=30 in ASAN_OPTIONS for whole stacks")
endif()

# Tests defined after this file is read (tests/CMakeLists.txt, tests/fuzz) are left out by
# the presets' filters (CMakePresets.json); their reasons are printed here.
function(tasklets_excluded_under_sanitizer name reason)
  message("tasklets: NOT RUN under ${_tool} (excluded by the preset): \"${name}\": ${reason}")
endfunction()
tasklets_excluded_under_sanitizer(
  "gdb extension: info tasklets, tasklet bt, tasklet frame"
  "covered by the plain x86-64 run; under a sanitizer it takes minutes, and under ASan its `tasklet frame` check on a paused tasklet fails (known, reported)")
tasklets_excluded_under_sanitizer(
  "differential fuzzer (libFuzzer, clang)"
  "it builds and runs its own clang + ASan + libFuzzer copy of the library, the same in every build; the plain x86-64 run covers it")

if(TASKLETS_SANITIZER STREQUAL "thread")
  tasklets_excluded_under_sanitizer(
    "stacks with mprotect guards"
    "its [mapping-limit] test keeps tens of thousands of tasklets alive (TSan allows 8128 fibers); the asan run covers the mprotect path")
  # Every started tasklet is a TSan fiber, and GCC 12's TSan runtime allows 8128 live
  # threads and fibers together ("ThreadSanitizer: Thread limit (8128 threads) exceeded").
  foreach(t "100,000 tasklets alive at once, each blocked on its own channel, are all released"
            "10,000 sleeping tasklets on the virtual clock all wake in order")
    tasklets_skip_under_sanitizer("${t}"
      "more than 8128 tasklets alive at once: each is a TSan fiber, and this TSan runtime allows 8128 live threads and fibers")
  endforeach()
  tasklets_skip_under_sanitizer("100,000 tasklets that run to completion reuse pooled stacks"
    "100,000 TSan fibers made and destroyed take 150 s (each maps its own shadow state); covered natively and under ASan")
  # The preset cuts the differential batch to 2,000 programs (TASKLETS_DIFF_PROGRAMS):
  # 20,000 take over 3 minutes under TSan.
endif()
