// tasklets ABI conformance tests, armhf (AAPCS, VFP hard-float): the assembly half (GNU
// as, Thumb-2, like the switch in arch/armhf). The C++ half is tests/test_abi_*.cpp;
// declarations and the register order are in tests/arch/abi_probe.hpp.
//
// Written in assembly because only assembly can put a known value in every callee-saved
// register across a call, or overwrite registers a compiler would never touch.
//
// Patterns and results are 64-bit slots (abi_probe.hpp): r4-r11 fill the low half of
// theirs and the high half is stored as zero (their patterns fit in 32 bits); d8-d15
// fill all of theirs. Only d0-d15 exist on the VFPv3-D16 baseline, so they are all the
// FP registers clobbered here.

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) .equ name, value
#include "abi_peer.h"

        .syntax unified
        .thumb
        .fpu    vfpv3-d16
        .text

        // Slots of patterns[] and results[] (abi_probe.hpp): r4-r11, d8-d15, then sp
        // before and after the call.
        .equ    SLOT_D8, 8*8
        .equ    RESULT_SP_BEFORE, 16*8
        .equ    RESULT_SP_AFTER, 17*8
        // The probes' frame: our caller's r4-r11 and lr (36 bytes), d8-d15 (64), and a
        // 4-byte slot at sp for the results pointer: 104 bytes, so sp stays 8-aligned.
        .equ    FRAME, 104

// Saves our own caller's callee-saved registers and reserves the results slot at [sp].
        .macro  save_callers_registers
        push    {r4-r11, lr}
        .save   {r4-r11, lr}
        vpush   {d8-d15}
        .vsave  {d8-d15}
        sub     sp, sp, #4
        .pad    #4
        .endm

// Restores them, releases the frame and returns (pop into pc interworks).
        .macro  restore_callers_registers_and_return
        add     sp, sp, #4
        vpop    {d8-d15}
        pop     {r4-r11, pc}
        .endm

