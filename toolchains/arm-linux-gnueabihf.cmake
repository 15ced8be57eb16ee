# Cross build for 32-bit ARM Linux, hard-float (armhf: AAPCS with VFP registers for FP
# arguments) with Debian's cross toolchain (g++-arm-linux-gnueabihf); ctest runs the
# binaries through qemu-arm (qemu-user). See linux-gnu-cross.cmake. The compiler's own
# defaults are Debian's armhf baseline (ARMv7-A, Thumb-2, VFPv3-D16), kept as they are:
# that is what the distribution's packages, and so a user's program, are built for.
set(CMAKE_SYSTEM_PROCESSOR arm)
set(TASKLETS_CROSS_TRIPLE arm-linux-gnueabihf)
set(TASKLETS_CROSS_QEMU qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake)
