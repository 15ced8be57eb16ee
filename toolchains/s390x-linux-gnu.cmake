# Cross build for s390x Linux (64-bit IBM Z, big-endian; Debian's baseline, z196) with
# Debian's cross toolchain (g++-s390x-linux-gnu); ctest runs the binaries through
# qemu-s390x (qemu-user). See linux-gnu-cross.cmake.
set(CMAKE_SYSTEM_PROCESSOR s390x)
set(TASKLETS_CROSS_TRIPLE s390x-linux-gnu)
set(TASKLETS_CROSS_QEMU qemu-s390x)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake)
