# Cross build for RISC-V64 Linux (rv64gc, LP64D) with Debian's cross toolchain
# (g++-riscv64-linux-gnu); ctest runs the binaries through qemu-riscv64 (qemu-user).
# See linux-gnu-cross.cmake.
set(CMAKE_SYSTEM_PROCESSOR riscv64)
set(TASKLETS_CROSS_TRIPLE riscv64-linux-gnu)
set(TASKLETS_CROSS_QEMU qemu-riscv64)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake)
