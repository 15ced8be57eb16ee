# Cross build for 64-bit little-endian MIPS Linux (n64 ABI; Debian's baseline, mips64r2,
# FR=1) with Debian's cross toolchain (g++-mips64el-linux-gnuabi64); ctest runs the binaries
# through qemu-mips64el (qemu-user). See linux-gnu-cross.cmake.
set(CMAKE_SYSTEM_PROCESSOR mips64el)
set(TASKLETS_CROSS_TRIPLE mips64el-linux-gnuabi64)
set(TASKLETS_CROSS_QEMU qemu-mips64el)
# QEMU 7.2 picks 5KEf for an n64 program, whose model leaves the FCSR read-only (writes are
# dropped: fesetround() does nothing, so FP control per context could not be tested).
# MIPS64R2-generic is the plain mips64r2 CPU Debian targets, with a writable FCSR.
set(TASKLETS_CROSS_QEMU_CPU MIPS64R2-generic)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake)
