// tasklets ABI conformance tests, ppc64le: the assembly half (GNU as, like the switch in
// arch/ppc64le). The C++ half is tests/test_abi_*.cpp; declarations and the register order
// are in tests/arch/abi_probe.hpp.
//
// Written in assembly because only assembly can put a known value in every callee-saved
// register across a call, or overwrite registers a compiler would never touch.
// r1 and r13 (the thread pointer) and VRSAVE (reserved by ELFv2) are left alone here, as
// the switch leaves them.

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) .equ name, value
#include "abi_peer.h"

// results[] (and patterns[]) as abi_probe.hpp lays them out: r14-r31, f14-f31, then
// v20-v31 as two doublewords each, then CR2-CR4 (the pattern word with bits 12-23, those
// three fields, replaced by what CR holds), then sp before and after.
        .equ    RESULTS_F14, 18 * 8
        .equ    RESULTS_V20, 36 * 8
        .equ    RESULTS_CR, 60 * 8
        .equ    RESULTS_SP_BEFORE, 61 * 8
        .equ    RESULTS_SP_AFTER, 62 * 8
        .equ    CR2_TO_CR4, 0x00fff000

// A probe's frame: the ELFv2 header its own callee may use, r14-r31, f14-f31 and v20-v31
// of its caller (restored on the way out), then the results and patterns pointers and r2,
// kept on the stack across the call. LR and CR go in the caller's header, as compiled
// code puts them.
        .equ    PROBE_R14, 32
        .equ    PROBE_F14, 176
        .equ    PROBE_V20, 320
        .equ    PROBE_RESULTS, 512
        .equ    PROBE_PATTERNS, 520
        .equ    PROBE_R2, 528
        .equ    PROBE_FRAME, 544
// The context entries': header, the peer pointer and the switch's address.
        .equ    ENTRY_PEER, 32
        .equ    ENTRY_SWITCH, 40
        .equ    ENTRY_FRAME, 48

        .abiversion 2
        .machine power8
        .text

// Saves our own caller's LR, CR, r14-r31, f14-f31 and v20-v31 in a new frame.
        .macro  save_callers_registers
        mflr    %r0
        std     %r0, 16(%r1)
        mfcr    %r12
        stw     %r12, 8(%r1)
        stdu    %r1, -PROBE_FRAME(%r1)
        .cfi_def_cfa_offset PROBE_FRAME
        .cfi_offset lr, 16
        .irp    n, 14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        std     %r\n, (PROBE_R14 + 8 * (\n - 14))(%r1)
        stfd    %f\n, (PROBE_F14 + 8 * (\n - 14))(%r1)
        .endr
        .irp    n, 20,21,22,23,24,25,26,27,28,29,30,31
        li      %r11, PROBE_V20 + 16 * (\n - 20)
        stvx    %v\n, %r1, %r11
        .endr
        std     %r2, PROBE_R2(%r1)
        .endm

// Restores them, releases the frame and returns.
        .macro  restore_callers_registers_and_return
        ld      %r2, PROBE_R2(%r1)
        .irp    n, 14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        ld      %r\n, (PROBE_R14 + 8 * (\n - 14))(%r1)
        lfd     %f\n, (PROBE_F14 + 8 * (\n - 14))(%r1)
        .endr
        .irp    n, 20,21,22,23,24,25,26,27,28,29,30,31
        li      %r11, PROBE_V20 + 16 * (\n - 20)
        lvx     %v\n, %r1, %r11
        .endr
        addi    %r1, %r1, PROBE_FRAME
        .cfi_def_cfa_offset 0
        ld      %r0, 16(%r1)
        mtlr    %r0
        .cfi_restore lr
        lwz     %r12, 8(%r1)
        mtcrf   0x38, %r12
        blr
        .endm

// Loads every callee-saved register with its pattern (order: abi_probe.hpp
// saved_registers) from the array at r9, after recording r1 in results[sp_before]
// through r10. lxvd2x, not lvx: the arrays are only 8-byte aligned.
        .macro  load_patterns
        std     %r1, RESULTS_SP_BEFORE(%r10)
        .irp    n, 14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        ld      %r\n, (8 * (\n - 14))(%r9)
        lfd     %f\n, (RESULTS_F14 + 8 * (\n - 14))(%r9)
        .endr
        .irp    n, 20,21,22,23,24,25,26,27,28,29,30,31
        li      %r11, RESULTS_V20 + 16 * (\n - 20)
        lxvd2x  32 + \n, %r9, %r11          // vs(32 + n) is v(n)
        .endr
        ld      %r11, RESULTS_CR(%r9)
        mtcrf   0x38, %r11
        .endm

