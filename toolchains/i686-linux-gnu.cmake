# Build for i386 Linux (i686, the Debian i386 baseline) with Debian's cross toolchain
# (g++-i686-linux-gnu). An x86-64 kernel runs i386 programs natively, so no emulator is
# set and ctest runs the test binaries directly: on the real x87 and SSE units (QEMU
# emulates them in software, and MXCSR and the x87 control word are what the switch
# keeps), and at native speed. See linux-gnu-cross.cmake.
set(CMAKE_SYSTEM_PROCESSOR i686)
set(TASKLETS_CROSS_TRIPLE i686-linux-gnu)
# Unless the kernel was built without IA32 emulation: one such (Linux 6.18, 2026-12-06)
# refused every i386 program with "Exec format error", and the whole i386 suite failed.
# The cross loader is an i386 program that runs on its own (--version): where it cannot,
# the tests run under qemu-i386, as the other targets' do under their QEMU.
if(NOT DEFINED TASKLETS_I386_NATIVE)
  execute_process(COMMAND /usr/${TASKLETS_CROSS_TRIPLE}/lib/ld-linux.so.2 --version
                  RESULT_VARIABLE tasklets_i386_loader OUTPUT_QUIET ERROR_QUIET)
  if(tasklets_i386_loader STREQUAL "0")
    set(TASKLETS_I386_NATIVE ON CACHE BOOL "this kernel runs i386 programs (else: tests under qemu-i386)")
  else()
    set(TASKLETS_I386_NATIVE OFF CACHE BOOL "this kernel runs i386 programs (else: tests under qemu-i386)")
  endif()
endif()
if(NOT TASKLETS_I386_NATIVE)
  set(TASKLETS_CROSS_QEMU qemu-i386)
endif()
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake)
# Programs run against the cross glibc they were linked with: its loader, found through
# the interpreter path, and its libraries, through an rpath. DT_RPATH, not DT_RUNPATH
# (--disable-new-dtags): a RUNPATH covers only the program's own dependencies, so
# libstdc++'s libm could come from the host's libc6-i386 (/lib32) instead, a different
# glibc build from the libc.so.6 loaded next to it.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--dynamic-linker=${TASKLETS_CROSS_PREFIX}/lib/ld-linux.so.2 \
-Wl,-rpath,${TASKLETS_CROSS_PREFIX}/lib -Wl,--disable-new-dtags")
# No -msse2 -mfpmath=sse: the code is built for the baseline Debian's i386 packages are,
# so double arithmetic runs on the x87 unit, under the x87 control word the switch keeps
# per context (the switch's MXCSR needs SSE at run time; arch/i386/switch_i386.S).
