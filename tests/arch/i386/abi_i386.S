// tasklets ABI conformance tests, i386 (System V, as GCC uses it on Linux): the assembly
// half (GNU as, AT&T, like the switch in arch/i386). The C++ half is tests/test_abi_*.cpp;
// declarations and the register order are in tests/arch/abi_probe.hpp.
//
// Written in assembly because only assembly can put a known value in every callee-saved
// register across a call, or overwrite registers a compiler would never touch.
//
// Patterns and results are 64-bit slots (abi_probe.hpp); a register fills the low half
// of its slot and the high half is stored as zero (the patterns for i386 fit in 32 bits).
// Every call below goes through the GOT with eax as the base, as -fno-plt code does: a
// PLT call in position-independent code wants the GOT in ebx, and ebx holds a pattern
// (or garbage) at these calls on purpose.

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) .equ name, value
#include "abi_peer.h"

        .equ    CLOBBER, 0xbad0bad0
        // Slots of results[] (abi_probe.hpp): ebx, esi, edi, ebp, then sp before and after.
        .equ    RESULT_SP_BEFORE, 4*8
        .equ    RESULT_SP_AFTER, 5*8

        .text

// The probes below share these pieces.

// Saves our own caller's callee-saved registers (four pushes), then reserves \frame
// bytes. At entry (esp + 4) % 16 == 0, so with \frame % 16 == 12 esp is 16-aligned after.
        .macro  save_callers_registers frame
        pushl   %ebp
        .cfi_adjust_cfa_offset 4
        .cfi_rel_offset %ebp, 0
        pushl   %ebx
        .cfi_adjust_cfa_offset 4
        .cfi_rel_offset %ebx, 0
        pushl   %esi
        .cfi_adjust_cfa_offset 4
        .cfi_rel_offset %esi, 0
        pushl   %edi
        .cfi_adjust_cfa_offset 4
        .cfi_rel_offset %edi, 0
        subl    $\frame, %esp
        .cfi_adjust_cfa_offset \frame
        .endm

// Releases the frame, restores them and returns.
        .macro  restore_callers_registers_and_return frame
        addl    $\frame, %esp
        .cfi_adjust_cfa_offset -\frame
        popl    %edi
        .cfi_adjust_cfa_offset -4
        .cfi_restore %edi
        popl    %esi
        .cfi_adjust_cfa_offset -4
        .cfi_restore %esi
        popl    %ebx
        .cfi_adjust_cfa_offset -4
        .cfi_restore %ebx
        popl    %ebp
        .cfi_adjust_cfa_offset -4
        .cfi_restore %ebp
        ret
        .endm

// Loads every callee-saved register with the low half of its pattern (order:
// abi_probe.hpp saved_registers; ebp may hold one, the CFA is esp-based) and records esp
// in results[sp_before].
        .macro  load_patterns patterns, results
        movl    0*8(\patterns), %ebx
        movl    1*8(\patterns), %esi
        movl    2*8(\patterns), %edi
        movl    3*8(\patterns), %ebp
        movl    %esp, RESULT_SP_BEFORE(\results)
        movl    $0, RESULT_SP_BEFORE+4(\results)
        .endm

// Stores what every callee-saved register holds now into the results (their address is
// at \slot(%esp)) and esp in results[sp_after]. Leaves eax alone.
        .macro  store_results slot
        movl    \slot(%esp), %ecx
        movl    %ebx, 0*8(%ecx)
        movl    %esi, 1*8(%ecx)
        movl    %edi, 2*8(%ecx)
        movl    %ebp, 3*8(%ecx)
        movl    %esp, RESULT_SP_AFTER(%ecx)
        xorl    %edx, %edx
        movl    %edx, 0*8+4(%ecx)
        movl    %edx, 1*8+4(%ecx)
        movl    %edx, 2*8+4(%ecx)
        movl    %edx, 3*8+4(%ecx)
        movl    %edx, RESULT_SP_AFTER+4(%ecx)
        .endm

