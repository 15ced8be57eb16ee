# i386 (System V i386 ABI, as GCC uses it on Linux): the switch is GNU as, C-preprocessed
# (.S) so it can include the frame header; the fresh-frame builder is C++.
enable_language(ASM)
set(TASKLETS_ARCH_KERNEL_SWITCH ON)  # switch_i386.S has tasklets_kernel_switch
set(TASKLETS_ARCH_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/switch_i386.S
  ${CMAKE_CURRENT_LIST_DIR}/context_i386.cpp
)
