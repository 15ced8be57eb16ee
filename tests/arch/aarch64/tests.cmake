# aarch64 test assembly is GNU as (.S, C-preprocessed), like arch/aarch64: one assembler per
# architecture.
target_sources(tasklets_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/abi_aarch64.S)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/abi_aarch64.S PROPERTIES
  INCLUDE_DIRECTORIES ${CMAKE_CURRENT_LIST_DIR}/..)
# The scheduler's switch at the register level, through the probes above (the C++ half is
# shared by every architecture).
target_sources(tasklets_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../abi_kernel_switch.cpp)
# The kernel switch's PAC check on its resume-hook path calls the library's hidden
# tasklets_kernel_switch directly: possible in a static link only.
if(NOT BUILD_SHARED_LIBS)
  target_sources(tasklets_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/kernel_switch_pac.cpp)
endif()
include(${CMAKE_CURRENT_LIST_DIR}/../emulator.cmake)