// eax = the address of tasklets_switch_context, from the GOT (see the header).
        .macro  load_switch_address
        call    tasklets_abi_pc_thunk_eax
        addl    $_GLOBAL_OFFSET_TABLE_, %eax
        movl    tasklets_switch_context@GOT(%eax), %eax
        .endm

// Every general register but esp and eax (which the caller keeps for itself) gets
// CLOBBER, and every vector register xmm0-xmm7 gets it in all four lanes, through 16
// bytes of scratch at \scratch(%esp) (SSE only: the switch needs no more). The x87
// register stack is empty at every call (the ABI), so it holds nothing to overwrite.
        .macro  clobber_registers scratch
        movl    $CLOBBER, %ecx
        movl    %ecx, \scratch(%esp)
        movl    %ecx, \scratch+4(%esp)
        movl    %ecx, \scratch+8(%esp)
        movl    %ecx, \scratch+12(%esp)
        .irp    n, 0,1,2,3,4,5,6,7
        movups  \scratch(%esp), %xmm\n
        .endr
        movl    %ecx, %ebx
        movl    %ecx, %edx
        movl    %ecx, %esi
        movl    %ecx, %edi
        movl    %ecx, %ebp
        .endm

// void* tasklets_abi_switch_checked(void** save_sp, void* target_sp, void* value,
//                                   const uint64_t* patterns, uint64_t* results)
//   cdecl. Our frame: the switch's three arguments at 0-8, results at 12, 16-aligned.
        .globl  tasklets_abi_switch_checked
        .type   tasklets_abi_switch_checked, @function
        .p2align 4
tasklets_abi_switch_checked:
        .cfi_startproc
        endbr32
        save_callers_registers 28        // our arguments are now at 48(%esp)
        movl    48(%esp), %eax           // save_sp, target_sp, value: to the switch unchanged
        movl    %eax, 0(%esp)
        movl    52(%esp), %eax
        movl    %eax, 4(%esp)
        movl    56(%esp), %eax
        movl    %eax, 8(%esp)
        movl    64(%esp), %ecx           // results: kept on the stack across the switch
        movl    %ecx, 12(%esp)
        load_switch_address
        movl    60(%esp), %edx           // patterns
        load_patterns %edx, %ecx
        call    *%eax
        store_results 12                 // eax (the switch's result) stays untouched
        restore_callers_registers_and_return 28
        .cfi_endproc
        .size   tasklets_abi_switch_checked, . - tasklets_abi_switch_checked

// void tasklets_abi_clobber_entry(tasklets_abi_peer* peer)
//   Entered with (esp + 4) % 16 == 0 and the peer at 4(%esp). Our frame: the switch's
//   arguments at 0-8, vector scratch at 16-31, the peer at 32; 16-aligned.
        .globl  tasklets_abi_clobber_entry
        .type   tasklets_abi_clobber_entry, @function
        .p2align 4
tasklets_abi_clobber_entry:
        endbr32
        movl    4(%esp), %eax
        subl    $44, %esp
        movl    %eax, 32(%esp)           // the peer lives here
1:      movl    32(%esp), %eax
        addl    $1, ABI_PEER_ROUNDS(%eax)
        adcl    $0, ABI_PEER_ROUNDS+4(%eax)
        clobber_registers 16
        movl    32(%esp), %ecx
        movl    ABI_PEER_ROUNDS(%ecx), %edx  // value: how many times we ran
        movl    %edx, 8(%esp)
        movl    ABI_PEER_MAIN_SP(%ecx), %edx
        movl    %edx, 4(%esp)
        leal    ABI_PEER_SELF_SP(%ecx), %edx
        movl    %edx, 0(%esp)
        load_switch_address              // eax, ecx and edx are the caller's to lose
        call    *%eax
        jmp     1b
        .size   tasklets_abi_clobber_entry, . - tasklets_abi_clobber_entry

// void tasklets_abi_entry_probe(tasklets_abi_peer* peer)
//   Records esp, the return address and ebp as they are at the first instruction, then
//   switches back every time. Frame as in tasklets_abi_clobber_entry.
        .globl  tasklets_abi_entry_probe
        .type   tasklets_abi_entry_probe, @function
        .p2align 4
