# Windows x64 (MinGW-w64, tests under Wine): the port is being built in stages
# (arch/README.md, "Windows x64"). Included by the top-level CMakeLists.txt instead of
# the Linux build; it builds only what has been ported so far.
#
# Stage 1: the toolchain. A program with exceptions, thread_local and std::thread.
# Stage 2: the context switch (arch/windows_x64) and the raw-context API.
# Stage 3: the kernel without descriptor I/O: tasklets, channels, select, the scheduler
#   and watchdog, timers and the virtual clock, helper threads (tasklets/blocking.hpp),
#   stacks from VirtualAlloc with guard pages, stack overflow reported by a vectored
#   exception handler, statistics, tracing and stack usage.
# Not yet: descriptor I/O (tasklets/io.hpp, tasklets/file.hpp), which needs an IOCP
#   reactor (arch/README.md says what it would need); those headers stop with #error.
if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  message(FATAL_ERROR "tasklets: on Windows only x64 has a context switch (arch/windows_x64); "
                      "not '${CMAKE_SYSTEM_PROCESSOR}'")
endif()
# Its own directory, not arch/x86_64: a different calling convention (Microsoft x64, not
# System V), a different register set, the TEB, and a different object format and
# unwind-table format (PE/COFF with SEH .pdata/.xdata, not ELF with DWARF CFI).
set(TASKLETS_ARCH windows_x64)
include(arch/${TASKLETS_ARCH}/arch.cmake)
message(STATUS "tasklets: architecture ${TASKLETS_ARCH}; Windows port: the kernel without descriptor I/O "
               "(tasklets/io.hpp and tasklets/file.hpp need an IOCP reactor, not written yet)")

# The kernel as on Linux (cmake/kernel_sources.cmake), less descriptor I/O (io/net,
# io/files, io/file_ring, io/resolve, io/backend_choice), with the Windows system layer
# (os/system_windows.cpp), overflow reporting (core/stack_overflow_windows.cpp) and
# reactor half (io/reactor_windows.cpp).
include(cmake/kernel_sources.cmake)
add_library(tasklets
  ${TASKLETS_KERNEL_SOURCES}
  kernel/os/system_windows.cpp
  kernel/core/stack_overflow_windows.cpp
  kernel/io/reactor_windows.cpp
  ${TASKLETS_ARCH_SOURCES}
)
add_library(tasklets::tasklets ALIAS tasklets)
configure_file(include/tasklets/version.hpp.in ${CMAKE_CURRENT_BINARY_DIR}/include/tasklets/version.hpp @ONLY)
target_include_directories(tasklets
  PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
         $<BUILD_INTERFACE:${CMAKE_CURRENT_BINARY_DIR}/include>
  PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/kernel ${CMAKE_CURRENT_SOURCE_DIR}/arch
          ${CMAKE_CURRENT_SOURCE_DIR}/arch/${TASKLETS_ARCH})
target_compile_features(tasklets PUBLIC cxx_std_20)
target_compile_definitions(tasklets PRIVATE TASKLETS_HAVE_URING=0)
target_compile_options(tasklets PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${TASKLETS_WARNINGS}>)
# psapi: QueryWorkingSetEx (stack usage), for Windows versions where kernel32 lacks it.
target_link_libraries(tasklets PUBLIC psapi)
# The gdb table (kernel/debug/gdb_table.cpp) survives a static link as on Linux.
target_link_options(tasklets INTERFACE "LINKER:--undefined=tasklets_debug_info")

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

  # The Catch2 suite, less what does not apply to Windows (printed with the reasons).
  include(tests/windows/tests.cmake)
endif()
