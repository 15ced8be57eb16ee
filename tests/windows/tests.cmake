# The Catch2 suite on Windows x64 (included by cmake/windows.cmake): every test file of
# tests/ that applies to Windows, run under Wine through ctest. The files left out are
# listed below with the reason, printed when CMake configures and again when ctest starts,
# so nothing is dropped silently.
find_package(Catch2 2 REQUIRED CONFIG)
include(Catch)

set(_tests ${PROJECT_SOURCE_DIR}/tests)
add_executable(tasklets_tests
  ${_tests}/main.cpp
  ${_tests}/test_abi_registers.cpp
  ${_tests}/test_abi_fp.cpp
  ${_tests}/test_abi_tasklets.cpp
  ${_tests}/test_unwind.cpp
  ${_tests}/test_blocking.cpp
  ${_tests}/test_channel_payloads.cpp
  ${_tests}/test_deadlock_report.cpp
  ${_tests}/test_differential.cpp
  ${_tests}/test_faults.cpp
  ${_tests}/test_kernel.cpp
  ${_tests}/test_select.cpp
  ${_tests}/test_select_deadline.cpp
  ${_tests}/test_shared_select.cpp
  ${_tests}/test_shared_stacks.cpp
  ${_tests}/test_spec_channels.cpp
  ${_tests}/test_spec_errors.cpp
  ${_tests}/test_spec_kill_throw.cpp
  ${_tests}/test_spec_listener.cpp
  ${_tests}/test_spec_scale.cpp
  ${_tests}/test_spec_scheduler.cpp
  ${_tests}/test_spec_stacks.cpp
  ${_tests}/test_statistics.cpp
  ${_tests}/test_serial.cpp
  ${_tests}/test_image.cpp
  ${_tests}/test_random.cpp
  ${_tests}/test_durable.cpp
  ${_tests}/test_durable_random.cpp
  ${_tests}/test_threads.cpp
  ${_tests}/test_cross_thread.cpp
  ${_tests}/test_cross_thread_stress.cpp
  ${_tests}/test_pool_carriers.cpp
  ${_tests}/test_migration.cpp
  ${_tests}/test_timers.cpp
  ${_tests}/test_trace.cpp
  ${_tests}/test_watchdog.cpp
  ${_tests}/gdb/test_stack_usage.cpp
  # Windows' own: the guard layout of the stacks, and the stack-overflow death tests
  # (a child process started with CreateProcess instead of fork).
  ${CMAKE_CURRENT_LIST_DIR}/test_windows_stacks.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_windows_overflow.cpp
)
target_link_libraries(tasklets_tests PRIVATE tasklets::tasklets Catch2::Catch2)
target_include_directories(tasklets_tests PRIVATE ${_tests})
if(TASKLETS_CEREAL_DIR)  # cmake/cereal.cmake
  target_sources(tasklets_tests PRIVATE ${_tests}/cereal/test_serial_cereal.cpp)
  target_include_directories(tasklets_tests SYSTEM PRIVATE ${TASKLETS_CEREAL_DIR})
endif()
target_compile_options(tasklets_tests PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${TASKLETS_WARNINGS}>)
# As in tests/CMakeLists.txt (which says why): Catch2's runner unoptimised, Catch2 and the
# headers precompiled, and the test code without debug information in a quick test build.
set_source_files_properties(${_tests}/main.cpp PROPERTIES COMPILE_OPTIONS "-O1;-g0" SKIP_PRECOMPILE_HEADERS ON)
target_precompile_headers(tasklets_tests PRIVATE <catch2/catch.hpp> <tasklets/tasklets.hpp>
                          <chrono> <memory> <string> <thread> <vector>)
