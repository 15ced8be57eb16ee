# Catch2 for cross builds (see ../linux-gnu-cross.cmake): the host's header-only Catch2 v2,
# exposed to the target compiler through a directory holding nothing but catch2/.
set(_tasklets_catch2_host /usr/include/catch2)
if(NOT EXISTS ${_tasklets_catch2_host}/catch.hpp)
  set(Catch2_FOUND FALSE)
  set(Catch2_NOT_FOUND_MESSAGE "Catch2 v2 headers not found in ${_tasklets_catch2_host}; install catch2")
  return()
endif()
if(NOT TARGET Catch2::Catch2)
  set(_tasklets_catch2_include ${CMAKE_BINARY_DIR}/catch2-include)
  file(MAKE_DIRECTORY ${_tasklets_catch2_include})
  file(CREATE_LINK ${_tasklets_catch2_host} ${_tasklets_catch2_include}/catch2 SYMBOLIC)
  add_library(Catch2::Catch2 INTERFACE IMPORTED)
  set_target_properties(Catch2::Catch2 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${_tasklets_catch2_include})
  # Catch.cmake (catch_discover_tests) is plain CMake: take the host's.
  list(APPEND CMAKE_MODULE_PATH /usr/lib/cmake/Catch2)
endif()
