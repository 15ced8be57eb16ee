# Windows x64 (MinGW-w64, tests under Wine): the port is being built in stages
# (arch/README.md, "Windows x64"). Included by the top-level CMakeLists.txt instead of
# the Linux build; it builds only what has been ported so far.
#
# Stage 1: the toolchain. A program with exceptions, thread_local and std::thread.
message(STATUS "tasklets: Windows x64 port in progress: toolchain check only "
               "(the context switch, the scheduler and the suite are not ported yet)")
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
endif()
