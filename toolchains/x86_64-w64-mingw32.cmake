# Cross build for Windows x64 with Debian's MinGW-w64 toolchain (g++-mingw-w64-x86-64);
# ctest runs the test binaries under Wine (wine64).
#
# The -posix variant of the compiler: its libstdc++ has std::thread, std::mutex and
# friends (on winpthreads); the default -win32 variant has none. Programs link -static, so
# that libstdc++, libgcc and winpthreads are inside the .exe and Wine needs no DLL search
# path into the cross prefix.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(TASKLETS_CROSS_TRIPLE x86_64-w64-mingw32)

set(TASKLETS_CROSS_PREFIX /usr/${TASKLETS_CROSS_TRIPLE})
set(CMAKE_C_COMPILER ${TASKLETS_CROSS_TRIPLE}-gcc-posix)
set(CMAKE_CXX_COMPILER ${TASKLETS_CROSS_TRIPLE}-g++-posix)
set(CMAKE_ASM_COMPILER ${TASKLETS_CROSS_TRIPLE}-gcc-posix)
set(CMAKE_RC_COMPILER ${TASKLETS_CROSS_TRIPLE}-windres)
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

# Libraries and headers come from the target prefix only; programs from the host.
set(CMAKE_FIND_ROOT_PATH ${TASKLETS_CROSS_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Wine as the emulator, with a prefix of its own inside the build tree: a clean build
# starts from a clean prefix (created by the first run, a few seconds), and nothing is
# read from or written to the user's ~/.wine. WINEDEBUG=-all: Wine's fixme: lines would
# otherwise mix with the tests' output.
# Debian's wine64 package installs the loader in /usr/lib/wine only (/usr/bin/wine64 comes
# with the "wine" package, which also pulls in the 32-bit half).
find_program(TASKLETS_WINE64 wine64 HINTS /usr/lib/wine)
if(NOT TASKLETS_WINE64)
  message(FATAL_ERROR "tasklets: wine64 not found; install wine64 (ci/install-deps.sh does)")
endif()
# wine-run.sh runs a program once more when Wine fails before it ran (it says how it
# tells), and logs that in wine-reruns.log.
set(CMAKE_CROSSCOMPILING_EMULATOR /bin/sh ${CMAKE_CURRENT_LIST_DIR}/wine-run.sh ${TASKLETS_WINE64}
    ${CMAKE_BINARY_DIR}/wineprefix ${CMAKE_BINARY_DIR}/wine-reruns.log)

# Catch2 v2 headers through the same shim as the Linux cross builds (catch2/).
set(Catch2_DIR ${CMAKE_CURRENT_LIST_DIR}/catch2 CACHE PATH "Catch2 shim for cross builds")
