# armhf test assembly is GNU as (.S, C-preprocessed, Thumb-2), like arch/armhf: one
# assembler per architecture.
target_sources(tasklets_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/abi_armhf.S)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/abi_armhf.S PROPERTIES
  INCLUDE_DIRECTORIES ${CMAKE_CURRENT_LIST_DIR}/..)
# The scheduler's switch at the register level, through the probes above (the C++ half is
# shared by every architecture).
target_sources(tasklets_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../abi_kernel_switch.cpp)
include(${CMAKE_CURRENT_LIST_DIR}/../emulator.cmake)
