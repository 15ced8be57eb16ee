# armhf (32-bit ARM, AAPCS with the VFP variant): the switch is GNU as, C-preprocessed
# (.S) so it can include the frame header; the fresh-frame builder is C++.
enable_language(ASM)
set(TASKLETS_ARCH_KERNEL_SWITCH ON)  # switch_armhf.S has tasklets_kernel_switch
set(TASKLETS_ARCH_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/switch_armhf.S
  ${CMAKE_CURRENT_LIST_DIR}/context_armhf.cpp
)