// Stores what every callee-saved register holds now into the results (their address is
// at PROBE_RESULTS(r1)) and r1 in results[sp_after]. Leaves r3 alone.
        .macro  store_results
        ld      %r9, PROBE_RESULTS(%r1)
        .irp    n, 14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        std     %r\n, (8 * (\n - 14))(%r9)
        stfd    %f\n, (RESULTS_F14 + 8 * (\n - 14))(%r9)
        .endr
        .irp    n, 20,21,22,23,24,25,26,27,28,29,30,31
        li      %r11, RESULTS_V20 + 16 * (\n - 20)
        stxvd2x 32 + \n, %r9, %r11
        .endr
        mfcr    %r11
        ld      %r10, PROBE_PATTERNS(%r1)
        ld      %r10, RESULTS_CR(%r10)
        lis     %r12, CR2_TO_CR4@h
        ori     %r12, %r12, CR2_TO_CR4@l
        and     %r11, %r11, %r12            // CR2-CR4 as they came back...
        andc    %r10, %r10, %r12            // ...in the pattern word around them
        or      %r10, %r10, %r11
        std     %r10, RESULTS_CR(%r9)
        std     %r1, RESULTS_SP_AFTER(%r9)
        .endm

// Overwrites every general register in the list, every CR field and all 64 VSRs (f0-f31
// and v0-v31) with a pattern that is no valid pointer, via r0.
        .macro  clobber_registers regs:vararg
        lis     %r0, 0xbad0
        ori     %r0, %r0, 0xbad0
        rldimi  %r0, %r0, 32, 0
        .irp    r, \regs
        mr      %r\r, %r0
        .endr
        mtcrf   0xff, %r0
        mtvsrd  0, %r0
        xxpermdi 0, 0, 0, 0                 // both doublewords of vs0
        .irp    n, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        xxlor   \n, 0, 0
        xxlor   32 + \n, 0, 0
        .endr
        xxlor   32, 0, 0
        .endm

// void* tasklets_abi_switch_checked(void** save_sp, void* target_sp, void* value,
//                                   const uint64_t* patterns, uint64_t* results)
//   r3-r5 go to the switch unchanged; r6 = patterns, r7 = results.
        .global tasklets_abi_switch_checked
        .type   tasklets_abi_switch_checked, @function
        .balign 16
tasklets_abi_switch_checked:
        addis   %r2, %r12, (.TOC. - tasklets_abi_switch_checked)@ha
        addi    %r2, %r2, (.TOC. - tasklets_abi_switch_checked)@l
        .localentry tasklets_abi_switch_checked, . - tasklets_abi_switch_checked
        .cfi_startproc
        save_callers_registers
        std     %r7, PROBE_RESULTS(%r1)     // kept on the stack across the switch
        std     %r6, PROBE_PATTERNS(%r1)
        mr      %r9, %r6
        mr      %r10, %r7
        load_patterns
        bl      tasklets_switch_context
        nop                                 // (a TOC restore, if the linker needs one)
        store_results                       // r3 (the switch's result) stays untouched
        restore_callers_registers_and_return
        .cfi_endproc
        .size   tasklets_abi_switch_checked, . - tasklets_abi_switch_checked

// void tasklets_abi_clobber_entry(tasklets_abi_peer* peer)
//   Reaches the switch through CTR, so that r2 and r12 can be overwritten too.
        .global tasklets_abi_clobber_entry
        .type   tasklets_abi_clobber_entry, @function
        .balign 16
tasklets_abi_clobber_entry:
        addis   %r2, %r12, (.TOC. - tasklets_abi_clobber_entry)@ha
        addi    %r2, %r2, (.TOC. - tasklets_abi_clobber_entry)@l
        .localentry tasklets_abi_clobber_entry, . - tasklets_abi_clobber_entry
        stdu    %r1, -ENTRY_FRAME(%r1)
        std     %r3, ENTRY_PEER(%r1)        // the peer lives here
        addis   %r9, %r2, tasklets_switch_context@got@ha
        ld      %r9, tasklets_switch_context@got@l(%r9)
        std     %r9, ENTRY_SWITCH(%r1)
