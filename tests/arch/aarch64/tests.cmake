# aarch64 test assembly is GNU as (.S, C-preprocessed), like arch/aarch64: one assembler per
# architecture.
target_sources(tasklets_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/abi_aarch64.S)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/abi_aarch64.S PROPERTIES
  INCLUDE_DIRECTORIES ${CMAKE_CURRENT_LIST_DIR}/..)
include(${CMAKE_CURRENT_LIST_DIR}/../emulator.cmake)
