# Cross build for ppc64le Linux (64-bit POWER, little-endian, ELFv2 ABI; Debian's baseline,
# POWER8) with Debian's cross toolchain (g++-powerpc64le-linux-gnu); ctest runs the
# binaries through qemu-ppc64le (qemu-user). See linux-gnu-cross.cmake.
set(CMAKE_SYSTEM_PROCESSOR ppc64le)
set(TASKLETS_CROSS_TRIPLE powerpc64le-linux-gnu)
set(TASKLETS_CROSS_QEMU qemu-ppc64le)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake)
