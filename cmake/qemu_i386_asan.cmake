# The i386 ASan build when its tests run under qemu-i386 (toolchains/i686-linux-gnu.cmake:
# a kernel without IA32 emulation): every test program and example created after this is
# linked with tests/support/qemu_lsan_off.cpp, which says why. Included by
# tests/CMakeLists.txt and examples/CMakeLists.txt; elsewhere it does nothing.
if(TASKLETS_ARCH STREQUAL "i386" AND CMAKE_CROSSCOMPILING_EMULATOR AND CMAKE_CXX_FLAGS MATCHES "-fsanitize=[^ ]*address")
  if(NOT TARGET tasklets_qemu_lsan_off)
    add_library(tasklets_qemu_lsan_off OBJECT ${PROJECT_SOURCE_DIR}/tests/support/qemu_lsan_off.cpp)
  endif()
  link_libraries(tasklets_qemu_lsan_off)
endif()
