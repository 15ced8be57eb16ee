# The API reference (docs/Doxyfile.in): doxygen over the public headers, when doxygen is
# installed. Included from the top-level CMakeLists.txt when tasklets is the top-level project.
#   cmake --build <build> --target tasklets_docs    ->  <build>/docs/html/index.html
# With the tests, ctest's "api reference: doxygen builds it with no warnings" runs doxygen
# into its own directory and fails, printing them, if doxygen warns.
find_package(Doxygen QUIET)
if(NOT DOXYGEN_FOUND)
  message(STATUS "tasklets: doxygen not found: no API reference target (tasklets_docs); apt-get install doxygen")
  return()
endif()
message(STATUS "tasklets: doxygen ${DOXYGEN_VERSION} found: `cmake --build ${CMAKE_BINARY_DIR} --target tasklets_docs` "
               "writes the API reference to ${CMAKE_BINARY_DIR}/docs/html")

set(TASKLETS_DOCS_OUTPUT ${CMAKE_BINARY_DIR}/docs)
configure_file(${PROJECT_SOURCE_DIR}/docs/Doxyfile.in ${CMAKE_BINARY_DIR}/docs/Doxyfile @ONLY)
file(GLOB _tasklets_public_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/tasklets/*.hpp)
add_custom_command(OUTPUT ${TASKLETS_DOCS_OUTPUT}/html/index.html
  COMMAND ${CMAKE_COMMAND} -E remove -f ${TASKLETS_DOCS_OUTPUT}/doxygen-warnings.log
  COMMAND Doxygen::doxygen ${CMAKE_BINARY_DIR}/docs/Doxyfile
  COMMAND ${CMAKE_COMMAND} -DLOG=${TASKLETS_DOCS_OUTPUT}/doxygen-warnings.log -DSTRICT=OFF
          -P ${PROJECT_SOURCE_DIR}/tests/docs/check_doxygen_log.cmake
  DEPENDS ${CMAKE_BINARY_DIR}/docs/Doxyfile ${PROJECT_SOURCE_DIR}/docs/api-mainpage.md ${_tasklets_public_headers}
          ${PROJECT_BINARY_DIR}/include/tasklets/version.hpp
  COMMENT "API reference (doxygen): ${TASKLETS_DOCS_OUTPUT}/html/index.html"
  VERBATIM)
add_custom_target(tasklets_docs DEPENDS ${TASKLETS_DOCS_OUTPUT}/html/index.html)

if(TASKLETS_TESTING)
  # The test's own copy of the configuration, so that it never races the target's output.
  set(TASKLETS_DOCS_OUTPUT ${CMAKE_BINARY_DIR}/docs-test)
  configure_file(${PROJECT_SOURCE_DIR}/docs/Doxyfile.in ${CMAKE_BINARY_DIR}/docs-test/Doxyfile @ONLY)
  add_test(NAME "api reference: doxygen builds it with no warnings"
           COMMAND ${CMAKE_COMMAND} -DDOXYGEN=$<TARGET_FILE:Doxygen::doxygen> -DDOXYFILE=${CMAKE_BINARY_DIR}/docs-test/Doxyfile
                   -DLOG=${CMAKE_BINARY_DIR}/docs-test/doxygen-warnings.log -DSTRICT=ON
                   -P ${PROJECT_SOURCE_DIR}/tests/docs/check_doxygen_log.cmake)
endif()