tasklets_abi_entry_probe:
        endbr32
        movl    4(%esp), %eax
        movl    %esp, ABI_PEER_ENTRY_SP(%eax)
        movl    $0, ABI_PEER_ENTRY_SP+4(%eax)
        movl    (%esp), %ecx             // the return address a call would have pushed
        movl    %ecx, ABI_PEER_ENTRY_RA(%eax)
        movl    $0, ABI_PEER_ENTRY_RA+4(%eax)
        movl    %ebp, ABI_PEER_ENTRY_FP(%eax)
        movl    $0, ABI_PEER_ENTRY_FP+4(%eax)
        subl    $44, %esp
        movl    %eax, 32(%esp)
1:      movl    32(%esp), %ecx
        movl    $0, 8(%esp)              // value: nullptr
        movl    ABI_PEER_MAIN_SP(%ecx), %edx
        movl    %edx, 4(%esp)
        leal    ABI_PEER_SELF_SP(%ecx), %edx
        movl    %edx, 0(%esp)
        load_switch_address
        call    *%eax
        jmp     1b
        .size   tasklets_abi_entry_probe, . - tasklets_abi_entry_probe

// uintptr_t tasklets_abi_sp_at_call(void)
        .globl  tasklets_abi_sp_at_call
        .type   tasklets_abi_sp_at_call, @function
        .p2align 4
tasklets_abi_sp_at_call:
        .cfi_startproc
        endbr32
        leal    4(%esp), %eax            // undo the call's push of the return address
        ret
        .cfi_endproc
        .size   tasklets_abi_sp_at_call, . - tasklets_abi_sp_at_call

// void tasklets_abi_call_checked(void (*fn)(void*), void* arg,
//                                const uint64_t* patterns, uint64_t* results)
//   The frame and the register order are those of tasklets_abi_switch_checked (fn's
//   argument at 0); only the call differs.
        .globl  tasklets_abi_call_checked
        .type   tasklets_abi_call_checked, @function
        .p2align 4
tasklets_abi_call_checked:
        .cfi_startproc
        endbr32
        save_callers_registers 28        // our arguments are now at 48(%esp)
        movl    52(%esp), %eax           // arg
        movl    %eax, 0(%esp)
        movl    60(%esp), %ecx           // results: kept on the stack across the call
        movl    %ecx, 12(%esp)
        movl    56(%esp), %edx           // patterns
        movl    48(%esp), %eax           // fn
        load_patterns %edx, %ecx
        call    *%eax
        store_results 12
        restore_callers_registers_and_return 28
        .cfi_endproc
        .size   tasklets_abi_call_checked, . - tasklets_abi_call_checked

// void tasklets_abi_call_clobbered(void (*fn)(void*), void* arg)
//   Our frame: fn's argument at 0, vector scratch at 16-31; 16-aligned.
        .globl  tasklets_abi_call_clobbered
        .type   tasklets_abi_call_clobbered, @function
        .p2align 4
tasklets_abi_call_clobbered:
        .cfi_startproc
        endbr32
        save_callers_registers 44        // our arguments are now at 64(%esp)
        movl    68(%esp), %eax           // arg
        movl    %eax, 0(%esp)
        movl    64(%esp), %eax           // fn
        clobber_registers 16
        call    *%eax
        restore_callers_registers_and_return 44
        .cfi_endproc
        .size   tasklets_abi_call_clobbered, . - tasklets_abi_call_clobbered

// eax = the address of the instruction after the call (the GOT base computation above).
        .type   tasklets_abi_pc_thunk_eax, @function
        .p2align 4
tasklets_abi_pc_thunk_eax:
        .cfi_startproc
        movl    (%esp), %eax
        ret
        .cfi_endproc
        .size   tasklets_abi_pc_thunk_eax, . - tasklets_abi_pc_thunk_eax

        .section .note.GNU-stack, "", @progbits
