# Cross build for AArch64 Linux with Debian's cross toolchain (g++-aarch64-linux-gnu);
# ctest runs the binaries through qemu-aarch64 (qemu-user). See linux-gnu-cross.cmake.
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(TASKLETS_CROSS_TRIPLE aarch64-linux-gnu)
set(TASKLETS_CROSS_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake)
