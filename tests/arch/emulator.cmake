# For builds whose tests run through CMAKE_CROSSCOMPILING_EMULATOR (QEMU user mode):
# have ctest read qemu_skips.cmake once the Catch2 tests are defined. catch_discover_tests
# registers its own include file when tests/CMakeLists.txt calls it, after this file is
# included, so ours is registered at the end of the directory to come after it.
if(CMAKE_CROSSCOMPILING_EMULATOR)
  # Deferred arguments are expanded when the call runs, so keep the path in a variable.
  set(TASKLETS_QEMU_SKIPS ${CMAKE_CURRENT_LIST_DIR}/qemu_skips.cmake)
  cmake_language(DEFER CALL set_property DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES
                 ${TASKLETS_QEMU_SKIPS})
endif()