1:      ld      %r3, ENTRY_PEER(%r1)
        ld      %r9, ABI_PEER_ROUNDS(%r3)
        addi    %r9, %r9, 1
        std     %r9, ABI_PEER_ROUNDS(%r3)
        ld      %r9, ENTRY_SWITCH(%r1)
        mtctr   %r9
        clobber_registers 2,3,4,5,6,7,8,9,10,11,12,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        ld      %r3, ENTRY_PEER(%r1)
        ld      %r5, ABI_PEER_ROUNDS(%r3)   // value: how many times we ran
        ld      %r4, ABI_PEER_MAIN_SP(%r3)
        addi    %r3, %r3, ABI_PEER_SELF_SP
        bctrl
        b       1b
        .size   tasklets_abi_clobber_entry, . - tasklets_abi_clobber_entry

// void tasklets_abi_entry_probe(tasklets_abi_peer* peer)
//   entry_fp records r31 (GCC's frame pointer) ORed with the back chain word at 0(r1),
//   both of which must be null for walkers to stop, and with r12 XOR this function's own
//   address, which ELFv2 requires r12 to hold at a global entry point (the trampoline
//   enters through a pointer): entry_fp is 0 only if all three hold.
        .global tasklets_abi_entry_probe
        .type   tasklets_abi_entry_probe, @function
        .balign 16
tasklets_abi_entry_probe:
        std     %r1, ABI_PEER_ENTRY_SP(%r3)
        mflr    %r0
        std     %r0, ABI_PEER_ENTRY_RA(%r3)
        ld      %r9, 0(%r1)
        or      %r9, %r9, %r31
        bcl     20, 31, 2f                  // LR = address of 2 (the form the link stack ignores)
2:      mflr    %r10
        addi    %r10, %r10, tasklets_abi_entry_probe - 2b
        xor     %r11, %r10, %r12
        or      %r9, %r9, %r11
        std     %r9, ABI_PEER_ENTRY_FP(%r3)
        addis   %r2, %r10, (.TOC. - tasklets_abi_entry_probe)@ha  // our TOC, from our own
        addi    %r2, %r2, (.TOC. - tasklets_abi_entry_probe)@l    // address, not from r12
        stdu    %r1, -ENTRY_FRAME(%r1)
        std     %r3, ENTRY_PEER(%r1)
1:      ld      %r3, ENTRY_PEER(%r1)
        ld      %r4, ABI_PEER_MAIN_SP(%r3)
        addi    %r3, %r3, ABI_PEER_SELF_SP
        li      %r5, 0
        bl      tasklets_switch_context
        nop
        b       1b
        .size   tasklets_abi_entry_probe, . - tasklets_abi_entry_probe

// uintptr_t tasklets_abi_sp_at_call(void)
        .global tasklets_abi_sp_at_call
        .type   tasklets_abi_sp_at_call, @function
        .balign 16
tasklets_abi_sp_at_call:
        mr      %r3, %r1                    // bl leaves r1 alone
        blr
        .size   tasklets_abi_sp_at_call, . - tasklets_abi_sp_at_call

// void tasklets_abi_call_checked(void (*fn)(void*), void* arg,
//                                const uint64_t* patterns, uint64_t* results)
//   r3 = fn, r4 = arg, r5 = patterns, r6 = results. The frame and the register order are
//   those of tasklets_abi_switch_checked; only the call differs (through CTR, with r12 =
//   fn as ELFv2 requires of a call through a pointer; r2 is reloaded after it).
        .global tasklets_abi_call_checked
        .type   tasklets_abi_call_checked, @function
        .balign 16
tasklets_abi_call_checked:
        .cfi_startproc
        save_callers_registers
        std     %r6, PROBE_RESULTS(%r1)
        std     %r5, PROBE_PATTERNS(%r1)
        mr      %r12, %r3
        mtctr   %r12
        mr      %r3, %r4
        mr      %r9, %r5
        mr      %r10, %r6
        load_patterns
        bctrl
        ld      %r2, PROBE_R2(%r1)
        store_results
        restore_callers_registers_and_return
        .cfi_endproc
        .size   tasklets_abi_call_checked, . - tasklets_abi_call_checked

// void tasklets_abi_call_clobbered(void (*fn)(void*), void* arg)
        .global tasklets_abi_call_clobbered
        .type   tasklets_abi_call_clobbered, @function
        .balign 16
tasklets_abi_call_clobbered:
        .cfi_startproc
        save_callers_registers
        mr      %r12, %r3
        mtctr   %r12
        mr      %r3, %r4
        clobber_registers 2,4,5,6,7,8,9,10,11,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        bctrl
        restore_callers_registers_and_return  // (r2 included)
        .cfi_endproc
        .size   tasklets_abi_call_clobbered, . - tasklets_abi_call_clobbered

        .section .note.GNU-stack, "", @progbits
