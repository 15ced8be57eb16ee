# RISC-V64 (LP64D psABI): the switch is GNU as, C-preprocessed (.S) so it can include the
# frame header; the fresh-frame builder is C++.
enable_language(ASM)
set(TASKLETS_ARCH_KERNEL_SWITCH ON)  # switch_riscv64.S has tasklets_kernel_switch
set(TASKLETS_ARCH_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/switch_riscv64.S
  ${CMAKE_CURRENT_LIST_DIR}/context_riscv64.cpp
)
