# ppc64le (64-bit POWER, little-endian, ELFv2): the switch is GNU as, C-preprocessed (.S)
# so it can include the frame header; the fresh-frame builder is C++.
enable_language(ASM)
set(TASKLETS_ARCH_KERNEL_SWITCH ON)  # switch_ppc64le.S has tasklets_kernel_switch
set(TASKLETS_ARCH_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/switch_ppc64le.S
  ${CMAKE_CURRENT_LIST_DIR}/context_ppc64le.cpp
)
