# The armhf ASan build under QEMU (preset armhf-asan): every test program and example
# created after this is linked with tests/support/qemu_arm_asan_fence.cpp, which says why.
# Included by tests/CMakeLists.txt and examples/CMakeLists.txt; elsewhere it does nothing.
if(TASKLETS_ARCH STREQUAL "armhf" AND CMAKE_CROSSCOMPILING_EMULATOR AND CMAKE_CXX_FLAGS MATCHES "-fsanitize=[^ ]*address")
  if(NOT TARGET tasklets_qemu_arm_asan_fence)
    add_library(tasklets_qemu_arm_asan_fence OBJECT ${PROJECT_SOURCE_DIR}/tests/support/qemu_arm_asan_fence.cpp)
  endif()
  link_libraries(tasklets_qemu_arm_asan_fence)
endif()
