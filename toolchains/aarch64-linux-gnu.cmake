# Cross build for AArch64 Linux with Debian's cross toolchain (g++-aarch64-linux-gnu);
# ctest runs the binaries through qemu-aarch64 (qemu-user). See linux-gnu-cross.cmake.
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(TASKLETS_CROSS_TRIPLE aarch64-linux-gnu)
set(TASKLETS_CROSS_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake)
# Branch protection in everything built for AArch64: BTI landing pads and PAC-signed
# return addresses (the switch does both in assembly; see arch/aarch64/switch_aarch64.S).
# QEMU's default CPU emulates both, so the whole suite runs with them.
set(CMAKE_C_FLAGS_INIT "-mbranch-protection=standard")
set(CMAKE_CXX_FLAGS_INIT "-mbranch-protection=standard")
set(CMAKE_ASM_FLAGS_INIT "-mbranch-protection=standard")
