# Shared part of the Debian cross toolchain files. The including file sets
# CMAKE_SYSTEM_PROCESSOR, TASKLETS_CROSS_TRIPLE (e.g. aarch64-linux-gnu) and, for a target
# this machine cannot run natively, TASKLETS_CROSS_QEMU (e.g. qemu-aarch64), and, where QEMU's
# default CPU model for the target lacks something the suite needs, TASKLETS_CROSS_QEMU_CPU.
#
# Debian's cross compilers are not sysroot compilers: they have the target's headers and
# libraries built in under /usr/<triple>, which is also what QEMU needs as its -L prefix
# to find the target's dynamic loader and libc. With CMAKE_CROSSCOMPILING_EMULATOR set,
# ctest (and catch_discover_tests at build time) run every test binary under QEMU
# unchanged. Without TASKLETS_CROSS_QEMU (i386 on an x86-64 kernel) no emulator is set and
# they run directly.
set(CMAKE_SYSTEM_NAME Linux)

set(TASKLETS_CROSS_PREFIX /usr/${TASKLETS_CROSS_TRIPLE})
set(CMAKE_C_COMPILER ${TASKLETS_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${TASKLETS_CROSS_TRIPLE}-g++)
set(CMAKE_ASM_COMPILER ${TASKLETS_CROSS_TRIPLE}-gcc)

# Libraries and headers come from the target prefix only; programs from the host.
set(CMAKE_FIND_ROOT_PATH ${TASKLETS_CROSS_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

if(TASKLETS_CROSS_QEMU)
  find_program(TASKLETS_CROSS_QEMU_PATH ${TASKLETS_CROSS_QEMU})
  if(NOT TASKLETS_CROSS_QEMU_PATH)
    message(FATAL_ERROR "tasklets: ${TASKLETS_CROSS_QEMU} not found; install qemu-user "
                        "(ci/install-deps.sh does)")
  endif()
  set(CMAKE_CROSSCOMPILING_EMULATOR ${TASKLETS_CROSS_QEMU_PATH} -L ${TASKLETS_CROSS_PREFIX})
  if(TASKLETS_CROSS_QEMU_CPU)
    list(APPEND CMAKE_CROSSCOMPILING_EMULATOR -cpu ${TASKLETS_CROSS_QEMU_CPU})
  endif()
endif()

# Catch2 v2 is header-only and architecture-independent, but Debian installs it in the
# host's /usr/include, and its package config would add that whole directory (host libc
# headers included) to the cross compile. This shim exposes only the catch2/ headers.
set(Catch2_DIR ${CMAKE_CURRENT_LIST_DIR}/catch2 CACHE PATH "Catch2 shim for cross builds")
