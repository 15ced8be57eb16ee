# aarch64 test assembly is GNU as (.S, C-preprocessed), like arch/aarch64: one assembler per
# architecture. The shared headers use a variadic TASKLETS_NOTE(...), which the C89-mode
# preprocessor of .S files would flag under the suite's -Wpedantic.
target_sources(tasklets_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/abi_aarch64.S)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/abi_aarch64.S PROPERTIES
  INCLUDE_DIRECTORIES ${CMAKE_CURRENT_LIST_DIR}/..
  COMPILE_OPTIONS -Wno-variadic-macros)
