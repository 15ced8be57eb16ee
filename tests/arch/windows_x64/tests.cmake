# Windows x64 test assembly is GNU as, like arch/windows_x64: one assembler per port.
target_sources(tasklets_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/abi_windows_x64.S
                                      ${CMAKE_CURRENT_LIST_DIR}/teb_windows_x64.cpp)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/abi_windows_x64.S PROPERTIES
  INCLUDE_DIRECTORIES ${CMAKE_CURRENT_LIST_DIR}/..)
# teb_windows_x64.cpp reads the TEB offsets from the frame header, defined once there.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/teb_windows_x64.cpp PROPERTIES
  INCLUDE_DIRECTORIES ${PROJECT_SOURCE_DIR}/arch/windows_x64)
# The scheduler's switch at the register level, through the probes above (the C++ half is
# shared by every architecture), now that the scheduler is built on Windows.
target_sources(tasklets_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../abi_kernel_switch.cpp)
