# Cross build for 32-bit ARM Linux, hard-float (armhf: AAPCS with VFP registers for FP
# arguments) with Debian's cross toolchain (g++-arm-linux-gnueabihf); ctest runs the
# binaries through qemu-arm (qemu-user). See linux-gnu-cross.cmake. The compiler's own
# defaults are Debian's armhf baseline (ARMv7-A, Thumb-2, VFPv3-D16), kept as they are:
# that is what the distribution's packages, and so a user's program, are built for.
set(CMAKE_SYSTEM_PROCESSOR arm)
set(TASKLETS_CROSS_TRIPLE arm-linux-gnueabihf)
set(TASKLETS_CROSS_QEMU qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake)
# GCC notes, for every std::pair or small struct of doubles passed by value, that its
# passing changed in GCC 7.1 (a fix for code built with GCC 6 and older): the whole
# program here is built with one compiler, so the notes say nothing about it.
set(CMAKE_CXX_FLAGS_INIT "-Wno-psabi")
