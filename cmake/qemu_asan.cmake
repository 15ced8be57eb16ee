# ASan builds whose tests run under QEMU user mode: every test program and example created
# after this is linked with one support file, which says why. Included by
# tests/CMakeLists.txt and examples/CMakeLists.txt; elsewhere it does nothing.
#   armhf (preset armhf-asan): tests/support/qemu_arm_asan_fence.cpp, ASan's 32-bit ARM
#     layout against QEMU's 4 GiB guest
#   i386 on a kernel without IA32 emulation (toolchains/i686-linux-gnu.cmake):
#     tests/support/qemu_lsan_off.cpp, LeakSanitizer, which cannot stop threads under QEMU
if(CMAKE_CROSSCOMPILING_EMULATOR AND CMAKE_CXX_FLAGS MATCHES "-fsanitize=[^ ]*address")
  set(_qemu_asan_support "")
  if(TASKLETS_ARCH STREQUAL "armhf")
    set(_qemu_asan_support qemu_arm_asan_fence)
  elseif(TASKLETS_ARCH STREQUAL "i386")
    set(_qemu_asan_support qemu_lsan_off)
  endif()
  if(_qemu_asan_support)
    if(NOT TARGET tasklets_${_qemu_asan_support})
      add_library(tasklets_${_qemu_asan_support} OBJECT ${PROJECT_SOURCE_DIR}/tests/support/${_qemu_asan_support}.cpp)
    endif()
    link_libraries(tasklets_${_qemu_asan_support})
  endif()
endif()