// Loads every callee-saved register with its pattern (order: abi_probe.hpp
// saved_registers) and records sp in results[sp_before]. r7 and r11 (the frame pointers)
// may hold patterns: the unwind tables of these probes are sp-based.
        .macro  load_patterns patterns, results
        ldr     r4,  [\patterns, #0*8]
        ldr     r5,  [\patterns, #1*8]
        ldr     r6,  [\patterns, #2*8]
        ldr     r7,  [\patterns, #3*8]
        ldr     r8,  [\patterns, #4*8]
        ldr     r9,  [\patterns, #5*8]
        ldr     r10, [\patterns, #6*8]
        ldr     r11, [\patterns, #7*8]
        vldr    d8,  [\patterns, #SLOT_D8 + 0*8]
        vldr    d9,  [\patterns, #SLOT_D8 + 1*8]
        vldr    d10, [\patterns, #SLOT_D8 + 2*8]
        vldr    d11, [\patterns, #SLOT_D8 + 3*8]
        vldr    d12, [\patterns, #SLOT_D8 + 4*8]
        vldr    d13, [\patterns, #SLOT_D8 + 5*8]
        vldr    d14, [\patterns, #SLOT_D8 + 6*8]
        vldr    d15, [\patterns, #SLOT_D8 + 7*8]
        str     sp,  [\results, #RESULT_SP_BEFORE]
        mov     lr, #0                   // lr is our scratch: saved, and the call sets it
        str     lr,  [\results, #RESULT_SP_BEFORE + 4]
        .endm

// Stores what every callee-saved register holds now into the results (their address is
// at [sp]) and sp in results[sp_after]. Leaves r0 alone; r1-r3 and r12 are scratch.
        .macro  store_results
        ldr     r12, [sp]
        mov     r1, #0
        .irp    n, 4,5,6,7,8,9,10,11
        str     r\n, [r12, #(\n - 4) * 8]
        str     r1,  [r12, #(\n - 4) * 8 + 4]
        .endr
        vstr    d8,  [r12, #SLOT_D8 + 0*8]
        vstr    d9,  [r12, #SLOT_D8 + 1*8]
        vstr    d10, [r12, #SLOT_D8 + 2*8]
        vstr    d11, [r12, #SLOT_D8 + 3*8]
        vstr    d12, [r12, #SLOT_D8 + 4*8]
        vstr    d13, [r12, #SLOT_D8 + 5*8]
        vstr    d14, [r12, #SLOT_D8 + 6*8]
        vstr    d15, [r12, #SLOT_D8 + 7*8]
        str     sp,  [r12, #RESULT_SP_AFTER]
        str     r1,  [r12, #RESULT_SP_AFTER + 4]
        .endm

// Every general register from r1 to r11, and lr, gets 0xbad0bad0, and so does every
// half of d0-d15. r0 and r12 are left to the caller (the probes keep arguments there).
        .macro  clobber_registers
        movw    r1, #0xbad0
        movt    r1, #0xbad0
        .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
        vmov    d\n, r1, r1
        .endr
        .irp    n, 2,3,4,5,6,7,8,9,10,11
        mov     r\n, r1
        .endr
        mov     lr, r1
        .endm

// void* tasklets_abi_switch_checked(void** save_sp, void* target_sp, void* value,
//                                   const uint64_t* patterns, uint64_t* results)
//   r0-r2 go to the switch unchanged; r3 = patterns, results on the stack (at [sp] on
//   entry, [sp, #FRAME] once our frame is built).
        .global tasklets_abi_switch_checked
        .type   tasklets_abi_switch_checked, %function
        .thumb_func
        .p2align 2
tasklets_abi_switch_checked:
        .fnstart
        save_callers_registers
        ldr     r12, [sp, #FRAME]        // results, kept at [sp] across the switch
        str     r12, [sp]
        load_patterns r3, r12
        bl      tasklets_switch_context
        store_results                    // r0 (the switch's result) stays untouched
        restore_callers_registers_and_return
        .fnend
        .size   tasklets_abi_switch_checked, . - tasklets_abi_switch_checked

// void tasklets_abi_clobber_entry(tasklets_abi_peer* peer)
//   Entered from the first-entry trampoline with sp at the stack top and lr = 0; never
//   returns, so it keeps no frame of its caller's, only the peer at [sp].
        .global tasklets_abi_clobber_entry
        .type   tasklets_abi_clobber_entry, %function
        .thumb_func
        .p2align 2
tasklets_abi_clobber_entry:
        .fnstart
        .cantunwind                      // no caller to unwind to
        sub     sp, sp, #8               // the peer lives here; sp stays 8-aligned
        str     r0, [sp]
1:      ldr     r0, [sp]
        ldr     r1, [r0, #ABI_PEER_ROUNDS]       // rounds: a 64-bit count
        ldr     r2, [r0, #ABI_PEER_ROUNDS + 4]
        adds    r1, r1, #1
        adc     r2, r2, #0
        str     r1, [r0, #ABI_PEER_ROUNDS]
        str     r2, [r0, #ABI_PEER_ROUNDS + 4]
        mov     r12, r1
        clobber_registers                // every general register but sp, r0 and r12...
        mov     r0, r12
        movw    r12, #0xbad0             // ...and those two as well
        movt    r12, #0xbad0
        mov     r2, r0                   // value: how many times we ran (low word)
        ldr     r0, [sp]
        ldr     r1, [r0, #ABI_PEER_MAIN_SP]
        add     r0, r0, #ABI_PEER_SELF_SP
        bl      tasklets_switch_context
        b       1b
        .fnend
        .size   tasklets_abi_clobber_entry, . - tasklets_abi_clobber_entry

// void tasklets_abi_entry_probe(tasklets_abi_peer* peer)
//   Records sp, lr and the frame pointers as the fresh context's first instruction finds
//   them. entry_fp is r7 | r11: Thumb code chains frames through r7, ARM code through
//   r11, and both must be null at an entry.
        .global tasklets_abi_entry_probe
        .type   tasklets_abi_entry_probe, %function
        .thumb_func
        .p2align 2
tasklets_abi_entry_probe:
        .fnstart
        .cantunwind
        mov     r1, #0
        str     sp, [r0, #ABI_PEER_ENTRY_SP]
        str     r1, [r0, #ABI_PEER_ENTRY_SP + 4]
        str     lr, [r0, #ABI_PEER_ENTRY_RA]
        str     r1, [r0, #ABI_PEER_ENTRY_RA + 4]
        orr     r2, r7, r11
        str     r2, [r0, #ABI_PEER_ENTRY_FP]
        str     r1, [r0, #ABI_PEER_ENTRY_FP + 4]
        sub     sp, sp, #8
        str     r0, [sp]
1:      ldr     r0, [sp]
        ldr     r1, [r0, #ABI_PEER_MAIN_SP]
        add     r0, r0, #ABI_PEER_SELF_SP
        mov     r2, #0
        bl      tasklets_switch_context
        b       1b
        .fnend
        .size   tasklets_abi_entry_probe, . - tasklets_abi_entry_probe

// uintptr_t tasklets_abi_sp_at_call(void)
        .global tasklets_abi_sp_at_call
        .type   tasklets_abi_sp_at_call, %function
        .thumb_func
        .p2align 2
tasklets_abi_sp_at_call:
        .fnstart
        mov     r0, sp                   // bl leaves sp alone
        bx      lr
        .fnend
        .size   tasklets_abi_sp_at_call, . - tasklets_abi_sp_at_call

// void tasklets_abi_call_checked(void (*fn)(void*), void* arg,
//                                const uint64_t* patterns, uint64_t* results)
//   r0 = fn, r1 = arg, r2 = patterns, r3 = results. The frame and the register order are
//   those of tasklets_abi_switch_checked; only the call differs.
        .global tasklets_abi_call_checked
        .type   tasklets_abi_call_checked, %function
        .thumb_func
        .p2align 2
tasklets_abi_call_checked:
        .fnstart
        save_callers_registers
        str     r3, [sp]                 // results, kept across the call
        mov     r12, r0                  // fn, called below with arg as its argument
        mov     r0, r1
        load_patterns r2, r3
        blx     r12
        store_results
        restore_callers_registers_and_return
        .fnend
        .size   tasklets_abi_call_checked, . - tasklets_abi_call_checked

// void tasklets_abi_call_clobbered(void (*fn)(void*), void* arg)
        .global tasklets_abi_call_clobbered
        .type   tasklets_abi_call_clobbered, %function
        .thumb_func
        .p2align 2
tasklets_abi_call_clobbered:
        .fnstart
        save_callers_registers
        mov     r12, r0                  // fn
        mov     r0, r1                   // its argument
        clobber_registers                // (lr too: the blx sets it again)
        blx     r12
        restore_callers_registers_and_return
        .fnend
        .size   tasklets_abi_call_clobbered, . - tasklets_abi_call_clobbered

        .section .note.GNU-stack, "", %progbits