set_source_files_properties(${_tests}/test_spec_listener.cpp PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
target_compile_options(tasklets_tests PRIVATE "$<$<COMPILE_LANGUAGE:CXX>:${TASKLETS_QUICK_TEST_OPTIONS}>")
# Under Wine, as under QEMU, the differential batch is the smaller one (tests/CMakeLists.txt).
target_compile_definitions(tasklets_tests PRIVATE TASKLETS_DIFF_PROGRAMS=1000)
include(${_tests}/arch/${TASKLETS_ARCH}/tests.cmake)
# --warn NoTests: a name that matches no test case fails instead of passing with nothing
# run (ctest splits a test's name at ';': 36 test cases named with one ran nothing before).
catch_discover_tests(tasklets_tests EXTRA_ARGS --warn NoTests)

# Allocation failure on the way out of the ring (its own program: it replaces operator new),
# as in tests/CMakeLists.txt.
add_executable(tasklets_leave_ring_oom ${_tests}/oom/leave_ring_oom.cpp)
target_link_libraries(tasklets_leave_ring_oom PRIVATE tasklets::tasklets)
target_compile_options(tasklets_leave_ring_oom PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${TASKLETS_WARNINGS}>)
add_test(NAME "an allocation failure while a handle-less tasklet leaves the ring is a bad_alloc, nothing changed"
         COMMAND tasklets_leave_ring_oom)

# Left out, each with its reason (file: reason).
set(_left_out
  "test_abi_bti.cpp: AArch64 Branch Target Identification (fork, PROT_BTI)"
  "the glibc backtrace() halves of test_abi_tasklets.cpp and test_unwind.cpp: Windows has no glibc (their libgcc unwinder walks run)"
  "test_kernel.cpp's four Linux stack-guard cases (guard method choice, guards probed through a pipe, committed pages by mincore, vm.max_map_count): Windows' layout is tests/windows/test_windows_stacks.cpp"
  "test_blocking.cpp's resolve and connect-by-name cases: tasklets::net (tasklets/io.hpp)"
  "test_hardening.cpp: Linux hardening (fork, /proc/self/maps, the ELF auxiliary vector, NX by mmap)"
  "test_shared_stacks_asan.cpp: ASan builds only (it forks), and there is no ASan build for Windows"
  "test_spec_stacks.cpp's overflow death test: it forks (the Windows ones are tests/windows/test_windows_overflow.cpp)"
  "test_overflow.cpp: fork and SIGSEGV, ported as tests/windows/test_windows_overflow.cpp (CreateProcess, STATUS_STACK_OVERFLOW)"
  "test_io.cpp: sockets and descriptor I/O (tasklets/io.hpp), which need an IOCP reactor on Windows"
  "test_io_backends.cpp: the epoll and io_uring backends"
  "test_net_unix_udp.cpp: Unix-domain and UDP sockets (tasklets/io.hpp)"
  "test_files.cpp: file I/O (tasklets/file.hpp), which needs an IOCP reactor on Windows"
  "tests/io/backend_choice.cpp: the epoll/io_uring choice"
  "tests/gdb/run_gdb_test.sh: gdb and its Python extension read ELF core files and /proc"
  "tests/fuzz, Valgrind, the sanitizers and the CET note checks: Linux (ELF) tools"
)
# Every tests/test_*.cpp is built above or named first in an entry of _left_out: a new
# test file missing from both would otherwise never run on Windows, silently (the carrier
# tests, test_pool_carriers.cpp, were missed so for a commit).
get_target_property(_built tasklets_tests SOURCES)
set(_built_names "")
foreach(_src IN LISTS _built)
  get_filename_component(_name ${_src} NAME)
  list(APPEND _built_names ${_name})
endforeach()
set(_left_out_names "")
foreach(_item IN LISTS _left_out)
  string(REGEX MATCH "^[A-Za-z0-9_]+\\.cpp" _name "${_item}")
  list(APPEND _left_out_names ${_name})
endforeach()
file(GLOB _all_tests RELATIVE ${_tests} ${_tests}/test_*.cpp)
foreach(_file IN LISTS _all_tests)
  if(NOT _file IN_LIST _built_names AND NOT _file IN_LIST _left_out_names)
    message(FATAL_ERROR "tasklets: tests/${_file} is neither built for Windows nor left out with a reason: "
                        "add it to tasklets_tests or to _left_out in tests/windows/tests.cmake")
  endif()
endforeach()

set(_print "")
foreach(_item IN LISTS _left_out)
  message(STATUS "tasklets: left out on Windows: ${_item}")
  string(APPEND _print "message(\"tasklets: left out on Windows: ${_item}\")\n")
endforeach()
# Under Wine, one test case of the suite is disabled: each guarded stack costs Wine four
# host memory mappings (the stack, PAGE_NOACCESS, the reserve, PAGE_GUARD: Linux mprotect
# splits), so 100,000 live stacks need 400,000 and VirtualProtect fails once Linux's
# vm.max_map_count (65530 by default) is reached. Windows itself has no such limit.
if(CMAKE_CROSSCOMPILING_EMULATOR)
  set(_wine_disabled "100,000 tasklets alive at once, each blocked on its own channel, are all released")
  set(_why "under Wine every guarded stack takes 4 Linux memory mappings, and 100,000 stacks pass vm.max_map_count")
  message(STATUS "tasklets: disabled under Wine: \"${_wine_disabled}\": ${_why}")
  string(APPEND _print "message(\"tasklets: disabled under Wine: \\\"${_wine_disabled}\\\": ${_why}\")\n"
         "set_tests_properties([[${_wine_disabled}]] PROPERTIES DISABLED TRUE)\n")
endif()
# One wineserver for the whole ctest run, kept up until 60 s after its last client ends.
# A server that Wine starts by itself (-p0) begins to exit the moment no Windows process
# of its prefix is left, which happens between two tests; a test that starts then dies
# at once with "wine client error:0: recvmsg: Connection reset by peer". So the server
# still up when ctest starts (the build's test listing, or the configure's wineboot, ran
# one a moment before) is stopped first (-k, then -w waits until it is gone: nothing of
# this build's prefix runs yet), and a persistent one started. That reproduced 1 run in
# 3 here (configure with a new prefix, then ctest at once: 2026-12-07) and failed two CI
# runs, each on one test. The server daemonizes, so its output goes to a file, not to a
# pipe execute_process would wait on; and one trivial client runs at once, because a
# server no client ever joined would never start its 60 s (ctest -N runs no test).
if(CMAKE_CROSSCOMPILING_EMULATOR)
  find_program(TASKLETS_WINESERVER NAMES wineserver64 wineserver HINTS /usr/lib/wine)
  if(TASKLETS_WINESERVER)
    foreach(_step -k -w)
      string(APPEND _print
        "execute_process(COMMAND [[${CMAKE_COMMAND}]] -E env [[WINEPREFIX=${CMAKE_BINARY_DIR}/wineprefix]] "
        "[[${TASKLETS_WINESERVER}]] ${_step} OUTPUT_QUIET ERROR_QUIET TIMEOUT 60)\n")
    endforeach()
    string(APPEND _print
      "execute_process(COMMAND [[${CMAKE_COMMAND}]] -E env [[WINEPREFIX=${CMAKE_BINARY_DIR}/wineprefix]] "
      "[[${TASKLETS_WINESERVER}]] -p60 OUTPUT_FILE [[${CMAKE_BINARY_DIR}/wineserver.log]] "
      "ERROR_FILE [[${CMAKE_BINARY_DIR}/wineserver.log]])\n"
      "execute_process(COMMAND [[${CMAKE_COMMAND}]] -E env [[WINEPREFIX=${CMAKE_BINARY_DIR}/wineprefix]] WINEDEBUG=-all "
      "[[${TASKLETS_WINE64}]] cmd /c exit OUTPUT_FILE [[${CMAKE_BINARY_DIR}/wineserver.log]] "
      "ERROR_FILE [[${CMAKE_BINARY_DIR}/wineserver.log]] TIMEOUT 60)\n")
  endif()
endif()
file(WRITE ${CMAKE_BINARY_DIR}/windows_left_out.cmake "${_print}")
set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY TEST_INCLUDE_FILES ${CMAKE_BINARY_DIR}/windows_left_out.cmake)
