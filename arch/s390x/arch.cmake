# s390x (64-bit z/Architecture ELF ABI): the switch is GNU as, C-preprocessed (.S) so it can
# include the frame header; the fresh-frame builder is C++.
enable_language(ASM)
set(TASKLETS_ARCH_KERNEL_SWITCH ON)  # switch_s390x.S has tasklets_kernel_switch
set(TASKLETS_ARCH_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/switch_s390x.S
  ${CMAKE_CURRENT_LIST_DIR}/context_s390x.cpp
)
