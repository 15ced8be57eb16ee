# i386 test assembly is GNU as (.S, C-preprocessed), like arch/i386: one assembler per
# architecture.
target_sources(tasklets_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/abi_i386.S)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/abi_i386.S PROPERTIES
  INCLUDE_DIRECTORIES ${CMAKE_CURRENT_LIST_DIR}/..)
# The scheduler's switch at the register level, through the probes above (the C++ half is
# shared by every architecture).
target_sources(tasklets_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../abi_kernel_switch.cpp)
# Under qemu-i386 (a kernel without IA32 emulation: toolchains/i686-linux-gnu.cmake), the
# QEMU skips apply as on the other emulated targets.
include(${CMAKE_CURRENT_LIST_DIR}/../emulator.cmake)
