# Windows x64 (Microsoft x64 calling convention), built with MinGW-w64: the switch is GNU
# as, C-preprocessed (.S) so it can include the frame header, with .seh_* unwind
# directives (nasm has none; see the .S); the fresh-frame builder is C++.
enable_language(ASM)
set(TASKLETS_ARCH_KERNEL_SWITCH ON)  # switch_windows_x64.S has tasklets_kernel_switch
set(TASKLETS_ARCH_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/switch_windows_x64.S
  ${CMAKE_CURRENT_LIST_DIR}/context_windows_x64.cpp
)
