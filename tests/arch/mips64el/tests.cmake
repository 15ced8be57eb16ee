# mips64el test assembly is GNU as (.S, C-preprocessed), like arch/mips64el: one assembler
# per architecture.
target_sources(tasklets_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/abi_mips64el.S)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/abi_mips64el.S PROPERTIES
  INCLUDE_DIRECTORIES ${CMAKE_CURRENT_LIST_DIR}/..)
# The scheduler's switch at the register level, through the probes above (the C++ half is
# shared by every architecture).
target_sources(tasklets_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../abi_kernel_switch.cpp)
include(${CMAKE_CURRENT_LIST_DIR}/../emulator.cmake)
