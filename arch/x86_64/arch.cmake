# x86-64 System V: the switch is written in nasm; the fresh-frame builder in C++.
enable_language(ASM_NASM)
set(CMAKE_ASM_NASM_OBJECT_FORMAT elf64)
# nasm's -I wants the trailing slash; DWARF line info lets gdb step through the switch.
set(CMAKE_ASM_NASM_FLAGS "${CMAKE_ASM_NASM_FLAGS} -I${CMAKE_CURRENT_LIST_DIR}/ -g -F dwarf")
set(TASKLETS_ARCH_KERNEL_SWITCH ON)  # switch_x86_64.asm has tasklets_kernel_switch
set(TASKLETS_ARCH_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/switch_x86_64.asm
  ${CMAKE_CURRENT_LIST_DIR}/context_x86_64.cpp
)
