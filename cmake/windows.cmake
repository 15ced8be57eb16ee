# Windows x64 (MinGW-w64, tests under Wine): the port is being built in stages
# (arch/README.md, "Windows x64"). Included by the top-level CMakeLists.txt instead of
# the Linux build; it builds only what has been ported so far.
#
# Stage 1: the toolchain. A program with exceptions, thread_local and std::thread.
# Stage 2: the context switch (arch/windows_x64) and the raw-context API
#   (tasklets/context.hpp) as the library, with the ABI conformance tests.
# Not yet: the scheduler, channels, timers and the rest of the kernel, and their tests.
if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  message(FATAL_ERROR "tasklets: on Windows only x64 has a context switch (arch/windows_x64); "
                      "not '${CMAKE_SYSTEM_PROCESSOR}'")
endif()
# Its own directory, not arch/x86_64: a different calling convention (Microsoft x64, not
# System V), a different register set, the TEB, and a different object format and
# unwind-table format (PE/COFF with SEH .pdata/.xdata, not ELF with DWARF CFI).
set(TASKLETS_ARCH windows_x64)
include(arch/${TASKLETS_ARCH}/arch.cmake)
message(STATUS "tasklets: architecture ${TASKLETS_ARCH}; Windows port in progress: the raw context "
               "switch only (the scheduler, channels and timers are not ported yet)")

add_library(tasklets kernel/context/make_context.cpp ${TASKLETS_ARCH_SOURCES})
add_library(tasklets::tasklets ALIAS tasklets)
target_include_directories(tasklets
  PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
  PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/arch ${CMAKE_CURRENT_SOURCE_DIR}/arch/${TASKLETS_ARCH})
target_compile_features(tasklets PUBLIC cxx_std_20)
target_compile_options(tasklets PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${TASKLETS_WARNINGS}>)

if(TASKLETS_TESTING OR PROJECT_IS_TOP_LEVEL)
  enable_testing()
endif()
if(TASKLETS_TESTING)
  # Wine creates its prefix on the first run (a few seconds, with messages on stderr):
  # create it now, once, so that test runs (and test discovery at build time) start
  # with a ready prefix and print only their own output.
  if(CMAKE_CROSSCOMPILING_EMULATOR AND NOT EXISTS ${CMAKE_BINARY_DIR}/wineprefix/system.reg)
    message(STATUS "tasklets: creating the Wine prefix ${CMAKE_BINARY_DIR}/wineprefix")
    execute_process(COMMAND ${CMAKE_CROSSCOMPILING_EMULATOR} wineboot --init
                    RESULT_VARIABLE _wineboot OUTPUT_QUIET ERROR_QUIET)
    if(NOT _wineboot EQUAL 0)
      message(FATAL_ERROR "tasklets: wineboot --init failed (${_wineboot}) in ${CMAKE_BINARY_DIR}/wineprefix")
    endif()
  endif()
  add_executable(tasklets_toolchain_check tests/windows/toolchain_check.cpp)
  target_compile_options(tasklets_toolchain_check PRIVATE ${TASKLETS_WARNINGS})
  add_test(NAME "windows toolchain: exceptions, thread_local and std::thread under Wine"
           COMMAND tasklets_toolchain_check)
  set_tests_properties("windows toolchain: exceptions, thread_local and std::thread under Wine"
                       PROPERTIES PASS_REGULAR_EXPRESSION "^ok\r?\n$")

  # The ABI conformance tests of the raw switch: the portable C++ halves, the Windows
  # assembly probes and the TEB/exception tests (tests/arch/windows_x64).
  find_package(Catch2 2 REQUIRED CONFIG)
  include(Catch)
  add_executable(tasklets_tests tests/main.cpp tests/test_abi_registers.cpp tests/test_abi_fp.cpp)
  target_link_libraries(tasklets_tests PRIVATE tasklets::tasklets Catch2::Catch2)
  target_include_directories(tasklets_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/tests)
  target_compile_options(tasklets_tests PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${TASKLETS_WARNINGS}>)
  include(tests/arch/${TASKLETS_ARCH}/tests.cmake)
  catch_discover_tests(tasklets_tests)
endif()
