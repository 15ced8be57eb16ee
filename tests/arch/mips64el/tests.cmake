# mips64el test assembly is GNU as (.S, C-preprocessed), like arch/mips64el: one assembler
# per architecture.
target_sources(tasklets_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/abi_mips64el.S)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/abi_mips64el.S PROPERTIES
  INCLUDE_DIRECTORIES ${CMAKE_CURRENT_LIST_DIR}/..)
# The scheduler's switch at the register level, through the probes above (the C++ half is
# shared by every architecture).
target_sources(tasklets_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../abi_kernel_switch.cpp)
include(${CMAKE_CURRENT_LIST_DIR}/../emulator.cmake)
# Tests QEMU cannot host on MIPS, with the reason (qemu_skips.cmake), once ctest has them.
if(CMAKE_CROSSCOMPILING_EMULATOR)
  set(TASKLETS_MIPS_QEMU_SKIPS ${CMAKE_CURRENT_LIST_DIR}/qemu_skips.cmake)
  cmake_language(DEFER CALL set_property DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES
                 ${TASKLETS_MIPS_QEMU_SKIPS})
endif()
